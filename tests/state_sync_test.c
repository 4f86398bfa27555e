/*
 * Segment arrival in ESTABLISHED and CLOSE-WAIT, the states where both
 * directions are synchronized and our side is still open (RFC 9293
 * 3.10.7.4), including RFC 5961's defences and what changes without them.
 * The stack under test is LOCAL; each test plays the remote peer.
 */
#include "harness.h"

/* After fx_established: SND.NXT = LOCAL_ISS + 1, RCV.NXT = REMOTE_ISS + 1. */
#define SND_NXT (LOCAL_ISS + 1)
#define RCV_NXT (REMOTE_ISS + 1)

static struct tcplab_config config_without_rfc5961(void) {
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rfc5961 = false;
  return cfg;
}

/* ---- Tests for the ESTABLISHED state ---- */

/* Seventh check: "Once the TCP endpoint takes responsibility for the data,
 * it advances RCV.NXT over the data accepted ... Send an acknowledgment of
 * the form <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>". The window shrinks by
 * what the application has not read yet. */
static void test_established_recv_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("hello")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 5,
             .wnd = DEFAULT_WND - 5));
  assert_int_equal(h->readable, 1);
  assert_int_equal(h->readable_avail, 5);
  feed(h, MS(300),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 5, .ack = SND_NXT,
           DATA(" world")));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 11,
             .wnd = DEFAULT_WND - 11));
  assert_recv(h, c, MS(400), "hello world");
  assert_int_equal(tcplab_conn_recv(c, MS(400), (char[8]){0}, 8),
                   TCPLAB_ERR_WOULDBLOCK);
  assert_int_equal(tcplab_conn_stats(c)->bytes_received, 11);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* The last queued byte goes out with PSH; the ACK of all data stops the
 * retransmission timer (RFC 6298 5.2). */
static void test_established_send_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(200));
  send_str(c, MS(200), "hello");
  expect(
      h, MS(200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(1200));
  feed(h, MS(210), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 5));
  expect_nothing(h, S(10));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 5);
}

/* Data is retransmitted from SND.UNA when the RTO expires (RFC 6298 5.4),
 * the timer doubling each time (5.5). */
static void test_established_data_retransmitted(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(200));
  send_str(c, MS(200), "hello");
  expect(
      h, MS(200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  expect_nothing(h, MS(1199));
  expect(
      h, MS(1200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  expect_nothing(h, MS(3199));
  expect(
      h, MS(3200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  feed(h, MS(3300), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 5));
  expect_nothing(h, S(100));
  assert_int_equal(tcplab_conn_stats(c)->retransmissions, 2);
  assert_int_equal(
      count_events(h, tcplab_conn_id(c), TCPLAB_EV_TIMER_RETRANSMIT), 2);
}

/* Fifth check: "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be
 * ignored." */
static void test_established_duplicate_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT));
  feed(h, MS(201), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT - 1));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
 * ACK, drop the segment, and return" -- the data with it is dropped too. */
static void test_established_ack_beyond_snd_nxt(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT + 100,
           DATA("junk")));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(h->readable, 0);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* RFC 5961 5.2: an ACK below SND.UNA - MAX.SND.WND is discarded and
 * answered with an ACK; the data it carries is not taken. */
static void test_established_ack_too_old(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT - 70000,
           DATA("junk")));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(h->readable, 0);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 1);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* First check: data beginning beyond RCV.NXT but in the window is
 * acceptable; whether or not it is kept, RCV.NXT does not move, so the
 * answer repeats the ACK of RCV.NXT (RFC 5681 4.2: at once). */
static void test_established_out_of_order_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 10, .ack = SND_NXT,
           DATA("later")));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(h->readable, 0);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* First check: a segment wholly before RCV.NXT (a retransmission of data
 * already taken) is not acceptable: "an acknowledgment should be sent in
 * reply". */
static void test_established_old_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("abc")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 3,
             .wnd = DEFAULT_WND - 3));
  feed(h, MS(300),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("abc")));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 3,
             .wnd = DEFAULT_WND - 3));
  assert_int_equal(h->readable, 1);
  assert_recv(h, c, MS(400), "abc");
}

/* A segment overlapping RCV.NXT is trimmed to its new part ("the
 * idealized segment that begins at RCV.NXT"). */
static void test_established_overlapping_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("abc")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 3,
             .wnd = DEFAULT_WND - 3));
  feed(h, MS(300),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 1, .ack = SND_NXT,
           DATA("bcdef")));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 6,
             .wnd = DEFAULT_WND - 6));
  assert_recv(h, c, MS(400), "abcdef");
}

static void test_established_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 70000, .ack = SND_NXT,
           DATA("far")));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(201), SEG(.flags = ACK, .seq = RCV_NXT - 70000, .ack = SND_NXT));
  expect(h, MS(201), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_int_equal(h->readable, 0);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* Fifth check: "if the ACK bit is off, drop the segment and return". */
static void test_established_data_without_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = PSH, .seq = RCV_NXT, DATA("abc")));
  expect_nothing(h, S(10));
  assert_int_equal(h->readable, 0);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* Eighth check: "ESTABLISHED STATE: Enter the CLOSE-WAIT state"; the FIN
 * is acknowledged and the user told "connection closing". */
static void test_established_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV});
  const struct tcplab_trace_event *ev =
      find_event(h, h->conn_id, TCPLAB_EV_RCV);
  assert_int_equal(ev->flags, FIN | ACK);
  assert_int_equal(tcplab_conn_recv(c, MS(200), (char[8]){0}, 8), 0);
}

/* A FIN carrying data: the data is delivered, then the FIN; one ACK
 * covers both ("FIN implies PUSH"). */
static void test_established_data_with_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200),
       SEG(.flags = FIN | PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT,
           DATA("bye")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4,
             .wnd = DEFAULT_WND - 3));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->readable, 1);
  assert_int_equal(h->peer_closed, 1);
  assert_recv(h, c, S(10), "bye");
  assert_int_equal(tcplab_conn_recv(c, S(10), (char[8]){0}, 8), 0);
}

/* Second check: "If the RST bit is set and the sequence number exactly
 * matches the next expected sequence number (RCV.NXT), then TCP endpoints
 * MUST reset the connection ... enter the CLOSED state". Nothing is sent. */
static void test_established_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = RCV_NXT));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSED, TCPLAB_EV_RCV});
  assert_int_equal(last_event(h, id)->error, TCPLAB_ERR_RESET);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, 0);
}

static void test_established_rst_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST | ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* Pending data dies with the connection: no retransmission follows. */
static void test_established_rst_with_data_in_flight(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  send_str(c, MS(200), "hello");
  expect(
      h, MS(200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  feed(h, MS(300), SEG(.flags = RST, .seq = RCV_NXT));
  expect_nothing(h, S(100));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

/* RFC 5961 3.2: "If the RST bit is set and the sequence number does not
 * exactly match the next expected sequence value, yet is within the
 * current receive window, TCP endpoints MUST send an acknowledgment
 * (challenge ACK): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>". */
static void test_established_rst_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = RCV_NXT + 1));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(201),
       SEG(.flags = RST | ACK, .seq = RCV_NXT + 60000, .ack = SND_NXT));
  expect(h, MS(201), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 2);
  /* A genuine peer answers the challenge with the exact RST. */
  feed(h, S(10), SEG(.flags = RST, .seq = RCV_NXT));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* RFC 5961 7: "in any 5-second window, no more than 10 challenge ACKs
 * should be sent". A blind attacker's in-window RSTs, one every 100 ms
 * from 1 s: the first ten (1.0 .. 1.9 s) are challenged, the rest of the
 * interval begun at 1 s is silent; the RST at 6.0 s opens the next
 * interval and is challenged again. */
static void test_challenge_acks_throttled(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  for (unsigned i = 0; i < 51; i++) {
    tcplab_time_t t = S(1) + i * MS(100);
    feed(h, t, SEG(.flags = RST, .seq = RCV_NXT + 1 + i));
    if (i < 10 || i == 50) {
      expect(h, t, SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
    } else {
      expect_nothing(h, t);
    }
  }
  assert_state(c, TCPLAB_ESTABLISHED);
  const struct tcplab_stack_stats *st = tcplab_stack_stats(h->stack);
  assert_int_equal(st->challenge_acks, 11);
  assert_int_equal(st->challenge_acks_limited, 40);
}

/* The limit and the interval are settings: 2 per second, SYNs 400 ms
 * apart; 1.0 and 1.4 s are answered, 1.8 s is over the limit, 2.2 s
 * begins a new interval. */
static void test_challenge_ack_limit_configured(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.challenge_ack_limit = 2;
  cfg.challenge_ack_interval = S(1);
  h_restart(h, &cfg);
  fx_established(h);
  for (unsigned i = 0; i < 4; i++) {
    tcplab_time_t t = S(1) + i * MS(400);
    feed(h, t, SEG(.flags = SYN, .seq = RCV_NXT + 5));
    if (i == 2) {
      expect_nothing(h, t);
    } else {
      expect(h, t, SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
    }
  }
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks_limited, 1);
}

/* A limit of 0 lifts it: a hundred SYNs at once, a hundred answers. */
static void test_challenge_ack_no_limit(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.challenge_ack_limit = 0;
  h_restart(h, &cfg);
  fx_established(h);
  for (unsigned i = 0; i < 100; i++) {
    feed(h, S(1), SEG(.flags = SYN, .seq = RCV_NXT + 5));
    expect(h, S(1), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  }
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 100);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks_limited, 0);
}

/* "If the RST bit is set and the sequence number is outside the current
 * receive window, silently drop the segment." */
static void test_established_rst_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = RST, .seq = RCV_NXT + 70000));
  feed(h, MS(201), SEG(.flags = RST, .seq = RCV_NXT - 1));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 0);
}

/* Fourth check (RFC 5961 4.2): a SYN in a synchronized state, in or out of
 * the window, gets a challenge ACK and the connection goes on. */
static void test_established_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = SYN, .seq = RCV_NXT + 100));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(201), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(201), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(202),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS + 5000, .ack = SND_NXT));
  expect(h, MS(202), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 3);
}

/* Without RFC 5961 (RFC 793 behaviour), any RST in the window resets. */
static void test_established_rst_in_window_without_rfc5961(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = config_without_rfc5961();
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = RST, .seq = RCV_NXT + 1000));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(tcplab_stack_stats(h->stack)->challenge_acks, 0);
}

/* Without RFC 5961: "If the SYN is in the window it is an error, send a
 * reset, any outstanding RECEIVEs and SEND should receive 'reset'
 * responses ... enter the CLOSED state". The RST carries SND.NXT. */
static void test_established_syn_in_window_without_rfc5961(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = config_without_rfc5961();
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(200), SEG(.flags = SYN, .seq = RCV_NXT + 100));
  expect(h, MS(200), SEG(.flags = RST, .seq = SND_NXT));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* Without RFC 5961, a SYN outside the window is just unacceptable: ACK. */
static void test_established_old_syn_without_rfc5961(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = config_without_rfc5961();
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* RFC 9293 3.10.5 ABORT in ESTABLISHED: "Send a reset segment:
 * <SEQ=SND.NXT><CTL=RST>" (with the ACK bit and RCV.NXT, as Linux does);
 * the connection is gone when abort() returns. */
static void test_established_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_abort(c, MS(200)), TCPLAB_OK);
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
  expect(h, MS(200), SEG(.flags = RST | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  expect_nothing(h, S(10));
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSED, TCPLAB_EV_APP_ABORT});
}

/* RFC 9293 3.10.4: shutdown() is CLOSE for the sending half; the FIN is
 * the same and the state is FIN-WAIT-1. */
static void test_established_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_shutdown(c, MS(200)), TCPLAB_OK);
  expect(h, MS(200), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  assert_transitions(
      h, tcplab_conn_id(c), {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
      {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
      {TCPLAB_ESTABLISHED, TCPLAB_FIN_WAIT_1, TCPLAB_EV_APP_SHUTDOWN});
}

/* "Queue this until all preceding SENDs have been segmentized, then form a
 * FIN segment": the FIN follows unacknowledged data. */
static void test_established_close_after_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(200));
  send_str(c, MS(200), "data");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("data")));
  advance(h, MS(300));
  assert_int_equal(tcplab_conn_close(c, MS(300)), TCPLAB_OK);
  expect(h, MS(300),
         SEG(.flags = FIN | ACK, .seq = SND_NXT + 4, .ack = RCV_NXT));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  /* An ACK of the data alone leaves the FIN outstanding. */
  feed(h, MS(310), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 4));
  expect_nothing(h, MS(310));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  feed(h, MS(320), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 5));
  expect_nothing(h, MS(320));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

/* The peer's window limits what is sent (RFC 9293 3.8.6): with a window of
 * 3 octets, 3 octets fill it; what is queued next waits for the window to
 * open. (Each send is all the data queued, so sender SWS avoidance, RFC
 * 9293 3.8.6.2.1, lets it go.) */
static void test_established_send_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(100), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT, .wnd = 3));
  expect_nothing(h, MS(100));
  advance(h, MS(200));
  send_str(c, MS(200), "abc");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("abc")));
  advance(h, MS(205));
  send_str(c, MS(205), "def");
  expect_nothing(h, MS(205));
  feed(h, MS(210),
       SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 3, .wnd = 100));
  expect(
      h, MS(210),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 3, .ack = RCV_NXT, DATA("def")));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* An application that answers inside `readable` piggybacks the ACK on its
 * data: one segment, not an ACK followed by data. */
static void echo_reply(struct harness *h, struct tcplab_conn *c, size_t avail) {
  char buf[64];
  assert_int_equal(avail, 4);
  assert_int_equal(tcplab_conn_recv(c, h->now, buf, sizeof buf), 4);
  assert_int_equal(tcplab_conn_send(c, h->now, buf, 4), 4);
}

static void test_established_reply_piggybacks_ack(void **state) {
  struct harness *h = *state;
  fx_established(h);
  h->on_readable = echo_reply;
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("ping")));
  /* The application read the 4 bytes, but the right edge stays where it
   * was until it can move by a full MSS: receiver silly-window avoidance,
   * RFC 9293 3.8.6.2.2. */
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT + 4,
             .wnd = DEFAULT_WND - 4, DATA("ping")));
  expect_nothing(h, MS(200));
}

/* The receive window is the free receive buffer (RFC 9293 3.8.6): with 8
 * octets of buffer, 12 octets sent at once are trimmed to the 8 that fit
 * ("the idealized segment ... that ends in the window"), and the ACK
 * offers a window of zero. */
static struct tcplab_conn *established_small_buffer(struct harness *h) {
  struct tcplab_config cfg;
  h_config_default(&cfg);
  cfg.rcv_buf = 8;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h); /* our SYN|ACK offered 8 */
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT,
           DATA("abcdefghijkl")));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 8, WND_ZERO));
  assert_int_equal(h->readable_avail, 8);
  return c;
}

/* First check with RCV.WND = 0: a segment with text is not acceptable
 * and is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
static void test_established_zero_window_drops_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_small_buffer(h);
  feed(h, MS(300),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 8, .ack = SND_NXT,
           DATA("ijkl")));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 8, WND_ZERO));
  assert_int_equal(h->readable, 1);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* Reading opens the window; the opening is announced once it reaches
 * min(buffer/2, MSS) (receiver SWS avoidance, RFC 9293 3.8.6.2.2), and the
 * peer's retransmission then fits. */
static void test_established_window_update_after_read(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_small_buffer(h);
  char buf[8];
  advance(h, MS(300));
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf, 3), 3);
  expect_nothing(h, MS(300));
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf, 1), 1);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 8, .wnd = 4));
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf, sizeof buf), 4);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 8, .wnd = 8));
  feed(h, MS(400),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 8, .ack = SND_NXT,
           DATA("ijkl")));
  expect(h, MS(400),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 12, .wnd = 4));
  assert_recv(h, c, MS(500), "ijkl");
}

/* RFC 9293 3.4: "when the receive window is zero no segments should be
 * acceptable except ACK segments. Thus, it is possible for a TCP
 * implementation to maintain a zero receive window while transmitting data
 * and receiving ACKs." */
static void test_established_zero_window_takes_acks(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_small_buffer(h);
  advance(h, MS(300));
  send_str(c, MS(300), "out");
  expect(h, MS(300),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT + 8, WND_ZERO,
             DATA("out")));
  feed(h, MS(310), SEG(.flags = ACK, .seq = RCV_NXT + 8, .ack = SND_NXT + 3));
  expect_nothing(h, S(10));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 3);
}

/* RFC 9293 3.4: "A TCP receiver MUST process the RST and URG fields of all
 * incoming segments, even when the receive window is zero (MUST-66)." */
static void test_established_zero_window_takes_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_small_buffer(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(300), SEG(.flags = RST, .seq = RCV_NXT + 8));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* ---- Tests for the CLOSE-WAIT state ---- */

/* RFC 9293 3.10.2 SEND in CLOSE-WAIT: "Queue the request until all
 * preceding SENDs have been segmentized; then send" -- our half is open. */
static void test_close_wait_send(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  advance(h, MS(200));
  send_str(c, MS(200), "tail");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT + 1,
             DATA("tail")));
  feed(h, MS(210), SEG(.flags = ACK, .seq = RCV_NXT + 1, .ack = SND_NXT + 4));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

/* A retransmitted FIN lies before RCV.NXT: first check, not acceptable,
 * "an acknowledgment should be sent in reply". */
static void test_close_wait_fin_again(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300), SEG(.flags = FIN | ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect(h, MS(300), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->peer_closed, 1);
}

/* Seventh check, CLOSE-WAIT: "This should not occur since a FIN has been
 * received from the remote side. Ignore the segment text." */
static void test_close_wait_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT + 1, .ack = SND_NXT,
           DATA("late")));
  expect_nothing(h, S(10));
  assert_int_equal(h->readable, 0);
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

static void test_close_wait_rst(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(300), SEG(.flags = RST, .seq = RCV_NXT + 1));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
  assert_int_equal(last_event(h, id)->from, TCPLAB_CLOSE_WAIT);
  assert_int_equal(last_event(h, id)->to, TCPLAB_CLOSED);
}

static void test_close_wait_rst_in_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300), SEG(.flags = RST, .seq = RCV_NXT + 2));
  expect(h, MS(300), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

static void test_close_wait_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300), SEG(.flags = SYN, .seq = RCV_NXT + 1));
  expect(h, MS(300), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

static void test_close_wait_ack_beyond_snd_nxt(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300), SEG(.flags = ACK, .seq = RCV_NXT + 1, .ack = SND_NXT + 9));
  expect(h, MS(300), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

static void test_close_wait_out_of_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  feed(h, MS(300),
       SEG(.flags = ACK, .seq = RCV_NXT + 1 + 70000, .ack = SND_NXT));
  expect(h, MS(300), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_CLOSE_WAIT);
}

static void test_close_wait_abort(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_close_wait(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(300));
  assert_int_equal(tcplab_conn_abort(c, MS(300)), TCPLAB_OK);
  expect(h, MS(300),
         SEG(.flags = RST | ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  assert_closed(h, id, TCPLAB_ERR_ABORTED);
}

/* RFC 9293 3.10.4 CLOSE in CLOSE-WAIT: "Queue this request until all
 * preceding SENDs have been segmentized; then send a FIN segment, enter
 * LAST-ACK state". */
static void test_close_wait_close(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_last_ack(h);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV},
                     {TCPLAB_CLOSE_WAIT, TCPLAB_LAST_ACK, TCPLAB_EV_APP_CLOSE});
}

/* The application closing inside `peer_closed` piggybacks the ACK of the
 * peer's FIN on its own FIN: one FIN|ACK instead of ACK then FIN. */
static void test_close_wait_close_in_callback(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  h->on_peer_closed = app_close;
  feed(h, MS(200), SEG(.flags = FIN | ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect(h, MS(200),
         SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT + 1));
  expect_nothing(h, MS(200));
  assert_state(c, TCPLAB_LAST_ACK);
  assert_transitions(h, tcplab_conn_id(c),
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT, TCPLAB_EV_RCV},
                     {TCPLAB_CLOSE_WAIT, TCPLAB_LAST_ACK, TCPLAB_EV_APP_CLOSE});
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_established_recv_data),
      TEST(test_established_send_data),
      TEST(test_established_data_retransmitted),
      TEST(test_established_duplicate_ack),
      TEST(test_established_ack_beyond_snd_nxt),
      TEST(test_established_ack_too_old),
      TEST(test_established_out_of_order_data),
      TEST(test_established_old_data),
      TEST(test_established_overlapping_data),
      TEST(test_established_out_of_window),
      TEST(test_established_data_without_ack),
      TEST(test_established_fin),
      TEST(test_established_data_with_fin),
      TEST(test_established_rst),
      TEST(test_established_rst_ack),
      TEST(test_established_rst_with_data_in_flight),
      TEST(test_established_rst_in_window),
      TEST(test_established_rst_out_of_window),
      TEST(test_established_syn),
      TEST(test_established_rst_in_window_without_rfc5961),
      TEST(test_established_syn_in_window_without_rfc5961),
      TEST(test_established_old_syn_without_rfc5961),
      TEST(test_established_abort),
      TEST(test_established_shutdown),
      TEST(test_established_close_after_data),
      TEST(test_established_send_window),
      TEST(test_established_reply_piggybacks_ack),
      TEST(test_established_zero_window_drops_data),
      TEST(test_established_window_update_after_read),
      TEST(test_established_zero_window_takes_acks),
      TEST(test_established_zero_window_takes_rst),
      TEST(test_close_wait_send),
      TEST(test_close_wait_fin_again),
      TEST(test_close_wait_data),
      TEST(test_close_wait_rst),
      TEST(test_close_wait_rst_in_window),
      TEST(test_close_wait_syn),
      TEST(test_close_wait_ack_beyond_snd_nxt),
      TEST(test_close_wait_out_of_window),
      TEST(test_close_wait_abort),
      TEST(test_close_wait_close),
      TEST(test_close_wait_close_in_callback),
      TEST(test_challenge_acks_throttled),
      TEST(test_challenge_ack_limit_configured),
      TEST(test_challenge_ack_no_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
