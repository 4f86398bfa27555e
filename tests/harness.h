/*
 * Test harness for the tcplab core: one stack under test, the test plays
 * the remote peer (or a second harness plays it, wired by hand).
 *
 * The verbs follow the style of segment-level TCP tests:
 *   feed(h, t, seg)        the peer's segment arrives at time t
 *   expect(h, t, seg)      the stack sent exactly this segment at time t
 *   expect_nothing(h, t)   the stack sent nothing up to time t
 * Every verb first runs the stack's timers that are due up to t, in order,
 * so a retransmission shows up at exactly its time. Segments are written
 * as literals over a template: fields left zero get the harness defaults
 * (ports, window, the MSS option of a SYN), so a test spells out what the
 * RFC's figures spell out: flags, sequence and acknowledgment numbers.
 *
 * Fixtures build connections through the public API and segments only
 * (fx_listen -> fx_syn_received -> fx_established -> fx_fin_wait_1 ...),
 * asserting every segment on the way.
 */
#ifndef TCPLAB_TESTS_HARNESS_H
#define TCPLAB_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcplab/core.h"

/* ------------------------------------------------------------ constants */

/* The stack under test is LOCAL; the peer the test plays is REMOTE. */
#define LOCAL_ADDR  0x0a000001u /* 10.0.0.1 */
#define REMOTE_ADDR 0x0a000002u /* 10.0.0.2 */
#define LOCAL_PORT  80u
#define REMOTE_PORT 50000u

/* Initial sequence numbers. REMOTE_ISS is above 2^31 so that comparisons
 * done without modular arithmetic would go wrong. */
#define LOCAL_ISS  1000000u
#define REMOTE_ISS 3000000000u

#define DEFAULT_WND                                                            \
  65535u           /* what every segment carries with default buffers          \
                    */
#define BACKLOG 4u /* fx_listen's backlog */

/* Short names so segment literals read like RFC 9293's figures. */
#define FIN TCPLAB_FIN
#define SYN TCPLAB_SYN
#define RST TCPLAB_RST
#define PSH TCPLAB_PSH
#define ACK TCPLAB_ACK
#define URG TCPLAB_URG

#define MS(x) TCPLAB_MS(x)
#define S(x)  TCPLAB_S(x)

/* A segment literal over the template: SEG(.flags = SYN, .seq = 100). */
#define SEG(...) ((struct tcplab_segment){__VA_ARGS__})
/* A zero .wnd in a literal means "the default window"; a window that
 * really is zero is written WND_ZERO: SEG(.flags = ACK, ..., WND_ZERO). It
 * borrows an option bit no TCPLAB_OPT_* uses, cleared before the segment
 * is encoded or compared. */
#define HARNESS_WND_ZERO 0x80u
#define WND_ZERO         .opt.present = HARNESS_WND_ZERO
/* Payload of a segment literal from a string literal: SEG(..., DATA("abc")) */
#define DATA(s) .payload = (const uint8_t *)(s), .len = sizeof(s) - 1u

/* ------------------------------------------------------------- harness */

/* One segment the stack emitted, decoded. */
struct out_seg {
  tcplab_time_t at; /* the `now` the core passed to output */
  uint32_t src, dst;
  enum tcplab_malformed bad; /* decoder verdict; NONE for a valid segment */
  struct tcplab_segment seg; /* payload points into bytes */
  uint8_t *bytes;            /* the segment as it left, checksum included */
  size_t size;
};

/* One call of the `closed` callback. */
struct closed_rec {
  uint64_t id;
  int error;
  tcplab_time_t at;
};

struct harness {
  struct tcplab_stack *stack;
  struct tcplab_config cfg;
  uint32_t local_addr, remote_addr;
  uint16_t local_port, remote_port;
  uint32_t iss;         /* what the isn callback answers */
  tcplab_time_t now;    /* the time the stack has been advanced to */
  struct harness *peer; /* a second harness, freed with this one */

  /* Emitted segments; out_head is the next one expect() looks at. */
  struct out_seg **out;
  size_t out_len, out_cap, out_head;

  /* Every trace event, copied (conn pointers are never dereferenced). */
  struct tcplab_trace_event *trace;
  size_t trace_len, trace_cap;

  /* Application callbacks. */
  struct closed_rec *closed;
  size_t closed_len, closed_cap;
  unsigned acceptable, connected, peer_closed, readable;
  size_t readable_avail; /* avail of the last readable call */
  unsigned urgent;       /* urgent calls */
  size_t urgent_pending; /* pending of the last urgent call */

  /* The newest connection seen in the trace; NULL once it is closed. */
  struct tcplab_conn *conn;
  uint64_t conn_id;
  struct tcplab_listener *listener; /* set by fx_listen */

  /* Optional application behaviour run inside the callbacks. */
  void (*on_peer_closed)(struct harness *h, struct tcplab_conn *c);
  void (*on_readable)(struct harness *h, struct tcplab_conn *c, size_t avail);

  bool verbose; /* HARNESS_VERBOSE set: print every event and segment */

  /* Segments built in blocks the harness hands out (tcplab_callbacks
   * .tx_buffer): on when HARNESS_TX_BUFFER is set, or by a test before
   * h_restart. tx_refuse: how many of the next requests get NULL. */
  bool tx_buffer;
  unsigned tx_refuse;
  uint8_t *tx_given;
  size_t tx_given_len;
};

/* A harness with a stack on LOCAL_ADDR:LOCAL_PORT, talking to
 * REMOTE_ADDR:REMOTE_PORT, ISS LOCAL_ISS; cfg NULL means defaults. */
/* The config h_new uses for NULL: the defaults without delayed ACKs and
 * window scaling, so segments match RFC 9293's figures one for one. */
void h_config_default(struct tcplab_config *cfg);
struct harness *h_new(const struct tcplab_config *cfg);
/* Frees h, its peer and their stacks. */
void h_del(struct harness *h);
/* Replaces h's stack by a fresh one with cfg (NULL: defaults) and clears
 * every record; a host that crashed and rebooted. */
void h_restart(struct harness *h, const struct tcplab_config *cfg);
/* A second harness playing the other end for real: its stack sits on
 * REMOTE_ADDR:REMOTE_PORT with ISS REMOTE_ISS and talks to h's. */
struct harness *h_new_peer(struct harness *h, const struct tcplab_config *cfg);

/* cmocka fixtures: *state is a default harness. */
int h_setup(void **state);
int h_teardown(void **state);
#define TEST(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)

/* ---------------------------------------------------------------- verbs */

void advance_at(struct harness *h, tcplab_time_t t, const char *file, int line);
void feed_at(struct harness *h, tcplab_time_t t, struct tcplab_segment seg,
             const char *file, int line);
const struct out_seg *expect_at(struct harness *h, tcplab_time_t t,
                                struct tcplab_segment seg, const char *file,
                                int line);
void expect_nothing_at(struct harness *h, tcplab_time_t t, const char *file,
                       int line);
void deliver_at(struct harness *to, tcplab_time_t t, const struct out_seg *o,
                const char *file, int line);

/* Runs the timers due up to t. */
#define advance(h, t) advance_at(h, t, __FILE__, __LINE__)
/* The peer's segment arrives at t (sent from h's remote to h's local). */
#define feed(h, t, ...) feed_at(h, t, __VA_ARGS__, __FILE__, __LINE__)
/* The next segment h emitted is exactly this one and left at t. Flags, seq,
 * ports, window, payload and options are compared; ack only when ACK is
 * set (the field means nothing otherwise) and the window not for a RST.
 * Returns the segment, valid until h is freed. */
#define expect(h, t, ...) expect_at(h, t, __VA_ARGS__, __FILE__, __LINE__)
/* h emitted nothing up to t. */
#define expect_nothing(h, t) expect_nothing_at(h, t, __FILE__, __LINE__)
/* A segment another harness emitted arrives at `to` at t, byte for byte. */
#define deliver(to, t, o) deliver_at(to, t, o, __FILE__, __LINE__)
/* Two real stacks: `from` sends this segment at t and `to` receives it. */
#define transfer(from, to, t, ...)                                             \
  deliver_at(to, t, expect_at(from, t, __VA_ARGS__, __FILE__, __LINE__),       \
             __FILE__, __LINE__)

/* ----------------------------------------------------------- assertions */

void assert_state_at(const struct tcplab_conn *c, enum tcplab_state want,
                     const char *file, int line);
#define assert_state(c, st) assert_state_at(c, st, __FILE__, __LINE__)

/* `closed` was called exactly once for connection id, with error. */
void assert_closed_at(const struct harness *h, uint64_t id, int error,
                      const char *file, int line);
#define assert_closed(h, id, err)                                              \
  assert_closed_at(h, id, err, __FILE__, __LINE__)
/* `closed` was never called for connection id. */
void assert_not_closed_at(const struct harness *h, uint64_t id,
                          const char *file, int line);
#define assert_not_closed(h, id) assert_not_closed_at(h, id, __FILE__, __LINE__)

/* A state transition as the trace reports it. */
struct transition {
  enum tcplab_state from, to;
  enum tcplab_event event;
};
/* The state transitions (events with from != to) of connection or
 * listener id are exactly these, in order:
 *   assert_transitions(h, id, {TCPLAB_CLOSED, TCPLAB_SYN_SENT,
 *                              TCPLAB_EV_APP_CONNECT}, ...); */
void assert_transitions_at(const struct harness *h, uint64_t id,
                           const struct transition *want, size_t n,
                           const char *file, int line);
#define assert_transitions(h, id, ...)                                         \
  assert_transitions_at(h, id, (const struct transition[]){__VA_ARGS__},       \
                        sizeof((const struct transition[]){__VA_ARGS__}) /     \
                            sizeof(struct transition),                         \
                        __FILE__, __LINE__)

/* The first trace event of id, or NULL. */
const struct tcplab_trace_event *first_event(const struct harness *h,
                                             uint64_t id);
/* The last trace event of id, or NULL. */
const struct tcplab_trace_event *last_event(const struct harness *h,
                                            uint64_t id);
/* The last trace event of id with this cause, or NULL. */
const struct tcplab_trace_event *
find_event(const struct harness *h, uint64_t id, enum tcplab_event event);
/* How many trace events of id have this cause. */
size_t count_events(const struct harness *h, uint64_t id,
                    enum tcplab_event event);

/* Reads everything readable from c at t and asserts it is exactly want. */
void assert_recv_at(struct harness *h, struct tcplab_conn *c, tcplab_time_t t,
                    const char *want, size_t len, const char *file, int line);
#define assert_recv(h, c, t, s)                                                \
  assert_recv_at(h, c, t, s, sizeof(s) - 1u, __FILE__, __LINE__)

/* Queues a string literal for sending at t and asserts all of it fit. */
#define send_str(c, t, s)                                                      \
  assert_int_equal(tcplab_conn_send(c, t, s, sizeof(s) - 1u),                  \
                   (int)(sizeof(s) - 1u))

/* Ready-made application behaviour for h->on_peer_closed. */
void app_close(struct harness *h, struct tcplab_conn *c);

/* ------------------------------------------------------------- fixtures */

/* Each fixture asserts every segment and state on its way and returns the
 * connection (h->conn) in the state it is named after. Times:
 *   fx_listen        listen at 0
 *   fx_syn_received  the peer's SYN at 0, our SYN|ACK at 0
 *   fx_established   the peer's ACK at 10 ms; accepted
 *   fx_syn_sent      connect at 0, our SYN at 0
 *   fx_established_active  the peer's SYN|ACK at 10 ms, our ACK at 10 ms
 *   fx_fin_wait_1    close() at 100 ms, our FIN at 100 ms
 *   fx_fin_wait_2    the peer ACKs our FIN at 110 ms
 *   fx_closing       the peer's FIN (not acking ours) at 110 ms
 *   fx_time_wait     the peer's FIN at 120 ms (after fx_fin_wait_2)
 *   fx_close_wait    the peer's FIN at 100 ms
 *   fx_last_ack      close() at 110 ms, our FIN at 110 ms
 * The RTT sample of 10 ms keeps the RTO at its 1 s floor (RFC 6298 2.4),
 * so nothing is retransmitted before 1.1 s. */
#define T_HANDSHAKE MS(10)
#define T_CLOSE     MS(100)

struct tcplab_listener *fx_listen(struct harness *h);
struct tcplab_conn *fx_syn_received(struct harness *h);
struct tcplab_conn *fx_established(struct harness *h);
struct tcplab_conn *fx_syn_sent(struct harness *h);
struct tcplab_conn *fx_established_active(struct harness *h);
struct tcplab_conn *fx_fin_wait_1(struct harness *h);
struct tcplab_conn *fx_fin_wait_2(struct harness *h);
struct tcplab_conn *fx_closing(struct harness *h);
struct tcplab_conn *fx_time_wait(struct harness *h);
struct tcplab_conn *fx_close_wait(struct harness *h);
struct tcplab_conn *fx_last_ack(struct harness *h);

#endif
