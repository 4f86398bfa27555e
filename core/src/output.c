/* Building and sending segments. */
#include <string.h>

#include "internal.h"
#include "seq.h"

static uint32_t min_u32(uint32_t a, uint32_t b) {
  return a < b ? a : b;
}

/* The window we offer: free receive-buffer space, as 16 bits on the wire
 * (no window scaling in this version). A connection whose application has
 * closed discards what arrives, so it keeps offering the whole buffer. */
uint32_t conn_rcv_wnd(const struct tcplab_conn *c) {
  uint32_t free_space = c->app_closed ? c->rcvbuf.cap : ring_free(&c->rcvbuf);
  return min_u32(free_space, 65535);
}

static void emit(struct tcplab_stack *s, tcplab_time_t now,
                 struct tcplab_endpoint local, struct tcplab_endpoint remote,
                 const struct tcplab_segment *seg) {
  size_t n =
      tcplab_segment_encode(seg, local.addr, remote.addr, s->txbuf, s->txcap);
  /* txbuf holds a maximum header plus one MSS, the most we ever send. */
  if (n == 0) {
    return;
  }
  s->stats.segs_out++;
  s->cb.output(s->user_data, now, local.addr, remote.addr, s->txbuf, n);
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
  emit(s, now, local, remote, &seg);
}

/* Sends one segment of this connection: flags as given (ACK filled with
 * RCV.NXT when set), len payload bytes taken from the send buffer at seq.
 * Every send goes through here, so here the trace and counters live. */
void conn_send_segment(struct tcplab_conn *c, tcplab_time_t now, uint8_t flags,
                       uint32_t seq, size_t len) {
  struct tcplab_stack *s = c->stack;
  struct tcplab_segment seg = {
      .sport = c->local.port,
      .dport = c->remote.port,
      .seq = seq,
      .ack = (flags & TCPLAB_ACK) ? c->rcv_nxt : 0,
      .flags = (uint8_t)flags,
  };
  if (!(flags & TCPLAB_RST)) {
    seg.wnd = (uint16_t)conn_rcv_wnd(c);
    c->rcv_adv = c->rcv_nxt + seg.wnd;
  }
  if (flags & TCPLAB_SYN) {
    /* RFC 9293 3.7.1: the MSS option only ever travels on SYNs. */
    seg.opt.present = TCPLAB_OPT_MSS;
    seg.opt.mss = s->cfg.mss;
  }
  if (len > 0) {
    /* Staged apart from txbuf: the ring may wrap, and encode copies the
     * payload behind the header it writes. */
    ring_peek(&c->sndbuf, seq - c->sb_seq, s->stage, (uint32_t)len);
    seg.payload = s->stage;
    seg.len = len;
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

  uint32_t seg_len = (uint32_t)len + ((flags & TCPLAB_SYN) ? 1 : 0) +
                     ((flags & TCPLAB_FIN) ? 1 : 0);
  if (seg_len > 0) {
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
  if (flags & TCPLAB_SYN) {
    c->stats.syn_tx++;
  }
  if (flags & TCPLAB_ACK) {
    c->ack_pending = 0;
  }
  c->stats.segs_sent++;
  emit(s, now, c->local, c->remote, &seg);
}

void conn_send_ack(struct tcplab_conn *c, tcplab_time_t now) {
  conn_send_segment(c, now, TCPLAB_ACK, c->snd_nxt, 0);
}

/* Sends whatever the state and the peer's window allow: our SYN, queued
 * data, our FIN; or a bare ACK if one is owed and nothing else carried it. */
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
  if (c->state == TCPLAB_TIME_WAIT || c->snd_nxt == c->iss) {
    if (c->ack_pending) {
      conn_send_ack(c, now);
    }
    return;
  }

  uint32_t data_end = c->sb_seq + c->sndbuf.len;
  /* Data waits until our SYN is acknowledged (RFC 9293 3.10.2: queued
   * until ESTABLISHED). */
  bool synced = c->snd_una != c->iss;
  while (synced && seq_lt(c->snd_nxt, data_end)) {
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    if (!seq_lt(c->snd_nxt, wnd_end)) {
      break;
    }
    uint32_t n = min_u32(data_end - c->snd_nxt, c->snd_mss);
    n = min_u32(n, wnd_end - c->snd_nxt);
    uint8_t flags = TCPLAB_ACK;
    if (c->snd_nxt + n == data_end) {
      flags |= TCPLAB_PSH; /* the last byte of what the app gave us */
      if (c->fin_queued) {
        flags |= TCPLAB_FIN;
      }
    }
    conn_send_segment(c, now, flags, c->snd_nxt, n);
    c->snd_nxt += n + ((flags & TCPLAB_FIN) ? 1 : 0);
  }
  if (c->fin_queued && c->snd_nxt == data_end) {
    conn_send_segment(c, now, TCPLAB_FIN | TCPLAB_ACK, c->snd_nxt, 0);
    c->snd_nxt++;
  }
  if (c->ack_pending) {
    conn_send_ack(c, now);
  }
}
