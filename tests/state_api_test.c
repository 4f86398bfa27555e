/*
 * The application's calls in each state (RFC 9293 3.10.1-3.10.6) and the
 * errors the API promises for them, plus the stack-level checks around
 * them: ports, 4-tuples, malformed input, callbacks that re-enter.
 */
#include <string.h>

#include "harness.h"

#define SND_NXT (LOCAL_ISS + 1)
#define RCV_NXT (REMOTE_ISS + 1)

/* ---- Tests for SEND ---- */

/* RFC 9293 3.10.2 SEND in FIN-WAIT-1 and later: "Return 'error:
 * connection closing' and do not service request." */
static void test_send_after_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(tcplab_conn_send(c, MS(100), "x", 1), TCPLAB_ERR_CLOSING);
  expect_nothing(h, MS(100));
}

static void test_send_after_close(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  assert_int_equal(tcplab_conn_send(c, MS(120), "x", 1), TCPLAB_ERR_CLOSING);
  expect_nothing(h, MS(120));
}

static void test_send_in_last_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  assert_int_equal(tcplab_conn_send(c, MS(110), "x", 1), TCPLAB_ERR_CLOSING);
  expect_nothing(h, MS(110));
}

static void test_send_nothing(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_send(c, MS(100), "", 0), 0);
  expect_nothing(h, S(10));
}

/* The send buffer bounds what is queued: a partial count, then
 * WOULDBLOCK until the peer acknowledges. */
static void test_send_buffer_full(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.snd_buf = 4;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_send(c, MS(100), "abcdef", 6), 4);
  expect(h, MS(100),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("abcd")));
  assert_int_equal(tcplab_conn_send(c, MS(100), "ef", 2),
                   TCPLAB_ERR_WOULDBLOCK);
  feed(h, MS(110), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 4));
  expect_nothing(h, MS(110));
  assert_int_equal(tcplab_conn_send(c, MS(110), "ef", 2), 2);
  expect(
      h, MS(110),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 4, .ack = RCV_NXT, DATA("ef")));
}

/* ---- Tests for RECEIVE ---- */

/* RFC 9293 3.10.3: with nothing buffered the call would block; after the
 * peer's FIN and all data read, it is the end of the stream. */
static void test_recv_states(void **state) {
  struct harness *h = *state;
  char buf[16];
  struct tcplab_conn *c = fx_established(h);
  assert_int_equal(tcplab_conn_recv(c, MS(10), buf, sizeof buf),
                   TCPLAB_ERR_WOULDBLOCK);
  feed(h, MS(100),
       SEG(.flags = FIN | PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT,
           DATA("end")));
  expect(h, MS(100),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4,
             .wnd = DEFAULT_WND - 3));
  assert_int_equal(tcplab_conn_recv(c, MS(100), buf, 2), 2);
  assert_memory_equal(buf, "en", 2);
  assert_int_equal(tcplab_conn_recv(c, MS(100), buf, sizeof buf), 1);
  assert_int_equal(buf[0], 'd');
  assert_int_equal(tcplab_conn_recv(c, MS(100), buf, sizeof buf), 0);
  assert_int_equal(tcplab_conn_recv(c, MS(100), buf, sizeof buf), 0);
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

/* ---- Tests for CLOSE, SHUTDOWN and ABORT ---- */

static void test_close_twice(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  assert_int_equal(tcplab_conn_close(c, MS(100)), TCPLAB_ERR_STATE);
  expect_nothing(h, MS(100));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

static void test_shutdown_twice(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_ERR_STATE);
  expect_nothing(h, MS(100));
}

static void test_shutdown_after_close(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_ERR_STATE);
  expect_nothing(h, MS(100));
}

/* close() after shutdown() sends no second FIN and changes no state. */
static void test_close_after_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, MS(105));
  assert_int_equal(tcplab_conn_close(c, MS(105)), TCPLAB_OK);
  expect_nothing(h, MS(105));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  assert_int_equal(tcplab_conn_close(c, MS(105)), TCPLAB_ERR_STATE);
}

/* RFC 9293 3.10.4 CLOSE in SYN-RECEIVED: "If no SENDs have been issued and
 * there is no pending data to send, then form a FIN segment and send it,
 * and enter FIN-WAIT-1 state". */
static void test_close_in_syn_received(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  advance(h, MS(5));
  assert_int_equal(tcplab_conn_close(c, MS(5)), TCPLAB_OK);
  expect(h, MS(5),
         SEG(.flags = FIN | ACK, .seq = LOCAL_ISS + 1, .ack = RCV_NXT));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  /* The peer's ACK covers SYN and FIN alike. */
  feed(h, MS(10), SEG(.flags = ACK, .seq = RCV_NXT, .ack = LOCAL_ISS + 2));
  expect_nothing(h, MS(10));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

/* ... "otherwise, queue for processing after entering ESTABLISHED state".
 * Simultaneous open, data queued, then close():
 *
 *     TCP A (us)                                          TCP B
 *  0  SYN-SENT     --> <SEQ=x><CTL=SYN>                      -->
 * 10  SYN-RECEIVED <-- <SEQ=y><CTL=SYN>                      <--
 * 10               --> <SEQ=x><ACK=y+1><CTL=SYN,ACK>         -->
 *      (send "abc", close(): still SYN-RECEIVED, nothing sent)
 * 20               <-- <SEQ=y+1><ACK=x><CTL=ACK>             <-- bad ACK
 * 20               --> <SEQ=x><CTL=RST>                      -->
 * 30  ESTABLISHED  <-- <SEQ=y+1><ACK=x+1><CTL=ACK>           <--
 * 30  FIN-WAIT-1   --> <SEQ=x+1><ACK=y+1><CTL=FIN,PSH,ACK><DATA> -->
 */
static void test_close_in_syn_received_with_data_waits(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(10), SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = RCV_NXT));
  send_str(c, MS(10), "abc");
  assert_int_equal(tcplab_conn_close(c, MS(10)), TCPLAB_OK);
  expect_nothing(h, MS(20));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  /* SYN-RECEIVED's ACK check still applies. */
  feed(h, MS(20), SEG(.flags = ACK, .seq = RCV_NXT, .ack = LOCAL_ISS));
  expect(h, MS(20), SEG(.flags = RST, .seq = LOCAL_ISS));
  feed(h, MS(30), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect(h, MS(30),
         SEG(.flags = FIN | PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT,
             DATA("abc")));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  assert_int_equal(h->connected, 1);
  assert_transitions(
      h, id, {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
      {TCPLAB_SYN_SENT, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE});
}

/* 3.10.8: on a timeout, "send the segment at the front of the
 * retransmission queue again": the SYN|ACK alone, not the FIN behind it,
 * which goes again once the SYN is acknowledged. */
static void test_close_in_syn_received_timeout_resends_syn_alone(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  advance(h, MS(5));
  assert_int_equal(tcplab_conn_close(c, MS(5)), TCPLAB_OK);
  expect(h, MS(5), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  expect(h, S(1), SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = RCV_NXT));
  expect_nothing(h, S(1) + MS(100));
  feed(h, S(1) + MS(100), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect(h, S(1) + MS(100),
         SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

/* `closed` runs inside abort(); the handle is gone afterwards and abort
 * reports success. */
static void test_abort_reports_before_return(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(100));
  assert_int_equal(h->closed_len, 0);
  assert_int_equal(tcplab_conn_abort(c, MS(100)), TCPLAB_OK);
  assert_int_equal(h->closed_len, 1);
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  assert_null(h->conn);
  expect(h, MS(100), SEG(.flags = RST | ACK, .seq = SND_NXT, .ack = RCV_NXT));
}

/* Callbacks may end the connection they are told about (core.h): an
 * application that aborts on the first data it sees. */
static void abort_on_data(struct harness *h, struct tcplab_conn *c,
                          size_t avail) {
  (void)avail;
  assert_int_equal(tcplab_conn_abort(c, h->now), TCPLAB_OK);
}

static void test_abort_inside_readable(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  h->on_readable = abort_on_data;
  feed(h, MS(100),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("bad")));
  /* The RST reports the data as received: the ACK owed was not sent. */
  expect(h, MS(100),
         SEG(.flags = RST | ACK, .seq = SND_NXT, .ack = RCV_NXT + 3));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
}

/* ---- Tests for LISTEN and ACCEPT ---- */

static void test_accept_empty(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = fx_listen(h);
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(l, &c), TCPLAB_ERR_WOULDBLOCK);
  assert_null(c);
  /* A connection still in SYN-RECEIVED cannot be accepted yet. */
  feed(h, MS(1), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(1),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  assert_int_equal(tcplab_listener_accept(l, &c), TCPLAB_ERR_WOULDBLOCK);
}

static void test_listen_port_in_use(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = fx_listen(h), *other = NULL;
  assert_int_equal(
      tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, LOCAL_PORT, 1, &other),
      TCPLAB_ERR_ADDRINUSE);
  /* The wildcard address overlaps every address. */
  assert_int_equal(tcplab_stack_listen(h->stack, 0, 0, LOCAL_PORT, 1, &other),
                   TCPLAB_ERR_ADDRINUSE);
  assert_int_equal(
      tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, LOCAL_PORT + 1, 1, &other),
      TCPLAB_OK);
  /* Once closed, the port is free again. */
  tcplab_listener_close(l, 0);
  h->listener = NULL;
  assert_int_equal(
      tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, LOCAL_PORT, 1, &other),
      TCPLAB_OK);
  expect_nothing(h, 0);
}

static void test_listen_invalid(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = NULL;
  assert_int_equal(tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, 0, 1, &l),
                   TCPLAB_ERR_INVAL);
  assert_int_equal(
      tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, LOCAL_PORT, 0, &l),
      TCPLAB_ERR_INVAL);
  assert_null(l);
}

/* A listener on the wildcard address answers for any local address. */
static void test_listen_any_address(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = NULL;
  assert_int_equal(tcplab_stack_listen(h->stack, 0, 0, LOCAL_PORT, 1, &l),
                   TCPLAB_OK);
  feed(h, MS(1), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(1),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  assert_int_equal(tcplab_conn_local(h->conn).addr, LOCAL_ADDR);
}

/* ---- Tests for CONNECT ---- */

/* RFC 6335: ephemeral ports from 49152 upwards. */
static void test_connect_ephemeral_ports(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *a = NULL, *b = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &a),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .sport = 49152, .seq = LOCAL_ISS));
  assert_int_equal(tcplab_conn_local(a).port, 49152);
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &b),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .sport = 49153, .seq = LOCAL_ISS));
  assert_int_equal(tcplab_conn_local(b).port, 49153);
  assert_int_not_equal(tcplab_conn_id(a), tcplab_conn_id(b));
}

/* Ports a listener holds are not handed out as ephemeral ports. */
static void test_connect_ephemeral_skips_listened_port(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = NULL;
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, 49152, 1, &l),
                   TCPLAB_OK);
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &c),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .sport = 49153, .seq = LOCAL_ISS));
}

/* With a one-port range, a second connection to the same peer has no
 * port left; once the first is gone the port is free again. */
static void test_connect_no_ports(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.ephemeral_min = cfg.ephemeral_max = 60000;
  h_restart(h, &cfg);
  struct tcplab_conn *a = NULL, *b = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &a),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .sport = 60000, .seq = LOCAL_ISS));
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &b),
                   TCPLAB_ERR_NOPORTS);
  /* Another peer is another 4-tuple: the same local port serves it. */
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT + 1, &b),
                   TCPLAB_OK);
  expect(h, 0,
         SEG(.flags = SYN, .sport = 60000, .dport = REMOTE_PORT + 1,
             .seq = LOCAL_ISS));
  assert_int_equal(tcplab_conn_abort(a, 0), TCPLAB_OK);
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR,
                                        REMOTE_PORT, &a),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .sport = 60000, .seq = LOCAL_ISS));
}

/* Every segment a connection sends or receives is one trace event, with
 * the segment's own fields (core.h). */
static void test_trace_counts_segments(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(100),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("ab")));
  expect(h, MS(100),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 2,
             .wnd = DEFAULT_WND - 2));
  /* SYN, ACK, data in; SYN|ACK, ACK out. */
  assert_int_equal(count_events(h, id, TCPLAB_EV_RCV), 3);
  assert_int_equal(count_events(h, id, TCPLAB_EV_SND), 2);
  const struct tcplab_trace_event *rcv = find_event(h, id, TCPLAB_EV_RCV);
  assert_int_equal(rcv->flags, PSH | ACK);
  assert_int_equal(rcv->seq, RCV_NXT);
  assert_int_equal(rcv->len, 2);
  assert_int_equal(rcv->from, TCPLAB_ESTABLISHED);
  assert_int_equal(rcv->to, TCPLAB_ESTABLISHED);
  const struct tcplab_trace_event *snd = last_event(h, id);
  assert_int_equal(snd->event, TCPLAB_EV_SND);
  assert_int_equal(snd->flags, ACK);
  assert_int_equal(snd->ack, RCV_NXT + 2);
  assert_int_equal(snd->iss, LOCAL_ISS);
  assert_int_equal(snd->irs, REMOTE_ISS);
  assert_true(snd->irs_valid);
  assert_int_equal(snd->local.port, LOCAL_PORT);
  assert_int_equal(snd->remote.port, REMOTE_PORT);
}

static void test_connect_same_four_tuple(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h), *dup = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, LOCAL_PORT,
                                        REMOTE_ADDR, REMOTE_PORT, &dup),
                   TCPLAB_ERR_ADDRINUSE);
  expect_nothing(h, 0);
  /* Another remote port is another 4-tuple. */
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, LOCAL_PORT,
                                        REMOTE_ADDR, REMOTE_PORT + 1, &dup),
                   TCPLAB_OK);
  expect(h, 0, SEG(.flags = SYN, .dport = REMOTE_PORT + 1, .seq = LOCAL_ISS));
  assert_state(c, TCPLAB_SYN_SENT);
}

/* A connection in TIME-WAIT still owns its 4-tuple. */
static void test_connect_over_time_wait(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *dup = NULL;
  fx_time_wait(h);
  assert_int_equal(tcplab_stack_connect(h->stack, MS(200), LOCAL_ADDR,
                                        LOCAL_PORT, REMOTE_ADDR, REMOTE_PORT,
                                        &dup),
                   TCPLAB_ERR_ADDRINUSE);
  expect_nothing(h, MS(200));
}

static void test_connect_invalid(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = NULL;
  assert_int_equal(
      tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, 0, REMOTE_PORT, &c),
      TCPLAB_ERR_INVAL);
  assert_int_equal(
      tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, 0, REMOTE_ADDR, 0, &c),
      TCPLAB_ERR_INVAL);
  expect_nothing(h, 0);
}

/* ---- Tests for the stack ---- */

static void test_stack_new_invalid(void **state) {
  (void)state;
  struct tcplab_stack *s = NULL;
  struct tcplab_callbacks none = {0};
  assert_int_equal(tcplab_stack_new(NULL, &none, NULL, NULL, &s),
                   TCPLAB_ERR_INVAL);
  assert_null(s);
}

/* Undecodable input is counted by reason and changes nothing. */
static void test_stack_input_malformed(void **state) {
  struct harness *h = *state;
  uint8_t buf[TCPLAB_HEADER_MAX];
  struct tcplab_conn *c = fx_established(h);
  assert_int_equal(
      tcplab_stack_input(h->stack, MS(100), REMOTE_ADDR, LOCAL_ADDR, buf, 10),
      TCPLAB_ERR_MALFORMED);
  struct tcplab_segment rst = {
      .sport = REMOTE_PORT, .dport = LOCAL_PORT, .flags = RST, .seq = RCV_NXT};
  size_t n =
      tcplab_segment_encode(&rst, REMOTE_ADDR, LOCAL_ADDR, buf, sizeof buf);
  buf[16] ^= 0xff; /* the checksum */
  assert_int_equal(
      tcplab_stack_input(h->stack, MS(100), REMOTE_ADDR, LOCAL_ADDR, buf, n),
      TCPLAB_ERR_MALFORMED);
  const struct tcplab_stack_stats *st = tcplab_stack_stats(h->stack);
  assert_int_equal(st->malformed[TCPLAB_MALFORMED_SHORT], 1);
  assert_int_equal(st->malformed[TCPLAB_MALFORMED_CHECKSUM], 1);
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* A driver's storage for segments (tcplab_callbacks.tx_buffer): each
 * segment is built in the block asked for, exactly its length (the
 * harness checks both). With none free the segment is dropped and
 * counted, and TCP sends it again: here the SYN, after the initial RTO. */
static void test_tx_buffer_refused(void **state) {
  struct harness *h = *state;
  h->tx_buffer = true;
  h_restart(h, NULL);
  h->tx_refuse = 1;
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, LOCAL_ADDR, LOCAL_PORT,
                                        REMOTE_ADDR, REMOTE_PORT, &c),
                   TCPLAB_OK);
  expect_nothing(h, MS(999));
  assert_state(c, TCPLAB_SYN_SENT);
  const struct tcplab_stack_stats *st = tcplab_stack_stats(h->stack);
  assert_int_equal(st->tx_no_buffer, 1);
  assert_int_equal(st->segs_out, 0);
  assert_int_equal(tcplab_conn_stats(c)->syn_tx, 1);
  expect(h, S(1), SEG(.flags = SYN, .seq = LOCAL_ISS));
  assert_int_equal(st->segs_out, 1);
  feed(h, S(1) + MS(10),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, S(1) + MS(10), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_conn_send(c, S(2), "hello", 5), 5);
  expect(
      h, S(2),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  assert_int_equal(st->tx_no_buffer, 1);
}

/* The per-connection record of the handshake. */
static void test_conn_stats(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->role, TCPLAB_ROLE_PASSIVE);
  assert_int_equal(st->opened, 0);
  assert_int_equal(st->established, T_HANDSHAKE);
  assert_int_equal(st->close_called, TCPLAB_TIME_NEVER);
  assert_int_equal(st->closed, TCPLAB_TIME_NEVER);
  assert_int_equal(st->iss, LOCAL_ISS);
  assert_int_equal(st->irs, REMOTE_ISS);
  assert_int_equal(st->syn_tx, 1);
  assert_int_equal(st->retransmissions, 0);
  assert_int_equal(st->error, TCPLAB_OK);
  int marker;
  tcplab_conn_set_user_data(c, &marker);
  assert_ptr_equal(tcplab_conn_user_data(c), &marker);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_close(c, MS(100)), TCPLAB_OK);
  assert_int_equal(st->close_called, MS(100));
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
}

/* The buffer queries: free send space shrinks by what is queued and
 * unacknowledged, and is 0 once no more may be sent; readable counts what
 * arrived in order and was not read. */
static void test_buffer_queries(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  size_t buf = h->cfg.snd_buf;
  assert_int_equal(tcplab_conn_send_space(c), buf);
  advance(h, MS(100));
  send_str(c, MS(100), "hello");
  expect(
      h, MS(100),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  assert_int_equal(tcplab_conn_send_space(c), buf - 5);
  feed(
      h, MS(110),
      SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT + 5, DATA("abc")));
  assert_int_equal(tcplab_conn_send_space(c), buf);
  assert_int_equal(tcplab_conn_readable(c), 3);
  assert_int_equal(tcplab_conn_shutdown(c, MS(120)), TCPLAB_OK);
  assert_int_equal(tcplab_conn_send_space(c), 0);
  assert_int_equal(tcplab_conn_readable(c), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_send_after_shutdown),
      TEST(test_send_after_close),
      TEST(test_send_in_last_ack),
      TEST(test_send_nothing),
      TEST(test_send_buffer_full),
      TEST(test_recv_states),
      TEST(test_close_twice),
      TEST(test_shutdown_twice),
      TEST(test_shutdown_after_close),
      TEST(test_close_after_shutdown),
      TEST(test_close_in_syn_received),
      TEST(test_close_in_syn_received_with_data_waits),
      TEST(test_close_in_syn_received_timeout_resends_syn_alone),
      TEST(test_abort_reports_before_return),
      TEST(test_abort_inside_readable),
      TEST(test_accept_empty),
      TEST(test_listen_port_in_use),
      TEST(test_listen_invalid),
      TEST(test_listen_any_address),
      TEST(test_connect_ephemeral_ports),
      TEST(test_connect_ephemeral_skips_listened_port),
      TEST(test_connect_no_ports),
      TEST(test_connect_same_four_tuple),
      TEST(test_connect_over_time_wait),
      TEST(test_connect_invalid),
      TEST(test_stack_new_invalid),
      TEST(test_stack_input_malformed),
      TEST(test_tx_buffer_refused),
      TEST(test_conn_stats),
      TEST(test_trace_counts_segments),
      TEST(test_buffer_queries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
