/* The connection state machine: segment arrival (RFC 9293 section 3.10.7)
 * and timer expiry (3.10.8) for one connection, and the LISTEN state. */
#include <string.h>

#include "cc.h"
#include "internal.h"
#include "minmax.h"
#include "seq.h"

/* ------------------------------------------------------------- trace */

void conn_trace_emit(struct tcplab_conn *c, tcplab_time_t now,
                     enum tcplab_state from, enum tcplab_state to,
                     enum tcplab_event ev, uint8_t flags, uint32_t seq,
                     uint32_t ack, uint32_t len) {
  struct tcplab_stack *s = c->stack;
  struct tcplab_trace_event e = {
      .now = now,
      .id = c->id,
      .conn = c,
      .local = c->local,
      .remote = c->remote,
      .from = from,
      .to = to,
      .event = ev,
      .flags = flags,
      .seq = seq,
      .ack = ack,
      .len = len,
      .iss = c->iss,
      .irs = c->irs,
      .irs_valid = c->irs_valid,
      .error = c->stats.error,
      .cwnd = c->cwnd,
      .ssthresh = c->ssthresh,
  };
  s->cb.trace(s->user_data, &e);
}

void listener_trace(struct tcplab_listener *l, tcplab_time_t now,
                    enum tcplab_state from, enum tcplab_state to,
                    enum tcplab_event ev) {
  struct tcplab_stack *s = l->stack;
  if (s->cb.trace == NULL) {
    return;
  }
  struct tcplab_trace_event e = {
      .now = now,
      .id = l->id,
      .local = l->local,
      .from = from,
      .to = to,
      .event = ev,
  };
  s->cb.trace(s->user_data, &e);
}

/* The one place a connection changes state; it traces old -> new with
 * the cause and, for a segment, that segment's fields. */
static void transition(struct tcplab_conn *c, tcplab_time_t now,
                       enum tcplab_state to, enum tcplab_event ev,
                       uint8_t flags, uint32_t seq, uint32_t ack,
                       uint32_t len) {
  enum tcplab_state from = c->state;
  if (from == to) {
    return;
  }
  c->state = to;
  conn_trace(c, now, from, to, ev, flags, seq, ack, len);
  if (to == TCPLAB_ESTABLISHED && c->stats.established == TCPLAB_TIME_NEVER) {
    c->stats.established = now;
  }
}

/* A transition caused by the segment being processed carries its fields;
 * one caused by an application call or a timer carries none. */
void conn_set_state(struct tcplab_conn *c, tcplab_time_t now,
                    enum tcplab_state to, enum tcplab_event ev) {
  if (ev == TCPLAB_EV_RCV && c->in_input && c->state != to) {
    const struct tcplab_segment *in = c->in_seg;
    c->rcv_traced = 1;
    transition(c, now, to, ev, in->flags, in->seq, in->ack, (uint32_t)in->len);
  } else {
    transition(c, now, to, ev, 0, 0, 0, 0);
  }
}

/* ---------------------------------------------------------- lifetime */

struct tcplab_conn *conn_new(struct tcplab_stack *s, tcplab_time_t now,
                             struct tcplab_endpoint local,
                             struct tcplab_endpoint remote) {
  if (timer_heap_reserve(s, s->stats.conns_active + 1) != TCPLAB_OK) {
    return NULL;
  }
  struct tcplab_conn *c = stack_alloc(s, sizeof *c);
  if (c == NULL) {
    return NULL;
  }
  memset(c, 0, sizeof *c);
  c->stack = s;
  c->id = s->next_id++;
  c->local = local;
  c->remote = remote;
  c->state = TCPLAB_CLOSED;
  c->iss = s->cb.isn ? s->cb.isn(s->user_data, now, local, remote)
                     : tcplab_isn(s->cfg.seed, now, local.addr, local.port,
                                  remote.addr, remote.port);
  c->snd_una = c->snd_nxt = c->snd_max = c->iss;
  c->sb_seq = c->iss + 1; /* data follows the SYN */
  c->snd_mss = 536;       /* RFC 9293 3.7.1: without the option */
  c->sndbuf.cap = s->cfg.snd_buf;
  c->rcvbuf.cap = s->cfg.rcv_buf;
  rtt_init(&c->rtt, &s->cfg);
  c->nagle = s->cfg.nagle;
  c->retries_max = (uint8_t)s->cfg.retries;
  c->ssthresh = TCPLAB_WINDOW_MAX;
  for (int i = 0; i < TIMER_COUNT; i++) {
    c->timer[i] = TCPLAB_TIME_NEVER;
  }
  c->timer_key = TCPLAB_TIME_NEVER;
  c->timer_pos = TIMER_NOWHERE;
  c->snd_last = TCPLAB_TIME_NEVER;
  c->stats.opened = now;
  c->stats.established = TCPLAB_TIME_NEVER;
  c->stats.close_called = TCPLAB_TIME_NEVER;
  c->stats.closed = TCPLAB_TIME_NEVER;
  c->stats.iss = c->iss;
  stack_insert(s, c);
  s->stats.conns_active++;
  s->stats.conns_total++;
  return c;
}

void conn_free(struct tcplab_conn *c) {
  struct tcplab_stack *s = c->stack;
  ring_release(&c->sndbuf, &s->alloc);
  ring_release(&c->rcvbuf, &s->alloc);
  stack_free(s, c);
}

static void listener_unlink(struct tcplab_conn *c) {
  struct tcplab_listener *l = c->listener;
  if (l == NULL) {
    return;
  }
  if (c->queued) {
    struct tcplab_conn **pp = &l->qhead;
    struct tcplab_conn *prev = NULL;
    while (*pp != c) {
      prev = *pp;
      pp = &(*pp)->qnext;
    }
    *pp = c->qnext;
    if (l->qtail == c) {
      l->qtail = prev;
    }
    c->queued = 0;
  }
  l->pending--;
  c->listener = NULL;
}

/* Ends the connection: the final transition (to CLOSED, or to LISTEN for
 * a passive open reset in SYN_RECEIVED), then the application is told.
 * The memory is freed when the outermost API call returns. */
void conn_end(struct tcplab_conn *c, tcplab_time_t now, enum tcplab_state to,
              enum tcplab_event ev, int error) {
  struct tcplab_stack *s = c->stack;
  if (c->dead) {
    return;
  }
  c->stats.error = error;
  conn_set_state(c, now, to, ev);
  c->state = TCPLAB_CLOSED; /* a passive child returned to LISTEN is gone */
  c->stats.closed = now;
  timer_cancel_all(c);
  stack_remove(s, c);
  listener_unlink(c);
  c->dead = 1;
  c->dnext = s->dead;
  s->dead = c;
  s->stats.conns_active--;
  if (s->cb.closed) {
    s->cb.closed(s->user_data, c, error);
  }
}

/* ---------------------------------------------------------- helpers */

static void challenge_ack(struct tcplab_conn *c, tcplab_time_t now) {
  /* RFC 5961 7, ACK throttling: a limit per stack, as the RFC has it (a
   * count shared by all connections is the side channel of
   * CVE-2016-5696, which Linux closed by counting per connection). */
  struct tcplab_stack *s = c->stack;
  if (s->cfg.challenge_ack_limit != 0) {
    if (s->chack_count == 0 ||
        now - s->chack_start >= s->cfg.challenge_ack_interval) {
      s->chack_start = now;
      s->chack_count = 0;
    }
    if (s->chack_count >= s->cfg.challenge_ack_limit) {
      s->stats.challenge_acks_limited++;
      return;
    }
    s->chack_count++;
  }
  /* RFC 5961 3.2/4.2/5.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
  s->stats.challenge_acks++;
  conn_send_ack(c, now);
}

static void take_options(struct tcplab_conn *c,
                         const struct tcplab_segment *seg) {
  if (seg->opt.present & TCPLAB_OPT_MSS) {
    /* RFC 9293 3.7.1: send no more than the peer's MSS, nor more than our
     * own interface allows (our advertised MSS). */
    uint16_t mss =
        seg->opt.mss < c->stack->cfg.mss ? seg->opt.mss : c->stack->cfg.mss;
    c->snd_mss = mss > 0 ? mss : 1;
  } else if (c->snd_mss > c->stack->cfg.mss) {
    c->snd_mss = c->stack->cfg.mss;
  }
  /* RFC 7323 2.2: scaling is on only when both SYNs offered it; a shift
   * above 14 is taken as 14 (2.3). */
  if ((seg->opt.present & TCPLAB_OPT_WSCALE) && c->stack->cfg.window_scale) {
    c->wscale_ok = 1;
    c->snd_wscale = seg->opt.wscale < 14 ? seg->opt.wscale : 14;
    if (seg->opt.wscale > 14) {
      c->stack->stats.wscale_clamped++; /* "SHOULD log the error" */
    }
    c->rcv_wscale = wscale_for(c->stack->cfg.rcv_buf);
  }
}

static void take_window(struct tcplab_conn *c,
                        const struct tcplab_segment *seg) {
  /* RFC 7323 2.2: the window of a SYN is never scaled. */
  uint8_t shift = (seg->flags & TCPLAB_SYN) ? 0 : c->snd_wscale;
  c->snd_wnd = (uint32_t)seg->wnd << shift;
  c->snd_wl1 = seg->seq;
  c->snd_wl2 = seg->ack;
  if (c->snd_wnd > c->max_snd_wnd) {
    c->max_snd_wnd = c->snd_wnd;
  }
}

static void receive_syn(struct tcplab_conn *c,
                        const struct tcplab_segment *seg) {
  c->irs = seg->seq;
  c->irs_valid = 1;
  c->stats.irs = seg->seq;
  c->stats.irs_valid = true;
  c->rcv_nxt = seg->seq + 1;
  c->rcv_adv = c->rcv_nxt;
  take_options(c, seg);
}

static void enter_time_wait(struct tcplab_conn *c, tcplab_time_t now) {
  conn_set_state(c, now, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV);
  timer_set(c, TIMER_RTX, TCPLAB_TIME_NEVER);
  /* RFC 9293 3.10.7.4: 2*MSL from now, when the final ACK leaves. */
  timer_set(c, TIMER_LINGER, now + 2 * c->stack->cfg.msl);
  /* Nothing is sent or received any more: a connection waiting out
   * TIME_WAIT keeps only its TCB, so thousands of them stay cheap. Data
   * the application has not read yet is kept for it. */
  ring_release(&c->sndbuf, &c->stack->alloc);
  if (c->rcvbuf.len == 0) {
    ring_release(&c->rcvbuf, &c->stack->alloc);
  }
}

static void enter_fin_wait_2(struct tcplab_conn *c, tcplab_time_t now) {
  conn_set_state(c, now, TCPLAB_FIN_WAIT_2, TCPLAB_EV_RCV);
  /* RFC 9293 sets no limit; like Linux, only an orphaned connection (the
   * application closed it, so nobody can read what comes) times out. */
  tcplab_time_t t = c->stack->cfg.fin_wait_2_timeout;
  if (c->app_closed && t != TCPLAB_TIME_NEVER) {
    timer_set(c, TIMER_LINGER, now + t);
  }
}

/* SND.UNA < ack <= SND.MAX: release what the peer has acknowledged. */
static void ack_advance(struct tcplab_conn *c, tcplab_time_t now,
                        uint32_t ack) {
  uint32_t acked = ack - c->snd_una;
  bool syn_acked = c->snd_una == c->iss;
  if (syn_acked) {
    acked--; /* our SYN */
  }
  uint32_t data = min_u32(acked, c->sndbuf.len);
  ring_consume(&c->sndbuf, data);
  c->sb_seq += data;
  c->stats.bytes_sent += data;
  if (acked > data && c->fin_queued) {
    c->fin_acked = 1;
  }
  c->snd_una = ack;
  if (c->urg_send && seq_geq(ack, c->snd_up)) {
    c->urg_send = 0; /* the urgent data is acknowledged: urgent mode ends */
  }
  if (seq_lt(c->snd_nxt, c->snd_una)) {
    c->snd_nxt = c->snd_una; /* acked past a go-back after RTO */
  }
  if (c->rtt_active && seq_geq(ack, c->rtt_seq)) {
    rtt_sample(&c->rtt, &c->stack->cfg, now - c->rtt_start);
    c->rtt_active = 0;
    c->stats.srtt = c->rtt.srtt;
  }
  c->retries = 0;
  /* RFC 6298 5.2 / 5.3: stop the timer when everything is acknowledged,
   * restart it when new data is. */
  if (!c->persist) {
    timer_set(c, TIMER_RTX,
              c->snd_una == c->snd_max ? TCPLAB_TIME_NEVER : now + c->rtt.rto);
  }
  if (syn_acked) {
    cc_init(c, now);
  } else {
    cc_on_new_ack(c, now, ack, data);
  }
}

/* ----------------------------------------------------- LISTEN state */

/* An established passive connection waits in its listener's queue. */
static void listener_enqueue(struct tcplab_conn *c) {
  struct tcplab_listener *l = c->listener;
  c->queued = 1;
  c->qnext = NULL;
  if (l->qtail) {
    l->qtail->qnext = c;
  } else {
    l->qhead = c;
  }
  l->qtail = c;
}

/* RFC 9293 3.10.7.2. */
void listener_input(struct tcplab_listener *l, tcplab_time_t now, uint32_t src,
                    uint32_t dst, const struct tcplab_segment *seg) {
  struct tcplab_stack *s = l->stack;
  struct tcplab_endpoint local = {dst, seg->dport};
  struct tcplab_endpoint remote = {src, seg->sport};
  if (seg->flags & TCPLAB_RST) {
    return; /* "An incoming RST segment could not be valid" */
  }
  if (seg->flags & TCPLAB_ACK) {
    s->stats.rst_sent++;
    send_rst_raw(s, now, local, remote, seg->ack, 0, TCPLAB_RST);
    return;
  }
  if (!(seg->flags & TCPLAB_SYN)) {
    return;
  }
  if (l->pending >= l->backlog) {
    s->stats.backlog_drops++; /* the peer will retransmit its SYN */
    return;
  }
  struct tcplab_conn *c = conn_new(s, now, local, remote);
  if (c == NULL) {
    return; /* out of memory: as if the SYN was lost */
  }
  c->passive = 1;
  c->listener = l;
  l->pending++;
  c->stats.role = TCPLAB_ROLE_PASSIVE;
  c->state = TCPLAB_LISTEN; /* the child starts as its listener's copy */
  c->in_input = 1;
  c->in_seg = seg;
  c->stats.segs_received++;
  receive_syn(c, seg);
  c->snd_wnd = seg->wnd;
  c->max_snd_wnd = seg->wnd;
  c->snd_wl1 = seg->seq;
  conn_set_state(c, now, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV);
  /* Data or FIN on the SYN is not kept: it is not acknowledged, so the
   * peer sends it again once the connection is established. */
  conn_output(c, now); /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
  c->in_input = 0;
  if (s->cfg.two_way_handshake && !c->dead) {
    /* The counterfactual: the SYN alone opens the connection, whoever
     * sent it and whenever; the application is handed it at once. */
    transition(c, now, TCPLAB_ESTABLISHED, TCPLAB_EV_SND,
               TCPLAB_SYN | TCPLAB_ACK, c->iss, c->rcv_nxt, 0);
    listener_enqueue(c);
    if (s->cb.acceptable) {
      s->cb.acceptable(s->user_data, l);
    }
  }
}

/* --------------------------------------------------- SYN-SENT state */

static void process_text_and_fin(struct tcplab_conn *c, tcplab_time_t now,
                                 uint32_t seq, const uint8_t *data, size_t len,
                                 bool fin);

/* RFC 9293 3.10.7.3. */
static void syn_sent_input(struct tcplab_conn *c, tcplab_time_t now,
                           const struct tcplab_segment *seg) {
  uint8_t f = seg->flags;
  bool ack_ok = false;
  if (f & TCPLAB_ACK) {
    if (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
      if (!(f & TCPLAB_RST)) {
        conn_send_segment(c, now, TCPLAB_RST, seg->ack, 0);
      }
      return;
    }
    ack_ok = true;
  }
  if (f & TCPLAB_RST) {
    /* RFC 5961 3.2 keeps this rule: only a RST acknowledging our SYN. */
    if (ack_ok) {
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_ERR_REFUSED);
    }
    return;
  }
  if (!(f & TCPLAB_SYN)) {
    return;
  }
  receive_syn(c, seg);
  take_window(c, seg);
  if (ack_ok) {
    ack_advance(c, now, seg->ack);
    conn_set_state(c, now, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV);
    if (c->syn_retx) {
      rtt_after_syn_retransmit(&c->rtt, &c->stack->cfg);
    }
    c->notify |= NOTIFY_CONNECTED;
    c->ack_pending = 1; /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
    if (seg->len > 0 || (f & TCPLAB_FIN)) {
      process_text_and_fin(c, now, seg->seq + 1, seg->payload, seg->len,
                           f & TCPLAB_FIN);
    }
    return;
  }
  /* Simultaneous open: our SYN is answered by a SYN; send it again as
   * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Text waits for ESTABLISHED, so
   * it is dropped unacknowledged and the peer resends it. */
  conn_set_state(c, now, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV);
  conn_send_segment(c, now, TCPLAB_SYN | TCPLAB_ACK, c->iss, 0);
}

/* ---------------------------------------------- synchronized states */

/* RFC 9293 3.10.7.4, first check: is the segment in the window? */
static bool acceptable(const struct tcplab_conn *c, uint32_t seq,
                       uint32_t seg_len) {
  uint32_t wnd = conn_rcv_wnd(c);
  uint32_t nxt = c->rcv_nxt;
  if (seg_len == 0) {
    return wnd == 0 ? seq == nxt : seq_in(seq, nxt, nxt + wnd);
  }
  if (wnd == 0) {
    return false;
  }
  return seq_in(seq, nxt, nxt + wnd) ||
         seq_in(seq + seg_len - 1, nxt, nxt + wnd);
}

static void reset_received(struct tcplab_conn *c, tcplab_time_t now) {
  switch (c->state) {
  case TCPLAB_SYN_RECEIVED:
    if (c->passive) {
      /* "return this connection to the LISTEN state": the child goes. */
      conn_end(c, now, TCPLAB_LISTEN, TCPLAB_EV_RCV, TCPLAB_ERR_RESET);
    } else {
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_ERR_REFUSED);
    }
    break;
  case TCPLAB_TIME_WAIT:
    /* Reached only without RFC 1337 (no TIME-WAIT assassination): the
     * close had completed; nothing failed. */
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_OK);
    break;
  default:
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_ERR_RESET);
    break;
  }
}

/* Remembers [start, end) as received out of order. Returns false when
 * that would take a fifth disjoint range (the data is then dropped). */
static bool reass_add(struct reass *r, uint32_t start, uint32_t end) {
  uint8_t i = 0;
  while (i < r->n && seq_lt(r->end[i], start)) {
    i++; /* ranges wholly before, not touching */
  }
  if (i < r->n && seq_leq(r->start[i], end)) {
    /* Overlaps or touches range i: merge, then swallow what follows. */
    if (seq_lt(start, r->start[i])) {
      r->start[i] = start;
    }
    if (seq_gt(end, r->end[i])) {
      r->end[i] = end;
    }
    uint8_t j = i + 1;
    while (j < r->n && seq_leq(r->start[j], r->end[i])) {
      if (seq_gt(r->end[j], r->end[i])) {
        r->end[i] = r->end[j];
      }
      j++;
    }
    uint8_t gone = j - i - 1;
    for (uint8_t k = i + 1; k + gone < r->n; k++) {
      r->start[k] = r->start[k + gone];
      r->end[k] = r->end[k + gone];
    }
    r->n -= gone;
    return true;
  }
  if (r->n == REASS_MAX) {
    return false;
  }
  for (uint8_t k = r->n; k > i; k--) {
    r->start[k] = r->start[k - 1];
    r->end[k] = r->end[k - 1];
  }
  r->start[i] = start;
  r->end[i] = end;
  r->n++;
  return true;
}

/* The in-order data now reaches nxt: returns how far it reaches with the
 * held ranges that join it, and forgets those. */
static uint32_t reass_take(struct reass *r, uint32_t nxt) {
  uint8_t used = 0;
  while (used < r->n && seq_leq(r->start[used], nxt)) {
    if (seq_gt(r->end[used], nxt)) {
      nxt = r->end[used];
    }
    used++;
  }
  for (uint8_t k = 0; k + used < r->n; k++) {
    r->start[k] = r->start[k + used];
    r->end[k] = r->end[k + used];
  }
  r->n -= used;
  return nxt;
}

/* RFC 9293 3.8.6.3 and RFC 5681 4.2: in-order data may wait for the
 * delayed-ACK timer, but not beyond every second full-sized segment. */
static void ack_in_order(struct tcplab_conn *c, tcplab_time_t now, uint32_t n) {
  tcplab_time_t delay = c->stack->cfg.delayed_ack;
  c->rcv_unacked += n;
  if (delay == 0 || c->rcv_unacked >= 2u * c->rcv_mss) {
    c->ack_pending = 1;
  } else if (c->timer[TIMER_DELACK] == TCPLAB_TIME_NEVER) {
    timer_set(c, TIMER_DELACK, now + delay);
  }
}

/* Our FIN's peer arrived in order: RFC 9293 3.10.7.4, eighth step. */
static void receive_fin(struct tcplab_conn *c, tcplab_time_t now) {
  c->rcv_nxt++;
  c->fin_rcvd = 1;
  c->ack_pending = 1; /* a FIN is acknowledged at once */
  c->notify |= NOTIFY_PEER_CLOSED;
  switch (c->state) {
  case TCPLAB_ESTABLISHED:
    conn_set_state(c, now, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV);
    break;
  case TCPLAB_FIN_WAIT_1:
    if (c->fin_acked) {
      enter_time_wait(c, now); /* FIN_WAIT_1 -> TIME_WAIT directly */
    } else {
      conn_set_state(c, now, TCPLAB_CLOSING, TCPLAB_EV_RCV);
    }
    break;
  case TCPLAB_FIN_WAIT_2:
    timer_set(c, TIMER_LINGER, TCPLAB_TIME_NEVER);
    enter_time_wait(c, now);
    break;
  default: break;
  }
}

/* 3.10.7.4, sixth, "check the URG bit": RCV.UP <- max(RCV.UP, SEG.UP), the
 * pointer being an offset from the segment's own sequence number; the
 * application is told when it is new or moves on (MUST-32), unless it
 * has closed and reads nothing more. */
static void urgent_received(struct tcplab_conn *c,
                            const struct tcplab_segment *seg) {
  uint32_t up = seg->seq + seg->urp;
  if (c->urg_rcv && !seq_gt(up, c->rcv_up)) {
    return; /* the same urgent data: told already */
  }
  c->rcv_up = up;
  c->urg_rcv = 1;
  if (!c->app_closed && tcplab_conn_urgent(c) > 0) {
    c->notify |= NOTIFY_URGENT;
  }
}

/* Segment text (seventh step) and FIN (eighth step), for a segment
 * already trimmed to start at or after RCV.NXT and to end in the window.
 * Out-of-order data is kept in the receive buffer past its end, at its
 * place, and joins the stream when the gap fills. */
static void process_text_and_fin(struct tcplab_conn *c, tcplab_time_t now,
                                 uint32_t seq, const uint8_t *data, size_t len,
                                 bool fin) {
  if (!state_receives(c->state)) {
    return; /* the peer's FIN was already received: nothing can follow */
  }
  if (len > 0 && c->app_closed && c->stack->cfg.rst_on_data_loss) {
    /* RFC 1122 4.2.2.13: new data nobody will read. The RST carries the
     * segment's ACK, the peer's RCV.NXT, so it is accepted at once. */
    conn_send_segment(c, now, TCPLAB_RST | TCPLAB_ACK, c->in_seg->ack, 0);
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_ERR_DATA_LOST);
    return;
  }
  if (fin) {
    c->fin_seen = 1;
    c->fin_seq = seq + (uint32_t)len;
    if (seq != c->rcv_nxt) {
      c->ack_pending = 1; /* held out of order: say where the hole is */
    }
  }
  if (len > 0) {
    if (len > c->rcv_mss) {
      c->rcv_mss =
          (uint16_t)(len < c->stack->cfg.mss ? len : c->stack->cfg.mss);
    }
    uint32_t off = seq - c->rcv_nxt;
    uint32_t space = c->app_closed ? c->rcvbuf.cap : ring_free(&c->rcvbuf);
    /* What lies past the buffer is dropped, and said so at once. */
    uint32_t n = off < space ? min_u32((uint32_t)len, space - off) : 0;
    if (n < len) {
      c->ack_pending = 1;
    }
    if (n > 0 && !c->app_closed &&
        !ring_reserve(&c->rcvbuf, c->rcvbuf.len + off + n, &c->stack->alloc)) {
      n = 0; /* no memory: as if lost */
    }
    if (off > 0) {
      /* RFC 5681 4.2: an out-of-order segment is acknowledged at once
       * (the duplicate ACK the sender counts). */
      c->stats.ooo_segments++;
      c->ack_pending = 1;
      if (n > 0 && reass_add(&c->reass, seq, seq + n) && !c->app_closed) {
        ring_write_at(&c->rcvbuf, off, data, n);
      }
    } else if (n > 0) {
      bool filled_gap = c->reass.n > 0;
      if (!c->app_closed && !c->rx_placed) {
        ring_write_at(&c->rcvbuf, 0, data, n);
      }
      uint32_t end = reass_take(&c->reass, c->rcv_nxt + n);
      uint32_t advance = end - c->rcv_nxt;
      if (!c->app_closed) {
        ring_commit(&c->rcvbuf, advance);
        c->notify |= NOTIFY_READABLE;
      }
      c->rcv_nxt = end;
      c->stats.bytes_received += advance;
      if (filled_gap) {
        c->ack_pending = 1; /* RFC 5681 4.2: a filled gap, ACK at once */
      } else {
        ack_in_order(c, now, advance);
      }
    }
  }
  if (c->fin_seen && c->rcv_nxt == c->fin_seq && !c->fin_rcvd) {
    receive_fin(c, now);
  }
}

/* The receive fast path. An in-order data segment for a connection that
 * holds nothing out of order is copied into the free storage past the
 * receive buffer's data, where process_text_and_fin would put it, while
 * its checksum is summed: the payload is read once. The bytes become data
 * only if the checksum is right and the segment is then accepted; until
 * then they lie in space nothing else uses. Returns false, having placed
 * nothing, when the segment does not qualify. */
bool conn_place(struct tcplab_conn *c, const struct tcplab_segment *seg,
                uint64_t *sum) {
  /* in_input: a segment fed from inside a callback must not write over
   * one still being processed. */
  if (!state_receives(c->state) || c->in_input || seg->len == 0 ||
      seg->seq != c->rcv_nxt || c->reass.n > 0 || c->app_closed ||
      (seg->flags & (TCPLAB_SYN | TCPLAB_RST)) ||
      seg->len > ring_storage_free(&c->rcvbuf)) {
    return false;
  }
  *sum = ring_place_sum(&c->rcvbuf, seg->payload, (uint32_t)seg->len);
  return true;
}

/* Header prediction (Jacobson, 1990): in ESTABLISHED nearly every segment
 * is either in-order data that acknowledges nothing new or a pure ACK of
 * new data, with the window unchanged. For those every check of RFC 9293
 * 3.10.7.4 has a known outcome (acceptable and untrimmed, no RST or SYN,
 * not a duplicate ACK, no window change), so only their effects are
 * applied here. Anything else, or any doubt, takes sync_input. Returns
 * whether the segment was handled. */
static bool predicted_input(struct tcplab_conn *c, tcplab_time_t now,
                            const struct tcplab_segment *seg) {
  uint32_t seq = seg->seq, ack = seg->ack, len = (uint32_t)seg->len;
  if (c->state != TCPLAB_ESTABLISHED ||
      (seg->flags & ~TCPLAB_PSH) != TCPLAB_ACK || seq != c->rcv_nxt ||
      ((uint32_t)seg->wnd << c->snd_wscale) != c->snd_wnd || c->snd_wnd == 0 ||
      c->persist || c->in_recovery || c->fin_seen || c->app_closed ||
      c->reass.n > 0) {
    return false;
  }
  if (len == 0) {
    /* New data acknowledged; an ACK of nothing new may be a duplicate. */
    if (!seq_gt(ack, c->snd_una) || seq_gt(ack, c->snd_max)) {
      return false;
    }
    ack_advance(c, now, ack);
  } else {
    /* Data within the window, acknowledging nothing new. */
    if (ack != c->snd_una || len > conn_rcv_wnd(c)) {
      return false;
    }
    process_text_and_fin(c, now, seq, seg->payload, len, false);
  }
  if (seq_lt(c->snd_wl1, seq) ||
      (c->snd_wl1 == seq && seq_leq(c->snd_wl2, ack))) {
    /* take_window, with the window unchanged. SND.UNA equals the ACK
     * here; copying seq and ack from the segment side by side would let
     * gcc load them as one 8-byte word, which waits for decode's two
     * 4-byte stores. */
    c->snd_wl1 = seq;
    c->snd_wl2 = c->snd_una;
  }
  return true;
}

/* RFC 9293 3.10.7.4: SYN_RECEIVED and the synchronized states. */
static void sync_input(struct tcplab_conn *c, tcplab_time_t now,
                       const struct tcplab_segment *seg) {
  const struct tcplab_config *cfg = &c->stack->cfg;
  uint8_t f = seg->flags;
  bool syn = f & TCPLAB_SYN, fin = f & TCPLAB_FIN, rst = f & TCPLAB_RST;
  uint32_t seq = seg->seq;
  const uint8_t *data = seg->payload;
  size_t len = seg->len;

  if (c->state == TCPLAB_SYN_RECEIVED && syn && !rst && seq == c->irs) {
    if (!(f & TCPLAB_ACK)) {
      /* The peer's SYN again: our SYN|ACK was lost. Answer it again
       * rather than wait for our timer (as Linux does). */
      conn_send_segment(c, now, TCPLAB_SYN | TCPLAB_ACK, c->iss, 0);
      return;
    }
    /* Simultaneous open (RFC 9293 figure 7, line 6): the peer's SYN|ACK
     * repeats its SYN and acknowledges ours; take it as the ACK. */
    syn = false;
    seq++;
  }

  if (c->state == TCPLAB_TIME_WAIT && fin && !rst && !syn &&
      seq + (uint32_t)len + 1 == c->rcv_nxt) {
    /* "The only thing that can arrive in this state is a retransmission
     * of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." */
    conn_send_ack(c, now);
    timer_set(c, TIMER_LINGER, now + 2 * cfg->msl);
    return;
  }

  if (syn && !rst && cfg->rfc5961 && c->state != TCPLAB_SYN_RECEIVED) {
    /* RFC 5961 4.2 (RFC 9293 fourth step): a SYN in a synchronized state,
     * whatever its sequence number, gets a challenge ACK. */
    challenge_ack(c, now);
    return;
  }

  /* A RST is judged by its sequence number alone, whatever it carries
   * (second check: "If the RST bit is set and the sequence number is
   * outside the current receive window, silently drop the segment"). */
  uint32_t seg_len = rst ? 0 : (uint32_t)len + (syn ? 1 : 0) + (fin ? 1 : 0);
  if (!acceptable(c, seq, seg_len)) {
    if (!rst) {
      conn_send_ack(c, now); /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
    }
    /* "If the RCV.WND is zero, no segments will be acceptable, but
     * special allowance should be made to accept valid ACKs": a window
     * probe at RCV.NXT still acknowledges our data. */
    if (rst || syn || conn_rcv_wnd(c) != 0 || seq != c->rcv_nxt) {
      return;
    }
    len = 0;
    fin = false;
  }

  /* Trim to the idealized segment starting at RCV.NXT (3.10.7.4). */
  if (seq_lt(seq, c->rcv_nxt)) {
    if (syn) {
      syn = false;
      seq++;
    }
    uint32_t skip = min_u32(c->rcv_nxt - seq, (uint32_t)len);
    data += skip;
    len -= skip;
    seq += skip;
    if (seq_lt(seq, c->rcv_nxt)) {
      fin = false; /* the FIN too is old */
    }
  }
  uint32_t wnd_end = c->rcv_nxt + conn_rcv_wnd(c);
  if (len > 0 && seq_gt(seq + (uint32_t)len, wnd_end)) {
    len = wnd_end - seq;
    fin = false; /* beyond the window */
  } else if (fin && seq + (uint32_t)len == wnd_end) {
    fin = false; /* the data fills the window; the FIN's octet is past it */
  }

  if (rst) {
    if (c->state == TCPLAB_TIME_WAIT && cfg->rfc1337) {
      return; /* RFC 1337 F1: ignored, without even a challenge ACK */
    }
    if (cfg->rfc5961 && seg->seq != c->rcv_nxt) {
      challenge_ack(c, now); /* RFC 5961 3.2: in window, not exact */
      return;
    }
    reset_received(c, now);
    return;
  }

  if (syn) {
    if (c->state == TCPLAB_SYN_RECEIVED && c->passive) {
      conn_end(c, now, TCPLAB_LISTEN, TCPLAB_EV_RCV, TCPLAB_ERR_RESET);
    } else if (cfg->rfc5961) {
      challenge_ack(c, now);
    } else {
      /* RFC 793: a SYN in the window is an error; reset. */
      conn_send_segment(c, now, TCPLAB_RST, c->snd_max, 0);
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_ERR_RESET);
    }
    return;
  }

  if (!(f & TCPLAB_ACK)) {
    return; /* fifth step: "if the ACK bit is off, drop the segment" */
  }

  if (c->state == TCPLAB_SYN_RECEIVED) {
    if (!(seq_lt(c->snd_una, seg->ack) && seq_leq(seg->ack, c->snd_max))) {
      conn_send_segment(c, now, TCPLAB_RST, seg->ack, 0);
      return;
    }
    take_window(c, seg);
    conn_set_state(c, now, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV);
    if (c->passive) {
      listener_enqueue(c);
      c->notify |= NOTIFY_ACCEPTABLE;
    } else {
      c->notify |= NOTIFY_CONNECTED;
    }
    if (c->fin_queued) {
      /* A close made in SYN_RECEIVED with data queued (3.10.4) takes
       * effect now; its FIN leaves behind the data. */
      conn_set_state(c, now, TCPLAB_FIN_WAIT_1,
                     c->app_closed ? TCPLAB_EV_APP_CLOSE
                                   : TCPLAB_EV_APP_SHUTDOWN);
    }
  }

  if (seq_gt(seg->ack, c->snd_max)) {
    /* Acknowledges something not yet sent. */
    if (cfg->rfc5961) {
      challenge_ack(c, now);
    } else {
      conn_send_ack(c, now);
    }
    return;
  }
  if (cfg->rfc5961 && seq_lt(seg->ack, c->snd_una - c->max_snd_wnd)) {
    challenge_ack(c, now); /* RFC 5961 5.2: too old to be believed */
    return;
  }
  /* RFC 5681 2: a duplicate ACK acknowledges nothing new, carries no
   * data, SYN or FIN, repeats the window, while data is outstanding. */
  bool dup = seg->ack == c->snd_una && seg->len == 0 &&
             !(f & (TCPLAB_SYN | TCPLAB_FIN)) &&
             ((uint32_t)seg->wnd << c->snd_wscale) == c->snd_wnd &&
             c->snd_max != c->snd_una && c->state != TCPLAB_SYN_RECEIVED &&
             !c->persist; /* answers to window probes are not losses */
  if (c->persist) {
    c->retries = 0; /* the peer answers our probes */
  }
  bool was_syn_unacked = c->snd_una == c->iss;
  if (seq_gt(seg->ack, c->snd_una)) {
    if (was_syn_unacked && c->syn_retx) {
      rtt_after_syn_retransmit(&c->rtt, cfg);
    }
    ack_advance(c, now, seg->ack);
  } else if (dup) {
    cc_on_dupack(c, now);
  }
  /* 3.10.7.4: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should
   * be updated" (snd_una has moved up to an ACK that advanced it): an
   * older ACK, overtaken on the way, carries an older window. */
  if (seq_leq(c->snd_una, seg->ack) &&
      (seq_lt(c->snd_wl1, seg->seq) ||
       (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack)))) {
    take_window(c, seg);
  }
  if (c->snd_wnd == 0) {
    /* RFC 1122 4.2.2.17: a peer that answers while its window is closed
     * keeps the connection open, however long it stays closed. */
    c->retries = 0;
  }

  switch (c->state) {
  case TCPLAB_FIN_WAIT_1:
    if (c->fin_acked && !fin) {
      enter_fin_wait_2(c, now);
    }
    break;
  case TCPLAB_CLOSING:
    if (c->fin_acked) {
      enter_time_wait(c, now);
    }
    return;
  case TCPLAB_LAST_ACK:
    if (c->fin_acked) {
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_RCV, TCPLAB_OK);
    }
    return;
  case TCPLAB_TIME_WAIT: return;
  default: break;
  }

  if ((f & TCPLAB_URG) && state_receives(c->state)) {
    urgent_received(c, seg);
  }
  process_text_and_fin(c, now, seq, data, len, fin);
  if (c->state == TCPLAB_FIN_WAIT_1 && c->fin_acked) {
    enter_fin_wait_2(c, now); /* our FIN acked, theirs not yet in order */
  }
}

/* Tells the application what the segment changed, then sends what is owed
 * (an ACK the application's own reply did not already carry). */
static void notify_and_flush(struct tcplab_conn *c, tcplab_time_t now) {
  struct tcplab_stack *s = c->stack;
  unsigned n = c->notify;
  c->notify = 0;
  c->notifying = 1;
  if ((n & NOTIFY_CONNECTED) && s->cb.connected && !c->dead) {
    s->cb.connected(s->user_data, c);
  }
  if ((n & NOTIFY_ACCEPTABLE) && s->cb.acceptable && !c->dead && c->listener) {
    s->cb.acceptable(s->user_data, c->listener);
  }
  if ((n & NOTIFY_URGENT) && s->cb.urgent && !c->dead &&
      tcplab_conn_urgent(c) > 0) {
    s->cb.urgent(s->user_data, c, tcplab_conn_urgent(c));
  }
  if ((n & NOTIFY_READABLE) && s->cb.readable && !c->dead &&
      c->rcvbuf.len > 0) {
    s->cb.readable(s->user_data, c, c->rcvbuf.len);
  }
  if ((n & NOTIFY_PEER_CLOSED) && s->cb.peer_closed && !c->dead) {
    s->cb.peer_closed(s->user_data, c);
  }
  c->notifying = 0;
  conn_output(c, now);
}

void conn_input(struct tcplab_conn *c, tcplab_time_t now,
                const struct tcplab_segment *seg) {
  c->in_input = 1;
  c->in_seg = seg;
  c->rcv_traced = 0;
  c->stats.segs_received++;
  if (c->state == TCPLAB_SYN_SENT) {
    syn_sent_input(c, now, seg);
  } else if (!predicted_input(c, now, seg)) {
    sync_input(c, now, seg);
  }
  if (!c->dead && !c->rcv_traced) {
    c->rcv_traced = 1;
    conn_trace(c, now, c->state, c->state, TCPLAB_EV_RCV, seg->flags, seg->seq,
               seg->ack, (uint32_t)seg->len);
  }
  c->in_input = 0;
  notify_and_flush(c, now);
}

/* ------------------------------------------------------------ timers */

void conn_on_timer(struct tcplab_conn *c, tcplab_time_t now) {
  const struct tcplab_config *cfg = &c->stack->cfg;
  if (c->timer[TIMER_DELACK] <= now) {
    timer_set(c, TIMER_DELACK, TCPLAB_TIME_NEVER);
    if (c->rcv_unacked > 0) {
      conn_send_ack(c, now);
    }
  }
  if (c->timer[TIMER_LINGER] <= now) {
    timer_set(c, TIMER_LINGER, TCPLAB_TIME_NEVER);
    if (c->state == TCPLAB_TIME_WAIT) {
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_TIMER_TIME_WAIT, TCPLAB_OK);
      return;
    }
    if (c->state == TCPLAB_FIN_WAIT_2) {
      conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_TIMER_FIN_WAIT_2, TCPLAB_OK);
      return;
    }
  }
  if (c->timer[TIMER_RTX] > now) {
    return;
  }
  timer_set(c, TIMER_RTX, TCPLAB_TIME_NEVER);
  if (c->persist) {
    conn_persist_expired(c, now);
    return;
  }
  if (c->snd_una == c->snd_max) {
    return;
  }
  bool syn = c->snd_una == c->iss;
  if (!conn_retry(c, !syn,
                  c->passive ? cfg->synack_retries : cfg->syn_retries)) {
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_GAVE_UP, TCPLAB_ERR_TIMEDOUT);
    return;
  }
  c->stats.timeouts++;
  if (syn) {
    c->syn_retx = 1;
  }
  conn_trace(c, now, c->state, c->state, TCPLAB_EV_TIMER_RETRANSMIT, 0, 0, 0,
             0);
  rtt_backoff(&c->rtt, cfg); /* RFC 6298 5.5 */
  if (!syn) {
    cc_on_timeout(c, now);
  }
  /* RFC 6298 5.4: send again the oldest unacknowledged segment, even
   * into a window that shrank to zero (RFC 9293 3.8.6: it then probes
   * it); what follows goes again as cwnd, one segment now (RFC 5681 3.1),
   * allows. */
  c->snd_nxt = c->snd_una;
  if (!syn) {
    c->snd_nxt += conn_retransmit_first(c, now);
  }
  conn_output(c, now);
}
