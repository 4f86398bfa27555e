/* Building and sending segments: what may be sent now (windows, Nagle,
 * silly-window avoidance), and the window we offer. */
#include <string.h>

#include "cc.h"
#include "internal.h"
#include "minmax.h"
#include "segment.h"
#include "seq.h"

/* The 16-bit window field for wnd bytes: unscaled on a SYN (RFC 7323
 * 2.2), else shifted and rounded down, so it never offers space the buffer
 * does not have. */
static uint16_t window_field(const struct tcplab_conn *c, uint32_t wnd,
                             bool syn) {
  uint8_t shift = syn ? 0 : c->rcv_wscale;
  return (uint16_t)min_u32(wnd >> shift, 65535);
}

/* RFC 7323 2.3: the smallest shift that lets the field cover the buffer. */
uint8_t wscale_for(uint32_t buf) {
  uint8_t shift = 0;
  while (shift < 14 && (buf >> shift) > 65535) {
    shift++;
  }
  return shift;
}

/* Where a segment of len bytes is built: the driver's storage if it
 * offers some (NULL when it has none free), else the stack's own. */
static uint8_t *tx_storage(struct tcplab_stack *s, size_t len) {
  if (s->cb.tx_buffer == NULL) {
    return s->txbuf;
  }
  uint8_t *buf = s->cb.tx_buffer(s->user_data, len);
  if (buf == NULL) {
    s->stats.tx_no_buffer++;
  }
  return buf;
}

/* Encodes seg into buf, which holds cap bytes, and hands it to output.
 * payload_sum, if not NULL, is the sum of seg's payload (csum.h). */
static void emit(struct tcplab_stack *s, tcplab_time_t now,
                 struct tcplab_endpoint local, struct tcplab_endpoint remote,
                 const struct tcplab_segment *seg, uint8_t *buf, size_t cap,
                 const uint64_t *payload_sum) {
  size_t n =
      segment_encode(seg, local.addr, remote.addr, buf, cap, payload_sum);
  /* A segment is never longer than a maximum header plus one MSS. */
  if (n == 0) {
    return;
  }
  s->stats.segs_out++;
  s->cb.output(s->user_data, now, local.addr, remote.addr, buf, n);
}

void send_rst_raw(struct tcplab_stack *s, tcplab_time_t now,
                  struct tcplab_endpoint local, struct tcplab_endpoint remote,
                  uint32_t seq, uint32_t ack, uint8_t flags) {
  struct tcplab_segment seg = {
      .sport = local.port,
      .dport = remote.port,
      .seq = seq,
      .ack = ack,
      .flags = flags,
  };
  uint8_t *buf = tx_storage(s, TCPLAB_HEADER_MIN);
  if (buf != NULL) {
    emit(s, now, local, remote, &seg, buf, TCPLAB_HEADER_MIN, NULL);
  }
}

void conn_trace_cwnd(struct tcplab_conn *c, tcplab_time_t now) {
  /* The counters hold the values last traced. Each is compared on its
   * own: one load of both would wait for the store just made to one. */
  uint32_t cwnd = c->cwnd;
  if (cwnd != c->stats.cwnd) {
    c->stats.cwnd = cwnd;
  } else if (c->ssthresh == c->stats.ssthresh) {
    return;
  }
  c->stats.ssthresh = c->ssthresh;
  conn_trace(c, now, c->state, c->state, TCPLAB_EV_CWND, 0, 0, 0, 0);
}

/* Sends one segment of this connection: flags as given (ACK filled with
 * RCV.NXT when set), len payload bytes taken from the send buffer at seq.
 * Every send goes through here, so here the trace and counters live. */
void conn_send_segment(struct tcplab_conn *c, tcplab_time_t now, uint8_t flags,
                       uint32_t seq, size_t len) {
  struct tcplab_stack *s = c->stack;
  bool syn = flags & TCPLAB_SYN;
  struct tcplab_segment seg = {
      .sport = c->local.port,
      .dport = c->remote.port,
      .seq = seq,
      .ack = (flags & TCPLAB_ACK) ? c->rcv_nxt : 0,
      .flags = (uint8_t)flags,
  };
  if (c->urg_send && (flags & TCPLAB_ACK) &&
      !(flags & (TCPLAB_SYN | TCPLAB_RST)) && seq_lt(seq, c->snd_up)) {
    /* RFC 9293 3.8.5: every segment before the urgent pointer carries it,
     * data or not, so the peer learns of it even through a closed window;
     * a pointer beyond the 16-bit field is sent as far as it reaches. */
    seg.flags |= TCPLAB_URG;
    seg.urp = (uint16_t)min_u32(c->snd_up - seq, UINT16_MAX);
  }
  if (!(flags & TCPLAB_RST)) {
    uint32_t wnd = conn_rcv_wnd(c);
    seg.wnd = window_field(c, wnd, syn);
    uint8_t shift = syn ? 0 : c->rcv_wscale;
    /* The edge is never taken back: rounding down may offer a little
     * less than before, but what an earlier ACK offered stays acceptable
     * (RFC 7323 2.4). */
    uint32_t edge = c->rcv_nxt + ((uint32_t)seg.wnd << shift);
    if (seq_gt(edge, c->rcv_adv)) {
      c->rcv_adv = edge;
    }
  }
  if (syn) {
    /* RFC 9293 3.7.1: the MSS option only ever travels on SYNs; RFC 7323
     * 1.3: window scale is offered on a SYN, and on a SYN|ACK only in
     * answer to one. */
    seg.opt.present = TCPLAB_OPT_MSS;
    seg.opt.mss = s->cfg.mss;
    if (s->cfg.window_scale && (!c->irs_valid || c->wscale_ok)) {
      seg.opt.present |= TCPLAB_OPT_WSCALE;
      seg.opt.wscale = wscale_for(s->cfg.rcv_buf);
    }
  }
  size_t hlen = segment_header_len(&seg);
  uint8_t *buf = tx_storage(s, hlen + len);
  uint64_t payload_sum = 0; /* summed while copied: one pass over it */
  if (len > 0) {
    c->snd_last = now;
    seg.len = len;
    if (buf != NULL) {
      /* Copied straight to where encode wants it, behind the header. */
      seg.payload = buf + hlen;
      payload_sum =
          ring_peek_sum(&c->sndbuf, seq - c->sb_seq, buf + hlen, (uint32_t)len);
    }
  }

  /* The segment being processed is traced before any answer to it. */
  if (c->in_input && !c->rcv_traced) {
    const struct tcplab_segment *in = c->in_seg;
    c->rcv_traced = 1;
    conn_trace(c, now, c->state, c->state, TCPLAB_EV_RCV, in->flags, in->seq,
               in->ack, (uint32_t)in->len);
  }
  conn_trace(c, now, c->state, c->state, TCPLAB_EV_SND, seg.flags, seg.seq,
             seg.ack, (uint32_t)len);

  uint32_t seg_len =
      (uint32_t)len + (syn ? 1 : 0) + ((flags & TCPLAB_FIN) ? 1 : 0);
  if (seg_len > 0 && !(flags & TCPLAB_RST)) {
    if (seq_lt(seq, c->snd_max)) {
      c->stats.retransmissions++;
      c->rtt_active = 0; /* Karn: no sample across a retransmission */
    } else if (!c->rtt_active) {
      c->rtt_active = 1;
      c->rtt_seq = seq + seg_len;
      c->rtt_start = now;
    }
    if (seq_gt(seq + seg_len, c->snd_max)) {
      c->snd_max = seq + seg_len;
    }
    if (c->timer[TIMER_RTX] == TCPLAB_TIME_NEVER) {
      timer_set(c, TIMER_RTX, now + c->rtt.rto); /* RFC 6298 5.1 */
    }
  }
  if (syn) {
    c->stats.syn_tx++;
  }
  if (flags & TCPLAB_ACK) {
    /* Any ACK we send acknowledges all we have: nothing is owed now. */
    c->ack_pending = 0;
    c->rcv_unacked = 0;
    if (c->timer[TIMER_DELACK] != TCPLAB_TIME_NEVER) {
      timer_set(c, TIMER_DELACK, TCPLAB_TIME_NEVER);
    }
  }
  c->stats.segs_sent++;
  if (buf != NULL) {
    emit(s, now, c->local, c->remote, &seg, buf,
         s->cb.tx_buffer ? hlen + len : s->txcap, &payload_sum);
  }
}

/* A bare ACK carries SND.MAX: RFC 9293's SND.NXT never moves back, and
 * after a timeout ours does (to resend from SND.UNA); an ACK below what
 * the peer already holds would be unacceptable to it (3.10.7.4). */
void conn_send_ack(struct tcplab_conn *c, tcplab_time_t now) {
  conn_send_segment(c, now, TCPLAB_ACK, c->snd_max, 0);
}

/* Whether our FIN occupies sequence space already sent. */
static bool fin_sent(const struct tcplab_conn *c, uint32_t data_end) {
  return c->fin_queued && seq_gt(c->snd_max, data_end);
}

/* Sends again the oldest unacknowledged segment, whatever the windows
 * (fast retransmit, RFC 5681 3.2; partial ACKs, RFC 6582 3.2 step 4; the
 * timeout, RFC 6298 5.4, which also probes a window that shrank to zero,
 * RFC 9293 3.8.6). Old data only: data never sent is new, and new data
 * waits for the windows ("SHOULD NOT send new data" past the window).
 * Returns the sequence space it took. */
uint32_t conn_retransmit_first(struct tcplab_conn *c, tcplab_time_t now) {
  uint32_t data_end = c->sb_seq + c->sndbuf.len;
  if (c->snd_una == c->iss) {
    return 0; /* the SYN is the timer's business */
  }
  uint32_t sent_end = seq_lt(c->snd_max, data_end) ? c->snd_max : data_end;
  uint32_t n = seq_lt(c->snd_una, sent_end)
                   ? min_u32(sent_end - c->snd_una, c->snd_mss)
                   : 0;
  uint8_t flags = TCPLAB_ACK;
  if (c->snd_una + n == data_end) {
    if (n > 0) {
      flags |= TCPLAB_PSH;
    }
    if (fin_sent(c, data_end)) {
      flags |= TCPLAB_FIN;
    }
  }
  if (n == 0 && !(flags & TCPLAB_FIN)) {
    return 0;
  }
  conn_send_segment(c, now, flags, c->snd_una, n);
  return n + ((flags & TCPLAB_FIN) ? 1 : 0);
}

/* RFC 9293 3.8.6.2.1 (sender silly-window avoidance) with Nagle's
 * algorithm (RFC 896) as its bracketed conditions: may a segment of n
 * bytes, less than a full MSS, leave now? */
static bool small_segment_ok(const struct tcplab_conn *c, uint32_t n,
                             uint32_t queued) {
  bool idle = c->snd_nxt == c->snd_una; /* nothing unacknowledged */
  /* Urgent data does not wait for an ACK (as in Linux). */
  bool nagle_ok = idle || !c->nagle || c->fin_queued || c->urg_send;
  if (n == queued && nagle_ok) {
    return true; /* all queued data fits: it was pushed */
  }
  return nagle_ok && n >= c->max_snd_wnd / 2; /* Fs = 1/2 */
}

/* Whether the octet at seq (our FIN's) lies in the peer's window: the
 * FIN takes sequence space, and a receiver drops it past the edge. */
static bool in_peer_window(const struct tcplab_conn *c, uint32_t seq) {
  return seq_lt(seq, c->snd_una + c->snd_wnd);
}

/* Sends whatever the state and the windows allow: our SYN, queued data,
 * our FIN; or a bare ACK if one is owed and nothing else carried it. */
void conn_output(struct tcplab_conn *c, tcplab_time_t now) {
  if (c->dead) {
    return;
  }
  if (c->snd_nxt == c->iss) {
    /* Our SYN is unsent or being retransmitted (snd_nxt went back). */
    uint8_t flags = TCPLAB_SYN | (c->irs_valid ? TCPLAB_ACK : 0);
    conn_send_segment(c, now, flags, c->iss, 0);
    c->snd_nxt = c->iss + 1;
  }
  if (c->state == TCPLAB_TIME_WAIT) {
    if (c->ack_pending) {
      conn_send_ack(c, now);
    }
    return;
  }
  if (c->snd_una == c->iss) {
    /* Our SYN is unacknowledged: only a FIN with no data before it may
     * follow it (close in SYN_RECEIVED, RFC 9293 3.10.4); data waits for
     * ESTABLISHED (3.10.2). */
    /* A FIN sent already goes again only once the SYN is acknowledged:
     * a timeout resends the front segment alone (3.10.8). */
    if (c->fin_queued && c->sndbuf.len == 0 && c->snd_nxt == c->sb_seq &&
        c->snd_nxt == c->snd_max) {
      conn_send_segment(c, now, TCPLAB_FIN | TCPLAB_ACK, c->snd_nxt, 0);
      c->snd_nxt++;
    }
    if (c->ack_pending) {
      conn_send_ack(c, now);
    }
    return;
  }

  uint32_t data_end = c->sb_seq + c->sndbuf.len;
  if (c->snd_una == c->snd_max && seq_lt(c->snd_nxt, data_end)) {
    cc_after_idle(c, now);
  }
  /* The usable window is the smaller of the peer's and the congestion
   * window (RFC 5681 2), the latter stretched by limited transmit. */
  uint32_t wnd = min_u32(c->snd_wnd, c->cwnd + cc_limited_transmit(c));
  bool blocked = false;
  tcplab_time_t persist_due = TCPLAB_TIME_NEVER;
  if (c->persist && c->snd_wnd > 0) {
    /* The window is open: leave persist, and enter it again below, with
     * the same deadline, if what it offers is still too small to use. A
     * probe octet the peer dropped goes again at the head of what
     * follows. */
    persist_due = c->timer[TIMER_RTX];
    c->persist = 0;
    c->snd_nxt = c->snd_una;
    timer_set(c, TIMER_RTX, TCPLAB_TIME_NEVER);
  }
  while (seq_lt(c->snd_nxt, data_end)) {
    uint32_t wnd_end = c->snd_una + wnd;
    uint32_t queued = data_end - c->snd_nxt;
    uint32_t usable = seq_lt(c->snd_nxt, wnd_end) ? wnd_end - c->snd_nxt : 0;
    uint32_t n = min_u32(min_u32(queued, usable), c->snd_mss);
    if (n == 0 || (n < c->snd_mss && !small_segment_ok(c, n, queued))) {
      blocked = true;
      break;
    }
    uint8_t flags = TCPLAB_ACK;
    if (n == queued) {
      flags |= TCPLAB_PSH; /* the last byte the application gave us */
      if (c->fin_queued && in_peer_window(c, c->snd_nxt + n)) {
        flags |= TCPLAB_FIN;
      }
    }
    conn_send_segment(c, now, flags, c->snd_nxt, n);
    c->snd_nxt += n + ((flags & TCPLAB_FIN) ? 1 : 0);
  }
  if (c->fin_queued && c->snd_nxt == data_end) {
    if (in_peer_window(c, c->snd_nxt)) {
      conn_send_segment(c, now, TCPLAB_FIN | TCPLAB_ACK, c->snd_nxt, 0);
      c->snd_nxt++;
    } else {
      blocked = true; /* a closed window holds the FIN as it holds data */
    }
  }
  if (c->ack_pending) {
    conn_send_ack(c, now);
  }
  bool idle = c->snd_una == c->snd_max;
  if (blocked && idle && !c->persist) {
    /* Data or the FIN waits and nothing is in flight, so no ACK will come
     * to restart output: the persist timer probes a closed window (RFC
     * 9293 3.8.6.1, first after one RTO) or, for a small one, overrides
     * silly-window avoidance (3.8.6.2.1: "in the range 0.1 - 1.0
     * seconds"). Entered again, it keeps its deadline: a peer that
     * keeps talking does not put it off. */
    tcplab_time_t due =
        now + (c->snd_wnd > 0 ? min_u64(c->rtt.rto, TCPLAB_S(1)) : c->rtt.rto);
    if (persist_due == TCPLAB_TIME_NEVER) {
      c->retries = 0;
      c->persist_shift = 0;
    } else if (persist_due < due) {
      due = persist_due;
    }
    c->persist = 1;
    timer_set(c, TIMER_RTX, due);
  } else if (c->persist && !blocked && idle) {
    /* Nothing waits any more (the last probe octet was taken). */
    c->persist = 0;
    timer_set(c, TIMER_RTX, TCPLAB_TIME_NEVER);
  }
  if (persist_due != TCPLAB_TIME_NEVER && !c->persist) {
    c->retries = 0; /* the window opened: probes are over */
  }
}

/* How long until the next zero-window probe: the RTO doubled for each
 * probe sent (RFC 1122 4.2.2.17: "SHOULD increase exponentially the
 * interval between successive probes"), up to the largest RTO. The RTO
 * itself is left alone: a closed window is not a loss. */
static tcplab_time_t probe_interval(const struct tcplab_conn *c) {
  tcplab_time_t max = c->stack->cfg.rto_max, t = c->rtt.rto;
  for (unsigned i = 0; i < c->persist_shift && t < max; i++) {
    t *= 2;
  }
  return min_u64(t, max);
}

/* The persist timer fired. In a zero window, probe (RFC 9293 3.8.6.1:
 * "transmit at least one octet of new data (if available)"): with the
 * octet sent before and not yet acknowledged, else the next octet of
 * new data, else the FIN, which holds one octet of sequence space too.
 * In a small window, override silly-window avoidance and send what fits
 * (RFC 9293 3.8.6.2.1, the override timeout). */
void conn_persist_expired(struct tcplab_conn *c, tcplab_time_t now) {
  uint32_t data_end = c->sb_seq + c->sndbuf.len;
  if (c->snd_wnd > 0) {
    c->persist = 0;
    c->retries = 0;
    uint32_t usable = min_u32(c->snd_wnd, c->cwnd);
    uint32_t n = min_u32(min_u32(usable, data_end - c->snd_nxt), c->snd_mss);
    if (n > 0) {
      uint8_t flags =
          TCPLAB_ACK | (c->snd_nxt + n == data_end ? TCPLAB_PSH : 0);
      conn_send_segment(c, now, flags, c->snd_nxt, n);
      c->snd_nxt += n;
    }
    return;
  }
  uint32_t seq = c->snd_nxt;
  bool again = seq_lt(c->snd_una, c->snd_nxt);
  if (again) {
    seq = c->snd_una;
  } else if (!seq_lt(c->snd_nxt, data_end) &&
             !(c->fin_queued && c->snd_nxt == data_end)) {
    c->persist = 0; /* nothing waits any more */
    c->retries = 0;
    return;
  }
  /* Probe for as long as the peer answers; any ACK resets the count, so
   * only a silent peer is given up on. */
  if (!conn_retry(c, true, 0)) {
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_GAVE_UP, TCPLAB_ERR_TIMEDOUT);
    return;
  }
  c->stats.zero_window_probes++;
  uint32_t n = seq_lt(seq, data_end) ? 1 : 0;
  conn_send_segment(c, now, n ? TCPLAB_ACK : TCPLAB_FIN | TCPLAB_ACK, seq, n);
  if (!again) {
    c->snd_nxt++;
  }
  c->rtt_active = 0; /* the answer's delay is the peer's, not the path's */
  if (c->persist_shift < UINT8_MAX) {
    c->persist_shift++;
  }
  timer_set(c, TIMER_RTX, now + probe_interval(c));
}
