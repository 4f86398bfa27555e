/* Internal structures shared by the core's units. Not installed. */
#ifndef TCPLAB_INTERNAL_H
#define TCPLAB_INTERNAL_H

#include <tcplab/core.h>

#include "minmax.h"
#include "ring.h"
#include "rtt.h"
#include "seq.h"

/* Out-of-order ranges a connection remembers; a segment opening a fifth
 * hole is dropped and comes again. */
#define REASS_MAX 4

/* The timers one connection can have running (STYLE: one tagged deadline
 * per kind, folded into a single entry keyed by the earliest, in the heap
 * or, for a connection waiting out TIME_WAIT, in the TIME_WAIT queue). */
enum timer_kind {
  TIMER_RTX,    /* retransmission, or zero-window probe when persisting */
  TIMER_LINGER, /* TIME_WAIT (2*MSL) or FIN_WAIT_2 timeout */
  TIMER_DELACK, /* delayed ACK (RFC 9293 3.8.6.3) */
  TIMER_COUNT
};

/* Application notifications collected while a segment is processed and
 * delivered once the connection is consistent again. */
enum {
  NOTIFY_CONNECTED = 1u << 0,
  NOTIFY_ACCEPTABLE = 1u << 1,
  NOTIFY_READABLE = 1u << 2,
  NOTIFY_PEER_CLOSED = 1u << 3,
  NOTIFY_URGENT = 1u << 4,
};

/* The transmission control block (RFC 9293 section 3.3.1 names). */
struct tcplab_conn {
  struct tcplab_stack *stack;
  union { /* a connection leaves the accept queue before it ends */
    struct tcplab_conn *qnext; /* listener accept queue */
    struct tcplab_conn *dnext; /* stack's list of ended connections */
  };
  struct tcplab_listener *listener; /* passive, until accepted */
  void *user_data;
  /* Together, so that a step along a hash chain (lookup, rehash) usually
   * reads one cache line of a connection, not two. */
  struct tcplab_conn *hnext; /* 4-tuple hash chain */
  struct tcplab_endpoint local, remote;
  uint64_t id;
  uint32_t timer_pos; /* index in the timer heap, position in the TIME_WAIT
                         queue if tw_queued, or TIMER_NOWHERE; beside id,
                         which a sift reads on a tie */
  enum tcplab_state state;

  /* Send sequence space. */
  uint32_t iss;         /* initial send sequence number */
  uint32_t snd_una;     /* oldest unacknowledged sequence number */
  uint32_t snd_nxt;     /* next sequence number to send */
  uint32_t snd_max;     /* highest sequence number sent (snd_nxt goes back on
                           RTO, acceptability is checked against this) */
  uint32_t snd_wnd;     /* peer's window */
  uint32_t max_snd_wnd; /* largest window the peer offered (RFC 5961 5.2) */
  uint32_t snd_wl1;     /* segment seq used for the last window update */
  uint32_t snd_wl2;     /* segment ack used for the last window update */
  uint32_t snd_up;      /* SND.UP: the octet after our urgent data */
  uint32_t sb_seq;      /* sequence number of the first byte in sndbuf */
  uint16_t snd_mss;     /* effective send MSS */
  uint8_t snd_wscale;   /* peer's window shift (RFC 7323), 0 if none */
  uint8_t rcv_wscale;   /* our window shift, 0 if not negotiated */
  uint16_t rcv_mss;     /* largest segment seen: "full-sized" (RFC 1122) */
  uint8_t dupacks;      /* consecutive duplicate ACKs (RFC 5681) */
  uint8_t retries;      /* consecutive retransmissions of snd_una */

  /* Congestion control: NewReno (RFC 5681, RFC 6582). */
  uint32_t cwnd;     /* congestion window, bytes */
  uint32_t ssthresh; /* slow-start threshold, bytes */
  uint32_t recover;  /* snd_max when recovery began (RFC 6582) */

  /* Receive sequence space. */
  uint32_t irs;         /* initial receive sequence number */
  uint32_t rcv_nxt;     /* next sequence number expected */
  uint32_t rcv_adv;     /* right edge of the window last advertised */
  uint32_t rcv_unacked; /* bytes received since our last ACK */
  uint32_t fin_seq;     /* sequence number of the peer's FIN, if seen */
  uint32_t rcv_up;      /* RCV.UP: the octet after the peer's urgent data */
  struct reass {        /* out-of-order data held in rcvbuf past its end */
    uint32_t start[REASS_MAX], end[REASS_MAX]; /* sorted, disjoint */
    uint8_t n;
  } reass;

  struct ring sndbuf; /* unacknowledged and unsent data */
  struct ring rcvbuf; /* in-order data the application has not read */

  /* Retransmission (RFC 6298). */
  struct rtt rtt;
  tcplab_time_t rtt_start; /* when the timed segment left */
  tcplab_time_t snd_last;  /* when data last left, or NEVER */

  tcplab_time_t timer[TIMER_COUNT];
  tcplab_time_t timer_key; /* earliest of timer[], or NEVER */
  uint32_t rtt_seq;        /* an ACK at or past this ends the timing */

  /* Set and cleared for every segment, so whole bytes rather than bits
   * beside the others: a load of the flag word right after a one-byte
   * store into it waits for that store. */
  bool in_input;         /* a segment is being processed */
  bool rx_placed;        /* its payload is in rcvbuf already */
  bool rcv_traced;       /* its RCV trace event was emitted */
  bool ack_pending;      /* an ACK must go out at the next flush */
  bool notifying;        /* its application callbacks are running */
  uint8_t notify;        /* NOTIFY_* bits pending */
  uint8_t persist_shift; /* zero-window probes sent: the interval doubles */
  uint8_t retries_max;   /* R2 for data, FIN and probes, unless never */

  unsigned passive : 1;       /* created from a listener */
  unsigned irs_valid : 1;     /* a SYN was received */
  unsigned fin_queued : 1;    /* shutdown/close: FIN after the data */
  unsigned fin_acked : 1;     /* our FIN was acknowledged */
  unsigned fin_rcvd : 1;      /* the peer's FIN was received in order */
  unsigned app_closed : 1;    /* close() called: received data discarded */
  unsigned fin_seen : 1;      /* fin_seq is valid (FIN may be out of order) */
  unsigned in_recovery : 1;   /* NewReno fast recovery */
  unsigned persist : 1;       /* TIMER_RTX is the zero-window probe timer */
  unsigned nagle : 1;         /* Nagle's algorithm on */
  unsigned wscale_ok : 1;     /* both SYNs carried window scale */
  unsigned rtt_active : 1;    /* a segment is being timed */
  unsigned syn_retx : 1;      /* our SYN or SYN|ACK was retransmitted */
  unsigned queued : 1;        /* in the listener's accept queue */
  unsigned dead : 1;          /* reached CLOSED; freed at the next reap */
  unsigned tw_queued : 1;     /* its timer is in the TIME_WAIT queue */
  unsigned retries_never : 1; /* R2 "infinity" (RFC 9293 3.8.3) */
  unsigned urg_send : 1;      /* snd_up is set and not yet acknowledged */
  unsigned urg_rcv : 1;       /* rcv_up is set (RFC 9293 3.8.5) */

  const struct tcplab_segment *in_seg; /* segment being processed */
  struct tcplab_conn_stats stats;
};

struct tcplab_listener {
  struct tcplab_stack *stack;
  struct tcplab_listener *next; /* stack's listener list */
  void *user_data;
  uint64_t id;
  struct tcplab_endpoint local;
  unsigned backlog;
  unsigned pending; /* SYN_RECEIVED plus established, not accepted */
  struct tcplab_conn *qhead, *qtail; /* established, not accepted */
  bool closed;
};

/* A heap entry holds its connection's timer_key, so that sifting compares
 * entries without reading connections scattered over memory. */
struct timer_entry {
  tcplab_time_t key;
  struct tcplab_conn *conn;
};

#define TIMER_NOWHERE UINT32_MAX /* timer_pos of a connection without one */

struct timer_heap {
  struct timer_entry *v;
  uint32_t len, cap;
};

/* Every connection in TIME_WAIT waits the same 2*MSL, so they expire in
 * the order they entered it: a FIFO ring beside the heap holds them in
 * O(1) each, in order in memory, where thousands of them would otherwise
 * crowd the heap that active connections' timers move through. Positions
 * count up for ever (slot = position mod cap), so they survive growth. */
struct tw_queue {
  struct timer_entry *v; /* an entry whose connection left has conn NULL */
  uint32_t head, tail;   /* head's entry is live, or head == tail */
  uint32_t cap;          /* a power of two, or 0 */
};

struct tcplab_stack {
  struct tcplab_config cfg;
  struct tcplab_callbacks cb;
  struct tcplab_allocator alloc;
  void *user_data;
  struct tcplab_stack_stats stats;

  struct tcplab_conn **buckets; /* 4-tuple hash table, chained */
  size_t nbuckets;              /* a power of two */
  struct tcplab_listener *listeners;
  struct timer_heap heap;
  struct tw_queue twq;

  struct tcplab_conn *dead;               /* ended, to free */
  struct tcplab_listener *dead_listeners; /* closed, to free */
  unsigned depth;                         /* nesting of API calls */

  uint64_t next_id;
  tcplab_time_t chack_start; /* when the current challenge ACK interval
                                began (RFC 5961 7) */
  uint32_t chack_count;      /* challenge ACKs sent in it */
  uint32_t next_port;        /* ephemeral port cursor */
  uint8_t *txbuf;            /* one segment being encoded: header + MSS */
  size_t txcap;
};

/* Memory, through the stack's allocator. */
void *stack_alloc(struct tcplab_stack *s, size_t size);
void stack_free(struct tcplab_stack *s, void *p);

/* API-call bracketing: ended objects are freed when the outermost call
 * returns, so callbacks may end the connection they are told about. */
void stack_enter(struct tcplab_stack *s);
void stack_leave(struct tcplab_stack *s);

/* Demultiplexing (stack.c). */
struct tcplab_conn *stack_lookup(struct tcplab_stack *s,
                                 struct tcplab_endpoint local,
                                 struct tcplab_endpoint remote);
void stack_insert(struct tcplab_stack *s, struct tcplab_conn *c);
void stack_remove(struct tcplab_stack *s, struct tcplab_conn *c);

/* Timers (timer.c). timer_set sets one deadline and files c under its
 * earliest; timer_next is the stack's earliest entry, or NULL. */
void timer_set(struct tcplab_conn *c, enum timer_kind k, tcplab_time_t at);
void timer_cancel_all(struct tcplab_conn *c);
const struct timer_entry *timer_next(const struct tcplab_stack *s);
int timer_heap_reserve(struct tcplab_stack *s, size_t n);
int timer_init(struct tcplab_stack *s); /* at tcplab_stack_new */
void timer_free(struct tcplab_stack *s);

/* Segments (output.c). */
void send_rst_raw(struct tcplab_stack *s, tcplab_time_t now,
                  struct tcplab_endpoint local, struct tcplab_endpoint remote,
                  uint32_t seq, uint32_t ack, uint8_t flags);
void conn_send_segment(struct tcplab_conn *c, tcplab_time_t now, uint8_t flags,
                       uint32_t seq, size_t len);
void conn_output(struct tcplab_conn *c, tcplab_time_t now);
void conn_send_ack(struct tcplab_conn *c, tcplab_time_t now);
/* The states in which data from the peer is still taken in (RFC 9293
 * 3.10.7.4, seventh step): before its FIN. */
static inline bool state_receives(enum tcplab_state st) {
  return st == TCPLAB_ESTABLISHED || st == TCPLAB_FIN_WAIT_1 ||
         st == TCPLAB_FIN_WAIT_2;
}

/* Counts one more retransmission of the same octet; tells whether the
 * connection must give up first (R2 reached: limit, or the connection's
 * own for data). The count stops at 255, which is as far as any limit
 * goes, so an endless R2 never wraps it. */
static inline bool conn_retry(struct tcplab_conn *c, bool data,
                              unsigned limit) {
  if (data) {
    limit = c->retries_never ? UINT_MAX : c->retries_max;
  }
  if (c->retries >= limit) {
    return false;
  }
  if (c->retries < UINT8_MAX) {
    c->retries++;
  }
  return true;
}

/* The receive window in bytes that we offer now. It is the free buffer
 * space, except that the right edge moves only in steps of at least
 * min(buffer/2, MSS) (receiver silly-window avoidance, RFC 9293
 * 3.8.6.2.2) and never back (RFC 9293 3.8.6: shrinking is discouraged).
 * A connection whose application has closed discards what arrives, so it
 * offers the whole buffer. Inline: it is asked several times per
 * segment. */
static inline uint32_t conn_rcv_wnd(const struct tcplab_conn *c) {
  uint32_t free_space = c->app_closed ? c->rcvbuf.cap : ring_free(&c->rcvbuf);
  uint32_t offered =
      seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
  /* RFC 9293 3.8.6.2.2: min(Fr * RCV.BUFF, Eff.snd.MSS), Fr = 1/2. */
  uint32_t step = min_u32(c->rcvbuf.cap / 2, c->snd_mss);
  /* After the peer's FIN no data can come, and after close() all of it
   * is discarded, so there is no silly window to avoid then. */
  bool sws = !c->fin_rcvd && !c->app_closed;
  if (sws && (free_space <= offered || free_space - offered < step)) {
    return offered;
  }
  /* Never more than the window field can say. */
  return min_u32(free_space, (uint32_t)65535 << c->rcv_wscale);
}

uint8_t wscale_for(uint32_t buf);
void conn_persist_expired(struct tcplab_conn *c, tcplab_time_t now);
uint32_t conn_retransmit_first(struct tcplab_conn *c, tcplab_time_t now);
void conn_trace_cwnd(struct tcplab_conn *c, tcplab_time_t now);

/* Connections (conn.c). */
struct tcplab_conn *conn_new(struct tcplab_stack *s, tcplab_time_t now,
                             struct tcplab_endpoint local,
                             struct tcplab_endpoint remote);
void conn_set_state(struct tcplab_conn *c, tcplab_time_t now,
                    enum tcplab_state to, enum tcplab_event ev);
void conn_end(struct tcplab_conn *c, tcplab_time_t now, enum tcplab_state to,
              enum tcplab_event ev, int error);
void conn_trace_emit(struct tcplab_conn *c, tcplab_time_t now,
                     enum tcplab_state from, enum tcplab_state to,
                     enum tcplab_event ev, uint8_t flags, uint32_t seq,
                     uint32_t ack, uint32_t len);
/* Inline so that a stack without a trace callback pays one test per
 * event, not a call: every segment is traced twice. */
static inline void conn_trace(struct tcplab_conn *c, tcplab_time_t now,
                              enum tcplab_state from, enum tcplab_state to,
                              enum tcplab_event ev, uint8_t flags, uint32_t seq,
                              uint32_t ack, uint32_t len) {
  if (c->stack->cb.trace != NULL) {
    conn_trace_emit(c, now, from, to, ev, flags, seq, ack, len);
  }
}
void conn_input(struct tcplab_conn *c, tcplab_time_t now,
                const struct tcplab_segment *seg);
/* conn.c: the receive fast path (see tcplab_stack_input). */
bool conn_place(struct tcplab_conn *c, const struct tcplab_segment *seg,
                uint64_t *sum);
void conn_on_timer(struct tcplab_conn *c, tcplab_time_t now);
void conn_free(struct tcplab_conn *c);
void listener_input(struct tcplab_listener *l, tcplab_time_t now, uint32_t src,
                    uint32_t dst, const struct tcplab_segment *seg);
void listener_trace(struct tcplab_listener *l, tcplab_time_t now,
                    enum tcplab_state from, enum tcplab_state to,
                    enum tcplab_event ev);

#endif
