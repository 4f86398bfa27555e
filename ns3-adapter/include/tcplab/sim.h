/*
 * tcplab sim: ns-3 simulations with tcplab's TCP, behind a plain C API.
 *
 * A simulation holds named nodes (each with tcplab's TCP or ns-3's native
 * one), routers, point-to-point links with impairments, and connections
 * driven by application actions at simulated times. It records, without
 * any hooking by the user, every state transition (timeline), every
 * segment on every link (segments) and a summary of every connection
 * (connections): the three CSV files of DESIGN.md.
 *
 * Conventions:
 * - Only one simulation exists at a time (ns-3 has one simulator per
 *   process); destroy it and create another as often as needed.
 * - Times are nanoseconds of simulated time (tcplab_time_t). Action times
 *   are absolute; TCPLAB_SIM_NOW means "at the current simulated time".
 * - An action (connect, send, shutdown, close, abort) called from a
 *   callback with TCPLAB_SIM_NOW takes effect before it returns, while the
 *   transport is still handling what caused the callback, as a socket call
 *   in a real program would: a reply or a close made in data or
 *   peer_closed carries the ACK the transport owes (on a tcplab node, a
 *   close inside peer_closed answers the FIN with one FIN|ACK; ns-3's own
 *   TCP sends one more ACK after it). With an explicit time, even the
 *   current one, and outside callbacks, an action is an event of its own
 *   at that time. Timers (tcplab_sim_at) are always events.
 * - Nodes, links and connections are small non-negative integer ids.
 *   Connection ids start at 1 and are shared with listeners, as in the
 *   `conn` column of timeline.csv.
 * - Functions return a non-negative value (an id, a count, 0) or a
 *   negative error: TCPLAB_SIM_ERR_* or, for connection errors, the core's
 *   TCPLAB_ERR_*. tcplab_sim_strerror() names every code and
 *   tcplab_sim_last_error() says what exactly went wrong in the last
 *   failed call. No C++ exception and no ns-3 fatal error escapes.
 * - Callbacks run inside the simulation; they may call any function here
 *   except tcplab_sim_destroy(), and may ask the run to stop.
 */
#ifndef TCPLAB_SIM_H
#define TCPLAB_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcplab/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- errors */

enum {
  TCPLAB_SIM_OK = 0,
  TCPLAB_SIM_ERR_INVAL = -101,    /* an argument is out of range */
  TCPLAB_SIM_ERR_EXISTS = -102,   /* a simulation already exists */
  TCPLAB_SIM_ERR_NOTFOUND = -103, /* no such node, link or connection */
  TCPLAB_SIM_ERR_STATE = -104,    /* not allowed now */
  TCPLAB_SIM_ERR_NAME = -105,     /* the name is taken */
  TCPLAB_SIM_ERR_IO = -106,       /* a file could not be written */
  TCPLAB_SIM_ERR_INTERNAL = -107, /* a failure inside ns-3 or the adapter */
};

/* A short message for a TCPLAB_SIM_ERR_* or TCPLAB_ERR_* code. */
const char *tcplab_sim_strerror(int code);
/* What the last failed call of this thread said, e.g. "link: rate must
 * be > 0"; "" if none. */
const char *tcplab_sim_last_error(void);

/* ------------------------------------------------------------ creation */

#define TCPLAB_SIM_NOW UINT64_MAX

typedef struct tcplab_sim tcplab_sim;

/* Creates the simulation. The seed sets ns-3's RngSeedManager (run number)
 * and derives each node's ISN key (RFC 6528), so the same seed repeats a
 * run byte for byte and another seed gives other ISNs and loss patterns.
 * Errors: TCPLAB_SIM_ERR_EXISTS, TCPLAB_SIM_ERR_INTERNAL. */
int tcplab_sim_create(uint64_t seed, tcplab_sim **out);
/* Frees everything; NULL is ignored. Not allowed from a callback or
 * while running (TCPLAB_SIM_ERR_STATE). */
int tcplab_sim_destroy(tcplab_sim *sim);

/* Application callbacks; every member is optional. `conn` ids refer to
 * connections, `listener` to the listener a connection came from. */
struct tcplab_sim_callbacks {
  /* A connection was accepted on a listener (it is ESTABLISHED). */
  void (*accept)(void *user, tcplab_sim *sim, int listener, int conn);
  /* An active open reached ESTABLISHED. */
  void (*connected)(void *user, tcplab_sim *sim, int conn);
  /* nbytes of new in-order data arrived (see tcplab_sim_recv). */
  void (*data)(void *user, tcplab_sim *sim, int conn, size_t nbytes);
  /* The peer's FIN arrived. */
  void (*peer_closed)(void *user, tcplab_sim *sim, int conn);
  /* tcplab nodes: the peer's urgent pointer is new or advanced (RFC 9293
   * 3.8.5); `pending` octets, from the next one tcplab_sim_recv returns,
   * are urgent. */
  void (*urgent)(void *user, tcplab_sim *sim, int conn, size_t pending);
  /* The connection reached CLOSED; error is 0 or a TCPLAB_ERR_*. */
  void (*ended)(void *user, tcplab_sim *sim, int conn, int error);
  /* A timer set with tcplab_sim_at fired. */
  void (*timer)(void *user, tcplab_sim *sim, void *arg);
};

void tcplab_sim_set_callbacks(tcplab_sim *sim,
                              const struct tcplab_sim_callbacks *cb,
                              void *user);

/* ---------------------------------------------------------------- nodes */

enum tcplab_sim_tcp {
  TCPLAB_SIM_TCP_TCPLAB = 0, /* tcplab's core (default) */
  TCPLAB_SIM_TCP_NS3 = 1,    /* ns-3's native TcpL4Protocol */
};

struct tcplab_sim_node_opts {
  enum tcplab_sim_tcp tcp;
  /* tcplab nodes: the core's settings; NULL means defaults. A zero seed
   * is replaced by one derived from the simulation seed and the node.
   * Native nodes: NULL keeps ns-3's defaults; otherwise msl, rto_initial
   * (ConnTimeout), rto_min, syn_retries, retries, mss (SegmentSize),
   * snd_buf and rcv_buf are applied to the node's sockets. */
  const struct tcplab_config *config;
};

/* A host named name (unique, non-empty). opts NULL: tcplab, defaults.
 * Returns the node id. Errors: INVAL, NAME. */
int tcplab_sim_node(tcplab_sim *sim, const char *name,
                    const struct tcplab_sim_node_opts *opts);
/* A router: forwards, runs no application. Returns the node id. */
int tcplab_sim_router(tcplab_sim *sim, const char *name);
/* The id of the node with this name, or TCPLAB_SIM_ERR_NOTFOUND. */
int tcplab_sim_node_find(const tcplab_sim *sim, const char *name);
int tcplab_sim_node_count(const tcplab_sim *sim);
/* The node's name, NULL for an unknown id. */
const char *tcplab_sim_node_name(const tcplab_sim *sim, int node);
/* The node's first IPv4 address (host byte order) into *addr; the
 * address on its first link. Errors: NOTFOUND, STATE (no link yet). */
int tcplab_sim_node_addr(const tcplab_sim *sim, int node, uint32_t *addr);
/* Stack counters of a tcplab node. Errors: NOTFOUND, STATE (native). */
int tcplab_sim_node_stats(const tcplab_sim *sim, int node,
                          struct tcplab_stack_stats *out);

/* ---------------------------------------------------------------- links */

struct tcplab_sim_link_opts {
  uint64_t rate_bps;      /* bit/s; 0 means 10 Mbit/s */
  tcplab_time_t delay;    /* one-way propagation delay */
  uint32_t queue_packets; /* each direction's queue; 0 means 100 */
  double loss;            /* random loss probability, both directions */
  const char *name;       /* NULL means "a-b" after the node names */
};

/* A point-to-point link between nodes a and b, each end in its own
 * subnet 10.x.y.0/24 (the k-th link, from 0, is 10.k/256.k%256.0/24 with
 * a at .1 and b at .2). opts NULL: 10 Mbit/s, no delay, 100 packets, no
 * loss. Returns the link id. Errors: INVAL, NOTFOUND, NAME. */
int tcplab_sim_link(tcplab_sim *sim, int a, int b,
                    const struct tcplab_sim_link_opts *opts);
int tcplab_sim_link_count(const tcplab_sim *sim);
const char *tcplab_sim_link_name(const tcplab_sim *sim, int link);
/* Per-direction rate and queue of the segments sent by `from` (ns-3 has
 * one propagation delay per channel, so delay is per link). rate_bps or
 * queue_packets 0 leaves that value. */
int tcplab_sim_link_direction(tcplab_sim *sim, int link, int from,
                              uint64_t rate_bps, uint32_t queue_packets);

/* The dumbbell: n clients "<prefix>c1".."<prefix>cN" on router
 * "<prefix>left", n servers "<prefix>s1".."<prefix>sN" on router
 * "<prefix>right", the routers joined by the bottleneck. clients and
 * servers (n entries each, may be NULL) receive the node ids. */
struct tcplab_sim_dumbbell {
  int n;
  const char *prefix; /* NULL means "" */
  struct tcplab_sim_node_opts client, server;
  struct tcplab_sim_link_opts access, bottleneck;
};
/* Returns the bottleneck's link id. */
int tcplab_sim_dumbbell(tcplab_sim *sim, const struct tcplab_sim_dumbbell *d,
                        int *clients, int *servers);

/* ---------------------------------------------------------- impairments */

/* Random loss of the segments `from` sends on the link (from < 0: both
 * directions). p in [0, 1]; replaces the link's earlier random loss. */
int tcplab_sim_link_loss(tcplab_sim *sim, int link, int from, double p);

/* Gilbert-Elliott bursty loss of the segments `from` sends (from < 0:
 * both): a Good and a Bad state; per segment the state moves Good->Bad
 * with probability p and Bad->Good with r, then the segment is lost with
 * probability 1-k in Good and 1-h in Bad (k = 1, h = 0 is Gilbert's
 * model). Drops are reported with reason "burst". */
int tcplab_sim_link_gilbert(tcplab_sim *sim, int link, int from, double p,
                            double r, double h, double k);

/* Which segments a drop or delay rule takes. */
struct tcplab_sim_match {
  int from;             /* the node sending on the link (required) */
  int flags;            /* TCPLAB_SYN|...: all must be set; 0 matches any */
  bool exact;           /* flags must be exactly these (PSH ignored) */
  uint32_t nth;         /* take the n-th matching segment, from 1 (0 means 1) */
  bool every;           /* take every matching segment (nth ignored) */
  tcplab_time_t after;  /* only segments sent at or after this time */
  tcplab_time_t before; /* ... and before this time (0: no end) */
  int64_t len;          /* payload length to match; < 0 any */
};

/* Drops matching segments (reason "rule"). Returns a rule id. */
int tcplab_sim_link_drop(tcplab_sim *sim, int link,
                         const struct tcplab_sim_match *m);
/* Holds matching segments back for `by` more (reordering, late
 * duplicates). Returns a rule id. */
int tcplab_sim_link_delay(tcplab_sim *sim, int link,
                          const struct tcplab_sim_match *m, tcplab_time_t by);

/* A crafted segment put on a link as if `from` sent it. */
struct tcplab_sim_inject {
  tcplab_time_t at;
  int from; /* a node on the link */
  /* Addresses, ports and ISNs from a connection (> 0) of either end of
   * the link; or conn <= 0: from's and the other end's link addresses
   * with sport and dport. */
  int conn;
  uint16_t sport, dport;
  int flags; /* TCPLAB_SYN|TCPLAB_ACK|... */
  /* seq/ack relative to the sender's/receiver's ISN of conn, as in the
   * traces; absolute when *_absolute or without conn. */
  uint32_t seq, ack;
  bool seq_absolute, ack_absolute;
  uint16_t window;       /* 0 means 65535 */
  bool corrupt_checksum; /* flip the checksum: the receiver must drop it */
  const void *payload;
  size_t len;
};
int tcplab_sim_link_inject(tcplab_sim *sim, int link,
                           const struct tcplab_sim_inject *in);

/* Writes a pcap file per end of the link: "<prefix>-<node name>.pcap".
 * Call before running. */
int tcplab_sim_link_pcap(tcplab_sim *sim, int link, const char *prefix);

/* ---------------------------------------------------------- applications */

/* Listens on node:port (now). backlog 0 means 128 (ignored by native
 * nodes). Returns the listener's id. */
int tcplab_sim_listen(tcplab_sim *sim, int node, uint16_t port,
                      unsigned backlog);
/* Opens a connection from node to peer:port at time `at`, from
 * local_port (0: ephemeral). Returns the connection id at once. */
int tcplab_sim_connect(tcplab_sim *sim, int node, int peer, uint16_t port,
                       tcplab_time_t at, uint16_t local_port);
/* Queues len bytes for sending at `at` (they go out as the send buffer
 * allows). */
int tcplab_sim_send(tcplab_sim *sim, int conn, const void *data, size_t len,
                    tcplab_time_t at);
/* Queues count generated bytes: byte k of the connection's stream (k from
 * 0, counting everything sent on it) is k % 251. */
int tcplab_sim_send_generated(tcplab_sim *sim, int conn, uint64_t count,
                              tcplab_time_t at);
/* As tcplab_sim_send, or as tcplab_sim_send_generated (count bytes) when
 * data is NULL, and the bytes are urgent data (RFC 9293 3.8.5): the
 * segments before their end carry URG and the urgent pointer. tcplab
 * nodes only: ns-3's own TCP has none. */
int tcplab_sim_send_urgent(tcplab_sim *sim, int conn, const void *data,
                           size_t len, uint64_t count, tcplab_time_t at);
/* Half-close at `at`, after the queued data: send FIN, keep receiving. */
int tcplab_sim_shutdown(tcplab_sim *sim, int conn, tcplab_time_t at);
/* Close at `at`, after the queued data. On a listener: stop listening. */
int tcplab_sim_close(tcplab_sim *sim, int conn, tcplab_time_t at);
/* Abort at `at`: RST, queued data discarded. */
int tcplab_sim_abort(tcplab_sim *sim, int conn, tcplab_time_t at);
/* The application stops reading at `at`: what arrives stays in the
 * transport, whose window closes as its buffer fills (the data callback
 * waits too). From start_reading on, it reads again: everything waiting
 * at once, which opens the window. */
int tcplab_sim_stop_reading(tcplab_sim *sim, int conn, tcplab_time_t at);
int tcplab_sim_start_reading(tcplab_sim *sim, int conn, tcplab_time_t at);
/* R2 of one connection, or of every connection a listener accepts (RFC
 * 9293 3.8.3, MUST-21): how often data or a FIN is sent again without an
 * answer before the connection times out, 0..255, or
 * TCPLAB_SIM_RETRIES_NEVER; the node's `retries` otherwise. It is ns-3's
 * "DataRetries" socket attribute, so ns-3's own TCP takes it too. */
#define TCPLAB_SIM_RETRIES_NEVER UINT32_MAX
int tcplab_sim_set_retries(tcplab_sim *sim, int conn, uint32_t retries);
/* Calls the timer callback with arg at `at`. */
int tcplab_sim_at(tcplab_sim *sim, tcplab_time_t at, void *arg);

/* Reads up to cap received bytes of conn (kept until read). Returns the
 * number read (0 if none). */
int64_t tcplab_sim_recv(tcplab_sim *sim, int conn, void *buf, size_t cap);

struct tcplab_sim_conn_info {
  int id, node;
  int listener; /* the listener a passive connection came from, or 0 */
  bool is_listener;
  bool native; /* on a node with ns-3's TCP */
  enum tcplab_role role;
  enum tcplab_state state;
  const char *flow; /* "10.0.0.1:49152-10.0.0.2:80"; valid until destroy */
  struct tcplab_endpoint local, remote;
  tcplab_time_t open, established, close, closed; /* TCPLAB_TIME_NEVER */
  tcplab_time_t handshake;                        /* if not (yet) */
  uint32_t syn_tx, retransmissions;
  uint64_t bytes_sent, bytes_received; /* acked by peer / in order */
  int error;                           /* why it ended, TCPLAB_ERR_* or 0 */
  /* A tcplab connection's counters as its core last reported them
   * (segments, RTO and fast retransmissions, duplicate ACKs, smoothed
   * RTT, ...); all zero on a node with ns-3's TCP. */
  struct tcplab_conn_stats counters;
};
/* Ids run from 1 to tcplab_sim_conn_count(). */
int tcplab_sim_conn_count(const tcplab_sim *sim);
int tcplab_sim_conn_info(const tcplab_sim *sim, int conn,
                         struct tcplab_sim_conn_info *out);

/* ------------------------------------------------------------------- run */

/* Runs until simulated time `until` (then now == until), or with
 * TCPLAB_TIME_NEVER until no event remains. Routes are computed first.
 * Returns 0, or STATE when called from a callback. */
int tcplab_sim_run(tcplab_sim *sim, tcplab_time_t until);
/* From a callback: stop the run after the current event. */
int tcplab_sim_stop(tcplab_sim *sim);
tcplab_time_t tcplab_sim_now(const tcplab_sim *sim);
/* ns-3 events executed so far. */
uint64_t tcplab_sim_events(const tcplab_sim *sim);

/* ---------------------------------------------------------------- traces */

enum tcplab_sim_table {
  TCPLAB_SIM_TIMELINE,    /* timeline.csv */
  TCPLAB_SIM_SEGMENTS,    /* segments.csv */
  TCPLAB_SIM_CONNECTIONS, /* connections.csv: one row per connection */
  TCPLAB_SIM_CWND,        /* cwnd.csv: each change of a connection's
                             congestion window or slow-start threshold */
};

/* Rows recorded so far; columns of a table and their names (the CSV
 * header). */
int64_t tcplab_sim_rows(const tcplab_sim *sim, enum tcplab_sim_table t);
int tcplab_sim_columns(enum tcplab_sim_table t);
const char *tcplab_sim_column_name(enum tcplab_sim_table t, int col);
/* The text of one cell exactly as in the CSV file (unquoted); "" for an
 * empty cell. Valid until the next call of this function. NULL when out
 * of range. */
const char *tcplab_sim_cell(tcplab_sim *sim, enum tcplab_sim_table t,
                            int64_t row, int col);

struct tcplab_sim_timeline_row {
  tcplab_time_t time;
  int node, conn;
  const char *flow;
  enum tcplab_state from, to;
  enum tcplab_event event;
  bool has_segment; /* rcv/snd: flags, seq and ack are the segment's */
  uint8_t flags;
  uint32_t seq, ack;
  bool has_rel_seq, has_rel_ack;
  uint32_t rel_seq, rel_ack;
};
int tcplab_sim_timeline_row(const tcplab_sim *sim, int64_t row,
                            struct tcplab_sim_timeline_row *out);

enum tcplab_sim_action {
  TCPLAB_SIM_SENT,
  TCPLAB_SIM_RECEIVED,
  TCPLAB_SIM_DROPPED,
};

struct tcplab_sim_segment_row {
  tcplab_time_t time;
  int link, from_node, to_node;
  enum tcplab_sim_action action;
  const char *flow;
  uint8_t flags;
  uint32_t seq, ack;
  bool has_rel_seq, has_rel_ack;
  uint32_t rel_seq, rel_ack;
  uint32_t len;       /* payload bytes */
  uint16_t win;       /* window field as on the wire */
  const char *reason; /* dropped: "loss", "burst", "rule", "queue",
                         "checksum", ...; "" otherwise */
  uint32_t ip_len;    /* the IPv4 packet's size in bytes (not in the CSV) */
  bool injected;      /* put on the link by tcplab_sim_link_inject */
};
int tcplab_sim_segment_row(const tcplab_sim *sim, int64_t row,
                           struct tcplab_sim_segment_row *out);

/* A connection's congestion state after a change (RFC 5681): tcplab's
 * core reports each change of cwnd or ssthresh once, and the first values
 * when the connection is established; ns-3's own TCP reports them through
 * its traces (not the first window of an accepted socket). */
struct tcplab_sim_cwnd_row {
  tcplab_time_t time;
  int node, conn;
  const char *flow;
  uint32_t cwnd;     /* bytes */
  bool has_ssthresh; /* false until a loss set it (empty in the CSV) */
  uint32_t ssthresh; /* bytes */
};
int tcplab_sim_cwnd_row(const tcplab_sim *sim, int64_t row,
                        struct tcplab_sim_cwnd_row *out);

/* Writes timeline.csv, segments.csv, connections.csv and cwnd.csv into dir
 * (created if missing): RFC 4180, CRLF line ends, header row first,
 * times in seconds with 9 decimals. Errors: IO. */
int tcplab_sim_write_csv(tcplab_sim *sim, const char *dir);

#ifdef __cplusplus
}
#endif

#endif /* TCPLAB_SIM_H */
