/*
 * Segment arrival in the closing states: FIN-WAIT-1, FIN-WAIT-2, CLOSING,
 * LAST-ACK and TIME-WAIT (RFC 9293 3.10.7.4), with RFC 1337 both ways.
 * The stack under test is LOCAL; each test plays the remote peer.
 */
#include "harness.h"

/* Our FIN is LOCAL_ISS + 1, the peer's FIN (when sent) REMOTE_ISS + 1. */
#define OUR_FIN   (LOCAL_ISS + 1)
#define THEIR_FIN (REMOTE_ISS + 1)

/* ---- Tests for the FIN-WAIT-1 state ---- */

static void test_fin_wait_1_trace(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE});
  /* The state changes at the call, before the FIN is traced as sent. */
  const struct tcplab_trace_event *snd = last_event(h, tcplab_conn_id(c));
  assert_int_equal(snd->event, TCPLAB_EV_SND);
  assert_int_equal(snd->flags, FIN | ACK);
  assert_int_equal(snd->from, TCPLAB_FIN_WAIT_1);
}

/* Fifth check, FIN-WAIT-1: "if the FIN segment is now acknowledged, then
 * enter FIN-WAIT-2 and continue processing in that state". */
static void test_fin_wait_1_ack_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_FIN_WAIT_2, TCPLAB_EV_RCV});
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* An ACK that does not cover our FIN changes nothing. */
static void test_fin_wait_1_ack_not_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110), SEG(.flags = ACK, .seq = THEIR_FIN, .ack = OUR_FIN));
  expect_nothing(h, MS(1099));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

/* Eighth check, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this
 * segment), then enter TIME-WAIT, start the time-wait timer, turn off the
 * other timers; otherwise, enter the CLOSING state." */
static void test_fin_wait_1_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_CLOSING, TCPLAB_EV_RCV});
  assert_int_equal(h->peer_closed, 1);
}

static void test_fin_wait_1_fin_acking_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110),
       SEG(.flags = FIN | ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1));
  expect(h, MS(110),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV});
  /* "turn off the other timers": only the 2*MSL timer runs. */
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(110) + S(60));
}

/* Seventh check, FIN-WAIT-1, after close(): nobody will read new data.
 * RFC 1122 4.2.2.13: "if new data is received after CLOSE is called, its
 * TCP SHOULD send a RST to show that data was lost". The RST carries the
 * segment's own ACK (the peer's RCV.NXT), so the peer takes it at once.
 *
 *     TCP A (us)                                       TCP B
 *     FIN-WAIT-1  <-- <SEQ=y+1><ACK=x+1><CTL=PSH,ACK><DATA> <--
 *     CLOSED      --> <SEQ=x+1><ACK=y+1><CTL=RST,ACK>       -->
 */
static void test_fin_wait_1_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(110),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN, DATA("late")));
  expect(h, MS(110), SEG(.flags = RST | ACK, .seq = OUR_FIN, .ack = THEIR_FIN));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_DATA_LOST);
  assert_int_equal(last_event(h, id)->from, TCPLAB_FIN_WAIT_1);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_RCV);
  assert_int_equal(h->readable, 0);
}

/* RFC 9293 alone (rst_on_data_loss off): "ESTABLISHED STATE, FIN-WAIT-1
 * STATE, FIN-WAIT-2 STATE: ... deliver"; after close() nobody reads it,
 * so it is acknowledged and discarded and the window stays whole. */
static void test_fin_wait_1_data_without_reset(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rst_on_data_loss = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN, DATA("late")));
  expect(h, MS(110),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 4));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  assert_int_equal(h->readable, 0);
}

/* A retransmission of data that arrived before close() and was read is
 * not new: it is acknowledged as a duplicate, no RST. */
static void test_fin_wait_1_old_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(
      h, MS(50),
      SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN, DATA("early")));
  expect(h, MS(50),
         SEG(.flags = ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 5, .wnd = 65530));
  assert_recv(h, c, MS(50), "early");
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_close(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100),
         SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 5));
  feed(
      h, MS(110),
      SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN, DATA("early")));
  expect(h, MS(110),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 5));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

/* After shutdown() the receiving half is open: the data is delivered. */
static void test_fin_wait_1_data_after_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN));
  feed(h, MS(110),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN, DATA("more")));
  expect(h, MS(110),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 4,
             .wnd = DEFAULT_WND - 4));
  assert_int_equal(h->readable, 1);
  assert_recv(h, c, MS(120), "more");
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

static void test_fin_wait_1_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(110), SEG(.flags = RST, .seq = THEIR_FIN));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(last_event(h, id)->from, TCPLAB_FIN_WAIT_1);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
}

static void test_fin_wait_1_rst_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110), SEG(.flags = RST, .seq = THEIR_FIN + 1));
  expect(h, MS(110), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

static void test_fin_wait_1_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110), SEG(.flags = SYN, .seq = THEIR_FIN));
  expect(h, MS(110), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

static void test_fin_wait_1_ack_beyond_snd_nxt(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110), SEG(.flags = ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 2));
  expect(h, MS(110), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

static void test_fin_wait_1_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110),
       SEG(.flags = FIN | ACK, .seq = THEIR_FIN + 70000, .ack = OUR_FIN + 1));
  expect(h, MS(110), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

/* RFC 9293 3.10.5 ABORT in FIN-WAIT-1: "Send a reset segment". */
static void test_fin_wait_1_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(110));
  assert_int_equal(tcplab_conn_abort(c, MS(110)), TCPLAB_OK);
  expect(h, MS(110),
         SEG(.flags = RST | ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  expect_nothing(h, S(10));
}

/* ---- Tests for the FIN-WAIT-2 state ---- */

/* Eighth check, FIN-WAIT-2: "Enter the TIME-WAIT state. Start the
 * time-wait timer, turn off the other timers." */
static void test_fin_wait_2_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_CLOSE},
      {TCPLAB_FIN_WAIT_1, TCPLAB_FIN_WAIT_2, TCPLAB_EV_RCV},
      {TCPLAB_FIN_WAIT_2, TCPLAB_TIME_WAIT, TCPLAB_EV_RCV});
  assert_int_equal(h->peer_closed, 1);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(60));
}

/* RFC 1122 4.2.2.13 in FIN-WAIT-2: the orphaned connection resets. */
static void test_fin_wait_2_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1,
           DATA("late")));
  expect(h, MS(200),
         SEG(.flags = RST | ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_DATA_LOST);
  assert_int_equal(last_event(h, id)->from, TCPLAB_FIN_WAIT_2);
  assert_int_equal(h->readable, 0);
}

static void test_fin_wait_2_data_without_reset(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rst_on_data_loss = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1,
           DATA("late")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 4));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  assert_int_equal(h->readable, 0);
}

/* close() at t with the peer's data unread: a RST <SEQ=seq><ACK=ack>, and
 * the connection ends at once, from state `from`, with data_lost. */
static void expect_close_resets(struct harness *h, struct tcplab_conn *c,
                                tcplab_time_t t, uint32_t seq, uint32_t ack,
                                enum tcplab_state from) {
  uint64_t id = tcplab_conn_id(c);
  advance(h, t);
  assert_int_equal(tcplab_conn_close(c, t), TCPLAB_OK);
  expect(h, t, SEG(.flags = RST | ACK, .seq = seq, .ack = ack));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_DATA_LOST);
  assert_int_equal(last_event(h, id)->from, from);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_APP_CLOSE);
}

/* RFC 1122 4.2.2.13: "If such a host issues a CLOSE call while received
 * data is still pending in TCP ... its TCP SHOULD send a RST". RFC 9293
 * 3.10.5's RST for ABORT: <SEQ=SND.NXT>, no FIN.
 *
 *     TCP A (us)                                       TCP B
 *     ESTABLISHED <-- <SEQ=y+1><ACK=x+1><CTL=PSH,ACK><DATA> <--
 *       (close() with the data unread)
 *     CLOSED      --> <SEQ=x+1><ACK=y+5><CTL=RST,ACK>       -->
 */
static void test_close_with_unread_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN,
           DATA("unread")));
  expect(h, MS(50),
         SEG(.flags = ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 6, .wnd = 65529));
  assert_int_equal(h->readable, 1);
  expect_close_resets(h, c, MS(60), OUR_FIN, THEIR_FIN + 6, TCPLAB_ESTABLISHED);
}

/* CLOSE-WAIT at 50 ms: the peer's FIN came after data nobody read. */
static struct tcplab_conn *close_wait_unread(struct harness *h) {
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50),
       SEG(.flags = FIN | PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN,
           DATA("unread")));
  expect(h, MS(50),
         SEG(.flags = ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 7, .wnd = 65529));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  return c;
}

/* The same in CLOSE-WAIT. */
static void test_close_wait_close_with_unread_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = close_wait_unread(h);
  expect_close_resets(h, c, MS(60), OUR_FIN, THEIR_FIN + 7, TCPLAB_CLOSE_WAIT);
}

/* The same in LAST-ACK (shutdown() first) and in CLOSING (the peer's data
 * and FIN crossed our FIN): our FIN is not yet acknowledged, so the peer
 * still listens for a RST.
 *
 *     TCP A (us)                                           TCP B
 * 50  CLOSE-WAIT <-- <SEQ=y+1><ACK=x+1><CTL=FIN,PSH,ACK><DATA> <--
 * 50             --> <SEQ=x+1><ACK=y+8><CTL=ACK>               -->
 * 60  LAST-ACK   --> <SEQ=x+1><ACK=y+8><CTL=FIN,ACK>           -->
 *      (close() with the data unread)
 * 70  CLOSED     --> <SEQ=x+2><ACK=y+8><CTL=RST,ACK>           -->
 */
static void test_last_ack_close_with_unread_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = close_wait_unread(h);
  advance(h, MS(60));
  assert_int_equal(tcplab_conn_shutdown(c, MS(60)), TCPLAB_OK);
  expect(h, MS(60),
         SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 7,
             .wnd = 65529));
  assert_state(c, TCPLAB_LAST_ACK);
  expect_close_resets(h, c, MS(70), OUR_FIN + 1, THEIR_FIN + 7,
                      TCPLAB_LAST_ACK);
}

static void test_closing_close_with_unread_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(50));
  assert_int_equal(tcplab_conn_shutdown(c, MS(50)), TCPLAB_OK);
  expect(h, MS(50), SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN));
  feed(h, MS(60),
       SEG(.flags = FIN | PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN,
           DATA("unread")));
  expect(h, MS(60),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 7,
             .wnd = 65529));
  assert_state(c, TCPLAB_CLOSING);
  expect_close_resets(h, c, MS(70), OUR_FIN + 1, THEIR_FIN + 7, TCPLAB_CLOSING);
}

/* Switched off, close() discards the data and closes gracefully. */
static void test_close_with_unread_data_without_reset(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rst_on_data_loss = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN,
           DATA("unread")));
  expect(h, MS(50),
         SEG(.flags = ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 6, .wnd = 65529));
  advance(h, MS(60));
  assert_int_equal(tcplab_conn_close(c, MS(60)), TCPLAB_OK);
  expect(h, MS(60),
         SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 6));
  assert_state(c, TCPLAB_FIN_WAIT_1);
}

/* The half-close: after shutdown() and the ACK of our FIN, the peer's data
 * is delivered until its FIN. */
static void test_fin_wait_2_data_after_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN));
  feed(h, MS(110), SEG(.flags = ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1));
  expect_nothing(h, MS(110));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1,
           DATA("more")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 4,
             .wnd = DEFAULT_WND - 4));
  assert_recv(h, c, MS(210), "more");
  feed(h, MS(300),
       SEG(.flags = FIN | ACK, .seq = THEIR_FIN + 4, .ack = OUR_FIN + 1));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 5));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_conn_recv(c, MS(300), (char[8]){0}, 8), 0);
}

static void test_fin_wait_2_duplicate_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

static void test_fin_wait_2_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = THEIR_FIN));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(last_event(h, id)->from, TCPLAB_FIN_WAIT_2);
}

static void test_fin_wait_2_rst_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(200), SEG(.flags = RST, .seq = THEIR_FIN + 10));
  expect(h, MS(200), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

static void test_fin_wait_2_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(200), SEG(.flags = SYN, .seq = THEIR_FIN + 10));
  expect(h, MS(200), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

static void test_fin_wait_2_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN - 100, .ack = OUR_FIN + 1,
           DATA("old")));
  expect(h, MS(200), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

static void test_fin_wait_2_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_abort(c, MS(200)), TCPLAB_OK);
  expect(h, MS(200),
         SEG(.flags = RST | ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
}

/* ---- Tests for the CLOSING state ---- */

/* Fifth check, CLOSING: "if the ACK acknowledges our FIN, then enter the
 * TIME-WAIT state; otherwise, ignore the segment." */
static void test_closing_ack_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, MS(200));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(last_event(h, tcplab_conn_id(c))->from, TCPLAB_CLOSING);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(200) + S(60));
}

static void test_closing_ack_not_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN));
  expect_nothing(h, MS(1099));
  assert_state(c, TCPLAB_CLOSING);
}

/* The peer did not get our ACK and sends its FIN again: not acceptable
 * (before RCV.NXT), so it is acknowledged. */
static void test_closing_fin_again(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  feed(h, MS(200), SEG(.flags = FIN | ACK, .seq = THEIR_FIN, .ack = OUR_FIN));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_CLOSING);
}

/* Our FIN is lost: it is sent again when the RTO (1 s) expires. */
static void test_closing_fin_retransmitted(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  expect_nothing(h, MS(1099));
  expect(h, MS(1100),
         SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_CLOSING);
}

/* Second check, CLOSING: "If the RST bit is set, then enter the CLOSED
 * state, delete the TCB, and return." */
static void test_closing_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = THEIR_FIN + 1));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(last_event(h, id)->from, TCPLAB_CLOSING);
}

static void test_closing_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  feed(h, MS(200), SEG(.flags = SYN, .seq = THEIR_FIN + 1));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_CLOSING);
}

/* Seventh check, CLOSING: "Ignore the segment text." */
static void test_closing_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN,
           DATA("late")));
  expect_nothing(h, MS(1099));
  assert_state(c, TCPLAB_CLOSING);
}

/* RFC 9293 3.10.5 ABORT in CLOSING: "Respond with 'ok' and delete the
 * TCB" -- no RST. */
static void test_closing_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_abort(c, MS(200)), TCPLAB_OK);
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
}

/* ---- Tests for the LAST-ACK state ---- */

/* Fifth check, LAST-ACK: "The only thing that can arrive in this state is
 * an acknowledgment of our FIN. If our FIN is now acknowledged, delete the
 * TCB, enter the CLOSED state, and return." */
static void test_last_ack_ack_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_OK);
  assert_int_equal(last_event(h, id)->from, TCPLAB_LAST_ACK);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_RCV);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, 0);
}

static void test_last_ack_ack_not_of_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN));
  expect_nothing(h, MS(1109));
  assert_state(c, TCPLAB_LAST_ACK);
}

static void test_last_ack_fin_again(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  feed(h, MS(200), SEG(.flags = FIN | ACK, .seq = THEIR_FIN, .ack = OUR_FIN));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_LAST_ACK);
}

/* Our FIN is lost: it is sent again when the RTO (1 s) expires. */
static void test_last_ack_fin_retransmitted(void **state) {
  struct harness *h = *state;
  uint64_t id = tcplab_conn_id(fx_last_ack(h));
  expect_nothing(h, MS(1109));
  expect(h, MS(1110),
         SEG(.flags = FIN | ACK, .seq = OUR_FIN, .ack = THEIR_FIN + 1));
  feed(h, MS(1120),
       SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_OK);
}

static void test_last_ack_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = THEIR_FIN + 1));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(last_event(h, id)->from, TCPLAB_LAST_ACK);
}

static void test_last_ack_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  feed(h, MS(200), SEG(.flags = SYN, .seq = THEIR_FIN + 1));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_LAST_ACK);
}

/* RFC 9293 3.10.5 ABORT in LAST-ACK: "Respond with 'ok' and delete the
 * TCB" -- no RST. */
static void test_last_ack_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_abort(c, MS(200)), TCPLAB_OK);
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
}

/* Once CLOSED, the 4-tuple belongs to nobody: a late ACK gets a RST
 * (RFC 9293 3.10.7.1). */
static void test_last_ack_then_closed(void **state) {
  struct harness *h = *state;
  fx_last_ack(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, MS(200));
  feed(h, MS(300), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect(h, MS(300), SEG(.flags = RST, .seq = OUR_FIN + 1));
}

/* ---- Tests for the TIME-WAIT state ---- */

/* "The only thing that can arrive in this state is a retransmission of the
 * remote FIN. Acknowledge it, and restart the 2 MSL timeout." */
static void test_time_wait_fin_again(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = FIN | ACK, .seq = THEIR_FIN, .ack = OUR_FIN + 1));
  expect(h, S(1), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), S(61));
}

static void test_time_wait_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, S(2));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(60));
}

/* Seventh check, TIME-WAIT: "Ignore the segment text." */
static void test_time_wait_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1),
       SEG(.flags = PSH | ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1,
           DATA("late")));
  expect_nothing(h, S(2));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(h->readable, 0);
}

/* Fourth check (RFC 5961 4.2): a SYN gets a challenge ACK; TIME-WAIT goes
 * on. */
static void test_time_wait_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = SYN, .seq = THEIR_FIN + 1000));
  expect(h, S(1), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 1);
}

/* RFC 1337 (default): a RST in TIME-WAIT is ignored, so an old duplicate
 * RST cannot end TIME-WAIT early ("TIME-WAIT assassination", hazard H1). */
static void test_time_wait_rst_rfc1337(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = RST, .seq = THEIR_FIN + 1));
  feed(h, S(2),
       SEG(.flags = RST | ACK, .seq = THEIR_FIN + 1, .ack = OUR_FIN + 1));
  expect_nothing(h, S(3));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(60));
}

/* F1 "Ignore RST segments in TIME-WAIT state" comes before RFC 5961: a
 * RST inside the window, not exact, is ignored too, without the challenge
 * ACK RFC 5961 would send. */
static void test_time_wait_rst_in_window_rfc1337(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = RST, .seq = THEIR_FIN + 5));
  expect_nothing(h, S(3));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 0);
}

/* Without RFC 1337, second check, TIME-WAIT: "If the RST bit is set, then
 * enter the CLOSED state, delete the TCB, and return." The close had
 * completed, so the application hears no error. */
static void test_time_wait_rst_without_rfc1337(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rfc1337 = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_time_wait(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, S(1), SEG(.flags = RST, .seq = THEIR_FIN + 1));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_OK);
  assert_int_equal(last_event(h, id)->from, TCPLAB_TIME_WAIT);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_RCV);
}

/* RFC 5961 still applies without RFC 1337: an inexact RST is challenged. */
static void test_time_wait_rst_in_window_without_rfc1337(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rfc1337 = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_time_wait(h);
  feed(h, S(1), SEG(.flags = RST, .seq = THEIR_FIN + 5));
  expect(h, S(1), SEG(.flags = ACK, .seq = OUR_FIN + 1, .ack = THEIR_FIN + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
}

/* RFC 9293 3.10.5 ABORT in TIME-WAIT: "Respond with 'ok' and delete the
 * TCB" -- no RST. */
static void test_time_wait_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, S(1));
  assert_int_equal(tcplab_conn_abort(c, S(1)), TCPLAB_OK);
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* The 2 MSL timer ends TIME-WAIT with no error and no segment. */
static void test_time_wait_expires(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  uint64_t id = tcplab_conn_id(c);
  expect_nothing(h, MS(120) + S(60));
  assert_closed(h, id, TCPLAB_OK);
  const struct tcplab_trace_event *ev = last_event(h, id);
  assert_int_equal(ev->from, TCPLAB_TIME_WAIT);
  assert_int_equal(ev->to, TCPLAB_CLOSED);
  assert_int_equal(ev->event, TCPLAB_EV_TIMER_TIME_WAIT);
  assert_int_equal(ev->now, MS(120) + S(60));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_fin_wait_1_trace),
      TEST(test_fin_wait_1_ack_of_fin),
      TEST(test_fin_wait_1_ack_not_of_fin),
      TEST(test_fin_wait_1_fin),
      TEST(test_fin_wait_1_fin_acking_fin),
      TEST(test_fin_wait_1_data),
      TEST(test_fin_wait_1_data_without_reset),
      TEST(test_fin_wait_1_old_data),
      TEST(test_fin_wait_1_data_after_shutdown),
      TEST(test_fin_wait_1_rst),
      TEST(test_fin_wait_1_rst_in_window),
      TEST(test_fin_wait_1_syn),
      TEST(test_fin_wait_1_ack_beyond_snd_nxt),
      TEST(test_fin_wait_1_out_of_window),
      TEST(test_fin_wait_1_abort),
      TEST(test_fin_wait_2_fin),
      TEST(test_fin_wait_2_data),
      TEST(test_fin_wait_2_data_without_reset),
      TEST(test_close_with_unread_data),
      TEST(test_close_wait_close_with_unread_data),
      TEST(test_last_ack_close_with_unread_data),
      TEST(test_closing_close_with_unread_data),
      TEST(test_close_with_unread_data_without_reset),
      TEST(test_fin_wait_2_data_after_shutdown),
      TEST(test_fin_wait_2_duplicate_ack),
      TEST(test_fin_wait_2_rst),
      TEST(test_fin_wait_2_rst_in_window),
      TEST(test_fin_wait_2_syn),
      TEST(test_fin_wait_2_out_of_window),
      TEST(test_fin_wait_2_abort),
      TEST(test_closing_ack_of_fin),
      TEST(test_closing_ack_not_of_fin),
      TEST(test_closing_fin_again),
      TEST(test_closing_fin_retransmitted),
      TEST(test_closing_rst),
      TEST(test_closing_syn),
      TEST(test_closing_data),
      TEST(test_closing_abort),
      TEST(test_last_ack_ack_of_fin),
      TEST(test_last_ack_ack_not_of_fin),
      TEST(test_last_ack_fin_again),
      TEST(test_last_ack_fin_retransmitted),
      TEST(test_last_ack_rst),
      TEST(test_last_ack_syn),
      TEST(test_last_ack_abort),
      TEST(test_last_ack_then_closed),
      TEST(test_time_wait_fin_again),
      TEST(test_time_wait_ack),
      TEST(test_time_wait_data),
      TEST(test_time_wait_syn),
      TEST(test_time_wait_rst_rfc1337),
      TEST(test_time_wait_rst_in_window_rfc1337),
      TEST(test_time_wait_rst_without_rfc1337),
      TEST(test_time_wait_rst_in_window_without_rfc1337),
      TEST(test_time_wait_abort),
      TEST(test_time_wait_expires),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
