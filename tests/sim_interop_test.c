/* tcplab's TCP and ns-3's native TCP in one simulation (issue 4 point 2):
 * a tcplab client to a native server and a native client to a tcplab
 * server, at the same time: the handshakes complete, 1 MB arrives intact
 * each way, and both ends go through the full four-way close. */
#include "sim_util.h"

#define MEGABYTE (1024u * 1024u)

struct check {
  uint64_t offset[16]; /* per connection: bytes verified so far */
  int bad[16];
  int servers_closed;
};

static void on_data(void *u, tcplab_sim *sim, int conn, size_t n) {
  struct check *k = u;
  unsigned char buf[8192];
  int64_t got;
  size_t total = 0;
  while ((got = tcplab_sim_recv(sim, conn, buf, sizeof buf)) > 0) {
    for (int64_t i = 0; i < got; i++) {
      if (buf[i] != (k->offset[conn] + (uint64_t)i) % 251) {
        k->bad[conn]++;
      }
    }
    k->offset[conn] += (uint64_t)got;
    total += (size_t)got;
  }
  CHECK(total == n);
}

/* The server answers the client's FIN by closing: the passive close. It
 * closes a moment later, not inside the callback: there its FIN would
 * carry the ACK of the client's FIN, and this test wants the four-way
 * close, the ACK on its own. */
static void on_peer_closed(void *u, tcplab_sim *sim, int conn) {
  struct check *k = u;
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  if (ci.role == TCPLAB_ROLE_PASSIVE) {
    CHECK(ci.state == TCPLAB_CLOSE_WAIT);
    CHECK(tcplab_sim_close(sim, conn, tcplab_sim_now(sim) + TCPLAB_MS(1)) >= 0);
    k->servers_closed++;
  }
}

static void interop(bool native_defaults) {
  tcplab_sim *sim;
  OK(tcplab_sim_create(7, &sim));
  g_sim = sim;
  struct check k = {0};
  struct tcplab_sim_callbacks cb = {.data = on_data,
                                    .peer_closed = on_peer_closed};
  tcplab_sim_set_callbacks(sim, &cb, &k);
  /* Both TCPs with the same settings (MSS 1460, 128 KiB buffers, ...).
   * With ns-3's own defaults (536-byte segments) and both transfers at
   * once, ns-3 3.37's sender takes tcplab's window updates for duplicate
   * ACKs and then crashes sending a zero-length segment (asserts are off
   * in Debian's build); see ns3-adapter/README.md. */
  struct tcplab_config cfg;
  tcplab_config_default(&cfg);
  struct tcplab_sim_node_opts tl = {.tcp = TCPLAB_SIM_TCP_TCPLAB};
  struct tcplab_sim_node_opts ns = {.tcp = TCPLAB_SIM_TCP_NS3,
                                    .config = native_defaults ? NULL : &cfg};
  int a = tcplab_sim_node(sim, "tcplab", &tl);
  int b = tcplab_sim_node(sim, "native", &ns);
  OK(a);
  OK(b);
  /* A queue no burst overflows: ns-3 3.37's native sender can crash in
   * its own loss recovery (TcpRateLinux, with asserts compiled out), and
   * this test is about the two TCPs meeting, not about losses. */
  struct tcplab_sim_link_opts lo = {
      .rate_bps = 100000000, .delay = TCPLAB_MS(5), .queue_packets = 1000};
  OK(tcplab_sim_link(sim, a, b, &lo));
  OK(tcplab_sim_listen(sim, a, 80, 0));
  OK(tcplab_sim_listen(sim, b, 81, 0));
  /* tcplab -> native on 81, native -> tcplab on 80, overlapping. */
  int c1 = tcplab_sim_connect(sim, a, b, 81, TCPLAB_MS(10), 0);
  /* With ns-3's defaults, one transfer after the other. */
  tcplab_time_t t2 = native_defaults ? TCPLAB_S(5) : TCPLAB_MS(20);
  int c2 = tcplab_sim_connect(sim, b, a, 80, t2, 0);
  OK(c1);
  OK(c2);
  OK(tcplab_sim_send_generated(sim, c1, MEGABYTE, TCPLAB_MS(10)));
  OK(tcplab_sim_send_generated(sim, c2, MEGABYTE, t2));
  OK(tcplab_sim_close(sim, c1, TCPLAB_MS(10)));
  OK(tcplab_sim_close(sim, c2, t2));
  OK(tcplab_sim_run(sim, TCPLAB_TIME_NEVER));
  char dir[256]; /* for a failure's eyes */
  OK(tcplab_sim_write_csv(sim, out_dir(dir, sizeof dir, "interop")));
  assert_checks();
  assert_int_equal(k.servers_closed, 2);

  /* Find the servers' connections by their listeners. */
  int s1 = 0, s2 = 0;
  for (int id = 1; id <= tcplab_sim_conn_count(sim); id++) {
    struct tcplab_sim_conn_info ci;
    OK(tcplab_sim_conn_info(sim, id, &ci));
    if (!ci.is_listener && ci.role == TCPLAB_ROLE_PASSIVE) {
      if (ci.node == b) {
        s1 = id;
      } else {
        s2 = id;
      }
    }
  }
  assert_true(s1 > 0 && s2 > 0);

  const int clients[2] = {c1, c2}, servers[2] = {s1, s2};
  for (int i = 0; i < 2; i++) {
    struct tcplab_sim_conn_info c, s;
    OK(tcplab_sim_conn_info(sim, clients[i], &c));
    OK(tcplab_sim_conn_info(sim, servers[i], &s));
    assert_int_equal(c.native, i == 1);
    assert_int_equal(s.native, i == 0);
    assert_string_equal(c.flow, s.flow);
    assert_true(c.established != TCPLAB_TIME_NEVER);
    assert_true(s.established != TCPLAB_TIME_NEVER);
    assert_int_equal(k.offset[servers[i]], MEGABYTE);
    assert_int_equal(k.bad[servers[i]], 0);
    assert_int_equal(s.bytes_received, MEGABYTE);
    assert_int_equal(c.bytes_sent, MEGABYTE);
    assert_int_equal(c.error, 0);
    assert_int_equal(s.error, 0);
    assert_int_equal(c.state, TCPLAB_CLOSED);
    assert_int_equal(s.state, TCPLAB_CLOSED);
    char path[256];
    assert_string_equal(state_path(sim, clients[i], path, sizeof path),
                        "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>"
                        "TIME_WAIT>CLOSED");
    assert_string_equal(state_path(sim, servers[i], path, sizeof path),
                        "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>"
                        "CLOSED");
  }
  /* Every segment carried a checksum the receiver verified (what the
   * links dropped, they dropped for a full queue). */
  int64_t rows = tcplab_sim_rows(sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < rows; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(sim, i, &r));
    if (r.action == TCPLAB_SIM_DROPPED) {
      assert_string_equal(r.reason, "queue");
    }
  }
  struct tcplab_stack_stats st;
  OK(tcplab_sim_node_stats(sim, a, &st));
  assert_int_equal(st.malformed[TCPLAB_MALFORMED_CHECKSUM], 0);
  assert_int_equal(st.rst_sent, 0);
  assert_int_equal(tcplab_sim_node_stats(sim, b, &st), TCPLAB_SIM_ERR_STATE);
  OK(tcplab_sim_destroy(sim));
}

static void both_directions_same_settings(void **state) {
  (void)state;
  interop(false);
}

static void both_directions_ns3_defaults(void **state) {
  (void)state;
  interop(true);
}

/* ---------------------------------------- a close inside the callback */

static void close_now(void *u, tcplab_sim *sim, int conn) {
  (void)u;
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  if (ci.role == TCPLAB_ROLE_PASSIVE) {
    CHECK(tcplab_sim_close(sim, conn, TCPLAB_SIM_NOW) >= 0);
  }
}

/* The flags of the segments `from` sent on conn's flow at or after `at`,
 * as "FIN|ACK ACK". */
static const char *sent_after(tcplab_sim *sim, int conn, int from,
                              tcplab_time_t at, char *buf, size_t cap) {
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(sim, conn, &ci));
  buf[0] = '\0';
  int64_t n = tcplab_sim_rows(sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(sim, i, &r));
    if (r.action != TCPLAB_SIM_SENT || r.from_node != from || r.time < at ||
        strcmp(r.flow, ci.flow) != 0) {
      continue;
    }
    char flags[24];
    tcplab_flags_format(r.flags, flags, sizeof flags);
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? " " : "", flags);
  }
  return buf;
}

/* A server that closes inside peer_closed (TCPLAB_SIM_NOW): the close
 * reaches its TCP while the FIN is being handled. tcplab answers with one
 * FIN|ACK. ns-3's TCP, called the same way, also sends FIN|ACK, and then
 * the ACK it sends for every FIN once the application has been told. As
 * the client, ns-3's TCP takes FIN_WAIT_1 -> CLOSING -> TIME_WAIT in one
 * step on the FIN|ACK: it handles the FIN before the ACK. */
static void close_inside_peer_closed(void **state) {
  (void)state;
  tcplab_sim *sim;
  OK(tcplab_sim_create(11, &sim));
  g_sim = sim;
  struct tcplab_sim_callbacks cb = {.peer_closed = close_now};
  tcplab_sim_set_callbacks(sim, &cb, NULL);
  struct tcplab_sim_node_opts tl = {.tcp = TCPLAB_SIM_TCP_TCPLAB};
  struct tcplab_sim_node_opts ns = {.tcp = TCPLAB_SIM_TCP_NS3};
  int a = tcplab_sim_node(sim, "tcplab", &tl);
  int b = tcplab_sim_node(sim, "native", &ns);
  struct tcplab_sim_link_opts lo = {.rate_bps = 10000000,
                                    .delay = TCPLAB_MS(5)};
  OK(tcplab_sim_link(sim, a, b, &lo));
  OK(tcplab_sim_listen(sim, a, 80, 0));
  OK(tcplab_sim_listen(sim, b, 81, 0));
  /* tcplab -> native, then native -> tcplab; each FIN alone. */
  int c1 = tcplab_sim_connect(sim, a, b, 81, TCPLAB_MS(10), 0);
  int c2 = tcplab_sim_connect(sim, b, a, 80, TCPLAB_S(1), 0);
  OK(tcplab_sim_send_generated(sim, c1, 1000, TCPLAB_MS(10)));
  OK(tcplab_sim_send_generated(sim, c2, 1000, TCPLAB_S(1)));
  OK(tcplab_sim_close(sim, c1, TCPLAB_MS(500)));
  OK(tcplab_sim_close(sim, c2, TCPLAB_S(2)));
  OK(tcplab_sim_run(sim, TCPLAB_TIME_NEVER));
  assert_checks();

  char path[256], segs[256];
  /* The native server. */
  assert_string_equal(sent_after(sim, c1, b, TCPLAB_MS(500), segs, sizeof segs),
                      "FIN|ACK ACK");
  assert_string_equal(state_path(sim, c1, path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>"
                      "CLOSED");
  /* The tcplab server. */
  assert_string_equal(sent_after(sim, c2, a, TCPLAB_S(2), segs, sizeof segs),
                      "FIN|ACK");
  assert_string_equal(state_path(sim, c2, path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>"
                      "TIME_WAIT>CLOSED");
  for (int id = 1; id <= tcplab_sim_conn_count(sim); id++) {
    struct tcplab_sim_conn_info ci;
    OK(tcplab_sim_conn_info(sim, id, &ci));
    if (ci.is_listener || ci.role != TCPLAB_ROLE_PASSIVE) {
      continue;
    }
    assert_string_equal(state_path(sim, id, path, sizeof path),
                        "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>"
                        "CLOSED");
    /* Closed in the instant the FIN arrived. */
    assert_int_equal(
        transition_time(sim, id, TCPLAB_CLOSE_WAIT, TCPLAB_LAST_ACK),
        transition_time(sim, id, TCPLAB_ESTABLISHED, TCPLAB_CLOSE_WAIT));
    assert_int_equal(ci.error, 0);
  }
  OK(tcplab_sim_destroy(sim));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      SIM_TEST(both_directions_same_settings),
      SIM_TEST(both_directions_ns3_defaults),
      SIM_TEST(close_inside_peer_closed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
