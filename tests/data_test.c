/*
 * Reliable data transfer at the segment level: segmentation, Nagle,
 * delayed ACKs, reassembly, flow control (windows, silly-window
 * avoidance, zero-window probing, window scaling), retransmission on
 * timeout, fast retransmit and recovery (NewReno), the RFC 6298
 * estimator. The stack under test is LOCAL; each test plays the peer and
 * states every segment, its time, and the congestion state it leads to.
 *
 * Data segments carry slices of two fixed pseudo-random streams, one per
 * direction, so a segment that carries the wrong octets for its sequence
 * number fails the comparison.
 */
#include <string.h>

#include "harness.h"

/* After fx_established: SND.NXT = LOCAL_ISS + 1, RCV.NXT = REMOTE_ISS + 1,
 * the peer offers 65535 octets and announced MSS 1460; the handshake's
 * 10 ms sample keeps the RTO at its 1 s floor. */
#define SND_NXT (LOCAL_ISS + 1)
#define RCV_NXT (REMOTE_ISS + 1)
#define MSS     1460u
/* RFC 6928: min(10*MSS, max(2*MSS, 14600)) with MSS 1460. */
#define IW (10u * MSS)
/* RFC 5681 3.1: the initial ssthresh is "arbitrarily high"; the core uses
 * the largest window RFC 7323 allows. */
#define SSTHRESH_INIT (UINT32_C(1) << 30)

#define STREAM_LEN 65536u
static uint8_t our_stream[STREAM_LEN];  /* what our application sends */
static uint8_t peer_stream[STREAM_LEN]; /* what the peer sends */

/* Our segment carrying stream octets [off, off + n), sent before any data
 * from the peer arrived. */
#define OUR(off, n)                                                            \
  .seq = SND_NXT + (off), .ack = RCV_NXT, .payload = our_stream + (off),       \
  .len = (n)
/* The peer's segment carrying its stream octets [off, off + n). */
#define PEERS(off, n)                                                          \
  .seq = RCV_NXT + (off), .ack = SND_NXT, .payload = peer_stream + (off),      \
  .len = (n)
/* The same, acknowledging our first a octets. */
#define PEERS_ACKING(off, n, a)                                                \
  .seq = RCV_NXT + (off), .ack = SND_NXT + (a),                                \
  .payload = peer_stream + (off), .len = (n)
/* The peer's acknowledgment of our first n octets. */
#define ACKED(n) .seq = RCV_NXT, .ack = SND_NXT + (n)
/* Our acknowledgment of the peer's first n octets, none of them read yet,
 * so the window offers n fewer. */
#define OUR_ACK(n)                                                             \
  .seq = SND_NXT, .ack = RCV_NXT + (n), .wnd = DEFAULT_WND - (n)

/* Our application queues stream octets [off, off + n) at t; all must fit. */
#define send_stream(h, c, t, off, n)                                           \
  do {                                                                         \
    advance(h, t);                                                             \
    assert_int_equal(tcplab_conn_send(c, t, our_stream + (off), (n)),          \
                     (int)(n));                                                \
  } while (0)

/* Nothing leaves before t, then exactly this segment leaves at t. */
#define expect_only_at(h, t, ...)                                              \
  do {                                                                         \
    expect_nothing(h, (t)-1);                                                  \
    expect(h, t, __VA_ARGS__);                                                 \
  } while (0)

#define assert_cwnd(c, want_cwnd, want_ssthresh)                               \
  do {                                                                         \
    assert_int_equal(tcplab_conn_stats(c)->cwnd, (want_cwnd));                 \
    assert_int_equal(tcplab_conn_stats(c)->ssthresh, (want_ssthresh));         \
  } while (0)

/* The TCPLAB_EV_CWND events of connection id, in order, carry exactly
 * these values (one event per change, issue 3 point 5). */
struct cc_point {
  uint32_t cwnd, ssthresh;
};
static void assert_cwnd_events_at(const struct harness *h, uint64_t id,
                                  const struct cc_point *want, size_t n,
                                  const char *file, int line) {
  size_t k = 0;
  bool ok = true;
  for (size_t i = 0; i < h->trace_len; i++) {
    const struct tcplab_trace_event *ev = &h->trace[i];
    if (ev->id != id || ev->event != TCPLAB_EV_CWND)
      continue;
    if (k >= n || ev->cwnd != want[k].cwnd || ev->ssthresh != want[k].ssthresh)
      ok = false;
    k++;
  }
  if (!ok || k != n) {
    print_error("cwnd events differ; got:\n");
    for (size_t i = 0; i < h->trace_len; i++) {
      const struct tcplab_trace_event *ev = &h->trace[i];
      if (ev->id == id && ev->event == TCPLAB_EV_CWND)
        print_error("  %.9f s cwnd %u ssthresh %u\n", (double)ev->now / 1e9,
                    (unsigned)ev->cwnd, (unsigned)ev->ssthresh);
    }
    _fail(file, line);
  }
}
#define assert_cwnd_events(h, id, ...)                                         \
  assert_cwnd_events_at(h, id, (const struct cc_point[]){__VA_ARGS__},         \
                        sizeof((const struct cc_point[]){__VA_ARGS__}) /       \
                            sizeof(struct cc_point),                           \
                        __FILE__, __LINE__)

/* Reads everything c holds at t and asserts it is the peer's stream
 * [0, n). */
#define assert_recv_stream(h, c, t, n)                                         \
  do {                                                                         \
    advance(h, t);                                                             \
    assert_int_equal(recv_all(c, t), (n));                                     \
    assert_memory_equal(rx, peer_stream, (n));                                 \
  } while (0)

static uint8_t rx[STREAM_LEN];

static size_t recv_all(struct tcplab_conn *c, tcplab_time_t t) {
  size_t got = 0;
  int n;
  while (got < sizeof rx &&
         (n = tcplab_conn_recv(c, t, rx + got, sizeof rx - got)) > 0)
    got += (size_t)n;
  return got;
}

static struct tcplab_config defaults(void) {
  struct tcplab_config cfg;
  h_config_default(&cfg);
  return cfg;
}

/* Expects count full-sized segments of ours, stream segments first ..
 * first + count - 1, all leaving at t, none the last of the queue. */
#define expect_full_segments(h, t, first, count)                               \
  do {                                                                         \
    for (unsigned i_ = (first); i_ < (first) + (count); i_++)                  \
      expect(h, t, SEG(.flags = ACK, OUR(i_ * MSS, MSS)));                     \
  } while (0)

/* ---- Tests for sending: segmentation, PSH, initial window ---- */

/* RFC 9293 3.7.1: segments are at most the peer's MSS; the last octet
 * queued goes with PSH (3.9.1). The 80-octet tail is a small segment and
 * waits while data is unacknowledged (Nagle, RFC 896 / 3.7.4). */
static void test_segmented_by_peer_mss(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 3000);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(MSS, MSS)));
  expect_nothing(h, MS(110));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(MSS)));
  expect_nothing(h, MS(110));
  feed(h, MS(111), SEG(.flags = ACK, ACKED(2 * MSS)));
  expect(h, MS(111), SEG(.flags = PSH | ACK, OUR(2 * MSS, 80)));
  feed(h, MS(121), SEG(.flags = ACK, ACKED(3000)));
  expect_nothing(h, S(10));
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 3000);
  assert_int_equal(tcplab_conn_stats(c)->retransmissions, 0);
}

/* RFC 9293 3.7.1: without the MSS option the peer takes 536 octets
 * (SendMSS default); a SYN carrying only SACK-permitted has none. */
static void test_default_mss_without_option(void **state) {
  struct harness *h = *state;
  fx_listen(h);
  feed(h, 0,
       SEG(.flags = SYN, .seq = REMOTE_ISS,
           .opt = {.present = TCPLAB_OPT_SACK_PERM}));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0)));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  send_stream(h, c, MS(100), 0, 1200);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, 536)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(536, 536)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(1072)));
  expect(h, MS(110), SEG(.flags = PSH | ACK, OUR(1072, 128)));
}

/* RFC 6928 2: the initial window is min(10*MSS, max(2*MSS, 14600)), ten
 * segments of 1460; RFC 5681 2: nothing beyond cwnd is sent. */
static void test_initial_window_ten_segments(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  assert_cwnd(c, IW, SSTHRESH_INIT);
  send_stream(h, c, MS(100), 0, 20 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  expect_nothing(h, MS(1099));
}

static void test_initial_window_configured(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.initial_window = 4;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  assert_cwnd(c, 4 * MSS, SSTHRESH_INIT);
  send_stream(h, c, MS(100), 0, 20 * MSS);
  expect_full_segments(h, MS(100), 0, 4);
  expect_nothing(h, MS(1099));
}

/* RFC 6928 2: with a large MSS the 14600-octet cap applies: three
 * 4000-octet segments, and the 2600 octets left of the window wait (a
 * small segment while data is outstanding). */
static void test_initial_window_capped_at_14600(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.mss = 4000;
  h_restart(h, &cfg);
  fx_listen(h);
  feed(h, 0,
       SEG(.flags = SYN, .seq = REMOTE_ISS,
           .opt = {.present = TCPLAB_OPT_MSS, .mss = 4000}));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0)));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  assert_cwnd(c, 14600, SSTHRESH_INIT);
  send_stream(h, c, MS(100), 0, 20000);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, 4000)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(4000, 4000)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(8000, 4000)));
  expect_nothing(h, MS(1099));
}

/* RFC 5681 3.1: in slow start each ACK of new data grows cwnd by
 * min(N, SMSS), so one ACK per segment releases two segments. */
static void test_slow_start_two_segments_per_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 30 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  for (unsigned i = 1; i <= 10; i++) {
    feed(h, MS(110 + i), SEG(.flags = ACK, ACKED(i * MSS)));
    assert_cwnd(c, IW + i * MSS, SSTHRESH_INIT);
    unsigned next = 10 + 2 * (i - 1);
    expect(h, MS(110 + i), SEG(.flags = ACK, OUR(next * MSS, MSS)));
    if (i < 10)
      expect(h, MS(110 + i), SEG(.flags = ACK, OUR((next + 1) * MSS, MSS)));
    else
      expect(h, MS(110 + i), SEG(.flags = PSH | ACK, OUR(29 * MSS, MSS)));
  }
  expect_nothing(h, MS(200));
  assert_cwnd(c, 2 * IW, SSTHRESH_INIT);
}

/* RFC 5681 3.1 equation (2): an ACK covering two segments still adds at
 * most one SMSS; the window then slides by two and grows by one. */
static void test_slow_start_cumulative_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 30 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  feed(h, MS(110), SEG(.flags = ACK, ACKED(2 * MSS)));
  assert_cwnd(c, IW + MSS, SSTHRESH_INIT);
  expect_full_segments(h, MS(110), 10, 3);
  expect_nothing(h, MS(200));
}

/* RFC 5681 3.1: N in min(N, SMSS) counts bytes of data. One ACK of 100
 * octets and our FIN adds 100, not 101. */
static void test_fin_acked_with_data_not_counted(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  send_stream(h, c, MS(100), 0, 100);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(0, 100)));
  assert_int_equal(tcplab_conn_close(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, OUR(100, 0)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(100 + 1)));
  assert_int_equal(tcplab_conn_state(c), TCPLAB_FIN_WAIT_2);
  assert_cwnd(c, IW + 100, SSTHRESH_INIT);
  assert_cwnd_events(h, id, {IW, SSTHRESH_INIT}, {IW + 100, SSTHRESH_INIT});
}

/* An ACK of our FIN alone acknowledges no data: cwnd stays, no event. */
static void test_fin_acked_alone_leaves_cwnd(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  send_stream(h, c, MS(100), 0, MSS);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(0, MSS)));
  assert_int_equal(tcplab_conn_close(c, MS(100)), TCPLAB_OK);
  expect(h, MS(100), SEG(.flags = FIN | ACK, OUR(MSS, 0)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(MSS)));
  feed(h, MS(111), SEG(.flags = ACK, ACKED(MSS + 1)));
  assert_int_equal(tcplab_conn_state(c), TCPLAB_FIN_WAIT_2);
  assert_cwnd(c, IW + MSS, SSTHRESH_INIT);
  assert_cwnd_events(h, id, {IW, SSTHRESH_INIT}, {IW + MSS, SSTHRESH_INIT});
}

/* Ten segments at 100 ms, each acknowledged alone by 120 ms: cwnd grows
 * to 2*IW in slow start, nothing is in flight, and the RTO is its floor,
 * 1 s (RFC 6298 2.4), from an 11 ms sample. Data last left at 100 ms. */
static struct tcplab_conn *fx_idle_after_slow_start(struct harness *h) {
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, IW);
  expect_full_segments(h, MS(100), 0, 9);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(9 * MSS, MSS)));
  for (unsigned i = 1; i <= 10; i++)
    feed(h, MS(110 + i), SEG(.flags = ACK, ACKED(i * MSS)));
  assert_cwnd(c, 2 * IW, SSTHRESH_INIT);
  return c;
}

/* Twenty more segments queued at t all leave at once: cwnd is still the
 * 2*IW slow start reached. */
static void expect_window_kept(struct harness *h, struct tcplab_conn *c,
                               tcplab_time_t t) {
  send_stream(h, c, t, IW, 2 * IW);
  assert_cwnd(c, 2 * IW, SSTHRESH_INIT);
  expect_full_segments(h, t, 10, 19);
  expect(h, t, SEG(.flags = PSH | ACK, OUR(29 * MSS, MSS)));
}

/* RFC 5681 4.1: "if the TCP has not sent data in an interval exceeding
 * the retransmission timeout", cwnd becomes RW = min(IW, cwnd) before it
 * sends: the ACK clock is gone, and a whole window at once could overrun
 * the path. ssthresh stays. One traced event for the change. */
static void test_restart_after_idle(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_idle_after_slow_start(h);
  uint64_t id = tcplab_conn_id(c);
  tcplab_time_t t = MS(100) + S(1) + 1;
  send_stream(h, c, t, IW, 2 * IW);
  assert_cwnd(c, IW, SSTHRESH_INIT);
  expect_full_segments(h, t, 10, 10);
  expect_nothing(h, t + MS(500));
  assert_cwnd_events(
      h, id, {IW, SSTHRESH_INIT}, {IW + MSS, SSTHRESH_INIT},
      {IW + 2 * MSS, SSTHRESH_INIT}, {IW + 3 * MSS, SSTHRESH_INIT},
      {IW + 4 * MSS, SSTHRESH_INIT}, {IW + 5 * MSS, SSTHRESH_INIT},
      {IW + 6 * MSS, SSTHRESH_INIT}, {IW + 7 * MSS, SSTHRESH_INIT},
      {IW + 8 * MSS, SSTHRESH_INIT}, {IW + 9 * MSS, SSTHRESH_INIT},
      {2 * IW, SSTHRESH_INIT}, {IW, SSTHRESH_INIT});
}

/* Idle for exactly the RTO is not longer than it: the window stays. */
static void test_no_restart_within_rto(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_idle_after_slow_start(h);
  expect_window_kept(h, c, MS(100) + S(1));
}

/* slow_start_after_idle = false (Linux's sysctl of that name at 0). */
static void test_restart_after_idle_off(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.slow_start_after_idle = false;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_idle_after_slow_start(h);
  expect_window_kept(h, c, S(10));
}

/* ---- Tests for Nagle's algorithm (RFC 896, RFC 9293 3.7.4) ---- */

/* A small write waits while data is unacknowledged and leaves, joined
 * with the next one, when the ACK arrives. */
static void test_nagle_holds_small_write(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  send_str(c, MS(100), "a");
  expect(h, MS(100),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  advance(h, MS(105));
  send_str(c, MS(105), "b");
  expect_nothing(h, MS(105));
  advance(h, MS(106));
  send_str(c, MS(106), "c");
  expect_nothing(h, MS(109));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(1)));
  expect(
      h, MS(110),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("bc")));
  feed(h, MS(120), SEG(.flags = ACK, ACKED(3)));
  expect_nothing(h, S(10));
}

/* tcplab_conn_set_nagle(c, false): every write leaves at once. */
static void test_nagle_off(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  tcplab_conn_set_nagle(c, false);
  advance(h, MS(100));
  send_str(c, MS(100), "a");
  expect(h, MS(100),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  advance(h, MS(105));
  send_str(c, MS(105), "b");
  expect(
      h, MS(105),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
  advance(h, MS(106));
  send_str(c, MS(106), "c");
  expect(
      h, MS(106),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 2, .ack = RCV_NXT, DATA("c")));
  /* Turned on again, it holds the next small write. */
  tcplab_conn_set_nagle(c, true);
  advance(h, MS(107));
  send_str(c, MS(107), "d");
  expect_nothing(h, MS(109));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(3)));
  expect(
      h, MS(110),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 3, .ack = RCV_NXT, DATA("d")));
}

/* Nagle holds only small segments: a full-sized one leaves despite the
 * outstanding octet (RFC 9293 3.8.6.2.1, first condition), the remainder
 * waits until everything is acknowledged, not just some of it. */
static void test_nagle_full_segment_not_held(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  send_str(c, MS(100), "a");
  expect(h, MS(100),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  send_stream(h, c, MS(105), 0, 2000);
  expect(h, MS(105),
         SEG(.flags = ACK, .seq = SND_NXT + 1, .ack = RCV_NXT,
             .payload = our_stream, .len = MSS));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(1)));
  expect_nothing(h, MS(114));
  feed(h, MS(115), SEG(.flags = ACK, ACKED(1 + MSS)));
  expect(h, MS(115),
         SEG(.flags = PSH | ACK, .seq = SND_NXT + 1 + MSS, .ack = RCV_NXT,
             .payload = our_stream + MSS, .len = 2000 - MSS));
}

/* ---- Tests for delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2) ---- */

static struct tcplab_conn *established_delack(struct harness *h,
                                              tcplab_time_t delay) {
  struct tcplab_config cfg = defaults();
  cfg.delayed_ack = delay;
  h_restart(h, &cfg);
  return fx_established(h);
}

/* One segment is acknowledged when the 40 ms timer runs out, not before. */
static void test_delack_one_segment(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_delack(h, MS(40));
  feed(h, MS(200), SEG(.flags = PSH | ACK, PEERS(0, 100)));
  expect_only_at(h, MS(240), SEG(.flags = ACK, OUR_ACK(100)));
  expect_nothing(h, S(10));
  assert_recv_stream(h, c, S(10), 100);
}

/* "A TCP receiver SHOULD generate an ACK for at least every second
 * full-sized segment": the second one is acknowledged on arrival, and
 * the timer it replaced does not fire later. */
static void test_delack_second_full_segment(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_delack(h, MS(40));
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, MSS)));
  expect_nothing(h, MS(210));
  feed(h, MS(210), SEG(.flags = ACK, PEERS(MSS, MSS)));
  expect(h, MS(210), SEG(.flags = ACK, OUR_ACK(2 * MSS)));
  expect_nothing(h, MS(300));
  /* A third segment starts the count again. */
  feed(h, MS(300), SEG(.flags = PSH | ACK, PEERS(2 * MSS, MSS)));
  expect_only_at(h, MS(340), SEG(.flags = ACK, OUR_ACK(3 * MSS)));
  assert_recv_stream(h, c, MS(400), 3 * MSS);
}

/* RFC 5681 4.2: an out-of-order segment is acknowledged at once (a
 * duplicate ACK), and so is the segment that fills the gap. */
static void test_delack_out_of_order_and_gap(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_delack(h, MS(40));
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, MSS)));
  expect_nothing(h, MS(205));
  feed(h, MS(205), SEG(.flags = ACK, PEERS(2 * MSS, MSS)));
  expect(h, MS(205), SEG(.flags = ACK, OUR_ACK(MSS)));
  feed(h, MS(210), SEG(.flags = ACK, PEERS(MSS, MSS)));
  expect(h, MS(210), SEG(.flags = ACK, OUR_ACK(3 * MSS)));
  expect_nothing(h, MS(400));
  assert_int_equal(tcplab_conn_stats(c)->ooo_segments, 1);
  assert_recv_stream(h, c, MS(400), 3 * MSS);
}

/* Data the application sends before the timer runs out carries the ACK;
 * no separate ACK follows. Reading 4 octets does not move the window edge
 * (receiver SWS avoidance), so no window update goes either. */
static void test_delack_reply_piggybacks(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_delack(h, MS(40));
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("ping")));
  expect_nothing(h, MS(220));
  assert_recv(h, c, MS(220), "ping");
  expect_nothing(h, MS(220));
  send_str(c, MS(220), "pong");
  expect(h, MS(220),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT + 4,
             .wnd = DEFAULT_WND - 4, DATA("pong")));
  expect_nothing(h, MS(500));
}

/* The delay is configurable up to RFC 9293's bound (under 0.5 s). */
static void test_delack_configured(void **state) {
  struct harness *h = *state;
  established_delack(h, MS(200));
  feed(h, MS(200), SEG(.flags = PSH | ACK, PEERS(0, 100)));
  expect_only_at(h, MS(400), SEG(.flags = ACK, OUR_ACK(100)));
}

/* ---- Tests for receiving: reassembly, duplicates, overlaps ---- */

/* RFC 9293 3.10.7.4 seventh step and RFC 5681 4.2: segments beyond a gap
 * are held (within the window) and answered by duplicate ACKs; when the
 * gap fills, everything is delivered in order and acknowledged at once.
 * Four holes filled last-first make the held ranges merge. */
static void test_out_of_order_held_and_delivered(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  static const unsigned held[] = {100, 300, 500, 700};
  for (unsigned i = 0; i < 4; i++) {
    feed(h, MS(200 + i), SEG(.flags = ACK, PEERS(held[i], 100)));
    expect(h, MS(200 + i), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  }
  static const unsigned holes[] = {600, 200, 400};
  for (unsigned i = 0; i < 3; i++) {
    feed(h, MS(210 + i), SEG(.flags = ACK, PEERS(holes[i], 100)));
    expect(h, MS(210 + i), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  }
  assert_int_equal(h->readable, 0);
  feed(h, MS(220), SEG(.flags = ACK, PEERS(0, 100)));
  expect(h, MS(220), SEG(.flags = ACK, OUR_ACK(800)));
  assert_int_equal(h->readable, 1);
  assert_int_equal(h->readable_avail, 800);
  assert_recv_stream(h, c, MS(230), 800);
  assert_int_equal(tcplab_conn_stats(c)->ooo_segments, 7);
  assert_int_equal(tcplab_conn_stats(c)->bytes_received, 800);
}

/* RFC 9293 3.10.7.4: a segment wholly below RCV.NXT is answered with an
 * ACK and dropped; one overlapping RCV.NXT or held data contributes only
 * its new octets. */
static void test_duplicates_and_overlaps_trimmed(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, 100)));
  expect(h, MS(200), SEG(.flags = ACK, OUR_ACK(100)));
  /* Held: [200, 300), then [150, 250) overlapping it. */
  feed(h, MS(210), SEG(.flags = ACK, PEERS(200, 100)));
  expect(h, MS(210), SEG(.flags = ACK, OUR_ACK(100)));
  feed(h, MS(220), SEG(.flags = ACK, PEERS(150, 100)));
  expect(h, MS(220), SEG(.flags = ACK, OUR_ACK(100)));
  /* [50, 150) overlaps delivered data and fills the gap. */
  feed(h, MS(230), SEG(.flags = ACK, PEERS(50, 100)));
  expect(h, MS(230), SEG(.flags = ACK, OUR_ACK(300)));
  /* A pure duplicate. */
  feed(h, MS(240), SEG(.flags = ACK, PEERS(0, 100)));
  expect(h, MS(240), SEG(.flags = ACK, OUR_ACK(300)));
  /* [250, 350) overlapping RCV.NXT: 50 new octets. */
  feed(h, MS(250), SEG(.flags = PSH | ACK, PEERS(250, 100)));
  expect(h, MS(250), SEG(.flags = ACK, OUR_ACK(350)));
  assert_recv_stream(h, c, MS(300), 350);
  assert_int_equal(tcplab_conn_stats(c)->bytes_received, 350);
}

/* The peer's segment with one payload bit flipped after its checksum was
 * computed, fed at t: it must be counted and dropped. */
static void feed_corrupt(struct harness *h, tcplab_time_t t, uint32_t off,
                         uint32_t n) {
  struct tcplab_segment seg = {.sport = REMOTE_PORT,
                               .dport = LOCAL_PORT,
                               .flags = ACK,
                               .wnd = DEFAULT_WND,
                               PEERS(off, n)};
  uint8_t buf[TCPLAB_HEADER_MIN + 2048];
  size_t len =
      tcplab_segment_encode(&seg, REMOTE_ADDR, LOCAL_ADDR, buf, sizeof buf);
  assert_int_equal(len, TCPLAB_HEADER_MIN + n);
  buf[TCPLAB_HEADER_MIN + n / 2] ^= 0x10;
  const struct tcplab_stack_stats *st = tcplab_stack_stats(h->stack);
  uint64_t bad = st->malformed[TCPLAB_MALFORMED_CHECKSUM];
  advance(h, t);
  assert_int_equal(
      tcplab_stack_input(h->stack, t, REMOTE_ADDR, LOCAL_ADDR, buf, len),
      TCPLAB_ERR_MALFORMED);
  assert_int_equal(st->malformed[TCPLAB_MALFORMED_CHECKSUM], bad + 1);
}

/* RFC 9293 3.1: a segment whose checksum fails is dropped. An in-order
 * payload is copied into the receive buffer while its checksum is summed
 * (once the buffer has storage, after the first data); a corrupt one
 * still leaves no trace: nothing is acknowledged or delivered, and the
 * good copies that follow, shorter, deliver the stream exactly. The same
 * holds with data held out of order, where a payload is summed before it
 * is stored. */
static void test_corrupt_segments_dropped(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, 600)));
  expect(h, MS(200), SEG(.flags = ACK, OUR_ACK(600)));
  feed_corrupt(h, MS(210), 600, 400);
  expect_nothing(h, MS(215));
  assert_int_equal(h->readable, 1);
  assert_int_equal(tcplab_conn_stats(c)->bytes_received, 600);
  feed(h, MS(220), SEG(.flags = ACK, PEERS(600, 300)));
  expect(h, MS(220), SEG(.flags = ACK, OUR_ACK(900)));
  /* Held out of order: [1000, 1100); then corrupt [900, 1000) and
   * [1100, 1150). */
  feed(h, MS(230), SEG(.flags = ACK, PEERS(1000, 100)));
  expect(h, MS(230), SEG(.flags = ACK, OUR_ACK(900)));
  feed_corrupt(h, MS(240), 900, 100);
  feed_corrupt(h, MS(241), 1100, 50);
  expect_nothing(h, MS(250));
  feed(h, MS(260), SEG(.flags = ACK, PEERS(900, 100)));
  expect(h, MS(260), SEG(.flags = ACK, OUR_ACK(1100)));
  assert_recv_stream(h, c, MS(300), 1100);
  assert_int_equal(tcplab_conn_stats(c)->bytes_received, 1100);
  assert_int_equal(
      tcplab_stack_stats(h->stack)->malformed[TCPLAB_MALFORMED_CHECKSUM], 3);
}

/* Reading everything while data is held out of order keeps what is held
 * (it sits in the receive buffer past the end of the data); once nothing
 * is held, an emptied buffer starts again at the front of its storage.
 * Either way the application reads the stream exactly. (The window's
 * right edge stays put: reads of less than an MSS do not move it, RFC
 * 9293 3.8.6.2.2.) */
static void test_read_while_data_held(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint8_t got[400];
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, 100)));
  expect(h, MS(200), SEG(.flags = ACK, OUR_ACK(100)));
  feed(h, MS(210), SEG(.flags = ACK, PEERS(200, 100)));
  expect(h, MS(210), SEG(.flags = ACK, OUR_ACK(100)));
  assert_int_equal(tcplab_conn_recv(c, MS(220), got, sizeof got), 100);
  assert_memory_equal(got, peer_stream, 100);
  feed(h, MS(230), SEG(.flags = ACK, PEERS(100, 100)));
  expect(h, MS(230), SEG(.flags = ACK, OUR_ACK(300)));
  assert_int_equal(tcplab_conn_recv(c, MS(240), got, sizeof got), 200);
  assert_memory_equal(got, peer_stream + 100, 200);
  feed(h, MS(250), SEG(.flags = ACK, PEERS(300, 100)));
  expect(h, MS(250), SEG(.flags = ACK, OUR_ACK(400)));
  assert_int_equal(tcplab_conn_recv(c, MS(260), got, sizeof got), 100);
  assert_memory_equal(got, peer_stream + 300, 100);
}

/* A FIN beyond a gap waits for the gap to fill, then takes effect. */
static void test_fin_after_gap(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = FIN | ACK, PEERS(100, 100)));
  expect(h, MS(200), SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT));
  assert_state(c, TCPLAB_ESTABLISHED);
  feed(h, MS(210), SEG(.flags = ACK, PEERS(0, 100)));
  expect(h, MS(210),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 201,
             .wnd = DEFAULT_WND - 200));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->peer_closed, 1);
  assert_recv_stream(h, c, MS(220), 200);
}

/* ---- Tests for the receive window (RFC 9293 3.8.6) ---- */

static struct tcplab_conn *established_rcv_buf(struct harness *h,
                                               uint32_t rcv_buf) {
  struct tcplab_config cfg = defaults();
  cfg.rcv_buf = rcv_buf;
  h_restart(h, &cfg);
  return fx_established(h);
}

/* Two full segments into a 4000-byte buffer nobody reads: the window
 * offered shrinks to 2540, then 1080. */
static void fill_two_segments(struct harness *h) {
  feed(h, MS(200), SEG(.flags = ACK, PEERS(0, MSS)));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + MSS, .wnd = 2540));
  feed(h, MS(201), SEG(.flags = ACK, PEERS(MSS, MSS)));
  expect(
      h, MS(201),
      SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 2 * MSS, .wnd = 1080));
}

/* And the last 1080: the window is shut. */
static void fill_4000(struct harness *h) {
  fill_two_segments(h);
  feed(h, MS(202), SEG(.flags = PSH | ACK, PEERS(2 * MSS, 1080)));
  expect(h, MS(202),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, WND_ZERO));
}

/* The window is the free buffer; it closes to zero as unread data fills
 * the buffer. Reading reopens it, but the edge moves only once it can
 * move by min(buffer/2, MSS) (receiver SWS avoidance, 3.8.6.2.2), and
 * then a window update is sent at once. */
static void test_receive_window_closes_and_reopens(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  fill_4000(h);
  /* A probe octet does not fit: acknowledged, not taken. */
  feed(h, MS(250), SEG(.flags = ACK, PEERS(4000, 1)));
  expect(h, MS(250),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, WND_ZERO));
  uint8_t buf[4000];
  advance(h, MS(300));
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf, 1000), 1000);
  expect_nothing(h, MS(300)); /* 1000 < min(2000, 1460) */
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf + 1000, 460), 460);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 1460));
  assert_int_equal(tcplab_conn_recv(c, MS(300), buf + 1460, 2540), 2540);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 4000));
  assert_memory_equal(buf, peer_stream, 4000);
  feed(h, MS(310), SEG(.flags = PSH | ACK, PEERS(4000, 100)));
  expect(h, MS(310),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4100, .wnd = 3900));
}

/* The same window, read in place: tcplab_conn_peek shows the bytes where
 * they lie and tcplab_conn_consume opens the window as tcplab_conn_recv
 * does, update for update. */
static void test_peek_and_consume(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  const void *data = c; /* overwritten with NULL when nothing is there */
  assert_int_equal(tcplab_conn_peek(c, 0, &data), 0);
  assert_null(data);
  fill_4000(h);
  advance(h, MS(300));
  assert_int_equal(tcplab_conn_peek(c, 0, &data), 4000);
  assert_memory_equal(data, peer_stream, 4000);
  assert_int_equal(tcplab_conn_peek(c, 3999, &data), 1);
  assert_memory_equal(data, peer_stream + 3999, 1);
  assert_int_equal(tcplab_conn_peek(c, 4000, &data), 0);
  assert_null(data);
  assert_int_equal(tcplab_conn_peek(c, 0, NULL), 0);
  /* Peeking takes nothing: the window stays shut. */
  assert_int_equal(tcplab_conn_readable(c), 4000);
  expect_nothing(h, MS(300));
  assert_int_equal(tcplab_conn_consume(c, MS(300), 0), 0);
  assert_int_equal(tcplab_conn_consume(c, MS(300), 1000), 1000);
  expect_nothing(h, MS(300)); /* 1000 < min(2000, 1460) */
  assert_int_equal(tcplab_conn_consume(c, MS(300), 460), 460);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 1460));
  assert_int_equal(tcplab_conn_peek(c, 0, &data), 2540);
  assert_memory_equal(data, peer_stream + 1460, 2540);
  /* More than is there is refused, and nothing is taken. */
  assert_int_equal(tcplab_conn_consume(c, MS(300), 2541), TCPLAB_ERR_INVAL);
  assert_int_equal(tcplab_conn_readable(c), 2540);
  expect_nothing(h, MS(300));
  assert_int_equal(tcplab_conn_consume(c, MS(300), 2540), 2540);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 4000));
  assert_int_equal(tcplab_conn_readable(c), 0);
}

/* The receive buffer is a ring: unread bytes that run past the end of its
 * storage are peeked in two pieces, the second at the front. */
static void test_peek_wrapped(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  uint8_t buf[2000];
  fill_two_segments(h);
  /* 2000 of 2920 read: the 920 left start 2000 bytes into the storage. */
  assert_int_equal(tcplab_conn_recv(c, MS(210), buf, 2000), 2000);
  expect(
      h, MS(210),
      SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 2 * MSS, .wnd = 3080));
  /* 1080 of the next 1460 fill the storage to its end, 380 wrap. */
  feed(h, MS(220), SEG(.flags = ACK, PEERS(2 * MSS, MSS)));
  expect(
      h, MS(220),
      SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 3 * MSS, .wnd = 1620));
  const void *first, *second;
  assert_int_equal(tcplab_conn_readable(c), 2380);
  assert_int_equal(tcplab_conn_peek(c, 0, &first), 2000);
  assert_memory_equal(first, peer_stream + 2000, 2000);
  assert_int_equal(tcplab_conn_peek(c, 2000, &second), 380);
  assert_memory_equal(second, peer_stream + 4000, 380);
  assert_ptr_equal((const uint8_t *)second + 4000,
                   (const uint8_t *)first + 2000);
  assert_int_equal(tcplab_conn_peek(c, 1000, &first), 1000);
  assert_memory_equal(first, peer_stream + 3000, 1000);
  assert_int_equal(tcplab_conn_consume(c, MS(230), 2380), 2380);
  expect(
      h, MS(230),
      SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 3 * MSS, .wnd = 4000));
  assert_int_equal(tcplab_conn_peek(c, 0, &first), 0);
}

/* 3.8.6.2.2 with a large buffer: 100 octets read do not move the edge,
 * so the next ACK offers the old edge (65435 - 1400 = 64035), not the
 * free space (64135). */
static void test_receiver_sws_holds_edge(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(200), SEG(.flags = PSH | ACK, PEERS(0, 100)));
  expect(h, MS(200), SEG(.flags = ACK, OUR_ACK(100)));
  assert_recv_stream(h, c, MS(210), 100);
  expect_nothing(h, MS(210));
  feed(h, MS(220), SEG(.flags = PSH | ACK, PEERS(100, 1400)));
  expect(
      h, MS(220),
      SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 1500, .wnd = 64035));
}

/* ---- Tests for the send window and zero-window probing ---- */

/* Our first 1000 octets leave at 100 ms; at 110 ms the peer acknowledges
 * them all and closes its window. */
static void window_closed_after_1000(struct harness *h, struct tcplab_conn *c) {
  send_stream(h, c, MS(100), 0, 1000);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(0, 1000)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
}

/* The peer's window closes with everything acknowledged and more data
 * waiting. RFC 9293 3.8.6.1: after one RTO (1 s) one octet of new data
 * probes the window; unanswered by an opening, the probe is repeated with
 * the interval doubling (RFC 1122 4.2.2.17); the window update resumes
 * the transfer with the octet the peer did not take. */
static void test_zero_window_probe_and_reopen(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  window_closed_after_1000(h, c);
  send_stream(h, c, MS(120), 1000, 500);
  expect_only_at(h, MS(1120), SEG(.flags = ACK, OUR(1000, 1)));
  feed(h, MS(1130), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
  expect_only_at(h, MS(3120), SEG(.flags = ACK, OUR(1000, 1)));
  feed(h, MS(3130), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(7120));
  expect_nothing(h, MS(5000));
  feed(h, MS(5000), SEG(.flags = ACK, ACKED(1000)));
  expect(h, MS(5000), SEG(.flags = PSH | ACK, OUR(1000, 500)));
  feed(h, MS(5010), SEG(.flags = ACK, ACKED(1500)));
  expect_nothing(h, S(60));
  assert_int_equal(tcplab_conn_stats(c)->zero_window_probes, 2);
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 0);
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 1500);
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* A peer that takes the probe octet but keeps the window closed is probed
 * with the next octet; the window update then resumes after it. */
static void test_zero_window_probe_taken(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  window_closed_after_1000(h, c);
  send_stream(h, c, MS(120), 1000, 500);
  expect_only_at(h, MS(1120), SEG(.flags = ACK, OUR(1000, 1)));
  feed(h, MS(1130), SEG(.flags = ACK, ACKED(1001), WND_ZERO));
  expect_only_at(h, MS(3120), SEG(.flags = ACK, OUR(1001, 1)));
  feed(h, MS(3130), SEG(.flags = ACK, ACKED(1002), WND_ZERO));
  feed(h, MS(4000), SEG(.flags = ACK, ACKED(1002)));
  expect(h, MS(4000), SEG(.flags = PSH | ACK, OUR(1002, 498)));
  feed(h, MS(4010), SEG(.flags = ACK, ACKED(1500)));
  expect_nothing(h, S(60));
  assert_int_equal(tcplab_conn_stats(c)->zero_window_probes, 2);
}

/* Probes a peer never answers count against the retry limit: with 3
 * retries, three probes (1, 2 and 4 s apart), then the connection gives
 * up one interval later, at 15.12 s. */
static void test_zero_window_silent_peer(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.retries = 3;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  window_closed_after_1000(h, c);
  send_stream(h, c, MS(120), 1000, 500);
  expect_only_at(h, MS(1120), SEG(.flags = ACK, OUR(1000, 1)));
  expect_only_at(h, MS(3120), SEG(.flags = ACK, OUR(1000, 1)));
  expect_only_at(h, MS(7120), SEG(.flags = ACK, OUR(1000, 1)));
  expect_nothing(h, MS(15120) - 1);
  assert_not_closed(h, id);
  expect_nothing(h, MS(15120));
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

/* RFC 9293 3.8.6.2.1: a usable window below both the MSS and half the
 * largest window the peer offered is not used at once (sender SWS
 * avoidance); when nothing is in flight the override timer sends what
 * fits after one RTO. */
static void test_sender_sws_override(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50), SEG(.flags = ACK, ACKED(0), .wnd = 1000));
  send_stream(h, c, MS(100), 0, 3000);
  expect_only_at(h, MS(1100), SEG(.flags = ACK, OUR(0, 1000)));
  feed(h, MS(1110), SEG(.flags = ACK, ACKED(1000)));
  expect(h, MS(1110), SEG(.flags = ACK, OUR(1000, MSS)));
  feed(h, MS(1120), SEG(.flags = ACK, ACKED(1000 + MSS)));
  expect(h, MS(1120), SEG(.flags = PSH | ACK, OUR(1000 + MSS, 540)));
}

/* RFC 9293 3.8.6: the peer shrinks its window to zero while data is
 * outstanding ("If the window shrinks to zero, the TCP implementation
 * MUST probe it in the standard way"). The retransmission timer resends
 * the oldest segment into the closed window, which probes it, with the
 * usual backoff; the reopened window lets the next timeout's segment in,
 * and the transfer completes. */
static void test_window_shrunk_to_zero(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 3 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(MSS, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(2 * MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(MSS), WND_ZERO));
  expect_only_at(h, MS(1110), SEG(.flags = ACK, OUR(MSS, MSS)));
  feed(h, MS(1120), SEG(.flags = ACK, ACKED(MSS), WND_ZERO));
  expect_only_at(h, MS(3110), SEG(.flags = ACK, OUR(MSS, MSS)));
  feed(h, MS(3120), SEG(.flags = ACK, ACKED(MSS), WND_ZERO));
  /* The window opens; one segment (cwnd after the timeout) is still
   * outstanding, so the next one waits for its ACK. */
  feed(h, MS(5000), SEG(.flags = ACK, ACKED(MSS)));
  expect_only_at(h, MS(7110), SEG(.flags = ACK, OUR(MSS, MSS)));
  feed(h, MS(7120), SEG(.flags = ACK, ACKED(2 * MSS)));
  expect(h, MS(7120), SEG(.flags = PSH | ACK, OUR(2 * MSS, MSS)));
  feed(h, MS(7130), SEG(.flags = ACK, ACKED(3 * MSS)));
  expect_nothing(h, S(100));
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 3);
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 3 * MSS);
}

/* The window shrinks below one segment (100 octets) with data
 * outstanding: too small to use under sender SWS avoidance, but the
 * timeout still resends the oldest segment, whole (RFC 9293 3.8.6: "The
 * sender MAY also retransmit old data beyond SND.UNA+SND.WND"), so the
 * connection keeps a timer and cannot stall. */
static void test_window_shrunk_below_one_segment(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 3 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = ACK, OUR(MSS, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(2 * MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(MSS), .wnd = 100));
  expect_only_at(h, MS(1110), SEG(.flags = ACK, OUR(MSS, MSS)));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(3110));
  feed(h, MS(1120), SEG(.flags = ACK, ACKED(2 * MSS)));
  expect(h, MS(1120), SEG(.flags = PSH | ACK, OUR(2 * MSS, MSS)));
}

/* RFC 1122 4.2.2.17: "As long as the receiving TCP continues to send
 * acknowledgments in response to the probe segments, the sending TCP
 * MUST allow the connection to stay open." With 3 retries allowed, six
 * answered probes of a shrunk window do not end the connection; when the
 * answers stop, the limit counts from the last one. */
static void test_window_shrunk_answered_keeps_open(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.retries = 3;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  send_stream(h, c, MS(100), 0, 2 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(MSS), WND_ZERO));
  tcplab_time_t t = MS(110), rto = S(1);
  for (int i = 0; i < 6; i++) {
    t += rto;
    expect_only_at(h, t, SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
    feed(h, t + MS(10), SEG(.flags = ACK, ACKED(MSS), WND_ZERO));
    rto *= 2;
  }
  assert_not_closed(h, id);
  for (int i = 0; i < 3; i++) {
    t += rto;
    expect_only_at(h, t, SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
    rto = rto * 2 > S(120) ? S(120) : rto * 2;
  }
  expect_nothing(h, t + rto - 1);
  assert_not_closed(h, id);
  expect_nothing(h, t + rto);
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
}

/* The probe takes the last octet the application wrote and the window
 * stays closed. Nothing waits, so nothing more is probed, and the idle
 * connection stays open however long the window stays closed (only
 * retransmissions may end a connection); data written once the window
 * opens goes at once. */
static void test_zero_window_last_octet_taken(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.retries = 3;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  window_closed_after_1000(h, c);
  send_stream(h, c, MS(120), 1000, 1);
  expect_only_at(h, MS(1120), SEG(.flags = ACK, OUR(1000, 1)));
  feed(h, MS(1130), SEG(.flags = ACK, ACKED(1001), WND_ZERO));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  expect_nothing(h, S(600));
  assert_not_closed(h, id);
  feed(h, S(600), SEG(.flags = ACK, ACKED(1001)));
  send_stream(h, c, S(601), 1001, 100);
  expect(h, S(601), SEG(.flags = PSH | ACK, OUR(1001, 100)));
  assert_int_equal(tcplab_conn_stats(c)->zero_window_probes, 1);
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 0);
}

/* The application closes while the peer's window is closed. The FIN
 * takes an octet of sequence space, so it waits as data would: after one
 * RTO it probes the window, again two seconds later while the peer
 * answers with a closed window, and it goes at once when the window
 * opens. It is never sent as a data octet. */
static void test_fin_waits_for_closed_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  window_closed_after_1000(h, c);
  assert_int_equal(tcplab_conn_close(c, MS(120)), TCPLAB_OK);
  assert_state(c, TCPLAB_FIN_WAIT_1);
  const struct tcplab_segment fin = {
      .flags = FIN | ACK, .seq = SND_NXT + 1000, .ack = RCV_NXT};
  expect_only_at(h, MS(1120), fin);
  feed(h, MS(1130), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
  expect_only_at(h, MS(3120), fin);
  feed(h, MS(3130), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
  expect_nothing(h, MS(4000));
  feed(h, MS(4000), SEG(.flags = ACK, ACKED(1000)));
  expect(h, MS(4000), fin);
  feed(h, MS(4010), SEG(.flags = ACK, ACKED(1001)));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  assert_int_equal(tcplab_conn_stats(c)->zero_window_probes, 2);
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 0);
}

/* The override timer is not put off by a peer that keeps talking: its
 * segments, each acknowledged at once, leave the window small, and the
 * override still sends what fits one second after the data began to
 * wait (RFC 9293 3.8.6.2.1: "in the range 0.1 - 1.0 seconds"). */
static void test_sender_sws_override_kept(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50), SEG(.flags = ACK, ACKED(0), .wnd = 1000));
  send_stream(h, c, MS(100), 0, 3000);
  feed(h, MS(500), SEG(.flags = PSH | ACK, PEERS(0, 1), .wnd = 1000));
  expect(h, MS(500), SEG(.flags = ACK, OUR_ACK(1)));
  feed(h, MS(900), SEG(.flags = PSH | ACK, PEERS(1, 1), .wnd = 1000));
  expect(h, MS(900), SEG(.flags = ACK, OUR_ACK(2)));
  expect_only_at(h, MS(1100),
                 SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 2,
                     .wnd = DEFAULT_WND - 2, .payload = our_stream,
                     .len = 1000));
}

/* A retransmission resends old data only. The override timer sent 1000
 * octets into a 1000-octet window; the timeout resends those 1000, not a
 * full segment running 460 octets of new data past the window (RFC 9293
 * 3.8.6: the sender "SHOULD NOT send new data" beyond it). */
static void test_retransmission_sends_no_new_data(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(50), SEG(.flags = ACK, ACKED(0), .wnd = 1000));
  send_stream(h, c, MS(100), 0, 3000);
  expect_only_at(h, MS(1100), SEG(.flags = ACK, OUR(0, 1000)));
  expect_only_at(h, MS(2100), SEG(.flags = ACK, OUR(0, 1000)));
}

/* Zero-window probes back off their own interval (1, 2, 4 s), not the
 * RTO: once the window opens, the segment sent then is lost and the
 * timeout resends it one RTO (1 s) later, not 16 s. */
static void test_probes_leave_rto_alone(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  window_closed_after_1000(h, c);
  send_stream(h, c, MS(120), 1000, 500);
  tcplab_time_t at[] = {MS(1120), MS(3120), MS(7120)};
  for (int i = 0; i < 3; i++) {
    expect_only_at(h, at[i], SEG(.flags = ACK, OUR(1000, 1)));
    feed(h, at[i] + MS(10), SEG(.flags = ACK, ACKED(1000), WND_ZERO));
  }
  feed(h, MS(8000), SEG(.flags = ACK, ACKED(1000)));
  expect(h, MS(8000), SEG(.flags = PSH | ACK, OUR(1000, 500)));
  expect_only_at(h, MS(9000), SEG(.flags = PSH | ACK, OUR(1000, 500)));
  assert_int_equal(tcplab_conn_stats(c)->zero_window_probes, 3);
  assert_int_equal(tcplab_conn_stats(c)->timeouts, 1);
}

/* An ACK older than SND.UNA carries an older window: RFC 9293 3.10.7.4
 * updates the window only "If SND.UNA =< SEG.ACK =< SND.NXT". The peer
 * resends its first 100 octets acknowledging all our data with its window
 * closed; its older segment, overtaken on the way, arrives next with a
 * window of 1460 and must not open it: our next 500 octets wait for the
 * probe. */
static void test_old_ack_window_ignored(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 2 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
  feed(h, MS(200),
       SEG(.flags = PSH | ACK, PEERS_ACKING(0, 100, 2 * MSS), WND_ZERO));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS, .ack = RCV_NXT + 100,
             .wnd = DEFAULT_WND - 100));
  send_stream(h, c, MS(210), 2 * MSS, 500);
  feed(h, MS(220),
       SEG(.flags = PSH | ACK, PEERS_ACKING(100, 100, MSS), .wnd = MSS));
  expect(h, MS(220),
         SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS, .ack = RCV_NXT + 200,
             .wnd = DEFAULT_WND - 200));
  expect_only_at(h, MS(1210),
                 SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS,
                     .ack = RCV_NXT + 200, .wnd = DEFAULT_WND - 200,
                     .payload = our_stream + 2 * MSS, .len = 1));
}

/* The peer's data fills the window to its edge and carries a FIN. The
 * FIN's octet lies past the edge and is not taken (3.10.7.4: trim "any
 * portions that lie outside the window (including SYN and FIN)"); the
 * data is. Once the application reads, the FIN sent again is taken. */
static void test_fin_past_window_edge_not_taken(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  fill_two_segments(h);
  feed(h, MS(202), SEG(.flags = FIN | PSH | ACK, PEERS(2 * MSS, 1080)));
  expect(h, MS(202),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, WND_ZERO));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(h->peer_closed, 0);
  assert_recv_stream(h, c, MS(300), 4000);
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 4000));
  feed(h, MS(400),
       SEG(.flags = FIN | ACK, .seq = RCV_NXT + 4000, .ack = SND_NXT));
  expect(h, MS(400),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4001, .wnd = 4000));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->peer_closed, 1);
}

/* A RST is judged by its sequence number alone, whatever data it
 * carries (3.10.7.4 second check: "If the RST bit is set and the
 * sequence number is outside the current receive window, silently
 * drop"). Two octets before RCV.NXT it is dropped without a challenge
 * ACK, though its data reaches into the window. */
static void test_rst_with_data_before_window_dropped(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(100),
       SEG(.flags = RST | ACK, .seq = RCV_NXT - 2, .ack = SND_NXT,
           DATA("hello")));
  expect_nothing(h, S(10));
  assert_state(c, TCPLAB_ESTABLISHED);
}

/* And exactly at RCV.NXT in a closed window it resets, data or not
 * (RFC 9293 3.10.7.4: "special allowance should be made to accept valid
 * ACKs, URGs, and RSTs"). */
static void test_rst_with_data_in_zero_window_resets(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  uint64_t id = tcplab_conn_id(c);
  fill_4000(h);
  feed(h, MS(300),
       SEG(.flags = RST | ACK, .seq = RCV_NXT + 4000, .ack = SND_NXT,
           DATA("hello")));
  expect_nothing(h, S(10));
  assert_closed(h, id, TCPLAB_ERR_RESET);
}

/* The receiver's silly-window threshold is min(RCV.BUFF / 2,
 * Eff.snd.MSS) (3.8.6.2.2). A peer without the MSS option sends 536
 * octets at most, so reading 600 of a full 4000-octet buffer opens the
 * window at once, where a threshold of our own 1460 would keep it shut
 * and the peer waiting. */
static void test_receiver_sws_peer_mss(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rcv_buf = 4000;
  h_restart(h, &cfg);
  fx_listen(h);
  feed(h, 0,
       SEG(.flags = SYN, .seq = REMOTE_ISS,
           .opt = {.present = TCPLAB_OPT_SACK_PERM}));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1,
             .wnd = 4000));
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0)));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  for (uint32_t off = 0; off + 536 < 4000; off += 536) {
    feed(h, MS(100), SEG(.flags = ACK, PEERS(off, 536)));
    expect(h, MS(100),
           SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + off + 536,
               .wnd = 4000 - off - 536));
  }
  feed(h, MS(100), SEG(.flags = PSH | ACK, PEERS(7 * 536, 4000 - 7 * 536)));
  expect(h, MS(100),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, WND_ZERO));
  uint8_t buf[600];
  advance(h, MS(200));
  assert_int_equal(tcplab_conn_recv(c, MS(200), buf, sizeof buf), 600);
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, .wnd = 600));
}

/* ---- Tests for window scaling (RFC 7323) ---- */

#define WSCALE_BUF (256u * 1024u) /* needs a shift of 3 */

static struct tcplab_config wscale_config(void) {
  struct tcplab_config cfg = defaults();
  cfg.window_scale = true;
  cfg.rcv_buf = WSCALE_BUF;
  return cfg;
}

/* Both SYNs carry the option (1.3, 2.2); the SYN|ACK's own window is not
 * scaled (2.2: 65535, the most the field holds); afterwards our window
 * fields are the free space >> 3 and the peer's are taken << 7. */
/* A passive open whose SYN offers the peer's window shift; our SYN|ACK
 * answers with ours, 3; the handshake's ACK offers wnd. */
static struct tcplab_conn *passive_open_wscale(struct harness *h,
                                               const struct tcplab_config *cfg,
                                               uint8_t peer_shift,
                                               uint16_t wnd) {
  h_restart(h, cfg);
  fx_listen(h);
  feed(h, 0,
       SEG(.flags = SYN, .seq = REMOTE_ISS,
           .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE,
                   .mss = 1460,
                   .wscale = peer_shift}));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1,
             .wnd = 65535,
             .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE,
                     .mss = 1460,
                     .wscale = 3}));
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0), .wnd = wnd));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  return c;
}

static void test_wscale_negotiated(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = wscale_config();
  /* 80 << 7 = 10240 octets: seven full segments, and 20 octets that are
   * too few to send on their own. */
  struct tcplab_conn *c = passive_open_wscale(h, &cfg, 7, 80);
  send_stream(h, c, MS(100), 0, 30000);
  for (unsigned i = 0; i < 7; i++)
    expect(h, MS(100),
           SEG(.flags = ACK, OUR(i * MSS, MSS), .wnd = WSCALE_BUF >> 3));
  expect_nothing(h, MS(200));
  /* 1000 octets received: (262144 - 1000) >> 3 = 32643. */
  feed(h, MS(200),
       SEG(.flags = ACK, PEERS_ACKING(0, 1000, 7 * MSS), .wnd = 80));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT + 7 * MSS, .ack = RCV_NXT + 1000,
             .payload = our_stream + 7 * MSS, .len = MSS, .wnd = 32643));
  for (unsigned i = 8; i < 14; i++)
    expect(h, MS(200),
           SEG(.flags = ACK, .seq = SND_NXT + i * MSS, .ack = RCV_NXT + 1000,
               .payload = our_stream + i * MSS, .len = MSS, .wnd = 32643));
  expect_nothing(h, MS(300));
}

/* RFC 7323 2.3: "If a Window Scale option is received with a shift.cnt
 * value larger than 14, the TCP SHOULD log the error but MUST use 14
 * instead of the specified value." A shift of 15: a window field of 1 is
 * 1 << 14 = 16384 octets (not 32768): eleven full segments, and 324
 * octets too few to send alone. The stack counts the error. */
static void test_wscale_above_14_is_14(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = wscale_config();
  cfg.initial_window = 30; /* cwnd is not the limit */
  struct tcplab_conn *c = passive_open_wscale(h, &cfg, 15, 1);
  assert_int_equal(tcplab_stack_stats(h->stack)->wscale_clamped, 1);
  send_stream(h, c, MS(100), 0, 30000);
  for (unsigned i = 0; i < 11; i++)
    expect(h, MS(100),
           SEG(.flags = ACK, OUR(i * MSS, MSS), .wnd = WSCALE_BUF >> 3));
  expect_nothing(h, MS(200));
}

/* The peer's SYN has no window scale option: our SYN|ACK carries none
 * (1.3: "only if it received a Window Scale option in the <SYN>") and
 * neither side scales; the field saturates at 65535. */
static void test_wscale_not_negotiated(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = wscale_config();
  h_restart(h, &cfg);
  fx_listen(h);
  feed(h, 0, SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1,
             .wnd = 65535));
  /* 3000 octets, unscaled: two full segments. */
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0), .wnd = 3000));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  send_stream(h, c, MS(100), 0, 20000);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS), .wnd = 65535));
  expect(h, MS(100), SEG(.flags = ACK, OUR(MSS, MSS), .wnd = 65535));
  expect_nothing(h, MS(200));
  feed(h, MS(200),
       SEG(.flags = ACK, PEERS_ACKING(0, 1000, 2 * MSS), .wnd = 3000));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS, .ack = RCV_NXT + 1000,
             .payload = our_stream + 2 * MSS, .len = MSS, .wnd = 65535));
  expect(h, MS(200),
         SEG(.flags = ACK, .seq = SND_NXT + 3 * MSS, .ack = RCV_NXT + 1000,
             .payload = our_stream + 3 * MSS, .len = MSS, .wnd = 65535));
  expect_nothing(h, MS(300));
}

/* An active open offers scaling on its SYN (RFC 7323 1.3); the SYN|ACK
 * decides. Its own window is never scaled (2.2): 1000 octets; the ACK
 * that follows offers 1000 << 2 = 4000 octets when scaling is on, 1000
 * when it is off. */
static struct tcplab_conn *active_open_wscale(struct harness *h,
                                              bool answer_ws) {
  struct tcplab_config cfg = wscale_config();
  h_restart(h, &cfg);
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, h->local_addr,
                                        h->local_port, h->remote_addr,
                                        h->remote_port, &c),
                   TCPLAB_OK);
  expect(h, 0,
         SEG(.flags = SYN, .seq = LOCAL_ISS, .wnd = 65535,
             .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE,
                     .mss = 1460,
                     .wscale = 3}));
  struct tcplab_options answer = {.present = TCPLAB_OPT_MSS, .mss = 1460};
  if (answer_ws) {
    answer.present |= TCPLAB_OPT_WSCALE;
    answer.wscale = 2;
  }
  feed(h, T_HANDSHAKE,
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = SND_NXT, .wnd = 1000,
           .opt = answer));
  expect(h, T_HANDSHAKE,
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT,
             .wnd = answer_ws ? WSCALE_BUF >> 3 : 65535));
  feed(h, MS(20), SEG(.flags = ACK, ACKED(0), .wnd = 1000));
  return c;
}

static void test_wscale_active_open_negotiated(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = active_open_wscale(h, true);
  send_stream(h, c, MS(100), 0, 5000);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS), .wnd = WSCALE_BUF >> 3));
  expect(h, MS(100), SEG(.flags = ACK, OUR(MSS, MSS), .wnd = WSCALE_BUF >> 3));
  expect_nothing(h, MS(200));
}

static void test_wscale_active_open_refused(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = active_open_wscale(h, false);
  send_stream(h, c, MS(100), 0, 5000);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, 1000), .wnd = 65535));
  expect_nothing(h, MS(200));
}

/* The ACK that the test's peer reads: the only segment emitted since the
 * last one read, acknowledging `ack`. Returns its window field. */
static uint16_t take_ack_at(struct harness *h, uint32_t ack, const char *file,
                            int line) {
  if (h->out_len != h->out_head + 1) {
    print_error("expected one ACK, %zu segments were sent\n",
                h->out_len - h->out_head);
    _fail(file, line);
  }
  const struct tcplab_segment *seg = &h->out[h->out_head++]->seg;
  if (seg->flags != ACK || seg->ack != ack || seg->len != 0) {
    print_error("expected an ACK of %u, got flags %u ack %u len %zu\n",
                (unsigned)ack, (unsigned)seg->flags, (unsigned)seg->ack,
                seg->len);
    _fail(file, line);
  }
  return seg->wnd;
}
#define take_ack(h, ack) take_ack_at(h, ack, __FILE__, __LINE__)

/* With a scaled window a buffer that fills closes the window for real
 * (RFC 9293 3.8.6: the window is what the receiver "is currently prepared
 * to accept"): the field is rounded down, never offering space the
 * buffer lacks, so the peer sees zero and probes instead of sending into
 * a window that is not there. A peer that fills exactly the windows it is
 * offered (an odd first segment, then full ones) ends 3 octets short of
 * the 131072-octet buffer, 3 being too few to offer with a shift of 2;
 * its probe then gets a zero window. */
static void test_full_buffer_closes_scaled_window(void **state) {
  struct harness *h = *state;
  static uint8_t big[1u << 17];
  struct tcplab_config cfg;
  tcplab_config_default(&cfg); /* scaling on, 128 KiB: a shift of 2 */
  cfg.delayed_ack = 0;
  h_restart(h, &cfg);
  fx_listen(h);
  feed(h, 0,
       SEG(.flags = SYN, .seq = REMOTE_ISS,
           .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE,
                   .mss = 1460,
                   .wscale = 0}));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = RCV_NXT, .wnd = 65535,
             .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE,
                     .mss = 1460,
                     .wscale = 2}));
  feed(h, T_HANDSHAKE, SEG(.flags = ACK, ACKED(0)));
  uint32_t next = 0, edge = 65535;
  tcplab_time_t t = MS(100);
  while (next < edge) {
    uint32_t n = next == 0 ? 1001 : edge - next < MSS ? edge - next : MSS;
    feed(h, t,
         SEG(.flags = ACK, .seq = RCV_NXT + next, .ack = SND_NXT,
             .payload = big + next, .len = n));
    next += n;
    advance(h, t);
    edge = next + ((uint32_t)take_ack(h, RCV_NXT + next) << 2);
    t += MS(1);
  }
  assert_int_equal(next, sizeof big - 3);
  feed(h, t,
       SEG(.flags = ACK, .seq = RCV_NXT + next, .ack = SND_NXT,
           .payload = big + next, .len = 1));
  expect(h, t,
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + next, WND_ZERO));
}

/* ---- Tests for retransmission on timeout ---- */

/* A whole window lost. RFC 6298 5.4-5.6: the oldest segment goes again
 * at 1.1 s, then 2, 4, 8 s later; RFC 5681 3.1: ssthresh becomes
 * max(FlightSize/2, 2*SMSS) = 7300 on the first expiry and stays, cwnd is
 * one segment (the loss window). The first ACK then resumes slow start
 * from there, resending the rest (go-back-N); the RTO stays backed off
 * (16 s) since ACKs of retransmitted data give no sample (Karn). */
static void test_rto_backoff_and_loss_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  send_stream(h, c, MS(100), 0, IW);
  expect_full_segments(h, MS(100), 0, 9);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(9 * MSS, MSS)));
  expect_only_at(h, MS(1100), SEG(.flags = ACK, OUR(0, MSS)));
  assert_cwnd(c, MSS, IW / 2);
  expect_only_at(h, MS(3100), SEG(.flags = ACK, OUR(0, MSS)));
  expect_only_at(h, MS(7100), SEG(.flags = ACK, OUR(0, MSS)));
  expect_only_at(h, MS(15100), SEG(.flags = ACK, OUR(0, MSS)));
  assert_cwnd(c, MSS, IW / 2);
  assert_int_equal(count_events(h, id, TCPLAB_EV_TIMER_RETRANSMIT), 4);
  feed(h, MS(15110), SEG(.flags = ACK, ACKED(MSS)));
  assert_cwnd(c, 2 * MSS, IW / 2);
  expect(h, MS(15110), SEG(.flags = ACK, OUR(MSS, MSS)));
  expect(h, MS(15110), SEG(.flags = ACK, OUR(2 * MSS, MSS)));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(15110) + S(16));
  feed(h, MS(15120), SEG(.flags = ACK, ACKED(3 * MSS)));
  assert_cwnd(c, 3 * MSS, IW / 2);
  expect_full_segments(h, MS(15120), 3, 3);
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->timeouts, 4);
  assert_int_equal(st->retransmissions, 9);
  assert_int_equal(st->fast_retransmits, 0);
  /* Later expiries leave cwnd at one segment: no event for them. */
  assert_cwnd_events(h, id, {IW, SSTHRESH_INIT}, {MSS, IW / 2},
                     {2 * MSS, IW / 2}, {3 * MSS, IW / 2});
}

/* After the timeout our next new octet is still SND_NXT + 2*MSS: the
 * ACK of the peer's data must carry that (RFC 9293's SND.NXT, which a
 * retransmission does not move back), not the point resending started
 * from, or a peer holding both segments finds it unacceptable (3.10.7.4:
 * SEG.SEQ below RCV.NXT) and never reads its acknowledgment. */
static void test_ack_after_timeout_carries_highest_seq(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 2 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
  expect_only_at(h, MS(1100), SEG(.flags = ACK, OUR(0, MSS)));
  feed(h, MS(1200),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("x")));
  expect(h, MS(1200),
         SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS, .ack = RCV_NXT + 1,
             .wnd = DEFAULT_WND - 1));
  feed(h, MS(1210),
       SEG(.flags = ACK, .seq = RCV_NXT + 1, .ack = SND_NXT + 2 * MSS));
  expect_nothing(h, S(100));
  assert_int_equal(tcplab_conn_stats(c)->bytes_sent, 2 * MSS);
}

/* RFC 5681 equation (4) with a small flight: max(5/2, 2*SMSS) = 2920. */
static void test_rto_ssthresh_floor(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  send_str(c, MS(100), "hello");
  expect(
      h, MS(100),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  expect_only_at(
      h, MS(1100),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  assert_cwnd(c, MSS, 2 * MSS);
}

/* RFC 9293 3.8.3 (R2) with Linux's default of 15: after the fifteenth
 * retransmission, unanswered for one more RTO, the connection ends with
 * TCPLAB_ERR_TIMEDOUT, seen by the application and in the trace. The RTO
 * doubles from 1 s and stops at rto_max, 120 s (RFC 6298 5.5, 2.5). */
static void test_data_retry_limit(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  advance(h, MS(100));
  send_str(c, MS(100), "hello");
  expect(
      h, MS(100),
      SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
  tcplab_time_t t = MS(100), rto = S(1);
  for (int i = 0; i < 15; i++) {
    t += rto;
    expect_only_at(
        h, t,
        SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("hello")));
    rto = rto * 2 > S(120) ? S(120) : rto * 2;
  }
  assert_int_equal(t, MS(1087100));
  t += rto;
  expect_nothing(h, t - 1);
  assert_not_closed(h, id);
  expect_nothing(h, t);
  assert_closed(h, id, TCPLAB_ERR_TIMEDOUT);
  assert_transitions(h, id, {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV},
                     {TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV},
                     {TCPLAB_ESTABLISHED, TCPLAB_CLOSED, TCPLAB_EV_GAVE_UP});
  const struct tcplab_trace_event *ev = find_event(h, id, TCPLAB_EV_GAVE_UP);
  assert_non_null(ev);
  assert_int_equal(ev->now, MS(1207100));
  assert_int_equal(ev->error, TCPLAB_ERR_TIMEDOUT);
  assert_int_equal(count_events(h, id, TCPLAB_EV_TIMER_RETRANSMIT), 15);
  expect_nothing(h, S(3600));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_TIME_NEVER);
  assert_int_equal(tcplab_stack_stats(h->stack)->conns_active, 0);
}

/* ---- Tests for fast retransmit and recovery (RFC 5681, RFC 6582) ---- */

/* The first of ten segments is lost. The first two duplicate ACKs each
 * let one new segment out past cwnd, which does not change (limited
 * transmit, RFC 3042, as RFC 5681 3.2 asks). The third sends segment 0
 * again at once: ssthresh = FlightSize/2 = 7300, FlightSize leaving out
 * what limited transmit sent (step 2), and cwnd = ssthresh + 3*SMSS
 * (step 3); each further duplicate inflates cwnd by one SMSS (step 4),
 * letting new segments out from the eighth on. The ACK of everything
 * that was outstanding at the loss ends recovery: cwnd =
 * min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 3.2 step 3,
 * option 1), and congestion avoidance follows (SMSS*SMSS/cwnd per ACK). */
static void test_fast_retransmit(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  uint64_t id = tcplab_conn_id(c);
  send_stream(h, c, MS(100), 0, 20 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  /* Duplicates for segments 1..9, then for 10 and 11. */
  for (unsigned d = 1; d <= 11; d++) {
    feed(h, MS(110 + d), SEG(.flags = ACK, ACKED(0)));
    switch (d) {
    case 1:
    case 2:
      expect(h, MS(110 + d), SEG(.flags = ACK, OUR((9 + d) * MSS, MSS)));
      assert_cwnd(c, IW, SSTHRESH_INIT);
      break;
    case 3:
      expect(h, MS(113), SEG(.flags = ACK, OUR(0, MSS)));
      assert_cwnd(c, 7300 + 3 * MSS, 7300);
      break;
    case 4:
    case 5:
    case 6:
    case 7:
      /* Until cwnd passes the 12 segments in flight. */
      expect_nothing(h, MS(110 + d));
      assert_cwnd(c, 7300 + d * MSS, 7300);
      break;
    default:
      expect(h, MS(110 + d), SEG(.flags = ACK, OUR((d + 4) * MSS, MSS)));
      assert_cwnd(c, 7300 + d * MSS, 7300);
      break;
    }
  }
  /* Flight after the full ACK: segments 12..15, 5840 octets. */
  feed(h, MS(130), SEG(.flags = ACK, ACKED(12 * MSS)));
  assert_cwnd(c, 7300, 7300);
  expect(h, MS(130), SEG(.flags = ACK, OUR(16 * MSS, MSS)));
  feed(h, MS(140), SEG(.flags = ACK, ACKED(13 * MSS)));
  assert_cwnd(c, 7300 + MSS * MSS / 7300, 7300);
  expect(h, MS(140), SEG(.flags = ACK, OUR(17 * MSS, MSS)));
  expect_nothing(h, MS(150));
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->fast_retransmits, 1);
  assert_int_equal(st->retransmissions, 1);
  assert_int_equal(st->timeouts, 0);
  assert_int_equal(st->dup_acks, 11);
  /* One trace event per change, with the values: the handshake's, the
   * entry into recovery, eight inflations, the exit and one increase. */
  assert_cwnd_events(h, id, {IW, SSTHRESH_INIT}, {11680, 7300}, {13140, 7300},
                     {14600, 7300}, {16060, 7300}, {17520, 7300}, {18980, 7300},
                     {20440, 7300}, {21900, 7300}, {23360, 7300}, {7300, 7300},
                     {7300 + MSS * MSS / 7300, 7300});
}

/* RFC 3042's case: a window of three segments, the first lost. Only two
 * duplicate ACKs could come, and recovery would wait for the RTO (1 s);
 * the two new segments limited transmit lets out bring the third. */
static void test_limited_transmit_small_window(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.initial_window = 3;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 5 * MSS);
  expect_full_segments(h, MS(100), 0, 3);
  /* Segments 1 and 2 arrive: two duplicates, two new segments. */
  feed(h, MS(111), SEG(.flags = ACK, ACKED(0)));
  expect(h, MS(111), SEG(.flags = ACK, OUR(3 * MSS, MSS)));
  feed(h, MS(112), SEG(.flags = ACK, ACKED(0)));
  expect(h, MS(112), SEG(.flags = PSH | ACK, OUR(4 * MSS, MSS)));
  assert_cwnd(c, 3 * MSS, SSTHRESH_INIT);
  /* Segment 3 arrives: the third duplicate. ssthresh is half of the three
   * segments cwnd allowed (at least 2*SMSS), not of the five in flight. */
  feed(h, MS(123), SEG(.flags = ACK, ACKED(0)));
  expect(h, MS(123), SEG(.flags = ACK, OUR(0, MSS)));
  assert_cwnd(c, 2 * MSS + 3 * MSS, 2 * MSS);
  feed(h, MS(135), SEG(.flags = ACK, ACKED(5 * MSS)));
  expect_nothing(h, S(10));
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->fast_retransmits, 1);
  assert_int_equal(st->timeouts, 0);
}

/* RFC 6582 3.2 step 4: segments 0 and 3 of sixteen are lost. The ACK of
 * the fast retransmission covers only up to the second hole (a partial
 * ACK): that hole is sent again at once, cwnd is deflated by the 4380
 * octets acknowledged and one SMSS added back, and new data follows as
 * the deflated cwnd allows. The full ACK then ends recovery with
 * cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). One reduction of
 * ssthresh for both losses. */
static void test_partial_ack(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 16 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  /* Duplicates for segments 1 and 2 (limited transmit sends 10 and 11),
   * 4..9, then 10 and 11. */
  for (unsigned d = 1; d <= 10; d++) {
    feed(h, MS(110 + d), SEG(.flags = ACK, ACKED(0)));
    if (d <= 2)
      expect(h, MS(110 + d), SEG(.flags = ACK, OUR((9 + d) * MSS, MSS)));
    else if (d == 3)
      expect(h, MS(113), SEG(.flags = ACK, OUR(0, MSS)));
    else if (d >= 8)
      expect(h, MS(110 + d), SEG(.flags = ACK, OUR((d + 4) * MSS, MSS)));
    else
      expect_nothing(h, MS(110 + d));
  }
  assert_cwnd(c, 7300 + 10 * MSS, 7300); /* 21900 */
  /* Segment 0 arrives: the peer now holds 0..2 and 4..14. */
  feed(h, MS(125), SEG(.flags = ACK, ACKED(3 * MSS)));
  expect(h, MS(125), SEG(.flags = ACK, OUR(3 * MSS, MSS)));
  assert_cwnd(c, 21900 - 3 * MSS + MSS, 7300); /* 18980 */
  expect(h, MS(125), SEG(.flags = PSH | ACK, OUR(15 * MSS, MSS)));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(125) + S(1));
  /* Segments 12..14 arrive: duplicates of the partial ACK inflate. */
  for (unsigned d = 1; d <= 3; d++) {
    feed(h, MS(126 + d), SEG(.flags = ACK, ACKED(3 * MSS)));
    assert_cwnd(c, 18980 + d * MSS, 7300);
  }
  expect_nothing(h, MS(130));
  /* Segment 3 arrives: everything up to 14 is acknowledged, past
   * recover (the end of segment 11); segment 15 is still in flight. */
  feed(h, MS(135), SEG(.flags = ACK, ACKED(15 * MSS)));
  assert_cwnd(c, 2 * MSS, 7300);
  feed(h, MS(140), SEG(.flags = ACK, ACKED(16 * MSS)));
  expect_nothing(h, S(10));
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->fast_retransmits, 2);
  assert_int_equal(st->retransmissions, 2);
  assert_int_equal(st->timeouts, 0);
  assert_int_equal(st->bytes_sent, 16 * MSS);
}

/* RFC 6582 3.2 step 2 with section 4: after a timeout, recover is the
 * highest octet sent, so duplicate ACKs that do not cover it (late ones
 * from the lost window) do not start a fast retransmission of the
 * segment the timer has just resent. */
static void test_no_fast_retransmit_after_timeout(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 20 * MSS);
  expect_full_segments(h, MS(100), 0, 10);
  expect_only_at(h, MS(1100), SEG(.flags = ACK, OUR(0, MSS)));
  for (unsigned d = 1; d <= 4; d++)
    feed(h, MS(1100 + d), SEG(.flags = ACK, ACKED(0)));
  expect_nothing(h, MS(1200));
  assert_cwnd(c, MSS, IW / 2);
  assert_int_equal(tcplab_conn_stats(c)->fast_retransmits, 0);
  assert_int_equal(tcplab_conn_stats(c)->dup_acks, 4);
  /* The ACK of everything sent resumes slow start at one segment. */
  feed(h, MS(1210), SEG(.flags = ACK, ACKED(10 * MSS)));
  assert_cwnd(c, 2 * MSS, IW / 2);
  expect_full_segments(h, MS(1210), 10, 2);
}

/* Two segments overtaken by later ones make two duplicate ACKs, fewer
 * than the three RFC 5681 3.2 waits for: nothing is retransmitted and
 * cwnd keeps growing as in slow start. */
static void test_reordering_no_spurious_retransmit(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 4 * MSS);
  expect_full_segments(h, MS(100), 0, 3);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(3 * MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(0)));
  feed(h, MS(111), SEG(.flags = ACK, ACKED(0)));
  feed(h, MS(112), SEG(.flags = ACK, ACKED(3 * MSS)));
  feed(h, MS(113), SEG(.flags = ACK, ACKED(4 * MSS)));
  expect_nothing(h, S(10));
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->dup_acks, 2);
  assert_int_equal(st->fast_retransmits, 0);
  assert_int_equal(st->retransmissions, 0);
  assert_cwnd(c, IW + 2 * MSS, SSTHRESH_INIT);
}

/* RFC 5681 2: an ACK that changes the window is not a duplicate, nor is
 * one carrying data; neither counts towards fast retransmit. */
static void test_not_duplicate_acks(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 4 * MSS);
  expect_full_segments(h, MS(100), 0, 3);
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(3 * MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(0), .wnd = 60000));
  feed(h, MS(111), SEG(.flags = ACK, ACKED(0), .wnd = 60001));
  feed(h, MS(112), SEG(.flags = ACK, ACKED(0), .wnd = 60002));
  expect_nothing(h, MS(113));
  feed(h, MS(113),
       SEG(.flags = PSH | ACK, .seq = RCV_NXT, .ack = SND_NXT, DATA("x"),
           .wnd = 60002));
  expect(h, MS(113),
         SEG(.flags = ACK, .seq = SND_NXT + 4 * MSS, .ack = RCV_NXT + 1,
             .wnd = DEFAULT_WND - 1));
  feed(h, MS(114),
       SEG(.flags = ACK, .seq = RCV_NXT + 1, .ack = SND_NXT, .wnd = 60002));
  expect_nothing(h, MS(500));
  assert_int_equal(tcplab_conn_stats(c)->dup_acks, 1);
  assert_int_equal(tcplab_conn_stats(c)->fast_retransmits, 0);
}

/* ---- Tests for the RFC 6298 estimator ---- */

/* Known samples with rto_min lowered to 1 ms so RTO is seen unclamped:
 * the handshake's R = 10 ms gives SRTT 10, RTTVAR 5, RTO 30 ms (2.2);
 * R' = 20 ms gives RTTVAR 3/4*5 + 1/4*10 = 6.25, SRTT 7/8*10 + 1/8*20 =
 * 11.25, RTO 36.25 ms (2.3). The next segment times out at exactly that;
 * the backed-off 72.5 ms stays after the ACK of the retransmission
 * (Karn); R' = 10 ms then gives RTTVAR 5, SRTT 11.09375, RTO 31.09375 ms. */
static void test_rtt_estimator(void **state) {
  struct harness *h = *state;
  struct tcplab_config cfg = defaults();
  cfg.rto_min = MS(1);
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  assert_int_equal(tcplab_conn_stats(c)->srtt, MS(10));
  advance(h, MS(100));
  send_str(c, MS(100), "a");
  expect(h, MS(100),
         SEG(.flags = PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT, DATA("a")));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), MS(130));
  feed(h, MS(120), SEG(.flags = ACK, ACKED(1)));
  assert_int_equal(tcplab_conn_stats(c)->srtt, TCPLAB_US(11250));
  advance(h, MS(200));
  send_str(c, MS(200), "b");
  expect(
      h, MS(200),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
  expect_only_at(
      h, TCPLAB_US(236250),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT, DATA("b")));
  feed(h, MS(250), SEG(.flags = ACK, ACKED(2)));
  assert_int_equal(tcplab_conn_stats(c)->srtt, TCPLAB_US(11250));
  advance(h, MS(300));
  send_str(c, MS(300), "c");
  expect(
      h, MS(300),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 2, .ack = RCV_NXT, DATA("c")));
  assert_int_equal(tcplab_stack_next_expiry(h->stack), TCPLAB_US(372500));
  feed(h, MS(310), SEG(.flags = ACK, ACKED(3)));
  assert_int_equal(tcplab_conn_stats(c)->srtt, TCPLAB_NS(11093750));
  advance(h, MS(400));
  send_str(c, MS(400), "d");
  expect(
      h, MS(400),
      SEG(.flags = PSH | ACK, .seq = SND_NXT + 3, .ack = RCV_NXT, DATA("d")));
  assert_int_equal(tcplab_stack_next_expiry(h->stack),
                   MS(400) + TCPLAB_NS(31093750));
}

/* 5.7 on the passive side: our SYN|ACK timed out, so data starts with
 * RTO = 3 s; RFC 5681 3.1: and with a window of one segment. */
static void test_rto_three_seconds_after_synack_retransmission(void **state) {
  struct harness *h = *state;
  fx_syn_received(h);
  expect_only_at(
      h, S(1),
      SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  feed(h, MS(1010), SEG(.flags = ACK, ACKED(0)));
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &c), TCPLAB_OK);
  assert_cwnd(c, MSS, SSTHRESH_INIT);
  assert_int_equal(tcplab_conn_stats(c)->srtt, 0);
  send_stream(h, c, S(2), 0, 3000);
  expect(h, S(2), SEG(.flags = ACK, OUR(0, MSS)));
  expect_only_at(h, S(5), SEG(.flags = ACK, OUR(0, MSS)));
}

/* ---- Tests for urgent data (RFC 9293 3.8.5) ---- */

/* 3000 urgent octets: every segment before the urgent pointer carries URG
 * and the pointer as an offset from its own sequence number, to the octet
 * after the urgent data (MUST-62): 3000, 1540, 80. The 80-octet tail
 * leaves at once: urgent data does not wait for Nagle. Once the peer has
 * acknowledged the urgent data, segments no longer carry URG.
 *
 *   TCP A (us)                                             TCP B
 *   --> <SEQ=x+1><ACK=y+1><CTL=URG,ACK><UP=3000><DATA 1460>     -->
 *   --> <SEQ=x+1461><ACK=y+1><CTL=URG,ACK><UP=1540><DATA 1460>  -->
 *   --> <SEQ=x+2921><ACK=y+1><CTL=URG,PSH,ACK><UP=80><DATA 80>  -->
 *   <-- <SEQ=y+1><ACK=x+3001><CTL=ACK>                          <--
 *   --> <SEQ=x+3001><ACK=y+1><CTL=PSH,ACK><DATA 10>             --> */
static void test_urgent_sent(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_send_urgent(c, MS(100), our_stream, 3000), 3000);
  expect(h, MS(100), SEG(.flags = URG | ACK, OUR(0, MSS), .urp = 3000));
  expect(h, MS(100), SEG(.flags = URG | ACK, OUR(MSS, MSS), .urp = 1540));
  expect(h, MS(100),
         SEG(.flags = URG | PSH | ACK, OUR(2 * MSS, 80), .urp = 80));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(3000)));
  send_stream(h, c, MS(120), 3000, 10);
  expect(h, MS(120), SEG(.flags = PSH | ACK, OUR(3000, 10)));
  feed(h, MS(130), SEG(.flags = ACK, ACKED(3010)));
  expect_nothing(h, S(10));
}

/* Urgent data queued in SYN_SENT waits for ESTABLISHED (3.10.2) and then
 * leaves with URG. The FIN that follows starts at the pointer, so it
 * carries none; lost, both go again after the RTO in one segment, which
 * starts before the pointer and so carries URG and the same pointer. */
static void test_urgent_from_syn_sent_retransmitted(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_syn_sent(h);
  assert_int_equal(tcplab_conn_send_urgent(c, 0, "!", 1), 1);
  expect_nothing(h, MS(10));
  feed(h, MS(10),
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, MS(10),
         SEG(.flags = URG | PSH | ACK, .seq = SND_NXT, .ack = RCV_NXT,
             DATA("!"), .urp = 1));
  assert_int_equal(tcplab_conn_close(c, MS(10)), TCPLAB_OK);
  expect(h, MS(10),
         SEG(.flags = FIN | ACK, .seq = SND_NXT + 1, .ack = RCV_NXT));
  /* Both lost: after the RTO (1 s, RFC 6298 2.4)... */
  expect_only_at(h, MS(1010),
                 SEG(.flags = URG | FIN | PSH | ACK, .seq = SND_NXT,
                     .ack = RCV_NXT, DATA("!"), .urp = 1));
  /* ...and once they are acknowledged, urgent mode is over. */
  feed(h, MS(1020), SEG(.flags = ACK, ACKED(2)));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  expect_nothing(h, S(10));
}

/* A pointer further than the 16-bit field reaches is sent as 65535, the
 * furthest it can point; the exact one once it is in reach. */
static void test_urgent_pointer_past_field(void **state) {
  struct harness *h = *state;
  static uint8_t big[70000];
  struct tcplab_config cfg = defaults();
  cfg.snd_buf = sizeof big;
  h_restart(h, &cfg);
  struct tcplab_conn *c = fx_established(h);
  advance(h, MS(100));
  assert_int_equal(tcplab_conn_send_urgent(c, MS(100), big, sizeof big),
                   (int)sizeof big);
  for (uint32_t i = 0; i < 10; i++) { /* the initial window */
    uint32_t up = (uint32_t)sizeof big - i * MSS;
    expect(h, MS(100),
           SEG(.flags = URG | ACK, .seq = SND_NXT + i * MSS, .ack = RCV_NXT,
               .payload = big + i * MSS, .len = MSS,
               .urp = (uint16_t)(up > 65535 ? 65535 : up)));
  }
}

/* Receiving (3.10.7.4, sixth: RCV.UP <- max(RCV.UP, SEG.UP)): the
 * application is told when urgent data is new and each time the pointer
 * advances, not again for the same pointer (MUST-32), and can ask how
 * much urgent data is left to read (MUST-33). */
static void test_urgent_received(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  feed(h, MS(100), SEG(.flags = URG | PSH | ACK, PEERS(0, 100), .urp = 100));
  expect(h, MS(100), SEG(.flags = ACK, OUR_ACK(100)));
  assert_int_equal(h->urgent, 1);
  assert_int_equal(h->urgent_pending, 100);
  assert_int_equal(tcplab_conn_urgent(c), 100);
  uint8_t buf[200];
  advance(h, MS(110));
  assert_int_equal(tcplab_conn_recv(c, MS(110), buf, 60), 60);
  assert_int_equal(tcplab_conn_urgent(c), 40);
  /* The same pointer again (offset 0 from this segment): not told. */
  feed(h, MS(120), SEG(.flags = URG | PSH | ACK, PEERS(100, 50), .urp = 0));
  expect(h, MS(120), SEG(.flags = ACK, OUR_ACK(150)));
  assert_int_equal(h->urgent, 1);
  /* It advances: 200 from the stream's start, 140 from the reader. */
  feed(h, MS(130), SEG(.flags = URG | PSH | ACK, PEERS(150, 50), .urp = 50));
  expect(h, MS(130), SEG(.flags = ACK, OUR_ACK(200)));
  assert_int_equal(h->urgent, 2);
  assert_int_equal(h->urgent_pending, 140);
  assert_int_equal(tcplab_conn_recv(c, MS(140), buf, sizeof buf), 140);
  assert_int_equal(tcplab_conn_urgent(c), 0);
  assert_int_equal(memcmp(buf, peer_stream + 60, 140), 0);
}

/* RFC 9293 3.4: "A TCP receiver MUST process the RST and URG fields of all
 * incoming segments, even when the receive window is zero (MUST-66)." The
 * data of a segment at RCV.NXT in a closed window is not taken, its
 * urgent pointer is: 5 octets past the 4000 unread. */
static void test_urgent_in_zero_window(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = established_rcv_buf(h, 4000);
  fill_4000(h);
  feed(h, MS(300), SEG(.flags = URG | ACK, PEERS(4000, 5), .urp = 5));
  expect(h, MS(300),
         SEG(.flags = ACK, .seq = SND_NXT, .ack = RCV_NXT + 4000, WND_ZERO));
  assert_int_equal(h->urgent, 1);
  assert_int_equal(tcplab_conn_urgent(c), 4005);
}

/* ---- Tests for counters ---- */

static void test_counters(void **state) {
  struct harness *h = *state;
  struct tcplab_conn *c = fx_established(h);
  send_stream(h, c, MS(100), 0, 2 * MSS);
  expect(h, MS(100), SEG(.flags = ACK, OUR(0, MSS)));
  expect(h, MS(100), SEG(.flags = PSH | ACK, OUR(MSS, MSS)));
  feed(h, MS(110), SEG(.flags = ACK, ACKED(2 * MSS)));
  feed(h, MS(120), SEG(.flags = PSH | ACK, PEERS_ACKING(0, 300, 2 * MSS)));
  expect(h, MS(120),
         SEG(.flags = ACK, .seq = SND_NXT + 2 * MSS, .ack = RCV_NXT + 300,
             .wnd = DEFAULT_WND - 300));
  const struct tcplab_conn_stats *st = tcplab_conn_stats(c);
  assert_int_equal(st->segs_sent, 4);     /* SYN|ACK, 2 data, 1 ACK */
  assert_int_equal(st->segs_received, 4); /* SYN, ACK, ACK, data */
  assert_int_equal(st->bytes_sent, 2 * MSS);
  assert_int_equal(st->bytes_received, 300);
  assert_int_equal(st->srtt, MS(10));
}

static void fill_streams(void) {
  uint64_t x = 0x243f6a8885a308d3u;
  for (size_t i = 0; i < STREAM_LEN; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    our_stream[i] = (uint8_t)x;
    peer_stream[i] = (uint8_t)(x >> 32);
  }
}

int main(void) {
  fill_streams();
  const struct CMUnitTest tests[] = {
      TEST(test_segmented_by_peer_mss),
      TEST(test_default_mss_without_option),
      TEST(test_initial_window_ten_segments),
      TEST(test_initial_window_configured),
      TEST(test_initial_window_capped_at_14600),
      TEST(test_slow_start_two_segments_per_ack),
      TEST(test_slow_start_cumulative_ack),
      TEST(test_fin_acked_with_data_not_counted),
      TEST(test_fin_acked_alone_leaves_cwnd),
      TEST(test_restart_after_idle),
      TEST(test_no_restart_within_rto),
      TEST(test_restart_after_idle_off),
      TEST(test_nagle_holds_small_write),
      TEST(test_nagle_off),
      TEST(test_nagle_full_segment_not_held),
      TEST(test_delack_one_segment),
      TEST(test_delack_second_full_segment),
      TEST(test_delack_out_of_order_and_gap),
      TEST(test_delack_reply_piggybacks),
      TEST(test_delack_configured),
      TEST(test_out_of_order_held_and_delivered),
      TEST(test_duplicates_and_overlaps_trimmed),
      TEST(test_corrupt_segments_dropped),
      TEST(test_read_while_data_held),
      TEST(test_fin_after_gap),
      TEST(test_receive_window_closes_and_reopens),
      TEST(test_peek_and_consume),
      TEST(test_peek_wrapped),
      TEST(test_receiver_sws_holds_edge),
      TEST(test_zero_window_probe_and_reopen),
      TEST(test_zero_window_probe_taken),
      TEST(test_zero_window_silent_peer),
      TEST(test_sender_sws_override),
      TEST(test_window_shrunk_to_zero),
      TEST(test_window_shrunk_below_one_segment),
      TEST(test_window_shrunk_answered_keeps_open),
      TEST(test_zero_window_last_octet_taken),
      TEST(test_fin_waits_for_closed_window),
      TEST(test_sender_sws_override_kept),
      TEST(test_retransmission_sends_no_new_data),
      TEST(test_probes_leave_rto_alone),
      TEST(test_old_ack_window_ignored),
      TEST(test_fin_past_window_edge_not_taken),
      TEST(test_rst_with_data_before_window_dropped),
      TEST(test_rst_with_data_in_zero_window_resets),
      TEST(test_receiver_sws_peer_mss),
      TEST(test_wscale_negotiated),
      TEST(test_wscale_not_negotiated),
      TEST(test_wscale_above_14_is_14),
      TEST(test_urgent_sent),
      TEST(test_urgent_pointer_past_field),
      TEST(test_urgent_from_syn_sent_retransmitted),
      TEST(test_urgent_received),
      TEST(test_urgent_in_zero_window),
      TEST(test_wscale_active_open_negotiated),
      TEST(test_wscale_active_open_refused),
      TEST(test_full_buffer_closes_scaled_window),
      TEST(test_rto_backoff_and_loss_window),
      TEST(test_ack_after_timeout_carries_highest_seq),
      TEST(test_rto_ssthresh_floor),
      TEST(test_data_retry_limit),
      TEST(test_fast_retransmit),
      TEST(test_limited_transmit_small_window),
      TEST(test_partial_ack),
      TEST(test_no_fast_retransmit_after_timeout),
      TEST(test_reordering_no_spurious_retransmit),
      TEST(test_not_duplicate_acks),
      TEST(test_rtt_estimator),
      TEST(test_rto_three_seconds_after_synack_retransmission),
      TEST(test_counters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
