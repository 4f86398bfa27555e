/* Application calls on connections (RFC 9293 3.10.1-3.10.6). */
#include <limits.h>

#include "internal.h"

static bool can_queue_data(enum tcplab_state st) {
  switch (st) {
  case TCPLAB_SYN_SENT:
  case TCPLAB_SYN_RECEIVED:
  case TCPLAB_ESTABLISHED:
  case TCPLAB_CLOSE_WAIT: return true;
  default: return false;
  }
}

/* Inlined into both senders, so that plain sends, on every segment's
 * path, pay nothing for the urgent flag. */
__attribute__((always_inline)) static inline int
queue_send(struct tcplab_conn *c, tcplab_time_t now, const void *data,
           size_t len, bool urgent) {
  if (c->dead) {
    return TCPLAB_ERR_STATE;
  }
  if (c->fin_queued || c->app_closed ||
      (!can_queue_data(c->state) && c->state != TCPLAB_CLOSED)) {
    return TCPLAB_ERR_CLOSING;
  }
  if (!can_queue_data(c->state)) {
    return TCPLAB_ERR_STATE;
  }
  if (len == 0) {
    return 0;
  }
  if (data == NULL) {
    return TCPLAB_ERR_INVAL;
  }
  if (ring_free(&c->sndbuf) == 0) {
    return TCPLAB_ERR_WOULDBLOCK;
  }
  uint32_t want = len > INT_MAX ? INT_MAX : (uint32_t)len;
  want = want < ring_free(&c->sndbuf) ? want : ring_free(&c->sndbuf);
  if (!ring_reserve(&c->sndbuf, c->sndbuf.len + want, &c->stack->alloc)) {
    return TCPLAB_ERR_NOMEM;
  }
  uint32_t n = ring_push(&c->sndbuf, data, want);
  if (urgent) {
    /* 3.10.2: "If the urgent flag is set, then SND.UP <- SND.NXT": the
     * pointer follows the last octet of this urgent data. */
    c->snd_up = c->sb_seq + c->sndbuf.len;
    c->urg_send = 1;
  }
  stack_enter(c->stack);
  conn_output(c, now);
  stack_leave(c->stack);
  return (int)n;
}

int tcplab_conn_send(struct tcplab_conn *c, tcplab_time_t now, const void *data,
                     size_t len) {
  return queue_send(c, now, data, len, false);
}

int tcplab_conn_send_urgent(struct tcplab_conn *c, tcplab_time_t now,
                            const void *data, size_t len) {
  return queue_send(c, now, data, len, true);
}

size_t tcplab_conn_urgent(const struct tcplab_conn *c) {
  uint32_t reader = c->rcv_nxt - c->rcvbuf.len; /* next octet to be read */
  if (!c->urg_rcv || !seq_gt(c->rcv_up, reader)) {
    return 0;
  }
  return c->rcv_up - reader;
}

/* The reader took n bytes: drop them and tell the peer about the space
 * when it matters. */
static void conn_consumed(struct tcplab_conn *c, tcplab_time_t now,
                          uint32_t n) {
  ring_consume(&c->rcvbuf, n);
  if (c->rcvbuf.len == 0 && c->reass.n == 0) {
    /* Nothing is held past the end either: start again at the front of
     * the storage, so that the next segments neither wrap nor leave the
     * cache lines just used. */
    ring_rewind(&c->rcvbuf);
  }
  /* Announce an opened window at once when the peer may be held back by
   * the one it knows: the new window is at least twice that (as Linux
   * does); otherwise the next ACK carries it. conn_rcv_wnd applies the
   * silly-window threshold of RFC 9293 3.8.6.2.2. Read inside this
   * connection's own callback, the update waits for the flush that
   * follows, where a reply the application sends can carry it. */
  bool receiving = state_receives(c->state);
  uint32_t offered =
      (int32_t)(c->rcv_adv - c->rcv_nxt) > 0 ? c->rcv_adv - c->rcv_nxt : 0;
  uint32_t wnd = conn_rcv_wnd(c);
  if (receiving && !c->dead && wnd > offered && wnd / 2 >= offered) {
    if (c->notifying) {
      c->ack_pending = 1;
    } else {
      stack_enter(c->stack);
      conn_send_ack(c, now);
      stack_leave(c->stack);
    }
  }
}

int tcplab_conn_recv(struct tcplab_conn *c, tcplab_time_t now, void *buf,
                     size_t cap) {
  if (cap == 0 || buf == NULL) {
    return TCPLAB_ERR_INVAL;
  }
  if (c->rcvbuf.len == 0) {
    return c->fin_rcvd ? 0 : TCPLAB_ERR_WOULDBLOCK;
  }
  uint32_t n = c->rcvbuf.len;
  if (cap < n) {
    n = cap > INT_MAX ? INT_MAX : (uint32_t)cap;
  }
  ring_peek(&c->rcvbuf, 0, buf, n);
  conn_consumed(c, now, n);
  return (int)n;
}

size_t tcplab_conn_peek(const struct tcplab_conn *c, size_t off,
                        const void **data) {
  if (data == NULL) {
    return 0;
  }
  if (off >= c->rcvbuf.len) {
    *data = NULL;
    return 0;
  }
  uint32_t n;
  *data = ring_at(&c->rcvbuf, (uint32_t)off, &n);
  return n;
}

int tcplab_conn_consume(struct tcplab_conn *c, tcplab_time_t now, size_t n) {
  if (n > c->rcvbuf.len) {
    return TCPLAB_ERR_INVAL;
  }
  if (n > 0) {
    conn_consumed(c, now, (uint32_t)n);
  }
  return (int)n;
}

/* Shared by shutdown and close: queue our FIN behind the data and move to
 * the state RFC 9293 3.10.4 names. */
static int queue_fin(struct tcplab_conn *c, tcplab_time_t now,
                     enum tcplab_event ev) {
  enum tcplab_state to;
  switch (c->state) {
  case TCPLAB_SYN_RECEIVED:
    if (c->sndbuf.len > 0) {
      /* "otherwise, queue for processing after entering ESTABLISHED
       * state": the FIN follows the data, which waits for our SYN's ACK;
       * the ACK check of SYN_RECEIVED still applies meanwhile. */
      c->fin_queued = 1;
      conn_trace(c, now, c->state, c->state, ev, 0, 0, 0, 0);
      return TCPLAB_OK;
    }
    to = TCPLAB_FIN_WAIT_1;
    break;
  case TCPLAB_ESTABLISHED: to = TCPLAB_FIN_WAIT_1; break;
  case TCPLAB_CLOSE_WAIT: to = TCPLAB_LAST_ACK; break;
  default: return TCPLAB_ERR_STATE;
  }
  c->fin_queued = 1;
  conn_set_state(c, now, to, ev);
  conn_output(c, now);
  return TCPLAB_OK;
}

/* RFC 9293 3.10.5: the states in which ABORT sends a RST; in SYN_SENT,
 * CLOSING, LAST_ACK and TIME_WAIT the connection is just deleted. */
static bool rst_on_abort(enum tcplab_state st) {
  switch (st) {
  case TCPLAB_SYN_RECEIVED:
  case TCPLAB_ESTABLISHED:
  case TCPLAB_FIN_WAIT_1:
  case TCPLAB_FIN_WAIT_2:
  case TCPLAB_CLOSE_WAIT: return true;
  default: return false;
  }
}

/* RFC 1122 4.2.2.13: close() with received data unread resets the
 * connection wherever the peer still listens: ABORT's states, and CLOSING
 * and LAST_ACK, where our FIN is not yet acknowledged. */
static bool rst_on_unread(enum tcplab_state st) {
  return rst_on_abort(st) || st == TCPLAB_CLOSING || st == TCPLAB_LAST_ACK;
}

static void note_close_call(struct tcplab_conn *c, tcplab_time_t now) {
  if (c->stats.close_called == TCPLAB_TIME_NEVER) {
    c->stats.close_called = now;
  }
}

int tcplab_conn_shutdown(struct tcplab_conn *c, tcplab_time_t now) {
  if (c->dead || c->fin_queued || c->app_closed) {
    return TCPLAB_ERR_STATE;
  }
  stack_enter(c->stack);
  int rc = queue_fin(c, now, TCPLAB_EV_APP_SHUTDOWN);
  if (rc == TCPLAB_OK) {
    note_close_call(c, now);
  }
  stack_leave(c->stack);
  return rc;
}

int tcplab_conn_close(struct tcplab_conn *c, tcplab_time_t now) {
  if (c->dead || c->app_closed) {
    return TCPLAB_ERR_STATE;
  }
  struct tcplab_stack *s = c->stack;
  stack_enter(s);
  c->app_closed = 1;
  note_close_call(c, now);
  bool unread = c->rcvbuf.len > 0;
  /* Nobody will read what is buffered or what still arrives. */
  ring_consume(&c->rcvbuf, c->rcvbuf.len);
  if (unread && s->cfg.rst_on_data_loss && rst_on_unread(c->state)) {
    /* RFC 1122 4.2.2.13: a RST tells the peer its data was lost. */
    conn_send_segment(c, now, TCPLAB_RST | TCPLAB_ACK, c->snd_max, 0);
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_APP_CLOSE, TCPLAB_ERR_DATA_LOST);
  } else if (c->state == TCPLAB_SYN_SENT) {
    /* "Delete the TCB": nothing was synchronized, so no RST. */
    conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_APP_CLOSE, TCPLAB_OK);
  } else if (!c->fin_queued) {
    queue_fin(c, now, TCPLAB_EV_APP_CLOSE);
  } else {
    /* Already shut down: the state does not change, but the timeline
     * shows the call, and an orphan in FIN_WAIT_2 may now time out. */
    conn_trace(c, now, c->state, c->state, TCPLAB_EV_APP_CLOSE, 0, 0, 0, 0);
    if (c->state == TCPLAB_FIN_WAIT_2 &&
        s->cfg.fin_wait_2_timeout != TCPLAB_TIME_NEVER) {
      timer_set(c, TIMER_LINGER, now + s->cfg.fin_wait_2_timeout);
    }
  }
  stack_leave(s);
  return TCPLAB_OK;
}

int tcplab_conn_abort(struct tcplab_conn *c, tcplab_time_t now) {
  if (c->dead) {
    return TCPLAB_ERR_STATE;
  }
  struct tcplab_stack *s = c->stack;
  stack_enter(s);
  note_close_call(c, now);
  if (rst_on_abort(c->state)) {
    /* RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>; the ACK bit, as Linux
     * sets it, lets a peer in SYN_SENT accept it too. */
    conn_send_segment(c, now, TCPLAB_RST | TCPLAB_ACK, c->snd_max, 0);
  }
  conn_end(c, now, TCPLAB_CLOSED, TCPLAB_EV_APP_ABORT, TCPLAB_ERR_ABORTED);
  stack_leave(s);
  return TCPLAB_OK;
}

size_t tcplab_conn_send_space(const struct tcplab_conn *c) {
  if (c->dead || c->fin_queued || c->app_closed || !can_queue_data(c->state)) {
    return 0;
  }
  return ring_free(&c->sndbuf);
}

size_t tcplab_conn_readable(const struct tcplab_conn *c) {
  return c->rcvbuf.len;
}

enum tcplab_state tcplab_conn_state(const struct tcplab_conn *c) {
  return c->state;
}

uint64_t tcplab_conn_id(const struct tcplab_conn *c) {
  return c->id;
}

struct tcplab_endpoint tcplab_conn_local(const struct tcplab_conn *c) {
  return c->local;
}

struct tcplab_endpoint tcplab_conn_remote(const struct tcplab_conn *c) {
  return c->remote;
}

struct tcplab_listener *tcplab_conn_listener(const struct tcplab_conn *c) {
  return c->listener;
}

void tcplab_conn_set_user_data(struct tcplab_conn *c, void *p) {
  c->user_data = p;
}

void *tcplab_conn_user_data(const struct tcplab_conn *c) {
  return c->user_data;
}

const struct tcplab_conn_stats *tcplab_conn_stats(const struct tcplab_conn *c) {
  return &c->stats;
}

void tcplab_conn_set_nagle(struct tcplab_conn *c, bool on) {
  c->nagle = on ? 1 : 0;
}

int tcplab_conn_set_retries(struct tcplab_conn *c, unsigned retries) {
  if (retries != TCPLAB_RETRIES_NEVER && retries > UINT8_MAX) {
    return TCPLAB_ERR_INVAL;
  }
  c->retries_never = retries == TCPLAB_RETRIES_NEVER;
  c->retries_max = c->retries_never ? 0 : (uint8_t)retries;
  return TCPLAB_OK;
}
