/*
 * pair: two tcplab stacks joined in memory, for scenario tests.
 *
 * Host 0 is the client (10.0.0.1), host 1 the server (10.0.0.2). Segments
 * travel through a discrete-event loop over a virtual clock: each direction
 * has a constant delay, an optional loss probability and an optional random
 * extra delay (which reorders segments), and optionally a bit rate with a
 * drop-tail queue in front of it (a bottleneck). Random draws come from a
 * PRNG seeded per direction, and events at the same instant run in the
 * order they were scheduled, so a seed always gives the same run.
 *
 * The applications on both hosts follow a small script (struct
 * pair_script): the server listens, the client connects, sends a request,
 * the server answers, and either side closes at a chosen point. Payloads
 * are a known byte pattern per direction, so a receiver can check every
 * byte. Hooks (struct pair_hooks) let a test add behaviour on top.
 *
 * Every connection either stack creates gets a record (struct pair_conn)
 * that outlives the connection: its states, data received, error and
 * final statistics stay readable until pair_free().
 */
#ifndef TCPLAB_TESTS_PAIR_H
#define TCPLAB_TESTS_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tcplab/core.h>

enum { PAIR_CLIENT = 0, PAIR_SERVER = 1 };

#define PAIR_CLIENT_ADDR 0x0a000001u /* 10.0.0.1 */
#define PAIR_SERVER_ADDR 0x0a000002u /* 10.0.0.2 */

struct pair;

/* What one connection did, from its creation to its `closed` callback. */
struct pair_conn {
  struct pair *pair;
  int host;                 /* PAIR_CLIENT or PAIR_SERVER */
  uint64_t id;              /* the stack's connection id */
  struct tcplab_conn *conn; /* NULL once closed */
  bool active;              /* opened by connect() */
  bool accepted;            /* passive: taken from the listener's queue */
  bool peer_closed;         /* the `peer_closed` callback ran */
  bool eof;                 /* recv() returned 0 */
  bool closed;              /* the `closed` callback ran */
  int error;                /* as given to `closed` */
  bool app_closed;          /* tcplab_conn_close() called (pair_close) */
  bool app_aborted;         /* pair_abort_live() ended it */

  enum tcplab_state state;      /* current state (from the trace) */
  uint32_t states_seen;         /* bit (1u << state) for every state entered */
  enum tcplab_state final_from; /* the state it left for CLOSED */
  enum tcplab_event final_event;

  tcplab_time_t opened_at;        /* first trace event */
  tcplab_time_t established_at;   /* TCPLAB_TIME_NEVER if never */
  tcplab_time_t closed_at;        /* TCPLAB_TIME_NEVER while open */
  struct tcplab_conn_stats stats; /* copied when closed */

  uint8_t *rx; /* every byte read, in order */
  size_t rx_len, rx_cap;

  uint8_t *tx; /* bytes the application still has to hand to the core */
  size_t tx_len, tx_off, tx_cap;
  uint64_t tx_total;     /* bytes the application asked to send */
  bool rx_paused;        /* the application does not read (pair_pause_rx) */
  bool close_after_tx;   /* close once tx is all queued */
  int tx_error;          /* first error from send/close, or TCPLAB_OK */
  bool script_replied;   /* the server's scripted reply was queued */
  bool script_requested; /* the client's scripted request was queued */

  /* urgent callbacks: how many, and whether each one's count agreed with
   * tcplab_conn_urgent() and was more than 0 */
  unsigned urgent_calls;
  bool urgent_bad;

  void *user; /* free for tests */
};

/* The applications' behaviour. */
struct pair_script {
  bool listen;              /* the server listens on `port` */
  uint16_t port;            /* 80 */
  tcplab_time_t connect_at; /* client connects to the server's port at this
                               time; TCPLAB_TIME_NEVER for no connection */
  size_t request;           /* bytes the client sends once connected */
  size_t reply;             /* bytes the server sends once it has read the
                               whole request (at once if request is 0) */
  bool client_close;        /* the client closes once it has read the whole
                               reply */
  bool server_close_on_fin; /* the server closes when the peer's FIN
                               arrives */
  bool reply_at_once;       /* the server sends its reply as soon as it
                               accepts, while the request still arrives:
                               both directions at once */
  bool urgent;              /* every byte is sent as urgent data (RFC 9293
                               3.8.5) */
};

/* Optional test hooks, called after the script has acted. */
struct pair_hooks {
  void (*connected)(struct pair_conn *pc, void *arg);
  void (*accepted)(struct pair_conn *pc, void *arg);
  void (*data)(struct pair_conn *pc, size_t n, void *arg);
  void (*peer_closed)(struct pair_conn *pc, void *arg);
  void (*closed)(struct pair_conn *pc, void *arg);
  void (*trace)(struct pair *p, int host, const struct tcplab_trace_event *ev,
                void *arg);
  /* Return true to drop this segment (sent by `from`) on top of random
   * loss; seg is decoded. */
  bool (*drop)(struct pair *p, int from, const struct tcplab_segment *seg,
               void *arg);
  void *arg;
};

/* One direction of the link; index 0 is client -> server.
 *
 * With a rate, the sender's segments are serialized one after the other:
 * a segment starts when the previous one has left (or at once on an idle
 * link) and takes (len + overhead) * 8 / rate seconds; the delay and
 * jitter follow. Segments waiting or being serialized form the queue;
 * one that finds `queue` segments there is dropped (drop-tail). Random
 * loss strikes on the wire, after serialization. */
struct pair_link {
  tcplab_time_t delay;  /* constant one-way delay */
  double loss;          /* probability of losing a segment, 0..1 */
  tcplab_time_t jitter; /* extra delay, uniform in [0, jitter]; non-zero
                           values reorder segments */
  uint64_t rate;        /* bits per second; 0 = no serialization delay */
  size_t queue;         /* drop-tail limit in segments; 0 = unbounded */
  size_t overhead;      /* wire bytes per segment beyond the TCP segment
                           (20 for an IPv4 header) */
};

struct pair_config {
  uint64_t seed; /* link randomness; also the stacks' ISN seed */
  struct pair_link link[2];
  struct tcplab_config stack[2]; /* per host */
  struct pair_script script;
  struct pair_hooks hooks;
  FILE *log; /* if not NULL, every segment and state change is written */
};

/* Defaults: 10 ms each way, no loss, default stacks, the server listening
 * on port 80, the client connecting at t=0 and sending nothing. */
void pair_config_default(struct pair_config *cfg, uint64_t seed);

/* Returns TCPLAB_OK or the error of tcplab_stack_new/listen/NOMEM. */
int pair_new(const struct pair_config *cfg, struct pair **out);

/* Frees the stacks (without callbacks) and every record. */
void pair_free(struct pair *p);

enum pair_run_result {
  PAIR_IDLE,  /* nothing in flight, no timer running */
  PAIR_LIMIT, /* stopped at `until` with work pending */
  PAIR_STUCK, /* a stack's timer stayed due after handle_expiry() */
};

/* Runs events until nothing is pending or the next one is later than
 * until (then the clock is left at until). */
enum pair_run_result pair_run(struct pair *p, tcplab_time_t until);

/* Schedules fn(p, arg) at time t (>= now). */
int pair_at(struct pair *p, tcplab_time_t t,
            void (*fn)(struct pair *p, void *arg), void *arg);

tcplab_time_t pair_now(const struct pair *p);
struct tcplab_stack *pair_stack(struct pair *p, int host);
const struct pair_config *pair_config(const struct pair *p);

/* Connection records, in order of creation, across both hosts. */
size_t pair_conn_count(const struct pair *p);
struct pair_conn *pair_conn_at(struct pair *p, size_t i);
/* The client's first active connection, or NULL. */
struct pair_conn *pair_client(struct pair *p);

/* Application calls on a record. send copies data and hands it to the
 * core as buffer space allows; close waits until all of it is queued. */
int pair_send(struct pair_conn *pc, const void *data, size_t len);
/* Appends the next len bytes of this direction's pattern. */
int pair_send_pattern(struct pair_conn *pc, size_t len);
int pair_close(struct pair_conn *pc);
/* The application stops reading (its receive buffer fills and the window
 * closes), or reads again and takes everything buffered. */
void pair_pause_rx(struct pair_conn *pc);
void pair_resume_rx(struct pair_conn *pc);

/* Aborts every connection still open (e.g. a half-open one after the run
 * went idle); returns how many. Their records get app_aborted. */
size_t pair_abort_live(struct pair *p);

/* Byte i of the stream sent by host `from`. */
uint8_t pair_pattern(int from, uint64_t i);
/* Writes bytes [start, start + n) of host from's stream into out. */
void pair_pattern_fill(int from, uint64_t start, uint8_t *out, size_t n);
/* True if pc->rx is the first rx_len bytes of the peer's pattern. */
bool pair_rx_matches(const struct pair_conn *pc);

struct pair_counters {
  uint64_t sent[2];    /* segments put on the link, by sending host */
  uint64_t dropped[2]; /* of which lost */
  uint64_t delivered[2];
  uint64_t reordered[2];         /* delivered after a segment sent later */
  uint64_t queue_drops[2];       /* of the dropped: the queue was full */
  size_t queue_max[2];           /* longest queue seen, segments */
  uint64_t wire_bytes[2];        /* bytes serialized (overhead included) */
  uint64_t payload_delivered[2]; /* TCP payload bytes delivered */
  uint64_t input_errors;         /* tcplab_stack_input() rejected a segment */
  int connect_error;             /* the scripted connect() failed */
};
const struct pair_counters *pair_counters(const struct pair *p);

/* Deletes both stacks now (as a crash or shutdown would) and returns the
 * number of their allocations still live afterwards (0 unless the core
 * leaks). Records stay readable; in-flight segments are discarded. */
size_t pair_destroy_stacks(struct pair *p);
/* Live allocations of one host's stack. */
size_t pair_live_allocs(const struct pair *p, int host);

/* Splitmix64 / xoshiro256** (own implementation), for tests that want
 * their own seeded randomness. */
struct pair_rng {
  uint64_t s[4];
};
void pair_rng_seed(struct pair_rng *r, uint64_t seed);
uint64_t pair_rng_next(struct pair_rng *r);
double pair_rng_double(struct pair_rng *r); /* [0, 1) */

/* "10.0.0.1:49152" into buf (at least 22 bytes). */
const char *pair_endpoint_str(struct tcplab_endpoint e, char *buf);

#endif
