/* NewReno congestion control: RFC 5681 (slow start, congestion
 * avoidance, fast retransmit and recovery) with RFC 6582's handling of
 * partial acknowledgments. Every change of cwnd or ssthresh is traced. */
#include "cc.h"
#include "minmax.h"

#include "seq.h"

static uint32_t flight_size(const struct tcplab_conn *c) {
  return c->snd_max - c->snd_una;
}

/* RFC 5681 equation (4): ssthresh = max(FlightSize / 2, 2*SMSS). */
static uint32_t half_flight(const struct tcplab_conn *c) {
  return max_u32(flight_size(c) / 2, 2u * c->snd_mss);
}

/* The connection's initial window, IW. */
static uint32_t initial_window(const struct tcplab_conn *c) {
  uint32_t mss = c->snd_mss;
  if (c->syn_retx) {
    /* RFC 5681 3.1 / RFC 6928 2: after a lost SYN or SYN|ACK, one
     * segment. */
    return mss;
  }
  /* RFC 6928 2: min(IW*MSS, max(2*MSS, 14600)); 14600 is ten 1460-byte
   * segments, so a configured IW scales it. */
  uint32_t iw = c->stack->cfg.initial_window;
  return min_u32(iw * mss, max_u32(2 * mss, iw * 1460u));
}

void cc_init(struct tcplab_conn *c, tcplab_time_t now) {
  c->cwnd = initial_window(c);
  c->ssthresh = TCPLAB_WINDOW_MAX; /* RFC 5681 3.1: "arbitrarily high" */
  c->recover = c->iss;             /* RFC 6582 3.2 step 1 */
  c->dupacks = 0;
  c->in_recovery = 0;
  conn_trace_cwnd(c, now);
}

void cc_after_idle(struct tcplab_conn *c, tcplab_time_t now) {
  /* RFC 5681 4.1: after no data was sent for more than an RTO, the ACK
   * clock is gone, and a full window at once could overrun the path:
   * cwnd = min(RW, cwnd) with RW = min(IW, cwnd). ssthresh stays. */
  if (!c->stack->cfg.slow_start_after_idle ||
      c->snd_last == TCPLAB_TIME_NEVER || now <= c->snd_last ||
      now - c->snd_last <= c->rtt.rto) {
    return;
  }
  uint32_t rw = initial_window(c);
  if (c->cwnd > rw) {
    c->cwnd = rw;
    conn_trace_cwnd(c, now);
  }
}

void cc_on_new_ack(struct tcplab_conn *c, tcplab_time_t now, uint32_t ack,
                   uint32_t acked) {
  uint32_t mss = c->snd_mss;
  c->dupacks = 0;
  if (c->in_recovery) {
    if (seq_geq(ack, c->recover)) {
      /* RFC 6582 3.2 step 3, full ACK: option (1),
       * min(ssthresh, max(FlightSize, SMSS) + SMSS). */
      c->cwnd = min_u32(c->ssthresh, max_u32(flight_size(c), mss) + mss);
      c->in_recovery = 0;
    } else {
      /* Step 4, partial ACK: the next hole is lost too; resend it at
       * once, deflate by what was acknowledged, add back one SMSS if at
       * least that much was. The timer restarts with every new ACK (the
       * "Slow-but-Steady" variant of section 4). */
      conn_retransmit_first(c, now);
      c->stats.fast_retransmits++;
      c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
      if (acked >= mss) {
        c->cwnd += mss;
      }
      c->cwnd = max_u32(c->cwnd, mss);
    }
  } else if (acked == 0) {
    return; /* only our FIN: N = 0 bytes, and cwnd is for data */
  } else if (c->cwnd < c->ssthresh) {
    /* RFC 5681 3.1 (2): slow start grows by at most one SMSS per ACK. */
    c->cwnd = min_u32(TCPLAB_WINDOW_MAX, c->cwnd + min_u32(acked, mss));
  } else {
    /* RFC 5681 3.1 (3): congestion avoidance, about one SMSS per RTT. */
    uint32_t inc = max_u32(1, (uint32_t)((uint64_t)mss * mss / c->cwnd));
    c->cwnd = min_u32(TCPLAB_WINDOW_MAX, c->cwnd + inc);
  }
  conn_trace_cwnd(c, now);
}

void cc_on_dupack(struct tcplab_conn *c, tcplab_time_t now) {
  uint32_t mss = c->snd_mss;
  c->stats.dup_acks++;
  if (c->dupacks < UINT8_MAX) {
    c->dupacks++;
  }
  if (c->in_recovery) {
    /* RFC 5681 3.2 step 4: each further duplicate means a segment left
     * the network; inflate so new data may follow. */
    c->cwnd = min_u32(TCPLAB_WINDOW_MAX, c->cwnd + mss);
  } else if (c->dupacks == 3 && seq_geq(c->snd_una, c->recover)) {
    /* RFC 6582 3.2 step 2: only when the ACK covers more than recover
     * (recover holds snd_max, one past the highest octet sent), so the
     * losses of one window cause one reduction. */
    /* Step 2: what limited transmit sent past cwnd MUST NOT count, so
     * FlightSize is taken as at most cwnd (less than equation (4) only
     * when more than cwnd was in flight anyway, which step 2 allows). */
    c->ssthresh = max_u32(min_u32(flight_size(c), c->cwnd) / 2, 2u * mss);
    c->recover = c->snd_max;
    conn_retransmit_first(c, now);
    c->stats.fast_retransmits++;
    c->cwnd = c->ssthresh + 3 * mss;
    c->in_recovery = 1;
  }
  conn_trace_cwnd(c, now);
}

void cc_on_timeout(struct tcplab_conn *c, tcplab_time_t now) {
  /* RFC 5681 3.1: ssthresh by equation (4) only for the first expiry of
   * a segment; a retransmission timing out again leaves it. */
  if (c->retries == 1) {
    c->ssthresh = half_flight(c);
  }
  c->cwnd = c->snd_mss; /* the loss window, equation (5) */
  c->in_recovery = 0;
  c->dupacks = 0;
  c->recover = c->snd_max; /* RFC 6582 4 */
  conn_trace_cwnd(c, now);
}
