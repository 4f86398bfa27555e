/*
 * Exact timer values: SYN and SYN|ACK retransmission and give-up, RTO
 * backoff and its cap, RFC 6298's estimator (first sample, later samples,
 * Karn's rule, the 3 s rule of 5.7), FIN retransmission, TIME-WAIT's
 * 2*MSL and the optional FIN-WAIT-2 timeout. Every expectation is at the
 * exact nanosecond, and nothing may leave one nanosecond earlier.
 */
#include "harness.h"

#define SND_NXT (LOCAL_ISS + 1)
#define RCV_NXT (REMOTE_ISS + 1)

static struct tcplab_config defaults(void) {
  struct tcplab_config cfg;
  h_config_default(&cfg);
  return cfg;
}

/* Nothing leaves before t, then exactly seg leaves at t. */
#define expect_only_at(h, t, ...)                                              \
  do {                                                                         \
    expect_nothing(h, (t)-1);                                                  \
    expect(h, t, __VA_ARGS__);                                                 \
  } while (0)

/* ---- Tests for no timer at all ---- */

static void test_idle_stack_has_no_deadline(void **state) {
  struct harness *h = *state;
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  /* Neither a listener nor an established connection with nothing in
   * flight needs a timer. */
  struct tcplab_conn *c = fx_established(h);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  expect_nothing(h, S(3600));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* ---- Tests for the SYN retransmission timer ---- */

/* RFC 6298 2.1 and 5.5: the first RTO is 1 s and doubles on each expiry:
 * retransmissions at 1, 3, 7, 15, 31, 63 s; after the sixth (syn_retries)
 * the connection gives up one more RTO later, at 127 s (RFC 9293 3.8.3,
 * R2 for a SYN). */
static void test_syn_retransmissions_and_give_up(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), S(1));
  static const unsigned at[] = {1, 3, 7, 15, 31, 63};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    expect_only_at(h, S(at[i]), SEG(.flags = SYN, .seq = LOCAL_ISS));
  assert_int_equal(tcplab_conn_stats(c)->syn_tx, 7);
  assert_int_equal(tcplab_conn_stats(c)->retransmissions, 6);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), S(127));
  expect_nothing(h, S(127) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, S(127));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
  assert_transitions(h, id,
                     {TCPLAB_CLOSED, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT},
                     {TCPLAB_SYN_SENT, TCPLAB_CLOSED, TCPLAB_EV_GAVE_UP});
  const struct tcplab_trace_event *ev = last_event(h, id);
  assert_int_equal(ev->now, S(127));
  assert_int_equal(ev->error, TCPLAB_ERR_TIMEDOUT);
  assert_int_equal(count_events(h, id, TCPLAB_EV_TIMER_RETRANSMIT), 6);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

static void test_syn_retries_configured(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.syn_retries = 2;
  h_restart(h, &cfg);
  uint64_t id = tcplab_conn_id(fx_syn_sent(h));
  expect_only_at(h, S(1), SEG(.flags = SYN, .seq = LOCAL_ISS));
  expect_only_at(h, S(3), SEG(.flags = SYN, .seq = LOCAL_ISS));
  expect_nothing(h, S(7) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, S(7));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

/* syn_retries 0: one SYN, then give up after one RTO. */
static void test_syn_retries_zero(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.syn_retries = 0;
  h_restart(h, &cfg);
  uint64_t id = tcplab_conn_id(fx_syn_sent(h));
  expect_nothing(h, S(1) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, S(1));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

/* RFC 6298 2.5: "A maximum value MAY be placed on RTO provided it is at
 * least 60 seconds". The cap works the same below 60 s, which the
 * configuration allows as a knob for experiments: configured at 4 s the
 * backoff stops at 4 s: 1, 3, 7, 11, 15, 19, give up at 23. */
static void test_rto_max_caps_syn_backoff(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rto_max = S(4);
  h_restart(h, &cfg);
  uint64_t id = tcplab_conn_id(fx_syn_sent(h));
  static const unsigned at[] = {1, 3, 7, 11, 15, 19};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    expect_only_at(h, S(at[i]), SEG(.flags = SYN, .seq = LOCAL_ISS));
  expect_nothing(h, S(23) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, S(23));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

/* A SYN|ACK after retransmissions still completes the handshake. */
static void test_syn_answered_after_retransmission(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  expect_only_at(h, S(1), SEG(.flags = SYN, .seq = LOCAL_ISS));
  expect_only_at(h, S(3), SEG(.flags = SYN, .seq = LOCAL_ISS));
  feed(h, S(4), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, S(4), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  expect_nothing(h, S(200));
}

/* ---- Tests for the SYN|ACK retransmission timer ---- */

/* synack_retries 5: SYN|ACK again at 1, 3, 7, 15, 31 s; give up at 63 s.
 * The listener is untouched and takes the next SYN. */
static void test_synack_retransmissions_and_give_up(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  uint64_t id = tcplab_conn_id(c);
  static const unsigned at[] = {1, 3, 7, 15, 31};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    expect_only_at(h, S(at[i]),
                   SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = RCV_NXT));
  assert_int_equal(tcplab_conn_stats(c)->syn_tx, 6);
  expect_nothing(h, S(63) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, S(63));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
  const struct tcplab_trace_event *ev = last_event(h, id);
  assert_int_equal(ev->from, TCPLAB_SYN_RECEIVED);
  assert_int_equal(ev->event, TCPLAB_EV_GAVE_UP);
  assert_int_equal(h->acceptable, 0);
  feed(h, S(64), SEG(.flags = SYN, .seq = REMOTE_ISS + 100000));
  expect(h, S(64),
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 100001));
}

/* The ACK of a retransmitted SYN|ACK ends the timer. */
static void test_synack_acked_after_retransmission(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_received(h);
  expect_only_at(h, S(1),
                 SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = RCV_NXT));
  feed(h, MS(1500), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT));
  expect_nothing(h, S(200));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* ---- Tests for the RFC 6298 estimator ---- */

/* 2.2: the first measurement R gives SRTT = R, RTTVAR = R/2 and
 * RTO = SRTT + 4*RTTVAR = 3R. With R = 100 ms and rto_min 10 ms, data is
 * retransmitted 300 ms after it leaves, then 600 ms later (5.5). */
static void test_rto_from_first_sample(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rto_min = MS(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(100), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, MS(100), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, MS(200));
  send_str(c, MS(200), "x");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  expect_only_at(
      h, MS(500),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  expect_only_at(
      h, MS(1100),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
}

/* 2.3: a second R' = 100 ms gives RTTVAR = 3/4 * 50 + 1/4 * 0 = 37.5 ms,
 * SRTT = 100 ms, RTO = 100 + 4 * 37.5 = 250 ms. */
static void test_rto_from_second_sample(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rto_min = MS(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(100), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, MS(100), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, MS(200));
  send_str(c, MS(200), "a");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  feed(h, MS(300), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  advance(h, MS(400));
  send_str(c, MS(400), "b");
  expect(
      h, MS(400),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
  expect_only_at(
      h, MS(650),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
}

/* 2.4: "Whenever RTO is computed, if it is less than 1 second, then the
 * RTO SHOULD be rounded up to 1 second" (rto_min's default). */
static void test_rto_floor(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h); /* R = 10 ms: 3R = 30 ms */
  advance(h, MS(200));
  send_str(c, MS(200), "x");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  expect_only_at(
      h, MS(1200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
}

/* 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
 * implementation is using an RTO less than 3 seconds, the RTO MUST be
 * re-initialized to 3 seconds when data transmission begins". */
static void test_rto_three_seconds_after_syn_retransmission(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  expect_only_at(h, S(1), SEG(.flags = SYN, .seq = LOCAL_ISS));
  feed(h, MS(1500), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, MS(1500), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, S(2));
  send_str(c, S(2), "x");
  expect(h, S(2),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  expect_only_at(
      h, S(5),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
}

/* Karn's rule (RFC 6298 3): an ACK of a retransmitted segment gives no
 * sample. The SYN left at 0 and 1 s and is answered at 2.9 s: timing from
 * the first SYN would give RTO = 2.9 + 4 * 1.45 = 8.7 s, from the second
 * 1.9 + 4 * 0.95 = 5.7 s; without a sample 5.7 makes it 3 s. */
static void test_karn_no_sample_from_retransmitted_syn(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  expect_only_at(h, S(1), SEG(.flags = SYN, .seq = LOCAL_ISS));
  feed(h, MS(2900), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, MS(2900), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, S(3));
  send_str(c, S(3), "x");
  expect(h, S(3),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  expect_only_at(
      h, S(6),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
}

/* Karn for data: the ACK of a retransmitted segment leaves the estimator
 * alone. With rto_min 10 ms the first sample (100 ms) gives RTO 300 ms;
 * the data at 200 ms goes again at 500 ms (RTO now 600 ms) and its ACK at
 * 550 ms gives no sample, so the next data is timed with the backed-off
 * 600 ms (RFC 6298 5.5-5.7), not with a sample of 50 or 350 ms. */
static void test_karn_no_sample_from_retransmitted_data(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rto_min = MS(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, MS(100), SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT));
  expect(h, MS(100), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  advance(h, MS(200));
  send_str(c, MS(200), "a");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  expect_only_at(
      h, MS(500),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  feed(h, MS(550), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  advance(h, MS(600));
  send_str(c, MS(600), "b");
  expect(
      h, MS(600),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
  expect_only_at(
      h, MS(1200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
}

/* ---- Tests for data and FIN retransmission ---- */

/* Our FIN at 100 ms is sent again at 1.1 s and 3.1 s; its ACK stops the
 * timer in FIN-WAIT-2. */
static void test_fin_retransmitted(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  expect_only_at(h, MS(1100),
                 SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  expect_only_at(h, MS(3100),
                 SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(3200), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  expect_nothing(h, MS(3200));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_conn_stats(c)->retransmissions, 2);
}

/* RFC 6298 5.5 doubles the RTO; rto_max (120 s, RFC 6298 2.5) caps it:
 * after 1 s the FIN goes again at +1, +3, +7, +15, +31, +63, +127, then
 * every 120 s; after the 15th retransmission (cfg.retries) the connection
 * gives up 120 s later (RFC 9293 3.8.3, R2). */
static void test_fin_backoff_capped_and_give_up(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  uint64_t id = tcplab_conn_id(c);
  tcplab_time_t t = T_CLOSE, rto = S(1);
  for (unsigned i = 0; i < 15; i++) {
    t += rto;
    expect_only_at(h, t,
                   SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
    rto = rto * 2 > S(120) ? S(120) : rto * 2;
  }
  assert_int_equal(t, T_CLOSE + S(1087));
  expect_nothing(h, t + S(120) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, t + S(120));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
  const struct tcplab_trace_event *ev = last_event(h, id);
  assert_int_equal(ev->from, TCPLAB_FIN_WAIT_1);
  assert_int_equal(ev->to, TCPLAB_CLOSED);
  assert_int_equal(ev->event, TCPLAB_EV_GAVE_UP);
}

/* 150 octets with an MSS of 100 leave as two segments. RFC 6298 5.3:
 * "When an ACK is received that acknowledges new data, restart the
 * retransmission timer so that it will expire after RTO seconds"; on
 * expiry 5.4 resends the earliest segment not acknowledged. */
static void test_partial_ack_restarts_timer(void **state) {
  struct harness *h = *state;
  static uint8_t data[150];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)('a' + i % 26);
  struct tcplab_config cfg = defaults();
  cfg.mss = 100;
  cfg.nagle = false; /* both segments at once, the tail not held back */
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_send(c, MS(200), data, sizeof data), 150);
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT, .payload = data,
             .len = 100));
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT + 100, .ack = RCV_NXT,
             .payload = data + 100, .len = 50));
  feed(h, MS(700), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 100));
  expect_nothing(h, MS(1200));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(1700));
  expect_only_at(h, MS(1700),
                 SEG(.flags = PSH | ACK, .seq = SND_NXT + 100, .ack = RCV_NXT,
                     .payload = data + 100, .len = 50));
  feed(h, MS(1800), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 150));
  expect_nothing(h, S(100));
}

/* Data retransmission gives up after cfg.retries as well. */
/* "x" sent at 200 ms into silence goes again 1, 2, 4 ... s apart (RFC
 * 6298 5.5); after n retransmissions the connection times out one more
 * RTO later. */
static void expect_data_given_up(struct harness *h, struct tcplab_conn *c,
                                 unsigned n) {
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(200));
  send_str(c, MS(200), "x");
  expect(h, MS(200),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  tcplab_time_t t = MS(200), rto = S(1);
  for (unsigned i = 0; i < n; i++, rto *= 2) {
    t += rto;
    expect_only_at(
        h, t,
        SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("x")));
  }
  expect_nothing(h, t + rto - 1);
  assert_not_closed(h, id);
  expect_nothing(h, t + rto);
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

static void test_data_retries_configured(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.retries = 2;
  h_restart(h, &cfg);
  expect_data_given_up(h, fx_established(h), 2);
}

/* RFC 9293 3.8.3 (MUST-21): "An application MUST be able to set the value
 * for R2 for a particular connection." The stack's R2 is 2; this
 * connection's, 1. */
static void test_data_retries_per_connection(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.retries = 2;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  assert_int_equal(tcplab_conn_set_retries(c, 256), TCPLAB_ERR_INVAL);
  assert_int_equal(tcplab_conn_set_retries(c, 1), TCPLAB_OK);
  expect_data_given_up(h, c, 1);
}

/* R2 "infinity" ("an interactive application might set R2 to
 * 'infinity'"): the FIN goes again every rto_max past the stack's 15
 * retransmissions and past 255, where the count stops, for as long as the
 * peer stays silent; its answer then ends FIN_WAIT_1 as usual. */
static void test_data_retries_never(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_1(h);
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_conn_set_retries(c, TCPLAB_RETRIES_NEVER), TCPLAB_OK);
  tcplab_time_t t = T_CLOSE, rto = S(1);
  for (unsigned i = 0; i < 300; i++) {
    t += rto;
    expect_only_at(h, t,
                   SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
    rto = rto * 2 > S(120) ? S(120) : rto * 2;
  }
  assert_not_closed(h, id);
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 300);
  feed(h, t + S(1), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

/* ---- Tests for the TIME-WAIT timer ---- */

/* FIN-WAIT-2 after shutdown() at 100 ms (the application still reads),
 * our FIN acknowledged at 110 ms. */
static struct tcplab_conn *fx_half_closed(struct harness *h) {
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_shutdown(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, .seq = SND_NXT, .ack = RCV_NXT));
  feed(h, MS(110), SEG(.flags = ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  return c;
}

/* TIME-WAIT lasts exactly 2*MSL (60 s by default) from its entry. */
static void test_time_wait_two_msl(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h); /* entered at 120 ms */
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(60));
  expect_nothing(h, MS(120) + S(60) - 1);
  assert_state(c, TCPLAB_TIME_WAIT);
  expect_nothing(h, MS(120) + S(60));
  assert_closed(h, id, TCPLAB_OK);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_TIMER_TIME_WAIT);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
}

static void test_time_wait_configured_msl(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.msl = S(5);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_time_wait(h);
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(10));
  expect_nothing(h, MS(120) + S(10) - 1);
  assert_state(c, TCPLAB_TIME_WAIT);
  expect_nothing(h, MS(120) + S(10));
  assert_closed(h, id, TCPLAB_OK);
}

/* msl 0 turns TIME-WAIT off (config.c): the final ACK still leaves, and
 * the connection ends in the same instant. */
static void test_time_wait_zero_msl(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.msl = 0;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_fin_wait_2(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(120), SEG(.flags = FIN | ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  expect(h, MS(120), SEG(.flags = ACK, .seq = SND_NXT + 1, .ack = RCV_NXT + 1));
  assert_closed(h, id, TCPLAB_OK);
  assert_int_equal(last_event(h, id)->event, TCPLAB_EV_TIMER_TIME_WAIT);
  assert_int_equal(last_event(h, id)->now, MS(120));
}

/* Entered from CLOSING, TIME-WAIT counts from the ACK of our FIN. */
static void test_time_wait_from_closing(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_closing(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(500), SEG(.flags = ACK, .seq = RCV_NXT + 1, .ack = SND_NXT + 1));
  expect_nothing(h, MS(500) + S(60) - 1);
  assert_state(c, TCPLAB_TIME_WAIT);
  expect_nothing(h, MS(500) + S(60));
  assert_closed(h, id, TCPLAB_OK);
}

/* RFC 9293 3.10.7.4, TIME-WAIT: a retransmitted FIN is acknowledged and
 * the 2 MSL timeout restarts from it. */
static void test_time_wait_restarted_by_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_time_wait(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, S(20), SEG(.flags = FIN | ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  expect(h, S(20), SEG(.flags = ACK, .seq = SND_NXT + 1, .ack = RCV_NXT + 1));
  expect_nothing(h, S(80) - 1);
  assert_state(c, TCPLAB_TIME_WAIT);
  expect_nothing(h, S(80));
  assert_closed(h, id, TCPLAB_OK);
}

/* Data and FIN in one segment in FIN-WAIT-2 (after shutdown, so the data
 * is still wanted), with delayed ACKs on: the data alone would start the
 * delayed-ACK timer, the FIN makes the ACK leave at once, and TIME-WAIT
 * still lasts exactly 2*MSL from there. */
static void test_time_wait_after_data_and_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.delayed_ack = MS(40);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_half_closed(h);
  uint64_t id = tcplab_conn_id(c);
  feed(h, MS(120),
       SEG(.flags = FIN | PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT + 1,
           DATA("bye")));
  expect(h, MS(120),
         SEG(.flags = ACK, .seq = SND_NXT + 1, .ack = RCV_NXT + 4,
             .wnd = DEFAULT_WND - 3)); /* "bye" unread */
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_recv(h, c, MS(120), "bye");
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(120) + S(60));
  expect_nothing(h, MS(120) + S(60) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, MS(120) + S(60));
  assert_closed(h, id, TCPLAB_OK);
}

/* ---- Tests for the FIN-WAIT-2 timer ---- */

/* RFC 9293 sets no limit on FIN-WAIT-2: by default it lasts as long as
 * the peer keeps its half open. */
static void test_fin_wait_2_no_timeout_by_default(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_fin_wait_2(h);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  expect_nothing(h, S(3600));
  assert_state(c, TCPLAB_FIN_WAIT_2);
}

/* With fin_wait_2_timeout set, a connection the application closed ends
 * that long after it entered FIN-WAIT-2, silently and without error. */
static void test_fin_wait_2_timeout(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.fin_wait_2_timeout = S(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_fin_wait_2(h); /* entered at 110 ms */
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(110) + S(10));
  expect_nothing(h, MS(110) + S(10) - 1);
  assert_state(c, TCPLAB_FIN_WAIT_2);
  expect_nothing(h, MS(110) + S(10));
  assert_closed(h, id, TCPLAB_OK);
  const struct tcplab_trace_event *ev = last_event(h, id);
  assert_int_equal(ev->from, TCPLAB_FIN_WAIT_2);
  assert_int_equal(ev->to, TCPLAB_CLOSED);
  assert_int_equal(ev->event, TCPLAB_EV_TIMER_FIN_WAIT_2);
}

/* The peer's FIN before the timeout ends FIN-WAIT-2 the normal way. */
static void test_fin_wait_2_timeout_cancelled_by_fin(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.fin_wait_2_timeout = S(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, S(5), SEG(.flags = FIN | ACK, .seq = RCV_NXT, .ack = SND_NXT + 1));
  expect(h, S(5), SEG(.flags = ACK, .seq = SND_NXT + 1, .ack = RCV_NXT + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), S(65));
}

/* After shutdown() the application still reads, so no timeout applies;
 * a later close() starts it. */
static void test_fin_wait_2_timeout_after_shutdown(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.fin_wait_2_timeout = S(10);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_half_closed(h);
  uint64_t id = tcplab_conn_id(c);
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  expect_nothing(h, S(100));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  assert_int_equal(tcplab_conn_close(c, S(100)), TCPLAB_OK);
  expect_nothing(h, S(110) - 1);
  assert_state(c, TCPLAB_FIN_WAIT_2);
  expect_nothing(h, S(110));
  assert_closed(h, id, TCPLAB_OK);
}

/* ---- Tests for many timers at once ---- */

/* The timers of many connections expire in the order of their deadlines
 * and, among equal deadlines, the older connection's first, while
 * connections come, retransmit (moving their deadlines past others') and
 * go. Starts on a 100 ms grid make many deadlines equal: a connection
 * started at 0 retransmits at 3 s, the same instant as one started at 2 s
 * does for the first time. */
static void test_many_timers_expire_in_order(void **state) {
  struct harness *h = *state;
  enum { N = 300, PORT0 = 1000 };
  static const unsigned syn_at[] = {0, 1, 3, 7, 15, 31, 63}; /* s */
  struct tcplab_conn *conns[N];
  tcplab_time_t start[N], t = 0;
  uint32_t rnd = 1;
  for (unsigned k = 0; k < N; k++) {
    rnd = rnd * 1103515245u + 12345u;
    if ((rnd >> 16) % 3 == 0)
      t += MS(100);
    advance(h, t);
    start[k] = t;
    assert_int_equal(tcplab_stack_connect(h->stack, t, LOCAL_ADDR,
                                          (uint16_t)(PORT0 + k), REMOTE_ADDR,
                                          REMOTE_PORT, &conns[k]),
                     TCPLAB_OK);
  }
  /* Every fifth connection is aborted off the grid, its deadline taken
   * out of the middle of the heap. */
  tcplab_time_t abort_at = S(40) + MS(50);
  advance(h, abort_at);
  size_t want = 0;
  for (unsigned k = 0; k < N; k++) {
    for (size_t i = 0; i < sizeof syn_at / sizeof syn_at[0]; i++)
      want += k % 5 != 0 || start[k] + S(syn_at[i]) <= abort_at;
    if (k % 5 == 0)
      assert_int_equal(tcplab_conn_abort(conns[k], abort_at), TCPLAB_OK);
  }
  advance(h, t + S(200));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  /* Only SYNs left, in (time, connection id) order; ports follow ids. */
  assert_int_equal(h->out_len, want);
  for (size_t i = 0; i < h->out_len; i++) {
    const struct out_seg *a = h->out[i], *b = i ? h->out[i - 1] : NULL;
    assert_int_equal(a->seg.flags, SYN);
    if (b)
      assert_true(b->at < a->at ||
                  (b->at == a->at && b->seg.sport < a->seg.sport));
  }
}

/* Feeds seg at t without advancing the stack's clock to t first, so t
 * may lie before the harness's time. */
static void feed_raw(struct harness *h, tcplab_time_t t,
                     struct tcplab_segment seg) {
  uint8_t buf[TCPLAB_HEADER_MAX];
  seg.sport = REMOTE_PORT;
  seg.wnd = DEFAULT_WND;
  size_t n =
      tcplab_segment_encode(&seg, REMOTE_ADDR, LOCAL_ADDR, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal(
      tcplab_stack_input(h->stack, t, REMOTE_ADDR, LOCAL_ADDR, buf, n),
      TCPLAB_OK);
}

/* One connection on local port `port` taken to TIME-WAIT at t (as
 * fx_time_wait does); what it sends is not the point here. */
static struct tcplab_conn *time_wait_on(struct harness *h, tcplab_time_t t,
                                        uint16_t port) {
  struct tcplab_conn *c;
  assert_int_equal(tcplab_stack_connect(h->stack, t, LOCAL_ADDR, port,
                                        REMOTE_ADDR, REMOTE_PORT, &c),
                   TCPLAB_OK);
  feed_raw(h, t,
           SEG(.flags = SYN | ACK, .dport = port, .seq = REMOTE_ISS,
               .ack = SND_NXT));
  assert_int_equal(tcplab_conn_close(c, t), TCPLAB_OK);
  feed_raw(
      h, t,
      SEG(.flags = ACK, .dport = port, .seq = RCV_NXT, .ack = SND_NXT + 1));
  feed_raw(h, t,
           SEG(.flags = FIN | ACK, .dport = port, .seq = RCV_NXT,
               .ack = SND_NXT + 1));
  assert_state(c, TCPLAB_TIME_WAIT);
  h->out_head = h->out_len;
  return c;
}

/* The core does not ask for a monotonic clock. A connection that enters
 * TIME-WAIT at an earlier time than the one before it cannot join the
 * end of the queue; it waits in the heap instead, and each still ends at
 * its own deadline: the later arrival first. */
static void test_time_wait_entered_back_in_time(void **state) {
  struct harness *h = *state;
  advance(h, S(10));
  uint64_t a = tcplab_conn_id(time_wait_on(h, S(10), 1000));
  uint64_t b = tcplab_conn_id(time_wait_on(h, S(5), 1001));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), S(65));
  expect_nothing(h, S(100));
  assert_int_equal(h->closed_len, 2);
  assert_int_equal(h->closed[0].id, b);
  assert_int_equal(h->closed[0].at, S(65));
  assert_int_equal(h->closed[1].id, a);
  assert_int_equal(h->closed[1].at, S(70));
}

/* Connections waiting out TIME-WAIT have a queue of their own beside the
 * heap (timer.c). Each still ends exactly 2*MSL after it entered, or after
 * the retransmitted FIN that restarted it (then behind those that entered
 * before the restart, whatever their age). Other timers due at the same
 * instant, here SYNs given up, go first. Meanwhile some leave early,
 * aborted by the application. With a 1 s TIME-WAIT, 100 connections a
 * second for 1.5 s and then 150 in 0.15 s make the queue wrap around its
 * storage, then grow while wrapped. */
static void test_many_time_waits_end_in_order(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.msl = MS(500);
  cfg.syn_retries = 0; /* a SYN is given up 1 s after it left */
  h_restart(h, &cfg);
  enum { N = 300, PORT0 = 1000, LAG = 47 };
  struct end {
    uint64_t id;
    tcplab_time_t at;
    int order; /* 0: a heap timer, 1: TIME-WAIT's end, 2: an abort */
    int seq;   /* when it entered TIME-WAIT, or was aborted */
  } want[N];
  struct tcplab_conn *conns[N];
  int seq = 0;
  for (int k = 0; k < N; k++) {
    tcplab_time_t t = k < 150 ? (tcplab_time_t)k * MS(10)
                              : MS(1500) + (tcplab_time_t)(k - 150) * MS(1);
    uint16_t port = (uint16_t)(PORT0 + k);
    if (k % 10 == 2) { /* gives up as j = k - LAG restarts, below */
      advance(h, t);
      assert_int_equal(tcplab_stack_connect(h->stack, t, LOCAL_ADDR, port,
                                            REMOTE_ADDR, REMOTE_PORT,
                                            &conns[k]),
                       TCPLAB_OK);
      h->out_head = h->out_len;
      want[k] = (struct end){tcplab_conn_id(conns[k]), t + S(1), 0, 0};
    } else {
      advance(h, t);
      conns[k] = time_wait_on(h, t, port);
      want[k] = (struct end){tcplab_conn_id(conns[k]), t + S(1), 1, seq++};
    }
    int j = k - LAG; /* acts on an older one, still in TIME-WAIT */
    if (j >= 0 && j % 10 == 3) {
      assert_int_equal(tcplab_conn_abort(conns[j], t), TCPLAB_OK);
      want[j] = (struct end){want[j].id, t, 2, seq++};
    } else if (j >= 0 && j % 10 == 5) {
      feed(h, t,
           SEG(.flags = FIN | ACK, .dport = (uint16_t)(PORT0 + j),
               .seq = RCV_NXT, .ack = SND_NXT + 1));
      expect(h, t,
             SEG(.flags = ACK, .sport = (uint16_t)(PORT0 + j),
                 .seq = SND_NXT + 1, .ack = RCV_NXT + 1));
      want[j] = (struct end){want[j].id, t + S(1), 1, seq++};
    }
  }
  advance(h, S(10));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(h->closed_len, N);
  /* The expected order: by time, then heap before queue before aborts,
   * then entry order (insertion sort: N is small). */
  for (int i = 1; i < N; i++) {
    struct end e = want[i];
    int k = i;
    for (; k > 0; k--) {
      const struct end *p = &want[k - 1];
      if (p->at < e.at ||
          (p->at == e.at &&
           (p->order < e.order || (p->order == e.order && p->seq < e.seq))))
        break;
      want[k] = *p;
    }
    want[k] = e;
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(h->closed[i].id, want[i].id);
    assert_int_equal(h->closed[i].at, want[i].at);
    assert_int_equal(h->closed[i].error,
                     want[i].order == 0   ? TCPLAB_ERR_TIMEDOUT
                     : want[i].order == 1 ? TCPLAB_OK
                                          : TCPLAB_ERR_ABORTED);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      TEST(test_idle_stack_has_no_deadline),
      TEST(test_syn_retransmissions_and_give_up),
      TEST(test_syn_retries_configured),
      TEST(test_syn_retries_zero),
      TEST(test_rto_max_caps_syn_backoff),
      TEST(test_syn_answered_after_retransmission),
      TEST(test_synack_retransmissions_and_give_up),
      TEST(test_synack_acked_after_retransmission),
      TEST(test_rto_from_first_sample),
      TEST(test_rto_from_second_sample),
      TEST(test_rto_floor),
      TEST(test_rto_three_seconds_after_syn_retransmission),
      TEST(test_karn_no_sample_from_retransmitted_syn),
      TEST(test_karn_no_sample_from_retransmitted_data),
      TEST(test_fin_retransmitted),
      TEST(test_fin_backoff_capped_and_give_up),
      TEST(test_partial_ack_restarts_timer),
      TEST(test_data_retries_configured),
      TEST(test_data_retries_per_connection),
      TEST(test_data_retries_never),
      TEST(test_time_wait_two_msl),
      TEST(test_time_wait_configured_msl),
      TEST(test_time_wait_zero_msl),
      TEST(test_time_wait_from_closing),
      TEST(test_time_wait_restarted_by_fin),
      TEST(test_time_wait_after_data_and_fin),
      TEST(test_fin_wait_2_no_timeout_by_default),
      TEST(test_fin_wait_2_timeout),
      TEST(test_fin_wait_2_timeout_cancelled_by_fin),
      TEST(test_fin_wait_2_timeout_after_shutdown),
      TEST(test_many_timers_expire_in_order),
      TEST(test_many_time_waits_end_in_order),
      TEST(test_time_wait_entered_back_in_time),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
