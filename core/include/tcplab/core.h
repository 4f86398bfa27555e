/*
 * tcplab core: TCP connection handling per RFC 9293, sans I/O.
 *
 * The core does no I/O, reads no clock and allocates only through the
 * allocator it is given. The caller passes the current time into every
 * call and receives outgoing segments through the output callback. One
 * tcplab_stack is one host: its listeners, connections, port allocation and
 * a single timer heap. next_expiry() says when the stack next needs
 * handle_expiry(); the caller keeps one timer for the whole stack.
 *
 * Addresses are IPv4 in host byte order, ports in host byte order.
 * Times are nanoseconds (tcplab_time_t). Errors are negative TCPLAB_ERR_*
 * codes; tcplab_strerror() names them. The library never prints, exits or
 * aborts.
 *
 * Handles: a tcplab_conn is valid from the call that creates it (connect,
 * or listener_accept) until its `closed` callback returns; the stack frees
 * it then. A connection the application has closed lives on inside the
 * stack (FIN_WAIT_*, TIME_WAIT, ...) and still reports its end through
 * `closed`. Callbacks may call any function of this API, including ones
 * that end the connection they are told about.
 */
#ifndef TCPLAB_CORE_H
#define TCPLAB_CORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- time */

/* Nanoseconds. The origin is the caller's (ns-3 simulation time, say). */
typedef uint64_t tcplab_time_t;

#define TCPLAB_TIME_NEVER UINT64_MAX /* "no deadline" */
#define TCPLAB_NS(x)      ((tcplab_time_t)(x))
#define TCPLAB_US(x)      ((tcplab_time_t)(x)*1000u)
#define TCPLAB_MS(x)      ((tcplab_time_t)(x)*1000000u)
#define TCPLAB_S(x)       ((tcplab_time_t)(x)*1000000000u)

/* -------------------------------------------------------------- errors */

enum {
  TCPLAB_OK = 0,
  TCPLAB_ERR_NOMEM = -1,      /* the allocator returned NULL */
  TCPLAB_ERR_INVAL = -2,      /* an argument is out of its allowed range */
  TCPLAB_ERR_ADDRINUSE = -3,  /* port or 4-tuple already in use */
  TCPLAB_ERR_NOPORTS = -4,    /* no ephemeral port left */
  TCPLAB_ERR_STATE = -5,      /* call not allowed in the current state */
  TCPLAB_ERR_CLOSING = -6,    /* send after shutdown or close */
  TCPLAB_ERR_WOULDBLOCK = -7, /* nothing to accept/receive, or buffer full */
  TCPLAB_ERR_REFUSED = -8,    /* RST answered our SYN: connection refused */
  TCPLAB_ERR_RESET = -9,      /* connection reset by peer */
  TCPLAB_ERR_TIMEDOUT = -10,  /* retransmission limit reached */
  TCPLAB_ERR_ABORTED = -11,   /* ended by the local application's abort() */
  TCPLAB_ERR_MALFORMED = -12, /* segment rejected by the decoder */
  TCPLAB_ERR_DATA_LOST = -13, /* reset: close() left received data unread,
                                 or data arrived after close() */
};

/* A short English message for a TCPLAB_ERR_* code; never NULL. */
const char *tcplab_strerror(int error);

/* A stable lower-case name for a TCPLAB_ERR_* code, e.g. "timed_out"
 * (for CSV files); "" for TCPLAB_OK. */
const char *tcplab_error_name(int error);

/* -------------------------------------------------------------- states */

/* RFC 9293 section 3.3.2. */
enum tcplab_state {
  TCPLAB_CLOSED,
  TCPLAB_LISTEN,
  TCPLAB_SYN_SENT,
  TCPLAB_SYN_RECEIVED,
  TCPLAB_ESTABLISHED,
  TCPLAB_FIN_WAIT_1,
  TCPLAB_FIN_WAIT_2,
  TCPLAB_CLOSE_WAIT,
  TCPLAB_CLOSING,
  TCPLAB_LAST_ACK,
  TCPLAB_TIME_WAIT,
};
#define TCPLAB_STATE_COUNT 11

/* "CLOSED", "SYN_SENT", ...; "?" for an unknown value. */
const char *tcplab_state_name(enum tcplab_state state);
/* Inverse of tcplab_state_name; returns -1 for an unknown name. */
int tcplab_state_from_name(const char *name);

/* ------------------------------------------------------- wire format */

/* Header flag bits, as on the wire (RFC 9293 section 3.1). */
#define TCPLAB_FIN 0x01u
#define TCPLAB_SYN 0x02u
#define TCPLAB_RST 0x04u
#define TCPLAB_PSH 0x08u
#define TCPLAB_ACK 0x10u
#define TCPLAB_URG 0x20u

/* Writes the flags joined by '|' in the order SYN|FIN|RST|PSH|ACK|URG
 * ("" for none) into buf, always NUL-terminated when cap > 0. Returns the
 * length the full text needs (at most 23), like snprintf. */
size_t tcplab_flags_format(uint8_t flags, char *buf, size_t cap);
/* Parses "SYN|ACK" (case-insensitive names, '|' or ',' between them).
 * Returns the flag bits or -1 for an unknown name. */
int tcplab_flags_parse(const char *text);

#define TCPLAB_HEADER_MIN 20u
#define TCPLAB_HEADER_MAX 60u

/* Options present in a segment (bits of tcplab_options.present). */
#define TCPLAB_OPT_MSS       0x01u
#define TCPLAB_OPT_WSCALE    0x02u
#define TCPLAB_OPT_SACK_PERM 0x04u
#define TCPLAB_OPT_TIMESTAMP 0x08u

struct tcplab_options {
  uint8_t present; /* TCPLAB_OPT_* bits */
  uint16_t mss;    /* RFC 9293 3.2 / 3.7.1 */
  uint8_t wscale;  /* RFC 7323 section 2 (shift count, as received) */
  uint32_t ts_val; /* RFC 7323 section 3 */
  uint32_t ts_ecr;
};

/* A decoded segment. payload points into the decoded buffer. */
struct tcplab_segment {
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags; /* TCPLAB_FIN ... TCPLAB_URG */
  uint16_t wnd;  /* as on the wire, unscaled */
  uint16_t urp;
  struct tcplab_options opt;
  const uint8_t *payload;
  size_t len; /* payload length */
};

/* Why the decoder rejected a segment. */
enum tcplab_malformed {
  TCPLAB_MALFORMED_NONE = 0,
  TCPLAB_MALFORMED_SHORT,    /* fewer than 20 bytes */
  TCPLAB_MALFORMED_OFFSET,   /* data offset < 5 or past the end */
  TCPLAB_MALFORMED_OPTION,   /* option length 0/1 or past the header */
  TCPLAB_MALFORMED_CHECKSUM, /* checksum does not verify */
};
#define TCPLAB_MALFORMED_COUNT 5

/* "short", "offset", "option", "checksum"; "" for NONE. */
const char *tcplab_malformed_name(enum tcplab_malformed reason);

/* Decodes len bytes of a TCP segment sent from src to dst. With
 * verify_checksum, the checksum over the IPv4 pseudo-header must verify.
 * Unknown options are skipped by their length. Never reads outside
 * bytes[0..len). Returns TCPLAB_MALFORMED_NONE and fills *seg, or the
 * reason for rejecting the segment (then *seg is unspecified). */
enum tcplab_malformed tcplab_segment_decode(const uint8_t *bytes, size_t len,
                                            uint32_t src, uint32_t dst,
                                            bool verify_checksum,
                                            struct tcplab_segment *seg);

/* Encodes seg (options from seg->opt, in the order MSS, window scale,
 * SACK-permitted, timestamps, padded with NOPs to 32-bit words; payload
 * from seg->payload/len) into buf with the checksum for src -> dst filled
 * in. Returns the segment length, or 0 if cap is too small. */
size_t tcplab_segment_encode(const struct tcplab_segment *seg, uint32_t src,
                             uint32_t dst, uint8_t *buf, size_t cap);

/* The Internet checksum of a TCP segment over the IPv4 pseudo-header
 * (RFC 9293 3.1), computed with the checksum field as it is in bytes: a
 * segment whose field is already filled in verifies when this is 0. */
uint16_t tcplab_checksum(uint32_t src, uint32_t dst, const uint8_t *bytes,
                         size_t len);

/* RFC 6528 initial sequence number: ISN = M + F(local, remote, key) where
 * M is a 4-microsecond clock (now / 4000 ns) and F is SipHash-2-4 of the
 * 4-tuple under a 128-bit key derived from seed. */
uint32_t tcplab_isn(uint64_t seed, tcplab_time_t now, uint32_t laddr,
                    uint16_t lport, uint32_t raddr, uint16_t rport);

/* -------------------------------------------------------------- config */

struct tcplab_config {
  tcplab_time_t msl;                /* maximum segment lifetime; TIME_WAIT is
                                       2*msl. Default 30 s (Linux, BSD) */
  tcplab_time_t rto_initial;        /* RFC 6298 2.1: 1 s */
  tcplab_time_t rto_min;            /* RFC 6298 2.4: 1 s */
  tcplab_time_t rto_max;            /* RFC 6298 2.5 allows >= 60 s; 120 s as
                                       Linux, so 6 SYN retries back off fully */
  unsigned syn_retries;             /* SYN retransmissions: 6 (Linux) */
  unsigned synack_retries;          /* SYN|ACK retransmissions: 5 (Linux) */
  unsigned retries;                 /* data/FIN retransmissions: 15 (Linux) */
  tcplab_time_t fin_wait_2_timeout; /* TCPLAB_TIME_NEVER (RFC 9293) */
  uint16_t mss;                     /* MSS we advertise: 1460 */
  uint32_t snd_buf;                 /* send buffer bytes: 131072 */
  uint32_t rcv_buf;                 /* receive buffer bytes: 131072, as
                                       Linux's initial tcp_rmem */
  tcplab_time_t delayed_ack;        /* RFC 9293 3.8.6.3: ACK at most this
                                       long after data, and at least every
                                       2nd full segment; 40 ms as Linux;
                                       0 = ACK every segment at once */
  bool nagle;                       /* RFC 896 / RFC 9293 3.7.4: true */
  bool window_scale;                /* offer RFC 7323 window scaling: true */
  unsigned initial_window;          /* RFC 6928 initial cwnd, segments: 10 */
  bool slow_start_after_idle;       /* RFC 5681 4.1: cwnd back to at most
                                       the initial window after an idle
                                       RTO: true (as Linux) */
  bool two_way_handshake;           /* COUNTERFACTUAL, for teaching only:
                                       a passive open is ESTABLISHED as
                                       soon as its SYN|ACK leaves, so an
                                       old duplicate SYN yields a
                                       connection (why TCP uses three
                                       segments). Never on by default. */
  bool rfc1337;                     /* ignore RST in TIME_WAIT: true */
  bool rfc5961;                     /* challenge ACKs for RST/SYN: true */
  unsigned challenge_ack_limit;     /* RFC 5961 7: at most this many
                                       challenge ACKs per stack in each
                                       challenge_ack_interval (counted from
                                       its first one): 10; 0 = no limit */
  tcplab_time_t challenge_ack_interval; /* 5 s, RFC 5961 7's example */
  bool rst_on_data_loss;                /* RFC 1122 4.2.2.13: close() with
                                           received data unread, or data arriving
                                           after close(), resets the connection
                                           to show that data was lost: true (as
                                           Linux and BSD); false acknowledges
                                           and drops such data (RFC 9293) */
  uint64_t seed;          /* ISN key (RFC 6528); runs repeat exactly */
  uint16_t ephemeral_min; /* RFC 6335: 49152 */
  uint16_t ephemeral_max; /* 65535 */
};

/* Fills cfg with the defaults above. */
void tcplab_config_default(struct tcplab_config *cfg);

/* Checks every field's range. Returns TCPLAB_OK or TCPLAB_ERR_INVAL and,
 * if why is not NULL, a static message saying what is allowed. */
int tcplab_config_check(const struct tcplab_config *cfg, const char **why);

/* --------------------------------------------------------------- trace */

/* What caused a trace event (timeline.csv's `event` column). */
enum tcplab_event {
  TCPLAB_EV_APP_LISTEN,
  TCPLAB_EV_APP_CONNECT,
  TCPLAB_EV_APP_SHUTDOWN,
  TCPLAB_EV_APP_CLOSE,
  TCPLAB_EV_APP_ABORT,
  TCPLAB_EV_RCV, /* a segment arrived: flags/seq/ack/len describe it */
  TCPLAB_EV_SND, /* a segment left: flags/seq/ack/len describe it */
  TCPLAB_EV_TIMER_RETRANSMIT,
  TCPLAB_EV_TIMER_TIME_WAIT,
  TCPLAB_EV_TIMER_FIN_WAIT_2,
  TCPLAB_EV_GAVE_UP, /* retransmission limit reached */
  TCPLAB_EV_CWND,    /* cwnd or ssthresh changed; the state did not */
};
#define TCPLAB_EVENT_COUNT 12

/* "app_listen", ..., "gave_up". */
const char *tcplab_event_name(enum tcplab_event event);

struct tcplab_endpoint {
  uint32_t addr;
  uint16_t port;
};

struct tcplab_conn;
struct tcplab_listener;
struct tcplab_stack;

/* One trace event. Every state transition produces one (from != to);
 * every segment a connection sends or receives produces one too, with
 * from == to when the state does not change. Valid during the callback. */
struct tcplab_trace_event {
  tcplab_time_t now;
  uint64_t id;                          /* connection or listener id, from 1 */
  struct tcplab_conn *conn;             /* NULL for a listener's events */
  struct tcplab_endpoint local, remote; /* remote is 0:0 for a listener */
  enum tcplab_state from, to;
  enum tcplab_event event;
  uint8_t flags; /* RCV/SND: the segment's */
  uint32_t seq, ack, len;
  uint32_t iss, irs; /* for relative numbers */
  bool irs_valid;    /* irs is known (a SYN was received) */
  int error;         /* GAVE_UP and resets: the error */
  uint32_t cwnd;     /* congestion window, bytes (RFC 5681) */
  uint32_t ssthresh; /* slow-start threshold, bytes; TCPLAB_WINDOW_MAX
                        until a loss sets it */
};

/* RFC 7323 2.3: no window exceeds 2^30 bytes, so neither does cwnd.
 * ssthresh starts here, RFC 5681's "arbitrarily high". */
#define TCPLAB_WINDOW_MAX (UINT32_C(1) << 30)

/* --------------------------------------------------------------- stack */

struct tcplab_allocator {
  void *(*malloc)(size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
  void *user_data;
};

struct tcplab_callbacks {
  /* Required. Put a TCP segment on the wire from src to dst: bytes is the
   * whole segment with its checksum; valid only during the call. */
  void (*output)(void *user_data, tcplab_time_t now, uint32_t src, uint32_t dst,
                 const uint8_t *bytes, size_t len);
  /* Optional, for a driver with packet buffers of its own: storage for
   * the next segment, len bytes. The core builds the segment there and
   * passes the same pointer to output, so the driver need not copy it.
   * NULL drops the segment, as a full transmit queue would (counted in
   * tx_no_buffer): it is traced as sent and recovered as a lost one.
   * It must not call into the stack. Without it segments are built in a
   * buffer of the stack's own. */
  uint8_t *(*tx_buffer)(void *user_data, size_t len);
  /* Optional. Every state transition and segment (see above). */
  void (*trace)(void *user_data, const struct tcplab_trace_event *ev);
  /* Optional. A connection reached ESTABLISHED on listener l and waits in
   * its accept queue; take it with tcplab_listener_accept(). */
  void (*acceptable)(void *user_data, struct tcplab_listener *l);
  /* Optional. An active open reached ESTABLISHED. */
  void (*connected)(void *user_data, struct tcplab_conn *c);
  /* Optional. New in-order data can be read with tcplab_conn_recv(). */
  void (*readable)(void *user_data, struct tcplab_conn *c, size_t avail);
  /* Optional. The peer's FIN arrived: no more data will come. */
  void (*peer_closed)(void *user_data, struct tcplab_conn *c);
  /* Optional. The peer's urgent pointer arrived with no urgent data
   * pending, or advanced (RFC 9293 3.8.5, MUST-32): `pending` octets of
   * the stream, from the reader's position, are urgent. */
  void (*urgent)(void *user_data, struct tcplab_conn *c, size_t pending);
  /* Optional. The connection reached CLOSED (error is TCPLAB_OK or the
   * reason it failed). c is freed when this returns. */
  void (*closed)(void *user_data, struct tcplab_conn *c, int error);
  /* Optional. Chooses the initial send sequence number of a new
   * connection; tests use it to start near 2^32. Without it the ISS is
   * tcplab_isn(cfg.seed, now, local, remote) (RFC 6528). */
  uint32_t (*isn)(void *user_data, tcplab_time_t now,
                  struct tcplab_endpoint local, struct tcplab_endpoint remote);
};

struct tcplab_stack_stats {
  uint64_t segs_in, segs_out;
  uint64_t malformed[TCPLAB_MALFORMED_COUNT]; /* dropped, by reason */
  uint64_t rst_sent;               /* RSTs to segments with no connection */
  uint64_t backlog_drops;          /* SYNs dropped: listener queue full */
  uint64_t challenge_acks;         /* RFC 5961 challenge ACKs sent */
  uint64_t challenge_acks_limited; /* not sent: challenge_ack_limit */
  uint64_t wscale_clamped; /* RFC 7323 2.3: window shifts > 14 taken as 14 */
  uint64_t conns_active;   /* connections alive now */
  uint64_t conns_total;    /* connections ever created */
  uint64_t tx_no_buffer;   /* segments dropped: tx_buffer returned NULL */
};

/* Creates a stack. cfg NULL means defaults; alloc NULL means malloc/free.
 * Returns TCPLAB_OK, TCPLAB_ERR_INVAL (bad config or no output
 * callback) or TCPLAB_ERR_NOMEM. */
int tcplab_stack_new(const struct tcplab_config *cfg,
                     const struct tcplab_callbacks *cb,
                     const struct tcplab_allocator *alloc, void *user_data,
                     struct tcplab_stack **out);

/* Frees the stack and everything in it, at any moment, without sending
 * anything or calling any callback. */
void tcplab_stack_del(struct tcplab_stack *s);

const struct tcplab_config *tcplab_stack_config(const struct tcplab_stack *s);
const struct tcplab_stack_stats *
tcplab_stack_stats(const struct tcplab_stack *s);

/* A segment from src arrived for dst. Returns TCPLAB_OK when it was
 * processed (including answered with RST or dropped as not acceptable),
 * TCPLAB_ERR_MALFORMED when the decoder rejected it (counted by reason). */
int tcplab_stack_input(struct tcplab_stack *s, tcplab_time_t now, uint32_t src,
                       uint32_t dst, const uint8_t *bytes, size_t len);

/* The earliest time at which handle_expiry must be called, or
 * TCPLAB_TIME_NEVER when no timer is running. */
tcplab_time_t tcplab_stack_next_expiry(const struct tcplab_stack *s);

/* Runs every timer due at or before now. */
void tcplab_stack_handle_expiry(struct tcplab_stack *s, tcplab_time_t now);

/* ---------------------------------------------------------- listeners */

/* Passive open on addr:port (addr 0 = any local address). backlog bounds
 * connections in SYN_RECEIVED plus established ones not yet accepted
 * (1..65535). Errors: TCPLAB_ERR_INVAL, TCPLAB_ERR_ADDRINUSE,
 * TCPLAB_ERR_NOMEM. */
int tcplab_stack_listen(struct tcplab_stack *s, tcplab_time_t now,
                        uint32_t addr, uint16_t port, unsigned backlog,
                        struct tcplab_listener **out);

/* Takes the oldest established connection off l's queue. Returns
 * TCPLAB_OK or TCPLAB_ERR_WOULDBLOCK. */
int tcplab_listener_accept(struct tcplab_listener *l, struct tcplab_conn **out);

/* Stops listening; connections still in the queue are reset. l is freed. */
void tcplab_listener_close(struct tcplab_listener *l, tcplab_time_t now);

uint64_t tcplab_listener_id(const struct tcplab_listener *l);
void tcplab_listener_set_user_data(struct tcplab_listener *l, void *p);
void *tcplab_listener_user_data(const struct tcplab_listener *l);

/* -------------------------------------------------------- connections */

/* Active open from laddr:lport (lport 0 = an ephemeral port) to
 * raddr:rport; the SYN leaves at once. Errors: TCPLAB_ERR_INVAL,
 * TCPLAB_ERR_ADDRINUSE, TCPLAB_ERR_NOPORTS, TCPLAB_ERR_NOMEM. */
int tcplab_stack_connect(struct tcplab_stack *s, tcplab_time_t now,
                         uint32_t laddr, uint16_t lport, uint32_t raddr,
                         uint16_t rport, struct tcplab_conn **out);

/* Queues up to len bytes for sending. Returns the number queued (0..len,
 * limited by free send-buffer space), TCPLAB_ERR_WOULDBLOCK when the buffer
 * is full, TCPLAB_ERR_CLOSING after shutdown/close, TCPLAB_ERR_STATE when
 * the connection is not open. Data given in SYN_SENT/SYN_RECEIVED is sent
 * once established. */
int tcplab_conn_send(struct tcplab_conn *c, tcplab_time_t now, const void *data,
                     size_t len);

/* As tcplab_conn_send, and what it queued is urgent (RFC 9293 3.8.5):
 * segments carry URG and a pointer to the octet after it (SND.UP) until
 * the peer has acknowledged it. RFC 9293 asks new applications not to
 * use urgent data (SHLD-13) and every TCP to support it (MUST-30). */
int tcplab_conn_send_urgent(struct tcplab_conn *c, tcplab_time_t now,
                            const void *data, size_t len);
/* Octets of urgent data not yet read, from the reader's position to the
 * peer's urgent pointer (MUST-33); 0 when none is pending. */
size_t tcplab_conn_urgent(const struct tcplab_conn *c);
/* Reads up to cap in-order bytes. Returns the number read (> 0), 0 at end
 * of stream (the peer's FIN has been read), or TCPLAB_ERR_WOULDBLOCK. */
int tcplab_conn_recv(struct tcplab_conn *c, tcplab_time_t now, void *buf,
                     size_t cap);

/* Reading in place, without the copy: points *data at the readable bytes
 * that start off bytes past the oldest unread one and returns how many of
 * them lie in one piece (the buffer is a ring, so fewer than
 * tcplab_conn_readable() - off when it wraps; the rest follows at a
 * larger off). Returns 0, with *data NULL, when off is at or past the end
 * of the readable bytes, and 0 when data is NULL. The bytes stay where
 * they are until the next call on this connection or its stack. */
size_t tcplab_conn_peek(const struct tcplab_conn *c, size_t off,
                        const void **data);

/* Marks the first n readable bytes read, as tcplab_conn_recv() does after
 * copying them: the window opens just the same. Returns n, or
 * TCPLAB_ERR_INVAL when n is more than tcplab_conn_readable(). */
int tcplab_conn_consume(struct tcplab_conn *c, tcplab_time_t now, size_t n);

/* Half-close: send FIN after the queued data, keep receiving.
 * Errors: TCPLAB_ERR_STATE (not open, or already shut down). */
int tcplab_conn_shutdown(struct tcplab_conn *c, tcplab_time_t now);

/* Close: send FIN after the queued data (or, in SYN_SENT, drop the
 * connection without a RST); data still arriving is acknowledged and
 * discarded. The handle stays valid until `closed`. Calling it twice is
 * TCPLAB_ERR_STATE. */
int tcplab_conn_close(struct tcplab_conn *c, tcplab_time_t now);

/* Abort: send RST (in a synchronized state) and drop the connection.
 * `closed` is called with TCPLAB_ERR_ABORTED before this returns. */
int tcplab_conn_abort(struct tcplab_conn *c, tcplab_time_t now);

/* Nagle's algorithm for this connection (RFC 896; on by default from
 * cfg.nagle): small segments wait while data is unacknowledged. */
void tcplab_conn_set_nagle(struct tcplab_conn *c, bool on);

/* R2 for this connection (RFC 9293 3.8.3, MUST-21): how often data, a FIN
 * or a zero-window probe is sent again without an answer before the
 * connection ends with TCPLAB_ERR_TIMEDOUT; 0..255, or
 * TCPLAB_RETRIES_NEVER to keep trying for ever. Starts as cfg.retries.
 * Returns TCPLAB_OK or TCPLAB_ERR_INVAL. */
#define TCPLAB_RETRIES_NEVER UINT_MAX
int tcplab_conn_set_retries(struct tcplab_conn *c, unsigned retries);

/* Free send-buffer space in bytes: how much tcplab_conn_send would take
 * now (0 once the connection can send no more). */
size_t tcplab_conn_send_space(const struct tcplab_conn *c);
/* Bytes received in order and not read yet. */
size_t tcplab_conn_readable(const struct tcplab_conn *c);

enum tcplab_state tcplab_conn_state(const struct tcplab_conn *c);
uint64_t tcplab_conn_id(const struct tcplab_conn *c);
struct tcplab_endpoint tcplab_conn_local(const struct tcplab_conn *c);
struct tcplab_endpoint tcplab_conn_remote(const struct tcplab_conn *c);
/* The listener whose queue a passive connection waits in; NULL once it
 * is accepted, and for an active open. */
struct tcplab_listener *tcplab_conn_listener(const struct tcplab_conn *c);
void tcplab_conn_set_user_data(struct tcplab_conn *c, void *p);
void *tcplab_conn_user_data(const struct tcplab_conn *c);

enum tcplab_role { TCPLAB_ROLE_ACTIVE, TCPLAB_ROLE_PASSIVE };

struct tcplab_conn_stats {
  /* 64-bit fields first, then 32-bit ones: no padding inside. */
  tcplab_time_t opened;       /* connect() called / SYN received */
  tcplab_time_t established;  /* reached ESTABLISHED, or NEVER */
  tcplab_time_t close_called; /* first shutdown/close/abort, or NEVER */
  tcplab_time_t closed;       /* reached CLOSED, or NEVER */
  tcplab_time_t srtt;         /* smoothed RTT (RFC 6298), 0 before a sample */
  uint64_t segs_sent, segs_received;
  uint64_t bytes_sent;     /* payload bytes acknowledged by the peer */
  uint64_t bytes_received; /* payload bytes received in order */
  enum tcplab_role role;
  uint32_t iss, irs;
  uint32_t syn_tx;             /* SYNs (active) or SYN|ACKs (passive) sent */
  uint32_t retransmissions;    /* segments sent again (SYN, FIN, data) */
  uint32_t timeouts;           /* retransmission timer expiries (RTO) */
  uint32_t fast_retransmits;   /* RFC 5681 3.2 / RFC 6582 partial ACKs */
  uint32_t dup_acks;           /* duplicate ACKs received (RFC 5681 2) */
  uint32_t ooo_segments;       /* segments received out of order */
  uint32_t zero_window_probes; /* probes sent into a zero window */
  uint32_t cwnd, ssthresh;     /* congestion state now */
  int error;                   /* TCPLAB_OK or why the connection failed */
  bool irs_valid;
};

const struct tcplab_conn_stats *tcplab_conn_stats(const struct tcplab_conn *c);

#ifdef __cplusplus
}
#endif

#endif /* TCPLAB_CORE_H */
