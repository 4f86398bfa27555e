/* Exactness (issue 4 point 9): handshake latency to the nanosecond, one
 * initial RTO for a lost SYN, TIME_WAIT of exactly 2*MSL, and runs that
 * repeat byte for byte with the same seed. */
#include "sim_util.h"

/* The first segment row with this action, sender and exact flags. */
static struct tcplab_sim_segment_row
first_segment(tcplab_sim *sim, enum tcplab_sim_action a, int from, int flags) {
  int64_t n = tcplab_sim_rows(sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(sim, i, &r));
    if (r.action == a && r.from_node == from && r.flags == flags) {
      return r;
    }
  }
  fail_msg("no segment with flags %#x from node %d", flags, from);
  struct tcplab_sim_segment_row none = {0};
  return none;
}

/* Serialization of a frame (the IPv4 packet plus the 2-byte PPP header)
 * at rate bit/s, in nanoseconds; the rates used divide exactly. */
static tcplab_time_t serialization(uint32_t ip_len, uint64_t rate) {
  return (tcplab_time_t)(ip_len + 2) * 8u * 1000000000u / rate;
}

static void handshake_latency(uint64_t rate, tcplab_time_t delay,
                              bool drop_first_syn) {
  struct pair p =
      pair_new(1, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB, rate, delay);
  if (drop_first_syn) {
    struct tcplab_sim_match m = {.from = p.client,
                                 .flags = TCPLAB_SYN,
                                 .exact = true,
                                 .nth = 1,
                                 .len = -1};
    OK(tcplab_sim_link_drop(p.sim, p.link, &m));
  }
  OK(tcplab_sim_listen(p.sim, p.server, 80, 0));
  tcplab_time_t t0 = TCPLAB_MS(250);
  int c = tcplab_sim_connect(p.sim, p.client, p.server, 80, t0, 0);
  OK(tcplab_sim_run(p.sim, TCPLAB_S(10)));

  struct tcplab_sim_segment_row syn =
      first_segment(p.sim, TCPLAB_SIM_SENT, p.client, TCPLAB_SYN);
  struct tcplab_sim_segment_row synack =
      first_segment(p.sim, TCPLAB_SIM_SENT, p.server, TCPLAB_SYN | TCPLAB_ACK);
  assert_int_equal(syn.time, t0);
  tcplab_time_t expected = 2 * delay + serialization(syn.ip_len, rate) +
                           serialization(synack.ip_len, rate);
  struct tcplab_config cfg;
  tcplab_config_default(&cfg);
  if (drop_first_syn) {
    expected += cfg.rto_initial;
  }
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(p.sim, c, &ci));
  assert_int_equal(ci.open, t0);
  assert_int_equal(ci.handshake, expected);
  assert_int_equal(ci.established, t0 + expected);
  assert_int_equal(
      transition_time(p.sim, c, TCPLAB_SYN_SENT, TCPLAB_ESTABLISHED),
      t0 + expected);
  assert_int_equal(ci.syn_tx, drop_first_syn ? 2 : 1);
  assert_int_equal(ci.retransmissions, drop_first_syn ? 1 : 0);
  assert_int_equal(count_segments(p.sim, TCPLAB_SIM_DROPPED, p.client, -1),
                   drop_first_syn ? 1 : 0);
  /* The text form says the same, with 9 decimals. */
  char want[32];
  snprintf(want, sizeof want, "%u.%09u", (unsigned)(expected / 1000000000u),
           (unsigned)(expected % 1000000000u));
  assert_string_equal(tcplab_sim_cell(p.sim, TCPLAB_SIM_CONNECTIONS, 0, 8),
                      want);
  OK(tcplab_sim_destroy(p.sim));
}

static void handshake_is_2d_plus_serialization(void **state) {
  (void)state;
  handshake_latency(10000000, TCPLAB_MS(20), false);
  handshake_latency(1000000000, TCPLAB_US(1500), false);
  handshake_latency(8000000, TCPLAB_NS(123457), false);
}

static void lost_syn_costs_one_initial_rto(void **state) {
  (void)state;
  handshake_latency(10000000, TCPLAB_MS(20), true);
  handshake_latency(1000000000, TCPLAB_US(1500), true);
}

/* TIME_WAIT ends exactly 2*MSL after the final ACK left the active
 * closer, for tcplab and, with the same MSL, for ns-3's native TCP. */
static void time_wait_lasts_2msl(enum tcplab_sim_tcp kind, tcplab_time_t msl) {
  struct pair p;
  OK(tcplab_sim_create(9, &p.sim));
  g_sim = p.sim;
  struct tcplab_config cfg;
  tcplab_config_default(&cfg);
  cfg.msl = msl;
  struct tcplab_sim_node_opts o = {.tcp = kind, .config = &cfg};
  p.client = tcplab_sim_node(p.sim, "client", &o);
  p.server = tcplab_sim_node(p.sim, "server", NULL);
  struct tcplab_sim_link_opts lo = {.delay = TCPLAB_MS(7)};
  p.link = tcplab_sim_link(p.sim, p.client, p.server, &lo);
  OK(p.link);
  OK(tcplab_sim_listen(p.sim, p.server, 80, 0));
  int c = tcplab_sim_connect(p.sim, p.client, p.server, 80, 0, 0);
  OK(tcplab_sim_close(p.sim, c, TCPLAB_MS(100)));
  OK(tcplab_sim_run(p.sim, TCPLAB_MS(200)));
  OK(tcplab_sim_close(p.sim, c + 1, TCPLAB_MS(300)));
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));

  /* The client's last ACK answers the server's FIN. */
  tcplab_time_t final_ack = 0;
  int64_t n = tcplab_sim_rows(p.sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(p.sim, i, &r));
    if (r.action == TCPLAB_SIM_SENT && r.from_node == p.client &&
        r.flags == TCPLAB_ACK) {
      final_ack = r.time;
    }
  }
  tcplab_time_t tw =
      transition_time(p.sim, c, TCPLAB_FIN_WAIT_2, TCPLAB_TIME_WAIT);
  tcplab_time_t end =
      transition_time(p.sim, c, TCPLAB_TIME_WAIT, TCPLAB_CLOSED);
  assert_int_equal(final_ack, tw);
  assert_int_equal(end - final_ack, 2 * msl);
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(p.sim, c, &ci));
  assert_int_equal(ci.closed, end);
  assert_int_equal(ci.state, TCPLAB_CLOSED);
  assert_int_equal(ci.error, 0);
  OK(tcplab_sim_destroy(p.sim));
}

static void time_wait_tcplab(void **state) {
  (void)state;
  time_wait_lasts_2msl(TCPLAB_SIM_TCP_TCPLAB, TCPLAB_S(30));
  time_wait_lasts_2msl(TCPLAB_SIM_TCP_TCPLAB, TCPLAB_MS(1234));
}

static void time_wait_native_same_msl(void **state) {
  (void)state;
  time_wait_lasts_2msl(TCPLAB_SIM_TCP_NS3, TCPLAB_S(2));
}

/* ------------------------------------------------------- repeatability */

/* A lossy exchange; returns the client's ISN. */
static uint32_t lossy_run(uint64_t seed, const char *dir) {
  struct pair p = pair_new(seed, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB,
                           2000000, TCPLAB_MS(10));
  OK(tcplab_sim_link_loss(p.sim, p.link, -1, 0.05));
  OK(tcplab_sim_link_gilbert(p.sim, p.link, p.server, 0.05, 0.5, 0.2, 1));
  OK(tcplab_sim_listen(p.sim, p.server, 80, 0));
  for (int i = 0; i < 4; i++) {
    int c = tcplab_sim_connect(p.sim, p.client, p.server, 80,
                               TCPLAB_MS(100) * (tcplab_time_t)i, 0);
    OK(tcplab_sim_send_generated(p.sim, c, 20000, TCPLAB_SIM_NOW));
    OK(tcplab_sim_close(p.sim, c, TCPLAB_S(1)));
  }
  OK(tcplab_sim_run(p.sim, TCPLAB_S(120)));
  OK(tcplab_sim_write_csv(p.sim, dir));
  struct tcplab_sim_segment_row syn =
      first_segment(p.sim, TCPLAB_SIM_SENT, p.client, TCPLAB_SYN);
  assert_true(count_segments(p.sim, TCPLAB_SIM_DROPPED, -1, -1) > 0);
  OK(tcplab_sim_destroy(p.sim));
  return syn.seq;
}

static void same_seed_same_bytes(void **state) {
  (void)state;
  char da[256], db[256], dc[256];
  uint32_t a = lossy_run(42, out_dir(da, sizeof da, "exact/a"));
  uint32_t b = lossy_run(42, out_dir(db, sizeof db, "exact/b"));
  uint32_t c = lossy_run(43, out_dir(dc, sizeof dc, "exact/c"));
  assert_int_equal(a, b);
  assert_int_not_equal(a, c);
  static const char *const files[] = {"timeline.csv", "segments.csv",
                                      "connections.csv"};
  for (int i = 0; i < 3; i++) {
    char pa[320], pb[320], pc[320];
    snprintf(pa, sizeof pa, "%s/%s", da, files[i]);
    snprintf(pb, sizeof pb, "%s/%s", db, files[i]);
    snprintf(pc, sizeof pc, "%s/%s", dc, files[i]);
    size_t la = 0, lb = 0, lc = 0;
    char *ta = slurp(pa, &la), *tb = slurp(pb, &lb), *tc = slurp(pc, &lc);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_non_null(tc);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    assert_false(la == lc && memcmp(ta, tc, la) == 0);
    free(ta);
    free(tb);
    free(tc);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      SIM_TEST(handshake_is_2d_plus_serialization),
      SIM_TEST(lost_syn_costs_one_initial_rto),
      SIM_TEST(time_wait_tcplab),
      SIM_TEST(time_wait_native_same_msl),
      SIM_TEST(same_seed_same_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
