/*
 * Bulk transfers between two stacks over the in-memory link: megabytes
 * byte for byte under loss and reordering, goodput against a bottleneck's
 * bit rate in simulated time, NewReno's reaction to single and double
 * losses, and flow control when a receiver stops reading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pair.h"

#define MB  (1024u * 1024u)
#define MSS 1460u

/* Far beyond any retry limit running out: a run still busy then is stuck. */
#define RUN_LIMIT TCPLAB_S(4 * 3600)

static double wall_seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct pair_conn *server_of(struct pair *p) {
  for (size_t i = 0; i < pair_conn_count(p); i++)
    if (pair_conn_at(p, i)->host == PAIR_SERVER)
      return pair_conn_at(p, i);
  return NULL;
}

/* The client sends `up` bytes and closes once it has read `down` bytes;
 * the server closes on the client's FIN. */
static void bulk_config(struct pair_config *cfg, uint64_t seed, size_t up,
                        size_t down) {
  pair_config_default(cfg, seed);
  cfg->script.request = up;
  cfg->script.reply = down;
  cfg->script.client_close = true;
  cfg->script.server_close_on_fin = true;
}

/* Both stacks idle and empty, nothing leaked. Returns false with why. */
static bool stacks_empty(struct pair *p, char *why, size_t cap) {
  for (int h = 0; h < 2; h++) {
    struct tcplab_stack *s = pair_stack(p, h);
    if (tcplab_stack_next_expiry(s) != TCPLAB_TIME_NEVER ||
        tcplab_stack_stats(s)->conns_active != 0) {
      snprintf(why, cap, "%s stack: %" PRIu64 " connections, timer %s",
               h ? "server" : "client", tcplab_stack_stats(s)->conns_active,
               tcplab_stack_next_expiry(s) == TCPLAB_TIME_NEVER ? "off"
                                                                : "running");
      return false;
    }
  }
  size_t leaked = pair_destroy_stacks(p);
  if (leaked) {
    snprintf(why, cap, "%zu allocations leaked", leaked);
    return false;
  }
  return true;
}

/* ---- Tests for 1 MB each way under loss and reordering ---- */

struct sweep_totals {
  uint64_t segs, lost, reordered;
  uint64_t timeouts, fast_retransmits, retransmissions;
  unsigned server_reset_in_last_ack;
  tcplab_time_t longest;
};

/* The one ending besides a clean close that RFC 9293 allows here: the
 * client's final ACK was lost often enough that the server's FIN
 * retransmissions outlived the client's TIME-WAIT (2*MSL), so the FIN
 * met no connection and was answered by RST (3.10.7.1). All data had
 * been delivered by then. */
static bool server_end_ok(const struct pair_conn *s) {
  return s->error == TCPLAB_OK ||
         (s->error == TCPLAB_ERR_RESET && s->final_from == TCPLAB_LAST_ACK);
}

static bool run_bulk_seed(uint64_t seed, double loss, bool at_once, bool urgent,
                          struct sweep_totals *t, FILE *log, char *why,
                          size_t cap) {
  struct pair_config cfg;
  bulk_config(&cfg, seed, MB, MB);
  cfg.script.reply_at_once = at_once;
  cfg.script.urgent = urgent;
  for (int d = 0; d < 2; d++) {
    cfg.link[d].delay = TCPLAB_MS(10);
    cfg.link[d].jitter = TCPLAB_MS(2);
    cfg.link[d].loss = loss;
    /* What is tested here is delivery, not giving up (data_test has the
     * retry limit): at 20 % loss each way a retransmission fails with
     * probability 0.36, and among the ~150,000 timeouts of a sweep a run
     * of 16 failures, Linux's limit, is not far-fetched. */
    cfg.stack[d].retries = 40;
  }
  cfg.log = log;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  enum pair_run_result r = pair_run(p, RUN_LIMIT);
  struct pair_conn *c = pair_client(p), *s = server_of(p);
  bool ok = false;
  if (r != PAIR_IDLE) {
    snprintf(why, cap, "run %s at %.1f s",
             r == PAIR_STUCK ? "stuck" : "not idle", (double)pair_now(p) / 1e9);
  } else if (!c || !s || !c->closed || !s->closed) {
    snprintf(why, cap, "a connection is missing or still open");
  } else if (c->rx_len != MB || !pair_rx_matches(c) || s->rx_len != MB ||
             !pair_rx_matches(s)) {
    snprintf(why, cap, "data: client read %zu%s, server read %zu%s", c->rx_len,
             pair_rx_matches(c) ? "" : " (corrupt)", s->rx_len,
             pair_rx_matches(s) ? "" : " (corrupt)");
  } else if (urgent && (c->urgent_calls == 0 || s->urgent_calls == 0 ||
                        c->urgent_bad || s->urgent_bad)) {
    snprintf(why, cap, "urgent: client told %u times%s, server %u times%s",
             c->urgent_calls, c->urgent_bad ? " (wrongly)" : "",
             s->urgent_calls, s->urgent_bad ? " (wrongly)" : "");
  } else if (c->error != TCPLAB_OK || !server_end_ok(s)) {
    snprintf(why, cap, "client ended %s from %s, server %s from %s",
             tcplab_error_name(c->error), tcplab_state_name(c->final_from),
             tcplab_error_name(s->error), tcplab_state_name(s->final_from));
  } else {
    ok = stacks_empty(p, why, cap);
  }
  if (ok) {
    const struct pair_counters *n = pair_counters(p);
    t->segs += n->sent[0] + n->sent[1];
    t->lost += n->dropped[0] + n->dropped[1];
    t->reordered += n->reordered[0] + n->reordered[1];
    for (int i = 0; i < 2; i++) {
      const struct tcplab_conn_stats *st = i ? &s->stats : &c->stats;
      t->timeouts += st->timeouts;
      t->fast_retransmits += st->fast_retransmits;
      t->retransmissions += st->retransmissions;
    }
    if (s->error != TCPLAB_OK)
      t->server_reset_in_last_ack++;
    if (pair_now(p) > t->longest)
      t->longest = pair_now(p);
  }
  pair_free(p);
  return ok;
}

/* 1000 seeds, loss 0..20 % in both directions by seed, segments delayed
 * by 10..12 ms so bursts arrive reordered. Every run must end with both
 * byte streams intact, both connections closed as RFC 9293 allows, no
 * timer running and nothing leaked. A failing seed is run again with a
 * segment log. */
static void sweep(bool at_once, bool urgent) {
  struct sweep_totals t = {0};
  double t0 = wall_seconds();
  for (uint64_t seed = 0; seed < 1000; seed++) {
    double loss = (double)(seed % 21) / 100.0;
    char why[256];
    if (!run_bulk_seed(seed, loss, at_once, urgent, &t, NULL, why,
                       sizeof why)) {
      struct sweep_totals ignored = {0};
      char again[256];
      run_bulk_seed(seed, loss, at_once, urgent, &ignored, stderr, again,
                    sizeof again);
      fail_msg("seed %" PRIu64 " (loss %.2f): %s", seed, loss, why);
    }
  }
  double wall = wall_seconds() - t0;
  print_message("1000 runs of 1 MB each way%s%s, loss 0..20 %%: %.2f s wall, "
                "%" PRIu64 " segments (%" PRIu64 " lost, %" PRIu64
                " reordered), %" PRIu64 " RTOs, %" PRIu64
                " fast retransmits, %" PRIu64
                " retransmissions, longest %.1f s simulated, %u servers "
                "reset in LAST_ACK\n",
                at_once ? " at once" : ", one after the other",
                urgent ? ", all of it urgent" : "", wall, t.segs, t.lost,
                t.reordered, t.timeouts, t.fast_retransmits, t.retransmissions,
                (double)t.longest / 1e9, t.server_reset_in_last_ack);
  assert_true(t.reordered > 0);
  assert_true(t.fast_retransmits > 0);
  assert_true(t.timeouts > 0);
}

/* The client sends 1 MB, the server answers with 1 MB once it has read
 * it all, the client closes once it has read the answer. */
static void test_1mb_request_then_reply_1000_seeds(void **state) {
  (void)state;
  sweep(false, false);
}

/* The server starts its 1 MB as soon as it accepts, so both directions
 * flow at once, ACKs ride on data, and both ends can time out together:
 * then each end's ACKs must still be acceptable to the other (RFC 9293
 * 3.10.7.4), or they only answer each other's ACKs. */
static void test_1mb_both_ways_at_once_1000_seeds(void **state) {
  (void)state;
  sweep(true, false);
}

/* The same with every byte urgent (RFC 9293 3.8.5): each segment carries
 * URG and a pointer to the end of what is queued, through loss,
 * reordering and retransmission. Both streams must still arrive intact,
 * and each end must be told of urgent data, each time with the count
 * tcplab_conn_urgent() gives. */
static void test_1mb_urgent_both_ways_1000_seeds(void **state) {
  (void)state;
  sweep(true, true);
}

/* Loses the first data segment each side sends. */
static bool lose_first_data(struct pair *p, int from,
                            const struct tcplab_segment *seg, void *arg) {
  unsigned *seen = arg;
  (void)p;
  return seg->len > 0 && seen[from]++ == 0;
}

static void both_send_three_segments(struct pair *p, void *arg) {
  (void)arg;
  for (size_t i = 0; i < pair_conn_count(p); i++)
    assert_int_equal(pair_send_pattern(pair_conn_at(p, i), 3 * MSS), TCPLAB_OK);
}

/* The sweep's failure reduced to two lost segments: at 0.1 s each side
 * sends three segments and the first of each is lost. Two duplicate ACKs
 * do not start a fast retransmission, so both timers fire at 1.1 s and
 * each resend fills the other's only hole. Each side then acknowledges
 * everything; those ACKs must carry the highest sequence number sent
 * (RFC 9293 3.10.7.4), or each side finds the other's unacceptable and
 * they only answer each other's ACKs until both give up. */
static void test_both_ends_time_out_together(void **state) {
  (void)state;
  unsigned seen[2] = {0, 0};
  struct pair_config cfg;
  pair_config_default(&cfg, 1);
  cfg.hooks.drop = lose_first_data;
  cfg.hooks.arg = seen;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  assert_int_equal(pair_at(p, TCPLAB_MS(100), both_send_three_segments, NULL),
                   TCPLAB_OK);
  assert_int_equal(pair_run(p, RUN_LIMIT), PAIR_IDLE);
  assert_int_equal(pair_conn_count(p), 2);
  for (size_t i = 0; i < 2; i++) {
    struct pair_conn *pc = pair_conn_at(p, i);
    assert_non_null(pc->conn);
    assert_int_equal(pc->rx_len, 3 * MSS);
    assert_true(pair_rx_matches(pc));
    const struct tcplab_conn_stats *st = tcplab_conn_stats(pc->conn);
    assert_int_equal(st->bytes_sent, 3 * MSS);
    assert_int_equal(st->timeouts, 1);
  }
  /* Two segments to retransmit, then nothing but the ACKs of the data. */
  assert_true(pair_counters(p)->sent[0] + pair_counters(p)->sent[1] < 20);
  pair_free(p);
}

/* ---- Tests for goodput against a bottleneck ---- */

struct progress {
  size_t mark[2];      /* rx_len thresholds: start and end of the steady
                          part */
  tcplab_time_t at[2]; /* when the server's stream reached them */
  size_t rx_at[2];     /* the server's rx_len then */
};

static void note_progress(struct pair_conn *pc, size_t n, void *arg) {
  struct progress *g = arg;
  (void)n;
  if (pc->host != PAIR_SERVER)
    return;
  for (int i = 0; i < 2; i++) {
    if (g->at[i] == TCPLAB_TIME_NEVER && pc->rx_len >= g->mark[i]) {
      g->at[i] = pair_now(pc->pair);
      g->rx_at[i] = pc->rx_len;
    }
  }
}

/* A 10 Mbit/s bottleneck with 20 ms one-way delay (a bandwidth-delay
 * product of 25 KB each way, 50 KB per round trip) and a queue of 1000
 * segments that never fills: after slow start the sender keeps the link
 * busy, so application bytes arrive at the link rate less the headers
 * (1460 of every 1500 bytes with a 20-byte IPv4 header: 97.3 %). Measured
 * in simulated time between the 0.5 MB and 4 MB marks of the receiver's
 * stream, against the link model's own rate. */
static void test_goodput_reaches_bottleneck_rate(void **state) {
  (void)state;
  const uint64_t rate = 10000000;
  const size_t total = 4 * MB;
  struct progress g = {.mark = {MB / 2, total},
                       .at = {TCPLAB_TIME_NEVER, TCPLAB_TIME_NEVER}};
  struct pair_config cfg;
  bulk_config(&cfg, 1, total, 0);
  for (int d = 0; d < 2; d++) {
    cfg.link[d].delay = TCPLAB_MS(20);
    cfg.link[d].rate = rate;
    cfg.link[d].queue = 1000;
    cfg.link[d].overhead = 20;
  }
  cfg.hooks.data = note_progress;
  cfg.hooks.arg = &g;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  assert_int_equal(pair_run(p, RUN_LIMIT), PAIR_IDLE);
  struct pair_conn *c = pair_client(p), *s = server_of(p);
  assert_int_equal(s->rx_len, total);
  assert_true(pair_rx_matches(s));
  assert_int_equal(c->error, TCPLAB_OK);
  assert_int_equal(s->error, TCPLAB_OK);
  const struct pair_counters *n = pair_counters(p);
  assert_int_equal(n->queue_drops[0], 0);
  assert_int_equal(c->stats.retransmissions, 0);

  double secs = (double)(g.at[1] - g.at[0]) / 1e9;
  double goodput = (double)(g.rx_at[1] - g.rx_at[0]) * 8 / secs;
  double overall = (double)total * 8 / ((double)g.at[1] / 1e9);
  /* The most the model can carry: every 1500 wire bytes hold 1460 of
   * payload behind 20 bytes of TCP and 20 of IPv4 header. */
  double capacity = (double)rate * MSS / (MSS + 20 + 20);
  print_message("goodput %.3f Mbit/s = %.1f %% of the 10 Mbit/s link, "
                "%.1f %% of its payload capacity (%.1f %% over the whole "
                "transfer including slow start); queue peaked at %zu "
                "segments\n",
                goodput / 1e6, 100 * goodput / (double)rate,
                100 * goodput / capacity, 100 * overall / (double)rate,
                n->queue_max[0]);
  assert_true(goodput >= 0.95 * (double)rate);
  assert_true(goodput <= capacity * 1.001);
  pair_free(p);
}

/* A queue smaller than the bandwidth-delay product overflows whenever
 * slow start or congestion avoidance overshoots; NewReno recovers and
 * the transfer completes intact. */
static void test_droptail_bottleneck_completes(void **state) {
  (void)state;
  const uint64_t rate = 10000000;
  const size_t total = 4 * MB;
  struct progress g = {.mark = {MB / 2, total},
                       .at = {TCPLAB_TIME_NEVER, TCPLAB_TIME_NEVER}};
  struct pair_config cfg;
  bulk_config(&cfg, 2, total, 0);
  for (int d = 0; d < 2; d++) {
    cfg.link[d].delay = TCPLAB_MS(20);
    cfg.link[d].rate = rate;
    cfg.link[d].queue = 20;
    cfg.link[d].overhead = 20;
  }
  cfg.hooks.data = note_progress;
  cfg.hooks.arg = &g;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  assert_int_equal(pair_run(p, RUN_LIMIT), PAIR_IDLE);
  struct pair_conn *c = pair_client(p), *s = server_of(p);
  assert_int_equal(s->rx_len, total);
  assert_true(pair_rx_matches(s));
  assert_int_equal(c->error, TCPLAB_OK);
  assert_int_equal(s->error, TCPLAB_OK);
  const struct pair_counters *n = pair_counters(p);
  double secs = (double)(g.at[1] - g.at[0]) / 1e9;
  double goodput = (double)(g.rx_at[1] - g.rx_at[0]) * 8 / secs;
  print_message("drop-tail queue of 20: %" PRIu64 " queue drops, %" PRIu32
                " fast retransmits, %" PRIu32 " RTOs, goodput %.1f %% of "
                "the link\n",
                n->queue_drops[0], c->stats.fast_retransmits, c->stats.timeouts,
                100 * goodput / (double)rate);
  assert_true(n->queue_drops[0] > 0);
  assert_true(c->stats.fast_retransmits > 0);
  pair_free(p);
}

/* ---- Tests for NewReno between two stacks ---- */

struct dropper {
  uint32_t iss;   /* the client's, from its SYN */
  unsigned n;     /* how many of `at` to drop */
  unsigned at[2]; /* data segment indices (seq offset / MSS) */
  bool done[2];
};

/* Drops the first transmission of the client's data segments at the
 * given positions in the stream. */
static bool drop_listed(struct pair *p, int from,
                        const struct tcplab_segment *seg, void *arg) {
  struct dropper *d = arg;
  (void)p;
  if (from != PAIR_CLIENT)
    return false;
  if (seg->flags & TCPLAB_SYN) {
    d->iss = seg->seq;
    return false;
  }
  for (unsigned i = 0; i < d->n; i++) {
    if (!d->done[i] && seg->len > 0 &&
        seg->seq == d->iss + 1 + d->at[i] * MSS) {
      d->done[i] = true;
      return true;
    }
  }
  return false;
}

static struct pair_conn *one_way_with_drops(struct pair **out,
                                            struct dropper *d) {
  struct pair_config cfg;
  bulk_config(&cfg, 3, MB, 0);
  for (int dir = 0; dir < 2; dir++)
    cfg.link[dir].delay = TCPLAB_MS(20);
  cfg.hooks.drop = drop_listed;
  cfg.hooks.arg = d;
  assert_int_equal(pair_new(&cfg, out), TCPLAB_OK);
  assert_int_equal(pair_run(*out, RUN_LIMIT), PAIR_IDLE);
  struct pair_conn *c = pair_client(*out), *s = server_of(*out);
  for (unsigned i = 0; i < d->n; i++)
    assert_true(d->done[i]);
  assert_int_equal(s->rx_len, MB);
  assert_true(pair_rx_matches(s));
  assert_int_equal(c->error, TCPLAB_OK);
  return c;
}

/* RFC 5681 3.2: one segment lost deep in a large window is repaired by
 * exactly one fast retransmission; no timeout, nothing else resent. The
 * window was large: ssthresh = FlightSize / 2 is many segments. */
static void test_newreno_single_loss(void **state) {
  (void)state;
  struct dropper d = {.n = 1, .at = {300}};
  struct pair *p;
  struct pair_conn *c = one_way_with_drops(&p, &d);
  assert_int_equal(c->stats.fast_retransmits, 1);
  assert_int_equal(c->stats.retransmissions, 1);
  assert_int_equal(c->stats.timeouts, 0);
  assert_true(c->stats.dup_acks >= 3);
  assert_true(c->stats.ssthresh >= 20 * MSS);
  pair_free(p);
}

/* RFC 6582 3.2: two losses in one window are repaired in one recovery,
 * the second by the partial ACK; ssthresh is reduced once. */
static void test_newreno_two_losses_one_window(void **state) {
  (void)state;
  struct dropper one = {.n = 1, .at = {300}};
  struct pair *p1;
  struct pair_conn *c1 = one_way_with_drops(&p1, &one);
  uint32_t ssthresh_one = c1->stats.ssthresh;

  struct dropper two = {.n = 2, .at = {300, 305}};
  struct pair *p;
  struct pair_conn *c = one_way_with_drops(&p, &two);
  assert_int_equal(c->stats.fast_retransmits, 2);
  assert_int_equal(c->stats.retransmissions, 2);
  assert_int_equal(c->stats.timeouts, 0);
  assert_int_equal(c->stats.ssthresh, ssthresh_one);
  pair_free(p1);
  pair_free(p);
}

/* ---- Tests for flow control between two stacks ---- */

static void resume_server(struct pair *p, void *arg) {
  (void)arg;
  pair_resume_rx(server_of(p));
}

static void pause_server(struct pair_conn *pc, void *arg) {
  (void)arg;
  pair_pause_rx(pc);
}

/* Loses every segment the server sends at the instant its application
 * reads again: the window updates. */
static bool lose_window_updates(struct pair *p, int from,
                                const struct tcplab_segment *seg, void *arg) {
  unsigned *lost = arg;
  (void)seg;
  if (from == PAIR_SERVER && pair_now(p) == TCPLAB_S(30)) {
    (*lost)++;
    return true;
  }
  return false;
}

/* The server's application reads nothing for 30 s: its buffer fills, the
 * window closes and the client probes it (RFC 9293 3.8.6.1) with
 * backoff. The window updates sent when the application reads again are
 * lost; the next probe finds the window open and the transfer completes
 * intact ("the reopening of the window will be reliably reported"). Window
 * scaling is off, so the window the server offers is exactly its free
 * space. */
static void test_receiver_stops_reading(void **state) {
  (void)state;
  unsigned lost = 0;
  struct pair_config cfg;
  bulk_config(&cfg, 4, MB, 0);
  for (int h = 0; h < 2; h++)
    cfg.stack[h].window_scale = false;
  cfg.hooks.accepted = pause_server;
  cfg.hooks.drop = lose_window_updates;
  cfg.hooks.arg = &lost;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  assert_int_equal(pair_at(p, TCPLAB_S(30), resume_server, NULL), TCPLAB_OK);
  assert_int_equal(pair_run(p, RUN_LIMIT), PAIR_IDLE);
  struct pair_conn *c = pair_client(p), *s = server_of(p);
  assert_int_equal(s->rx_len, MB);
  assert_true(pair_rx_matches(s));
  assert_int_equal(c->error, TCPLAB_OK);
  assert_int_equal(s->error, TCPLAB_OK);
  assert_true(lost > 0);
  assert_true(c->stats.zero_window_probes >= 4);
  assert_int_equal(c->stats.timeouts, 0);
  assert_true(c->closed_at > TCPLAB_S(30));
  pair_free(p);
}

static void send_odd(struct pair_conn *pc, void *arg) {
  (void)arg;
  assert_int_equal(pair_send_pattern(pc, 1001), TCPLAB_OK);
}

static void send_bulk_and_close(struct pair *p, void *arg) {
  (void)arg;
  struct pair_conn *c = pair_client(p);
  assert_int_equal(pair_send_pattern(c, MB), TCPLAB_OK);
  assert_int_equal(pair_close(c), TCPLAB_OK);
}

static bool lose_updates_at_1800_s(struct pair *p, int from,
                                   const struct tcplab_segment *seg,
                                   void *arg) {
  unsigned *lost = arg;
  (void)seg;
  if (from == PAIR_SERVER && pair_now(p) == TCPLAB_S(1800)) {
    (*lost)++;
    return true;
  }
  return false;
}

static void resume_server_at_1800_s(struct pair *p, void *arg) {
  (void)arg;
  pair_resume_rx(server_of(p));
}

/* The same with default configurations, window scaling on (a shift of 2
 * for 128 KiB) and a first write of an odd size, for 30 minutes: the
 * full buffer must show a zero window, not a few octets of space that
 * are not there (RFC 9293 3.8.6), so that the client probes it, and the
 * client must keep probing for as long as the server answers (RFC 1122
 * 4.2.2.17) rather than give up after its retry limit. */
static void test_receiver_stops_reading_scaled_window(void **state) {
  (void)state;
  unsigned lost = 0;
  struct pair_config cfg;
  pair_config_default(&cfg, 4);
  cfg.script.server_close_on_fin = true;
  cfg.hooks.accepted = pause_server;
  cfg.hooks.connected = send_odd;
  cfg.hooks.drop = lose_updates_at_1800_s;
  cfg.hooks.arg = &lost;
  struct pair *p;
  assert_int_equal(pair_new(&cfg, &p), TCPLAB_OK);
  assert_int_equal(pair_at(p, TCPLAB_MS(500), send_bulk_and_close, NULL),
                   TCPLAB_OK);
  assert_int_equal(pair_at(p, TCPLAB_S(1800), resume_server_at_1800_s, NULL),
                   TCPLAB_OK);
  assert_int_equal(pair_run(p, RUN_LIMIT), PAIR_IDLE);
  struct pair_conn *c = pair_client(p), *s = server_of(p);
  assert_true(lost > 0);
  assert_int_equal(s->rx_len, 1001 + MB);
  assert_true(pair_rx_matches(s));
  assert_int_equal(c->error, TCPLAB_OK);
  assert_int_equal(s->error, TCPLAB_OK);
  assert_true(c->stats.zero_window_probes >= 10);
  pair_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_goodput_reaches_bottleneck_rate),
      cmocka_unit_test(test_droptail_bottleneck_completes),
      cmocka_unit_test(test_newreno_single_loss),
      cmocka_unit_test(test_newreno_two_losses_one_window),
      cmocka_unit_test(test_receiver_stops_reading),
      cmocka_unit_test(test_receiver_stops_reading_scaled_window),
      cmocka_unit_test(test_both_ends_time_out_together),
      cmocka_unit_test(test_1mb_request_then_reply_1000_seeds),
      cmocka_unit_test(test_1mb_both_ways_at_once_1000_seeds),
      cmocka_unit_test(test_1mb_urgent_both_ways_1000_seeds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
