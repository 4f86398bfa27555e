/*
 * Whole conversations, segment by segment, as RFC 9293 draws them in
 * section 3.5 (figures 6-13), plus closes, half-closes, data and the
 * 2^32 wrap. Two real stacks talk: TCP Peer A is the harness under test
 * (LOCAL_ADDR:LOCAL_PORT) and TCP Peer B its peer harness
 * (REMOTE_ADDR:REMOTE_PORT). The test carries each segment across a link
 * with a one-way delay of 10 ms, asserting its flags, seq and ack when it
 * leaves and both sides' states when it arrives. Where the figures use
 * sequence numbers (100, 300, ...), so do the tests: the ISNs are chosen
 * to match.
 */
#include "harness.h"

/* One-way delay of the link between A and B. */
#define DELAY MS(10)

/* `from` sends exactly this segment at t; it arrives at `to` at t + DELAY.
 * Reads like a line of a figure: cross(a, b, t, <SEQ=100><CTL=SYN>). */
#define cross(from, to, t, ...)                                                \
  deliver(to, (t) + DELAY, expect(from, t, __VA_ARGS__))

/* Peer B for A, with the ISNs of a figure. */
static struct harness *peer(struct harness *a, uint32_t iss_a, uint32_t iss_b) {
  struct harness *b = h_new_peer(a, NULL);
  a->iss = iss_a;
  b->iss = iss_b;
  return b;
}

static struct tcplab_listener *listen_on(struct harness *h, tcplab_time_t t) {
  struct tcplab_listener *l = NULL;
  advance(h, t);
  assert_int_equal(tcplab_stack_listen(h->stack, t, h->local_addr,
                                       h->local_port, BACKLOG, &l),
                   TCPLAB_OK);
  h->listener = l;
  return l;
}

static struct tcplab_conn *connect_from(struct harness *h, tcplab_time_t t) {
  struct tcplab_conn *c = NULL;
  advance(h, t);
  assert_int_equal(tcplab_stack_connect(h->stack, t, h->local_addr,
                                        h->local_port, h->remote_addr,
                                        h->remote_port, &c),
                   TCPLAB_OK);
  return c;
}

static struct tcplab_conn *accept_on(struct harness *h) {
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  return c;
}

/* The starting point of figures 9, 10, 12 and 13: A (active, ISS 99) and
 * B (passive, ISS 299) established at 0-30 ms, so that A sends 100 and
 * receives 300 next. */
static void established_pair(struct harness *a, struct harness **b,
                             struct tcplab_conn **ca, struct tcplab_conn **cb) {
  *b = peer(a, 99, 299);
  listen_on(*b, 0);
  *ca = connect_from(a, 0);
  cross(a, *b, 0, SEG(.flags = SYN, .seq = 99));
  cross(*b, a, MS(10), SEG(.flags = SYN | ACK, .seq = 299, .ack = 100));
  cross(a, *b, MS(20), SEG(.flags = ACK, .seq = 100, .ack = 300));
  *cb = accept_on(*b);
  assert_state(*ca, TCPLAB_ESTABLISHED);
  assert_state(*cb, TCPLAB_ESTABLISHED);
}

/* ---- RFC 9293 figure 6: basic three-way handshake ---- */

static void test_figure6_three_way_handshake(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 100, 300);
  /* 1.  CLOSED                                               LISTEN */
  listen_on(b, 0);
  /* 2.  SYN-SENT    --> <SEQ=100><CTL=SYN>               --> SYN-RECEIVED */
  struct tcplab_conn *ca = connect_from(a, 0);
  assert_state(ca, TCPLAB_SYN_SENT);
  cross(a, b, 0, SEG(.flags = SYN, .seq = 100));
  assert_state(b->conn, TCPLAB_SYN_RECEIVED);
  /* 3.  ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED */
  cross(b, a, MS(10), SEG(.flags = SYN | ACK, .seq = 300, .ack = 101));
  assert_state(ca, TCPLAB_ESTABLISHED);
  assert_int_equal(a->connected, 1);
  /* 4.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>       --> ESTABLISHED */
  cross(a, b, MS(20), SEG(.flags = ACK, .seq = 101, .ack = 301));
  assert_int_equal(b->acceptable, 1);
  struct tcplab_conn *cb = accept_on(b);
  assert_state(cb, TCPLAB_ESTABLISHED);
  /* 5.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED */
  advance(a, MS(30));
  send_str(ca, MS(30), "data");
  cross(a, b, MS(30),
        SEG(.flags = PSH | ACK, .seq = 101, .ack = 301, DATA("data")));
  cross(b, a, MS(40),
        SEG(.flags = ACK, .seq = 301, .ack = 105, .wnd = DEFAULT_WND - 4));
  assert_recv(b, cb, MS(50), "data");
  expect_nothing(a, S(10));
  expect_nothing(b, S(10));
  assert_transitions(a, tcplab_conn_id(ca),
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
  assert_transitions(b, tcplab_conn_id(cb),
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
}

/* ---- RFC 9293 figure 7: simultaneous connection synchronization ---- */

static void test_figure7_simultaneous_open(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 100, 300);
  /* 1.  CLOSED                                           CLOSED */
  /* 2.  SYN-SENT     --> <SEQ=100><CTL=SYN>              ... */
  struct tcplab_conn *ca = connect_from(a, 0);
  const struct out_seg *syn_a = expect(a, 0, SEG(.flags = SYN, .seq = 100));
  /* 3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT */
  struct tcplab_conn *cb = connect_from(b, 0);
  cross(b, a, 0, SEG(.flags = SYN, .seq = 300));
  assert_state(ca, TCPLAB_SYN_RECEIVED);
  /* 4.               ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED */
  deliver(b, DELAY, syn_a);
  assert_state(cb, TCPLAB_SYN_RECEIVED);
  /* 5.  SYN-RECEIVED --> <SEQ=100><ACK=301><CTL=SYN,ACK> ... */
  const struct out_seg *synack_a =
      expect(a, MS(10), SEG(.flags = SYN | ACK, .seq = 100, .ack = 301));
  /* 6.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED */
  cross(b, a, MS(10), SEG(.flags = SYN | ACK, .seq = 300, .ack = 101));
  assert_state(ca, TCPLAB_ESTABLISHED);
  /* 7.               ... <SEQ=100><ACK=301><CTL=SYN,ACK> --> ESTABLISHED */
  deliver(b, MS(20), synack_a);
  assert_state(cb, TCPLAB_ESTABLISHED);
  /* Each SYN|ACK acknowledged the other's SYN: nothing more is owed. */
  expect_nothing(a, S(10));
  expect_nothing(b, S(10));
  assert_int_equal(a->connected, 1);
  assert_int_equal(b->connected, 1);
  assert_transitions(a, tcplab_conn_id(ca),
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
  assert_transitions(b, tcplab_conn_id(cb),
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
  /* And data flows both ways. */
  advance(a, S(10));
  send_str(ca, S(10), "a");
  cross(a, b, S(10),
        SEG(.flags = PSH | ACK, .seq = 101, .ack = 301, DATA("a")));
  cross(b, a, S(10) + DELAY,
        SEG(.flags = ACK, .seq = 301, .ack = 102, .wnd = DEFAULT_WND - 1));
}

/* ---- RFC 9293 figure 8: recovery from old duplicate SYN ---- */

static void test_figure8_old_duplicate_syn(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 100, 300);
  /* 1.  CLOSED                                       LISTEN */
  listen_on(b, 0);
  /* 2.  SYN-SENT    --> <SEQ=100><CTL=SYN>           ... */
  struct tcplab_conn *ca = connect_from(a, 0);
  const struct out_seg *syn = expect(a, 0, SEG(.flags = SYN, .seq = 100));
  /* 3.  (duplicate) ... <SEQ=90><CTL=SYN>            --> SYN-RECEIVED */
  feed(b, MS(5), SEG(.flags = SYN, .seq = 90));
  uint64_t old = b->conn_id;
  assert_state(b->conn, TCPLAB_SYN_RECEIVED);
  /* 4.  SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK> <-- SYN-RECEIVED */
  cross(b, a, MS(5), SEG(.flags = SYN | ACK, .seq = 300, .ack = 91));
  assert_state(ca, TCPLAB_SYN_SENT);
  /* 5.  SYN-SENT    --> <SEQ=91><CTL=RST>            --> LISTEN */
  cross(a, b, MS(15), SEG(.flags = RST, .seq = 91));
  assert_closed(b, old, TCPLAB_ERR_RESET);
  assert_transitions(b, old,
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_LISTEN, TCPLAB_EV_RCV});
  /* 6.              ... <SEQ=100><CTL=SYN>           --> SYN-RECEIVED */
  b->iss = 400;
  deliver(b, MS(30), syn);
  assert_state(b->conn, TCPLAB_SYN_RECEIVED);
  /* 7.  ESTABLISHED <-- <SEQ=400><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED */
  cross(b, a, MS(30), SEG(.flags = SYN | ACK, .seq = 400, .ack = 101));
  assert_state(ca, TCPLAB_ESTABLISHED);
  /* 8.  ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>  --> ESTABLISHED */
  cross(a, b, MS(40), SEG(.flags = ACK, .seq = 101, .ack = 401));
  struct tcplab_conn *cb = accept_on(b);
  assert_state(cb, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_conn_stats(cb)->irs, 100);
  expect_nothing(a, S(10));
  expect_nothing(b, S(10));
}

/* The same old duplicate SYN with the core's counterfactual two-way
 * handshake (a teaching mode, never the default): the SYN alone opens
 * the connection, the application is handed it before anyone could say
 * it is stale, and only the client's RST takes it away again. */
static void test_two_way_handshake_counterfactual(void **state) {
  struct harness *b = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  assert_false(cfg.two_way_handshake);
  cfg.two_way_handshake = true;
  h_restart(b, &cfg);
  b->iss = 300;
  fx_listen(b);
  feed(b, MS(5), SEG(.flags = SYN, .seq = 90));
  expect(b, MS(5), SEG(.flags = SYN | ACK, .seq = 300, .ack = 91));
  uint64_t old = b->conn_id;
  assert_transitions(b, old,
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_SND});
  assert_int_equal(b->acceptable, 1);
  struct tcplab_conn *cb = accept_on(b);
  assert_state(cb, TCPLAB_ESTABLISHED);
  /* The client, which sent no such SYN, answers <SEQ=91><CTL=RST>. */
  feed(b, MS(15), SEG(.flags = RST, .seq = 91));
  assert_closed(b, old, TCPLAB_ERR_RESET);
}

/* ---- RFC 9293 figure 9: half-open connection discovery ---- */

static void test_figure9_half_open_discovery(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t old = tcplab_conn_id(cb);
  /* 1.  (CRASH)                               (send 300,receive 100) */
  /* 2.  CLOSED                                           ESTABLISHED */
  h_restart(a, NULL);
  a->iss = 400;
  /* 3.  SYN-SENT --> <SEQ=400><CTL=SYN>              --> (??) */
  ca = connect_from(a, S(1));
  cross(a, b, S(1), SEG(.flags = SYN, .seq = 400));
  /* 4.  (!!)     <-- <SEQ=300><ACK=100><CTL=ACK>     <-- ESTABLISHED */
  cross(b, a, S(1) + DELAY, SEG(.flags = ACK, .seq = 300, .ack = 100));
  assert_state(cb, TCPLAB_ESTABLISHED);
  /* 5.  SYN-SENT --> <SEQ=100><CTL=RST>              --> (Abort!!) */
  cross(a, b, S(1) + 2 * DELAY, SEG(.flags = RST, .seq = 100));
  /* 6.  SYN-SENT                                         CLOSED */
  assert_state(ca, TCPLAB_SYN_SENT);
  assert_closed(b, old, TCPLAB_ERR_RESET);
  /* 7.  SYN-SENT --> <SEQ=400><CTL=SYN>              --> */
  b->iss = 700;
  cross(a, b, S(2), SEG(.flags = SYN, .seq = 400));
  cross(b, a, S(2) + DELAY, SEG(.flags = SYN | ACK, .seq = 700, .ack = 401));
  cross(a, b, S(2) + 2 * DELAY, SEG(.flags = ACK, .seq = 401, .ack = 701));
  assert_state(ca, TCPLAB_ESTABLISHED);
  assert_state(accept_on(b), TCPLAB_ESTABLISHED);
}

/* ---- RFC 9293 figure 10: active side causes half-open discovery ---- */

static void test_figure10_active_side_causes_reset(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t id = tcplab_conn_id(cb);
  /* 1.  (REBOOT)                              (send 300,receive 100) */
  h_restart(a, NULL);
  /* 2.  (??)    <-- <SEQ=300><ACK=100><DATA=10><CTL=ACK> <-- ESTABLISHED */
  advance(b, S(1));
  send_str(cb, S(1), "0123456789");
  cross(b, a, S(1),
        SEG(.flags = PSH | ACK, .seq = 300, .ack = 100, DATA("0123456789")));
  /* 3.          --> <SEQ=100><CTL=RST>                   --> (ABORT!!) */
  cross(a, b, S(1) + DELAY, SEG(.flags = RST, .seq = 100));
  assert_closed(b, id, TCPLAB_ERR_RESET);
  /* The data dies with the connection: no retransmission. */
  expect_nothing(b, S(100));
  expect_nothing(a, S(100));
}

/* ---- RFC 9293 figure 11: old duplicate SYN resets two passive sockets ---- */

static void test_figure11_old_syn_two_passive_sockets(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 100, 300);
  /* 1.  LISTEN                                       LISTEN */
  listen_on(a, 0);
  listen_on(b, 0);
  /* 2.       ... <SEQ=Z><CTL=SYN>                --> SYN-RECEIVED */
  feed(b, MS(5), SEG(.flags = SYN, .seq = 5000));
  uint64_t id = b->conn_id;
  assert_state(b->conn, TCPLAB_SYN_RECEIVED);
  /* 3.  (??) <-- <SEQ=X><ACK=Z+1><CTL=SYN,ACK>   <-- SYN-RECEIVED */
  cross(b, a, MS(5), SEG(.flags = SYN | ACK, .seq = 300, .ack = 5001));
  /* 4.       --> <SEQ=Z+1><CTL=RST>              --> (return to LISTEN!) */
  cross(a, b, MS(15), SEG(.flags = RST, .seq = 5001));
  /* 5.  LISTEN                                       LISTEN */
  assert_closed(b, id, TCPLAB_ERR_RESET);
  assert_transitions(b, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_LISTEN, TCPLAB_EV_RCV});
  assert_null(a->conn);
  expect_nothing(a, S(100));
  expect_nothing(b, S(100));
}

/* ---- RFC 9293 figure 12: normal close sequence ---- */

static void test_figure12_normal_close(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t ida = tcplab_conn_id(ca), idb = tcplab_conn_id(cb);
  /* 1.  ESTABLISHED                                          ESTABLISHED */
  /* 2.  (Close)
   *     FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT */
  advance(a, S(1));
  assert_int_equal(tcplab_conn_close(ca, S(1)), TCPLAB_OK);
  assert_state(ca, TCPLAB_FIN_WAIT_1);
  cross(a, b, S(1), SEG(.flags = FIN | ACK, .seq = 100, .ack = 300));
  assert_state(cb, TCPLAB_CLOSE_WAIT);
  assert_int_equal(b->peer_closed, 1);
  /* 3.  FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT */
  cross(b, a, S(1) + DELAY, SEG(.flags = ACK, .seq = 300, .ack = 101));
  assert_state(ca, TCPLAB_FIN_WAIT_2);
  /* 4.                                                       (Close)
   *     TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK */
  advance(b, S(2));
  assert_int_equal(tcplab_conn_close(cb, S(2)), TCPLAB_OK);
  assert_state(cb, TCPLAB_LAST_ACK);
  cross(b, a, S(2), SEG(.flags = FIN | ACK, .seq = 300, .ack = 101));
  assert_state(ca, TCPLAB_TIME_WAIT);
  /* 5.  TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED */
  cross(a, b, S(2) + DELAY, SEG(.flags = ACK, .seq = 101, .ack = 301));
  assert_closed(b, idb, TCPLAB_OK);
  /* 6.  (2 MSL)
   *     CLOSED */
  expect_nothing(a, S(2) + DELAY + S(60) - 1);
  assert_state(ca, TCPLAB_TIME_WAIT);
  expect_nothing(a, S(2) + DELAY + S(60));
  assert_closed(a, ida, TCPLAB_OK);
  assert_transitions(
      a, ida, {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
      {TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_FIN_WAIT_2, TCPLAB_EV_RCV},
      {TCPLAB_FIN_WAIT_2, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV},
      {TCPLAB_TIME_WAIT, TCPLAB_CLOSED, TCPLAB_EV_TIMER_TIME_WAIT});
  assert_transitions(b, idb,
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV},
                     {TCPLAB_CLOSE_WAIT, TCPLAB_LAST_ACK, TCPLAB_EV_APP_CLOSE},
                     {TCPLAB_LAST_ACK, TCPLAB_CLOSED, TCPLAB_EV_RCV});
}

/* ---- RFC 9293 figure 13: simultaneous close sequence ---- */

static void test_figure13_simultaneous_close(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t ida = tcplab_conn_id(ca), idb = tcplab_conn_id(cb);
  /* 1.  ESTABLISHED                                          ESTABLISHED */
  /* 2.  (Close)                                              (Close)
   *     FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ... FIN-WAIT-1
   *                 <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <--
   *                 ... <SEQ=100><ACK=300><CTL=FIN,ACK>  --> */
  advance(a, S(1));
  assert_int_equal(tcplab_conn_close(ca, S(1)), TCPLAB_OK);
  advance(b, S(1));
  assert_int_equal(tcplab_conn_close(cb, S(1)), TCPLAB_OK);
  assert_state(ca, TCPLAB_FIN_WAIT_1);
  assert_state(cb, TCPLAB_FIN_WAIT_1);
  const struct out_seg *fin_a =
      expect(a, S(1), SEG(.flags = FIN | ACK, .seq = 100, .ack = 300));
  cross(b, a, S(1), SEG(.flags = FIN | ACK, .seq = 300, .ack = 100));
  deliver(b, S(1) + DELAY, fin_a);
  /* 3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING
   *                 <-- <SEQ=301><ACK=101><CTL=ACK>      <--
   *                 ... <SEQ=101><ACK=301><CTL=ACK>      --> */
  assert_state(ca, TCPLAB_CLOSING);
  assert_state(cb, TCPLAB_CLOSING);
  const struct out_seg *ack_a =
      expect(a, S(1) + DELAY, SEG(.flags = ACK, .seq = 101, .ack = 301));
  cross(b, a, S(1) + DELAY, SEG(.flags = ACK, .seq = 301, .ack = 101));
  deliver(b, S(1) + 2 * DELAY, ack_a);
  /* 4.  TIME-WAIT                                            TIME-WAIT
   *     (2 MSL)                                              (2 MSL)
   *     CLOSED                                               CLOSED */
  assert_state(ca, TCPLAB_TIME_WAIT);
  assert_state(cb, TCPLAB_TIME_WAIT);
  tcplab_time_t end = S(1) + 2 * DELAY + S(60);
  expect_nothing(a, end - 1);
  expect_nothing(b, end - 1);
  assert_not_closed(a, ida);
  assert_not_closed(b, idb);
  expect_nothing(a, end);
  expect_nothing(b, end);
  assert_closed(a, ida, TCPLAB_OK);
  assert_closed(b, idb, TCPLAB_OK);
  assert_transitions(
      b, idb, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_CLOSING, TCPLAB_EV_RCV},
      {TCPLAB_CLOSING, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV},
      {TCPLAB_TIME_WAIT, TCPLAB_CLOSED, TCPLAB_EV_TIMER_TIME_WAIT});
}

/* ---- Tests for closes and data beyond the figures ---- */

/* The passive closer closes inside `peer_closed`: its FIN carries the ACK
 * of A's FIN, so A goes from FIN-WAIT-1 straight to TIME-WAIT (RFC 9293
 * 3.10.7.4, eighth check: "If our FIN has been ACKed (perhaps in this
 * segment), then enter TIME-WAIT"). */
static void test_close_answered_with_fin_ack(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t ida = tcplab_conn_id(ca), idb = tcplab_conn_id(cb);
  b->on_peer_closed = app_close;
  advance(a, S(1));
  assert_int_equal(tcplab_conn_close(ca, S(1)), TCPLAB_OK);
  cross(a, b, S(1), SEG(.flags = FIN | ACK, .seq = 100, .ack = 300));
  assert_state(cb, TCPLAB_LAST_ACK);
  cross(b, a, S(1) + DELAY, SEG(.flags = FIN | ACK, .seq = 300, .ack = 101));
  expect_nothing(b, S(1) + DELAY);
  assert_state(ca, TCPLAB_TIME_WAIT);
  cross(a, b, S(1) + 2 * DELAY, SEG(.flags = ACK, .seq = 101, .ack = 301));
  assert_closed(b, idb, TCPLAB_OK);
  expect_nothing(a, S(1) + 2 * DELAY + S(60));
  assert_closed(a, ida, TCPLAB_OK);
  assert_transitions(
      a, ida, {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
      {TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV},
      {TCPLAB_TIME_WAIT, TCPLAB_CLOSED, TCPLAB_EV_TIMER_TIME_WAIT});
  assert_transitions(b, idb,
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV},
                     {TCPLAB_CLOSE_WAIT, TCPLAB_LAST_ACK, TCPLAB_EV_APP_CLOSE},
                     {TCPLAB_LAST_ACK, TCPLAB_CLOSED, TCPLAB_EV_RCV});
}

/* Half-close: A shuts down its sending half; B, in CLOSE-WAIT, goes on
 * sending and A, in FIN-WAIT-2, goes on receiving (RFC 9293 3.6: "the
 * user who CLOSEs may continue to RECEIVE until the TCP receiver is told
 * that the remote peer has CLOSED also"). */
static void test_half_close(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  uint64_t ida = tcplab_conn_id(ca), idb = tcplab_conn_id(cb);
  advance(a, S(1));
  assert_int_equal(tcplab_conn_shutdown(ca, S(1)), TCPLAB_OK);
  cross(a, b, S(1), SEG(.flags = FIN | ACK, .seq = 100, .ack = 300));
  cross(b, a, S(1) + DELAY, SEG(.flags = ACK, .seq = 300, .ack = 101));
  assert_state(ca, TCPLAB_FIN_WAIT_2);
  assert_state(cb, TCPLAB_CLOSE_WAIT);
  assert_int_equal(tcplab_conn_recv(cb, S(1) + DELAY, (char[4]){0}, 4), 0);

  advance(b, S(2));
  send_str(cb, S(2), "more data");
  cross(b, a, S(2),
        SEG(.flags = PSH | ACK, .seq = 300, .ack = 101, DATA("more data")));
  cross(a, b, S(2) + DELAY,
        SEG(.flags = ACK, .seq = 101, .ack = 309, .wnd = DEFAULT_WND - 9));
  assert_state(ca, TCPLAB_FIN_WAIT_2);
  assert_recv(a, ca, S(2) + DELAY, "more data");

  advance(b, S(3));
  assert_int_equal(tcplab_conn_close(cb, S(3)), TCPLAB_OK);
  cross(b, a, S(3), SEG(.flags = FIN | ACK, .seq = 309, .ack = 101));
  assert_state(ca, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_conn_recv(ca, S(3) + DELAY, (char[4]){0}, 4), 0);
  cross(a, b, S(3) + DELAY, SEG(.flags = ACK, .seq = 101, .ack = 310));
  assert_closed(b, idb, TCPLAB_OK);
  assert_not_closed(a, ida);
}

/* An application that echoes what it reads, inside the callback. */
static void echo(struct harness *h, struct tcplab_conn *c, size_t avail) {
  char buf[64];
  assert_true(avail <= sizeof buf);
  int n = tcplab_conn_recv(c, h->now, buf, sizeof buf);
  assert_int_equal(n, (int)avail);
  assert_int_equal(tcplab_conn_send(c, h->now, buf, (size_t)n), n);
}

/* Small data both ways, each side replying as it reads. */
static void test_small_data_both_ways(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  advance(a, S(1));
  send_str(ca, S(1), "hello");
  cross(a, b, S(1),
        SEG(.flags = PSH | ACK, .seq = 100, .ack = 300, DATA("hello")));
  cross(b, a, S(1) + DELAY,
        SEG(.flags = ACK, .seq = 300, .ack = 105, .wnd = DEFAULT_WND - 5));
  assert_recv(b, cb, S(1) + DELAY, "hello");

  advance(b, S(1) + MS(50));
  send_str(cb, S(1) + MS(50), "world!");
  /* B has read "hello", but its window edge stays until it can move by
   * a full MSS (receiver silly-window avoidance, RFC 9293 3.8.6.2.2). */
  cross(b, a, S(1) + MS(50),
        SEG(.flags = PSH | ACK, .seq = 300, .ack = 105, .wnd = DEFAULT_WND - 5,
            DATA("world!")));
  cross(a, b, S(1) + MS(60),
        SEG(.flags = ACK, .seq = 105, .ack = 306, .wnd = DEFAULT_WND - 6));
  assert_recv(a, ca, S(1) + MS(70), "world!");

  /* B answers from inside `readable`: its data carries the ACK. */
  b->on_readable = echo;
  advance(a, S(2));
  send_str(ca, S(2), "ping");
  /* Each window edge moves only by a full MSS, so the octets read so far
   * (6 by A, 5 + 4 by B) still show in the windows. */
  cross(a, b, S(2),
        SEG(.flags = PSH | ACK, .seq = 105, .ack = 306, .wnd = DEFAULT_WND - 6,
            DATA("ping")));
  cross(b, a, S(2) + DELAY,
        SEG(.flags = PSH | ACK, .seq = 306, .ack = 109, .wnd = DEFAULT_WND - 9,
            DATA("ping")));
  cross(a, b, S(2) + 2 * DELAY,
        SEG(.flags = ACK, .seq = 109, .ack = 310, .wnd = DEFAULT_WND - 10));
  assert_recv(a, ca, S(3), "ping");
  assert_int_equal(tcplab_stack_next_expiry(a->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_stack_next_expiry(b->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_conn_stats(ca)->bytes_sent, 9);
  assert_int_equal(tcplab_conn_stats(cb)->bytes_received, 9);
}

/* A lost data segment is retransmitted after one RTO and then ACKed. */
static void test_lost_data_retransmitted(void **state) {
  struct harness *a = *state;
  struct harness *b;
  struct tcplab_conn *ca, *cb;
  established_pair(a, &b, &ca, &cb);
  /* The handshake's RTT of 20 ms keeps the RTO at 1 s (RFC 6298 2.4). */
  advance(a, S(1));
  send_str(ca, S(1), "lost");
  expect(a, S(1),
         SEG(.flags = PSH | ACK, .seq = 100, .ack = 300, DATA("lost")));
  expect_nothing(a, S(2) - 1);
  cross(a, b, S(2),
        SEG(.flags = PSH | ACK, .seq = 100, .ack = 300, DATA("lost")));
  cross(b, a, S(2) + DELAY,
        SEG(.flags = ACK, .seq = 300, .ack = 104, .wnd = DEFAULT_WND - 4));
  assert_recv(b, cb, S(3), "lost");
  expect_nothing(a, S(100));
}

/* ---- Tests for sequence numbers across 2^32 ---- */

/* A whole lifecycle whose sequence numbers wrap (RFC 9293 3.4: "all
 * arithmetic dealing with sequence numbers must be performed modulo
 * 2^32"): A's ISS 2^32 - 2, so its data spans the wrap; B's ISS 2^32 - 4,
 * so its data ends exactly at it. One of A's segments is lost and resent
 * across the wrap. */
static void test_wraparound_lifecycle(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 0xfffffffeu, 0xfffffffcu);
  listen_on(b, 0);
  struct tcplab_conn *ca = connect_from(a, 0);
  cross(a, b, 0, SEG(.flags = SYN, .seq = 0xfffffffeu));
  cross(b, a, MS(10),
        SEG(.flags = SYN | ACK, .seq = 0xfffffffcu, .ack = 0xffffffffu));
  cross(a, b, MS(20),
        SEG(.flags = ACK, .seq = 0xffffffffu, .ack = 0xfffffffdu));
  struct tcplab_conn *cb = accept_on(b);
  uint64_t ida = tcplab_conn_id(ca), idb = tcplab_conn_id(cb);

  /* A: 6 octets from 2^32 - 1, the first segment lost. */
  advance(a, S(1));
  send_str(ca, S(1), "abcdef");
  expect(a, S(1),
         SEG(.flags = PSH | ACK, .seq = 0xffffffffu, .ack = 0xfffffffdu,
             DATA("abcdef")));
  cross(a, b, S(2),
        SEG(.flags = PSH | ACK, .seq = 0xffffffffu, .ack = 0xfffffffdu,
            DATA("abcdef")));
  cross(
      b, a, S(2) + DELAY,
      SEG(.flags = ACK, .seq = 0xfffffffdu, .ack = 5, .wnd = DEFAULT_WND - 6));
  assert_recv(b, cb, S(2) + DELAY, "abcdef");

  /* B: 3 octets ending at 2^32. */
  advance(b, S(3));
  send_str(cb, S(3), "xyz");
  cross(b, a, S(3),
        SEG(.flags = PSH | ACK, .seq = 0xfffffffdu, .ack = 5,
            .wnd = DEFAULT_WND - 6, DATA("xyz")));
  cross(a, b, S(3) + DELAY,
        SEG(.flags = ACK, .seq = 5, .ack = 0, .wnd = DEFAULT_WND - 3));
  assert_recv(a, ca, S(3) + DELAY, "xyz");

  /* The close, on the far side of the wrap. */
  advance(a, S(4));
  assert_int_equal(tcplab_conn_close(ca, S(4)), TCPLAB_OK);
  cross(a, b, S(4), SEG(.flags = FIN | ACK, .seq = 5, .ack = 0));
  cross(b, a, S(4) + DELAY, SEG(.flags = ACK, .seq = 0, .ack = 6));
  assert_state(ca, TCPLAB_FIN_WAIT_2);
  advance(b, S(5));
  assert_int_equal(tcplab_conn_close(cb, S(5)), TCPLAB_OK);
  cross(b, a, S(5), SEG(.flags = FIN | ACK, .seq = 0, .ack = 6));
  assert_state(ca, TCPLAB_TIME_WAIT);
  cross(a, b, S(5) + DELAY, SEG(.flags = ACK, .seq = 6, .ack = 1));
  assert_closed(b, idb, TCPLAB_OK);
  expect_nothing(a, S(5) + DELAY + S(60));
  assert_closed(a, ida, TCPLAB_OK);
  expect_nothing(b, S(100));
}

/* The SYN itself on the last sequence number: ISS 2^32 - 1 makes the
 * first data octet 0. */
static void test_wraparound_at_syn(void **state) {
  struct harness *a = *state;
  struct harness *b = peer(a, 0xffffffffu, 0xffffffffu);
  listen_on(b, 0);
  struct tcplab_conn *ca = connect_from(a, 0);
  cross(a, b, 0, SEG(.flags = SYN, .seq = 0xffffffffu));
  cross(b, a, MS(10), SEG(.flags = SYN | ACK, .seq = 0xffffffffu, .ack = 0));
  cross(a, b, MS(20), SEG(.flags = ACK, .seq = 0, .ack = 0));
  struct tcplab_conn *cb = accept_on(b);
  advance(a, S(1));
  send_str(ca, S(1), "0");
  cross(a, b, S(1), SEG(.flags = PSH | ACK, .seq = 0, .ack = 0, DATA("0")));
  cross(b, a, S(1) + DELAY,
        SEG(.flags = ACK, .seq = 0, .ack = 1, .wnd = DEFAULT_WND - 1));
  assert_recv(b, cb, S(2), "0");
  assert_int_equal(tcplab_stack_next_expiry(a->stack), TCPLAB_TIME_NEVER);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_figure6_three_way_handshake),
      TEST(test_figure7_simultaneous_open),
      TEST(test_figure8_old_duplicate_syn),
      TEST(test_two_way_handshake_counterfactual),
      TEST(test_figure9_half_open_discovery),
      TEST(test_figure10_active_side_causes_reset),
      TEST(test_figure11_old_syn_two_passive_sockets),
      TEST(test_figure12_normal_close),
      TEST(test_figure13_simultaneous_close),
      TEST(test_close_answered_with_fin_ack),
      TEST(test_half_close),
      TEST(test_small_data_both_ways),
      TEST(test_lost_data_retransmitted),
      TEST(test_wraparound_lifecycle),
      TEST(test_wraparound_at_syn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
