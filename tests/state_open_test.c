/*
 * Segment arrival in the states before synchronization: no connection
 * (CLOSED), LISTEN, SYN-SENT and SYN-RECEIVED (RFC 9293 3.10.7.1-3.10.7.4).
 * The stack under test is LOCAL; each test plays the remote peer.
 */
#include "harness.h"

/* ---- Tests for segments to a closed port (RFC 9293 3.10.7.1) ---- */

/* "If the ACK bit is off, sequence number zero is used,
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"; the SYN counts in SEG.LEN. */
static void test_closed_syn_gets_rst_ack(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, 0, SEG(.flags = RST | ACK, .seq = 0, .ack = REMOTE_ISS + 1));
  expect_nothing(h, S(10));
  assert_int_equal(tcplab_stack_stats(h->stack)->rst_sent, 1);
  assert_null(h->conn);
}

/* SEG.LEN counts the data as well as the SYN. */
static void test_closed_syn_with_data(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = SYN, .seq = REMOTE_ISS, DATA("abcd")));
  expect(h, 0, SEG(.flags = RST | ACK, .seq = 0, .ack = REMOTE_ISS + 5));
}

/* A FIN counts in SEG.LEN too. */
static void test_closed_fin(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = FIN, .seq = REMOTE_ISS));
  expect(h, 0, SEG(.flags = RST | ACK, .seq = 0, .ack = REMOTE_ISS + 1));
}

/* "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>". */
static void test_closed_ack(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS));
  expect(h, 0, SEG(.flags = RST, .seq = LOCAL_ISS));
  assert_int_equal(tcplab_stack_stats(h->stack)->rst_sent, 1);
}

static void test_closed_data(void **state) {
  struct harness *h = *state;
  feed(h, 0,
       SEG(.flags = PSH | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 7,
           DATA("hello")));
  expect(h, 0, SEG(.flags = RST, .seq = LOCAL_ISS + 7));
}

static void test_closed_fin_ack(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = FIN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS));
  expect(h, 0, SEG(.flags = RST, .seq = LOCAL_ISS));
}

/* "An incoming segment containing a RST is discarded": never answer a RST,
 * or two hosts could reset each other forever. */
static void test_closed_rst_not_answered(void **state) {
  struct harness *h = *state;
  feed(h, 0, SEG(.flags = RST, .seq = REMOTE_ISS));
  feed(h, MS(1), SEG(.flags = RST | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS));
  expect_nothing(h, S(1));
  assert_int_equal(tcplab_stack_stats(h->stack)->rst_sent, 0);
}

/* A listener on one port does not answer for another: the RST comes from
 * the port the segment was sent to. */
static void test_closed_other_port_of_listener(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, 0, SEG(.flags = SYN, .dport = LOCAL_PORT + 1, .seq = REMOTE_ISS));
  expect(h, 0,
         SEG(.flags = RST | ACK, .sport = LOCAL_PORT + 1, .seq = 0,
             .ack = REMOTE_ISS + 1));
}

/* Once a connection has reached CLOSED its 4-tuple is closed again. */
static void test_closed_after_connection_ended(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(5));
  assert_int_equal(tcplab_conn_abort(c, MS(5)), TCPLAB_OK);
  expect_nothing(h, MS(5));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  feed(h, MS(10),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(10), SEG(.flags = RST, .seq = LOCAL_ISS + 1));
}

/* ---- Tests for the LISTEN state (RFC 9293 3.10.7.2) ---- */

/* "If the state is LISTEN ... first, check for a RST: an incoming RST
 * segment could not be valid ... it should be ignored." */
static void test_listen_rst(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1), SEG(.flags = RST, .seq = REMOTE_ISS));
  feed(h, MS(2), SEG(.flags = RST | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS));
  expect_nothing(h, S(1));
  assert_null(h->conn);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_total, 0);
}

/* "Second, check for an ACK: any acknowledgment is bad if it arrives on a
 * connection still in the LISTEN state. An acceptable reset segment should
 * be formed ... <SEQ=SEG.ACK><CTL=RST>". */
static void test_listen_ack(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1), SEG(.flags = ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 9));
  expect(h, MS(1), SEG(.flags = RST, .seq = LOCAL_ISS + 9));
  assert_null(h->conn);
}

/* The ACK check comes before the SYN check: a SYN|ACK is reset too. */
static void test_listen_syn_ack(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(1), SEG(.flags = RST, .seq = LOCAL_ISS + 1));
  assert_null(h->conn);
}

static void test_listen_fin_ack(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1),
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(1), SEG(.flags = RST, .seq = LOCAL_ISS + 1));
}

/* "Any other control or text-bearing segment (not containing SYN) must
 * have an ACK and thus would be discarded by the ACK processing": without
 * SYN or ACK the segment is dropped silently. */
static void test_listen_fin_without_ack(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1), SEG(.flags = FIN, .seq = REMOTE_ISS));
  expect_nothing(h, S(1));
  assert_null(h->conn);
}

static void test_listen_data_without_ack(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1), SEG(.flags = PSH, .seq = REMOTE_ISS, DATA("hello")));
  expect_nothing(h, S(1));
  assert_null(h->conn);
}

/* "Third, check for a SYN: ... ISS should be selected and a SYN segment
 * sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>". */
static void test_listen_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  assert_ptr_equal(tcplab_conn_listener(c), h->listener);
  assert_int_equal(tcplab_conn_local(c).port, LOCAL_PORT);
  assert_int_equal(tcplab_conn_remote(c).addr, REMOTE_ADDR);
  assert_int_equal(tcplab_conn_remote(c).port, REMOTE_PORT);
  /* The passive connection's first event is the SYN that created it. */
  const struct tcplab_trace_event *first = first_event(h, id);
  assert_non_null(first);
  assert_int_equal(first->event, TCPLAB_EV_RCV);
  assert_int_equal(first->from, TCPLAB_LISTEN);
  assert_int_equal(first->to, TCPLAB_SYN_RECEIVED);
  assert_int_equal(first->flags, SYN);
  assert_int_equal(first->seq, REMOTE_ISS);
  const struct tcplab_trace_event *snd = find_event(h, id, TCPLAB_EV_SND);
  assert_non_null(snd);
  assert_int_equal(snd->flags, SYN | ACK);
  assert_int_equal(snd->seq, LOCAL_ISS);
  assert_int_equal(snd->ack, REMOTE_ISS + 1);
  /* The listener goes on listening: a second peer gets its own SYN|ACK. */
  h->iss = LOCAL_ISS + 50000;
  feed(h, MS(1), SEG(.flags = SYN, .sport = REMOTE_PORT + 1, .seq = 77));
  expect(h, MS(1),
         SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + 1,
             .seq = LOCAL_ISS + 50000, .ack = 78));
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, 2);
  assert_state(c, TCPLAB_SYN_RECEIVED);
}

/* "Any other control or text should be queued for processing later": a
 * MAY. Here text on a SYN is not kept; the SYN|ACK acknowledges the SYN
 * alone, so the peer sends the text again once established. */
static void test_listen_syn_with_data(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, MS(1), SEG(.flags = SYN, .seq = REMOTE_ISS, DATA("early")));
  expect(h, MS(1),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, MS(10),
       SEG(.flags = PSH | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1,
           DATA("early")));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 6,
             .wnd = DEFAULT_WND - 5));
  assert_state(h->conn, TCPLAB_ESTABLISHED);
  assert_recv(h, h->conn, MS(20), "early");
}

/* The backlog bounds connections in SYN-RECEIVED plus established ones
 * not yet accepted; a SYN beyond it is dropped without an answer so that
 * the peer retries later. */
static void test_listen_backlog_full_drops_syn(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  for (unsigned i = 0; i < BACKLOG; i++) {
    feed(h, MS(1), SEG(.flags = SYN, .sport = REMOTE_PORT + i, .seq = 100 * i));
    expect(h, MS(1),
           SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + i, .seq = LOCAL_ISS,
               .ack = 100 * i + 1));
  }
  feed(h, MS(2), SEG(.flags = SYN, .sport = REMOTE_PORT + 9, .seq = 900));
  expect_nothing(h, MS(2));
  assert_int_equal(tcplab_stack_stats(h->stack)->backlog_drops, 1);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, BACKLOG);

  /* Completing a handshake keeps the slot taken until accept(). */
  feed(h, MS(3), SEG(.flags = ACK, .seq = 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(3));
  assert_int_equal(h->acceptable, 1);
  feed(h, MS(4), SEG(.flags = SYN, .sport = REMOTE_PORT + 9, .seq = 900));
  expect_nothing(h, MS(4));
  assert_int_equal(tcplab_stack_stats(h->stack)->backlog_drops, 2);

  /* accept() frees it: the retried SYN is answered. */
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  assert_int_equal(tcplab_conn_remote(c).port, REMOTE_PORT);
  assert_state(c, TCPLAB_ESTABLISHED);
  feed(h, MS(5), SEG(.flags = SYN, .sport = REMOTE_PORT + 9, .seq = 900));
  expect(h, MS(5),
         SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + 9, .seq = LOCAL_ISS,
             .ack = 901));
}

/* A connection that leaves SYN-RECEIVED without being established (reset
 * back to LISTEN) gives its backlog slot back. */
static void test_listen_backlog_slot_returned(void **state) {
  struct harness *h = *state;
  struct tcplab_listener *l = NULL;
  assert_int_equal(
      tcplab_stack_listen(h->stack, 0, LOCAL_ADDR, LOCAL_PORT, 1, &l),
      TCPLAB_OK);
  feed(h, MS(1), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(1),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, MS(2), SEG(.flags = SYN, .sport = REMOTE_PORT + 1, .seq = 7));
  expect_nothing(h, MS(2));
  assert_int_equal(tcplab_stack_stats(h->stack)->backlog_drops, 1);
  feed(h, MS(3), SEG(.flags = RST, .seq = REMOTE_ISS + 1));
  expect_nothing(h, MS(3));
  feed(h, MS(4), SEG(.flags = SYN, .sport = REMOTE_PORT + 1, .seq = 7));
  expect(h, MS(4),
         SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + 1, .seq = LOCAL_ISS,
             .ack = 8));
}

/* Established connections wait in the queue oldest first. */
static void test_listen_accept_order(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  for (unsigned i = 0; i < 2; i++) {
    feed(h, MS(1), SEG(.flags = SYN, .sport = REMOTE_PORT + i, .seq = 100 * i));
    expect(h, MS(1),
           SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + i, .seq = LOCAL_ISS,
               .ack = 100 * i + 1));
  }
  /* The second handshake completes first. */
  feed(h, MS(2),
       SEG(.flags = ACK, .sport = REMOTE_PORT + 1, .seq = 101,
           .ack = LOCAL_ISS + 1));
  feed(h, MS(3), SEG(.flags = ACK, .seq = 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(3));
  assert_int_equal(h->acceptable, 2);
  struct tcplab_conn *a = NULL, *b = NULL, *none = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &a), TCPLAB_OK);
  assert_int_equal(tcplab_listener_accept(h->listener, &b), TCPLAB_OK);
  assert_int_equal(tcplab_listener_accept(h->listener, &none),
                   TCPLAB_ERR_WOULDBLOCK);
  assert_int_equal(tcplab_conn_remote(a).port, REMOTE_PORT + 1);
  assert_int_equal(tcplab_conn_remote(b).port, REMOTE_PORT);
}

/* Closing the listener resets the connections it has not handed out:
 * nobody will ever read them (RFC 9293 3.10.7.4 on aborting a
 * synchronized connection: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>). An
 * accepted connection belongs to the application and lives on. */
static void test_listener_close_resets_queue(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *accepted = fx_established(h);
  /* One peer completes its handshake, another is still in SYN-RECEIVED. */
  feed(h, MS(20), SEG(.flags = SYN, .sport = REMOTE_PORT + 1, .seq = 100));
  expect(h, MS(20),
         SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + 1, .seq = LOCAL_ISS,
             .ack = 101));
  uint64_t queued = h->conn_id;
  feed(h, MS(21),
       SEG(.flags = ACK, .sport = REMOTE_PORT + 1, .seq = 101,
           .ack = LOCAL_ISS + 1));
  feed(h, MS(22), SEG(.flags = SYN, .sport = REMOTE_PORT + 2, .seq = 200));
  expect(h, MS(22),
         SEG(.flags = SYN | ACK, .dport = REMOTE_PORT + 2, .seq = LOCAL_ISS,
             .ack = 201));
  uint64_t half = h->conn_id;

  advance(h, MS(30));
  tcplab_listener_close(h->listener, MS(30));
  h->listener = NULL;
  expect(h, MS(30),
         SEG(.flags = RST | ACK, .dport = REMOTE_PORT + 1, .seq = LOCAL_ISS + 1,
             .ack = 101));
  expect(h, MS(30),
         SEG(.flags = RST | ACK, .dport = REMOTE_PORT + 2, .seq = LOCAL_ISS + 1,
             .ack = 201));
  expect_nothing(h, MS(30));
  assert_closed(h, queued, TCPLAB_ERR_ABORTED);
  assert_closed(h, half, TCPLAB_ERR_ABORTED);
  assert_state(accepted, TCPLAB_ESTABLISHED);
  assert_null(tcplab_conn_listener(accepted));

  /* The port is closed now. */
  feed(h, MS(40), SEG(.flags = SYN, .sport = REMOTE_PORT + 3, .seq = 300));
  expect(
      h, MS(40),
      SEG(.flags = RST | ACK, .dport = REMOTE_PORT + 3, .seq = 0, .ack = 301));
}

/* ---- Tests for the SYN-SENT state (RFC 9293 3.10.7.3) ---- */

static void test_syn_sent_syn_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established_active(h);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
  /* The SYN left as the connection's first segment, after app_connect. */
  const struct tcplab_trace_event *snd =
      find_event(h, tcplab_conn_id(c), TCPLAB_EV_SND);
  assert_non_null(snd);
  assert_int_equal(tcplab_conn_stats(c)->iss, LOCAL_ISS);
  assert_int_equal(tcplab_conn_stats(c)->irs, REMOTE_ISS);
  assert_true(tcplab_conn_stats(c)->irs_valid);
  expect_nothing(h, MS(500));
}

/* "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
 * is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>". The
 * connection stays in SYN-SENT and can still complete. */
static void test_syn_sent_syn_ack_acking_iss(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS));
  expect(h, MS(10), SEG(.flags = RST, .seq = LOCAL_ISS));
  assert_state(c, TCPLAB_SYN_SENT);
  feed(h, MS(20),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(20),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_ESTABLISHED);
}

static void test_syn_sent_syn_ack_acking_beyond_snd_nxt(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 2));
  expect(h, MS(10), SEG(.flags = RST, .seq = LOCAL_ISS + 2));
  assert_state(c, TCPLAB_SYN_SENT);
  assert_int_equal(h->connected, 0);
}

static void test_syn_sent_unacceptable_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 10));
  expect(h, MS(10), SEG(.flags = RST, .seq = LOCAL_ISS + 10));
  assert_state(c, TCPLAB_SYN_SENT);
}

/* "If there are other controls or text in the segment, then continue
 * processing at the sixth step": text on the SYN|ACK is delivered and
 * acknowledged with the handshake's ACK. */
static void test_syn_sent_syn_ack_with_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10),
       SEG(.flags = SYN | ACK | PSH, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1,
           DATA("hi")));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 3,
             .wnd = DEFAULT_WND - 2));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(h->connected, 1);
  assert_recv(h, c, MS(20), "hi");
}

/* A FIN on the SYN|ACK: established, then at once CLOSE-WAIT. */
static void test_syn_sent_syn_ack_with_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10),
       SEG(.flags = SYN | ACK | FIN, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->connected, 1);
  assert_int_equal(h->peer_closed, 1);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV});
}

/* "Fifth, if neither of the SYN or RST bits is set, then drop the segment
 * and return": an acceptable bare ACK does not synchronize. */
static void test_syn_sent_acceptable_ack_without_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_SENT);
}

static void test_syn_sent_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = FIN, .seq = REMOTE_ISS));
  feed(h, MS(11),
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_SENT);
  assert_int_equal(h->peer_closed, 0);
}

static void test_syn_sent_data_without_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = PSH, .seq = REMOTE_ISS, DATA("abc")));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_SENT);
  assert_int_equal(h->readable, 0);
}

/* "If the ACK was acceptable, then signal to the user 'error: connection
 * reset', drop the segment, enter CLOSED state". Nothing answers it. */
static void test_syn_sent_rst_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10), SEG(.flags = RST | ACK, .seq = 0, .ack = LOCAL_ISS + 1));
  expect_nothing(h, S(200));
  assert_closed(h, id, TCPLAB_ERR_REFUSED);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_CLOSED, TCPLAB_EV_RCV});
  assert_int_equal(last_event(h, id)->error, TCPLAB_ERR_REFUSED);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* An RST|ACK whose ACK is not acceptable is dropped: "unless the RST bit
 * is set, if so drop the segment and return". */
static void test_syn_sent_rst_ack_unacceptable(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = RST | ACK, .seq = 0, .ack = LOCAL_ISS + 5));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_SENT);
}

/* "Otherwise (no ACK), drop the segment and return" (RFC 5961 3.2 keeps
 * this: a blind RST must acknowledge the SYN). */
static void test_syn_sent_rst_without_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(10), SEG(.flags = RST, .seq = REMOTE_ISS));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_SENT);
}

/* "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it" (simultaneous open). */
static void test_syn_sent_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(10),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  /* The peer's SYN|ACK acknowledges our SYN. */
  feed(h, MS(20),
       SEG(.flags = ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(h->connected, 1);
  assert_int_equal(h->acceptable, 0);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
}

/* RFC 9293 3.10.7.4 second check, SYN-RECEIVED: "If this connection was
 * initiated with an active OPEN (i.e., came from SYN-SENT state), then the
 * connection was refused". */
static void test_syn_sent_syn_then_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(10),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, MS(20), SEG(.flags = RST, .seq = REMOTE_ISS + 1));
  expect_nothing(h, S(200));
  assert_closed(h, id, TCPLAB_ERR_REFUSED);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_CLOSED, TCPLAB_EV_RCV});
}

/* RFC 9293 3.10.4 CLOSE in SYN-SENT: "Delete the TCB"; nothing is sent. */
static void test_syn_sent_close(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(500));
  assert_int_equal(tcplab_conn_close(c, MS(500)), TCPLAB_OK);
  expect_nothing(h, S(200));
  assert_closed(h, id, TCPLAB_OK);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_CLOSED, TCPLAB_EV_APP_CLOSE});
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* RFC 9293 3.10.5 ABORT in SYN-SENT: no RST, the peer knows nothing yet. */
static void test_syn_sent_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(500));
  assert_int_equal(tcplab_conn_abort(c, MS(500)), TCPLAB_OK);
  expect_nothing(h, S(200));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_CLOSED, TCPLAB_EV_APP_ABORT});
}

/* RFC 9293 3.10.2 SEND in SYN-SENT: "Queue the data for transmission after
 * entering ESTABLISHED state". */
static void test_syn_sent_send_queued(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  advance(h, MS(5));
  send_str(c, MS(5), "early");
  expect_nothing(h, MS(10));
  feed(h, MS(10),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  /* The data segment acknowledges the SYN|ACK itself. */
  expect(h, MS(10),
         SEG(.flags = PSH | ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1,
             DATA("early")));
  expect_nothing(h, MS(10));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* ---- Tests for the SYN-RECEIVED state (RFC 9293 3.10.7.4) ---- */

static void test_syn_received_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV});
  assert_int_equal(h->connected, 0);
  expect_nothing(h, S(10));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* Fifth check, SYN-RECEIVED: "If the segment acknowledgment is not
 * acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it." */
static void test_syn_received_unacceptable_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10),
       SEG(.flags = ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 5));
  expect(h, MS(10), SEG(.flags = RST, .seq = LOCAL_ISS + 5));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  assert_int_equal(h->acceptable, 0);
}

/* Second check: "If the RST bit is set and the sequence number exactly
 * matches the next expected sequence number ... SYN-RECEIVED STATE: If this
 * connection was initiated with a passive OPEN (i.e., came from the LISTEN
 * state), then return this connection to LISTEN state". */
static void test_syn_received_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10), SEG(.flags = RST, .seq = REMOTE_ISS + 1));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_LISTEN, TCPLAB_EV_RCV});
  assert_int_equal(h->acceptable, 0);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, 0);
  /* The listener is still there. */
  feed(h, S(100), SEG(.flags = SYN, .seq = REMOTE_ISS + 1000));
  expect(h, S(100),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1001));
}

static void test_syn_received_rst_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10),
       SEG(.flags = RST | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* RFC 5961 3.2: an in-window RST that is not exactly RCV.NXT draws a
 * challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
static void test_syn_received_rst_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10), SEG(.flags = RST, .seq = REMOTE_ISS + 100));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 1);
}

/* First check: a RST outside the window is dropped silently. */
static void test_syn_received_rst_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10), SEG(.flags = RST, .seq = REMOTE_ISS + 1 + 70000));
  feed(h, MS(11), SEG(.flags = RST, .seq = REMOTE_ISS));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_RECEIVED);
}

/* The peer's SYN again: our SYN|ACK was lost. The strict first check would
 * answer <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, which a peer in SYN-SENT
 * drops (RFC 9293 3.10.7.3, fifth step); sending the SYN|ACK again lets the
 * handshake go on without waiting for our timer, as BSD and Linux do. */
static void test_syn_received_syn_again(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(500), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(500),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  feed(h, MS(510),
       SEG(.flags = ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, MS(510));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* Fourth check, SYN-RECEIVED: "If the connection was initiated with a
 * passive OPEN, then return this connection to the LISTEN state and
 * return" -- a new SYN inside the window means the peer started over. */
static void test_syn_received_syn_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(500), SEG(.flags = SYN, .seq = REMOTE_ISS + 10));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_LISTEN, TCPLAB_EV_RCV});
}

/* The FIN's ACK completes the handshake, then the FIN moves the
 * connection on to CLOSE-WAIT (eighth check: "SYN-RECEIVED STATE,
 * ESTABLISHED STATE: Enter the CLOSE-WAIT state"). */
static void test_syn_received_fin_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(10),
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV});
  assert_int_equal(h->acceptable, 1);
  assert_int_equal(h->peer_closed, 1);
}

/* Fifth check: "if the ACK bit is off, drop the segment and return". */
static void test_syn_received_fin_without_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10), SEG(.flags = FIN, .seq = REMOTE_ISS + 1));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  assert_int_equal(h->peer_closed, 0);
}

static void test_syn_received_data_without_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10), SEG(.flags = PSH, .seq = REMOTE_ISS + 1, DATA("abc")));
  expect_nothing(h, MS(500));
  assert_state(c, TCPLAB_SYN_RECEIVED);
  assert_int_equal(h->readable, 0);
}

/* Data with the handshake's ACK: established, then the text is taken and
 * acknowledged (seventh check). */
static void test_syn_received_data_with_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10),
       SEG(.flags = PSH | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1,
           DATA("hello")));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 6,
             .wnd = DEFAULT_WND - 5));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_recv(h, c, MS(20), "hello");
}

static void test_syn_received_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, MS(10),
       SEG(.flags = PSH | ACK, .seq = REMOTE_ISS + 1 + 70000,
           .ack = LOCAL_ISS + 1, DATA("abc")));
  expect(h, MS(10),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_SYN_RECEIVED);
}

/* RFC 9293 3.10.5 ABORT in SYN-RECEIVED: "a reset segment should be sent"
 * <SEQ=SND.NXT><CTL=RST>, here with the ACK bit and RCV.NXT. */
static void test_syn_received_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(10));
  assert_int_equal(tcplab_conn_abort(c, MS(10)), TCPLAB_OK);
  expect(h, MS(10),
         SEG(.flags = RST | ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  expect_nothing(h, S(100));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_closed_syn_gets_rst_ack),
      TEST(test_closed_syn_with_data),
      TEST(test_closed_fin),
      TEST(test_closed_ack),
      TEST(test_closed_data),
      TEST(test_closed_fin_ack),
      TEST(test_closed_rst_not_answered),
      TEST(test_closed_other_port_of_listener),
      TEST(test_closed_after_connection_ended),
      TEST(test_listen_rst),
      TEST(test_listen_ack),
      TEST(test_listen_syn_ack),
      TEST(test_listen_fin_ack),
      TEST(test_listen_fin_without_ack),
      TEST(test_listen_data_without_ack),
      TEST(test_listen_syn),
      TEST(test_listen_syn_with_data),
      TEST(test_listen_backlog_full_drops_syn),
      TEST(test_listen_backlog_slot_returned),
      TEST(test_listen_accept_order),
      TEST(test_listener_close_resets_queue),
      TEST(test_syn_sent_syn_ack),
      TEST(test_syn_sent_syn_ack_with_data),
      TEST(test_syn_sent_syn_ack_with_fin),
      TEST(test_syn_sent_syn_ack_acking_iss),
      TEST(test_syn_sent_syn_ack_acking_beyond_snd_nxt),
      TEST(test_syn_sent_unacceptable_ack),
      TEST(test_syn_sent_acceptable_ack_without_syn),
      TEST(test_syn_sent_fin),
      TEST(test_syn_sent_data_without_syn),
      TEST(test_syn_sent_rst_ack),
      TEST(test_syn_sent_rst_ack_unacceptable),
      TEST(test_syn_sent_rst_without_ack),
      TEST(test_syn_sent_syn),
      TEST(test_syn_sent_syn_then_rst),
      TEST(test_syn_sent_close),
      TEST(test_syn_sent_abort),
      TEST(test_syn_sent_send_queued),
      TEST(test_syn_received_ack),
      TEST(test_syn_received_unacceptable_ack),
      TEST(test_syn_received_rst),
      TEST(test_syn_received_rst_ack),
      TEST(test_syn_received_rst_in_window),
      TEST(test_syn_received_rst_out_of_window),
      TEST(test_syn_received_syn_again),
      TEST(test_syn_received_syn_in_window),
      TEST(test_syn_received_fin_ack),
      TEST(test_syn_received_fin_without_ack),
      TEST(test_syn_received_data_without_ack),
      TEST(test_syn_received_data_with_ack),
      TEST(test_syn_received_out_of_window),
      TEST(test_syn_received_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
