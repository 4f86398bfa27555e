/* The sim C API: lifecycle, errors, application actions and callbacks,
 * trace rows and CSV files (issue 4 points 3, 5, 6 and 8). */
#include "sim_util.h"

/* ---------------------------------------------------------- lifecycle */

static void create_destroy_create(void **state) {
  (void)state;
  tcplab_sim *a = NULL, *b = NULL;
  OK(tcplab_sim_create(1, &a));
  g_sim = a;
  assert_non_null(a);
  /* ns-3 has one simulator per process: a second one is refused. */
  assert_int_equal(tcplab_sim_create(2, &b), TCPLAB_SIM_ERR_EXISTS);
  assert_null(b);
  assert_non_null(strstr(tcplab_sim_last_error(), "already exists"));
  OK(tcplab_sim_node(a, "n", NULL));
  OK(tcplab_sim_destroy(a));
  OK(tcplab_sim_create(2, &b));
  g_sim = b;
  /* Node ids and time start afresh. */
  assert_int_equal(tcplab_sim_node(b, "n", NULL), 0);
  assert_int_equal(tcplab_sim_now(b), 0);
  OK(tcplab_sim_destroy(b));
  assert_int_equal(tcplab_sim_destroy(NULL), TCPLAB_SIM_OK);
  assert_int_equal(tcplab_sim_create(1, NULL), TCPLAB_SIM_ERR_INVAL);
}

static void errors_are_returned_with_messages(void **state) {
  (void)state;
  tcplab_sim *sim;
  OK(tcplab_sim_create(1, &sim));
  g_sim = sim;
  assert_int_equal(tcplab_sim_node(sim, "", NULL), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_node(sim, NULL, NULL), TCPLAB_SIM_ERR_INVAL);
  int a = tcplab_sim_node(sim, "a", NULL);
  OK(a);
  assert_int_equal(tcplab_sim_node(sim, "a", NULL), TCPLAB_SIM_ERR_NAME);
  assert_non_null(strstr(tcplab_sim_last_error(), "'a'"));
  struct tcplab_config bad;
  tcplab_config_default(&bad);
  bad.mss = 0;
  struct tcplab_sim_node_opts o = {.config = &bad};
  assert_int_equal(tcplab_sim_node(sim, "b", &o), TCPLAB_SIM_ERR_INVAL);
  assert_non_null(strstr(tcplab_sim_last_error(), "mss"));
  o.config = NULL;
  o.tcp = 7;
  assert_int_equal(tcplab_sim_node(sim, "b", &o), TCPLAB_SIM_ERR_INVAL);
  int b = tcplab_sim_node(sim, "b", NULL);
  OK(b);
  int r = tcplab_sim_router(sim, "r");
  OK(r);
  assert_int_equal(tcplab_sim_node_find(sim, "b"), b);
  assert_int_equal(tcplab_sim_node_find(sim, "zz"), TCPLAB_SIM_ERR_NOTFOUND);
  assert_string_equal(tcplab_sim_node_name(sim, r), "r");
  assert_null(tcplab_sim_node_name(sim, 99));
  uint32_t addr;
  assert_int_equal(tcplab_sim_node_addr(sim, a, &addr), TCPLAB_SIM_ERR_STATE);

  assert_int_equal(tcplab_sim_link(sim, a, a, NULL), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_link(sim, a, 42, NULL), TCPLAB_SIM_ERR_NOTFOUND);
  struct tcplab_sim_link_opts lo = {.loss = 1.5};
  assert_int_equal(tcplab_sim_link(sim, a, b, &lo), TCPLAB_SIM_ERR_INVAL);
  assert_non_null(strstr(tcplab_sim_last_error(), "loss"));
  int l = tcplab_sim_link(sim, a, b, NULL);
  OK(l);
  assert_string_equal(tcplab_sim_link_name(sim, l), "a-b");
  OK(tcplab_sim_node_addr(sim, a, &addr));
  assert_int_equal(addr, 0x0a000001);
  OK(tcplab_sim_node_addr(sim, b, &addr));
  assert_int_equal(addr, 0x0a000002);
  /* A second link between the same nodes gets its own name. */
  int l2 = tcplab_sim_link(sim, a, b, NULL);
  OK(l2);
  assert_string_equal(tcplab_sim_link_name(sim, l2), "a-b#2");

  assert_int_equal(tcplab_sim_link_loss(sim, l, r, 0.1), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_link_loss(sim, 9, a, 0.1),
                   TCPLAB_SIM_ERR_NOTFOUND);
  assert_int_equal(tcplab_sim_link_gilbert(sim, l, a, 2, 0, 0, 1),
                   TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_listen(sim, r, 80, 0), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_listen(sim, a, 0, 0), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_connect(sim, a, b, 0, 0, 0),
                   TCPLAB_SIM_ERR_INVAL);
  OK(tcplab_sim_listen(sim, b, 80, 0));
  assert_int_equal(tcplab_sim_listen(sim, b, 80, 0), TCPLAB_SIM_ERR_STATE);
  struct tcplab_sim_conn_info ci;
  assert_int_equal(tcplab_sim_conn_info(sim, 77, &ci), TCPLAB_SIM_ERR_NOTFOUND);
  assert_int_equal(tcplab_sim_close(sim, 77, 0), TCPLAB_SIM_ERR_NOTFOUND);
  OK(tcplab_sim_run(sim, TCPLAB_S(1)));
  assert_int_equal(tcplab_sim_now(sim), TCPLAB_S(1));
  assert_int_equal(tcplab_sim_run(sim, TCPLAB_MS(500)), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_connect(sim, a, b, 80, TCPLAB_MS(1), 0),
                   TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_stop(sim), TCPLAB_SIM_ERR_STATE);
  assert_int_equal(tcplab_sim_write_csv(sim, ""), TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_write_csv(sim, "/proc/no/such/dir"),
                   TCPLAB_SIM_ERR_IO);

  static const int codes[] = {
      TCPLAB_SIM_OK,           TCPLAB_SIM_ERR_INVAL,    TCPLAB_SIM_ERR_EXISTS,
      TCPLAB_SIM_ERR_NOTFOUND, TCPLAB_SIM_ERR_STATE,    TCPLAB_SIM_ERR_NAME,
      TCPLAB_SIM_ERR_IO,       TCPLAB_SIM_ERR_INTERNAL, TCPLAB_ERR_RESET};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    assert_true(strlen(tcplab_sim_strerror(codes[i])) > 0);
  }
  OK(tcplab_sim_destroy(sim));
}

/* ------------------------------------------------- a whole connection */

struct log {
  int listener;
  int accepted, connected, peer_closed, ended, timers;
  int ended_conn[4], ended_error[4];
  char received[2][64];
  size_t received_len[2];
  int client_conn;
  bool close_in_accept;
  bool shutdown_in_accept;
  bool stop_in_timer;
  int destroy_rc, run_rc;
};

static void on_accept(void *u, tcplab_sim *sim, int listener, int conn) {
  struct log *g = u;
  CHECK(listener == g->listener);
  g->accepted++;
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  CHECK(ci.state == TCPLAB_ESTABLISHED);
  CHECK(ci.listener == listener);
  /* Callbacks may call the API, including ending the connection. */
  if (g->close_in_accept || g->shutdown_in_accept) {
    CHECK(tcplab_sim_send(sim, conn, "world", 5, TCPLAB_SIM_NOW) >= 0);
  }
  if (g->close_in_accept) {
    CHECK(tcplab_sim_close(sim, conn, TCPLAB_SIM_NOW) >= 0);
  }
  if (g->shutdown_in_accept) {
    CHECK(tcplab_sim_shutdown(sim, conn, TCPLAB_SIM_NOW) >= 0);
  }
}

static void on_connected(void *u, tcplab_sim *sim, int conn) {
  (void)sim;
  struct log *g = u;
  CHECK(conn == g->client_conn);
  g->connected++;
}

static void on_data(void *u, tcplab_sim *sim, int conn, size_t n) {
  struct log *g = u;
  int side = conn == g->client_conn ? 0 : 1;
  /* Keep the first 63 bytes, read and count the rest. */
  int64_t got =
      tcplab_sim_recv(sim, conn, g->received[side] + g->received_len[side],
                      63 - g->received_len[side]);
  g->received_len[side] += (size_t)got;
  char scratch[4096];
  int64_t more;
  while ((more = tcplab_sim_recv(sim, conn, scratch, sizeof scratch)) > 0) {
    got += more;
  }
  CHECK(got == (int64_t)n);
}

static void on_peer_closed(void *u, tcplab_sim *sim, int conn) {
  (void)sim;
  (void)conn;
  struct log *g = u;
  g->peer_closed++;
}

static void on_ended(void *u, tcplab_sim *sim, int conn, int error) {
  struct log *g = u;
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  CHECK(ci.state == TCPLAB_CLOSED);
  g->ended_conn[g->ended] = conn;
  g->ended_error[g->ended] = error;
  g->ended++;
}

static void on_timer(void *u, tcplab_sim *sim, void *arg) {
  struct log *g = u;
  CHECK(arg == g);
  g->timers++;
  g->destroy_rc = tcplab_sim_destroy(sim);
  g->run_rc = tcplab_sim_run(sim, TCPLAB_TIME_NEVER);
  if (g->stop_in_timer) {
    CHECK(tcplab_sim_stop(sim) >= 0);
  }
}

static const struct tcplab_sim_callbacks callbacks = {
    .accept = on_accept,
    .connected = on_connected,
    .data = on_data,
    .peer_closed = on_peer_closed,
    .ended = on_ended,
    .timer = on_timer,
};

/* The server answers "world" in its accept callback and closes there
 * (or, when the client's "hello" comes after the handshake, as from ns-3's
 * TCP, half-closes: a closed socket discards what still arrives). */
static void one_connection(enum tcplab_sim_tcp ckind,
                           enum tcplab_sim_tcp skind) {
  struct pair p = pair_new(1, ckind, skind, 10000000, TCPLAB_MS(20));
  struct log g = {.close_in_accept = ckind == TCPLAB_SIM_TCP_TCPLAB,
                  .shutdown_in_accept = ckind == TCPLAB_SIM_TCP_NS3};
  tcplab_sim_set_callbacks(p.sim, &callbacks, &g);
  g.listener = tcplab_sim_listen(p.sim, p.server, 80, 16);
  OK(g.listener);
  g.client_conn =
      tcplab_sim_connect(p.sim, p.client, p.server, 80, TCPLAB_S(1), 0);
  OK(g.client_conn);
  OK(tcplab_sim_send(p.sim, g.client_conn, "hello", 5, TCPLAB_S(1)));
  OK(tcplab_sim_close(p.sim, g.client_conn, TCPLAB_S(2)));
  OK(tcplab_sim_at(p.sim, TCPLAB_S(3), &g));
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));
  assert_checks();

  assert_int_equal(g.accepted, 1);
  assert_int_equal(g.connected, 1);
  assert_int_equal(g.peer_closed, 2);
  assert_int_equal(g.ended, 2);
  assert_int_equal(g.timers, 1);
  assert_int_equal(g.destroy_rc, TCPLAB_SIM_ERR_STATE);
  assert_int_equal(g.run_rc, TCPLAB_SIM_ERR_STATE);
  assert_int_equal(g.ended_error[0], 0);
  assert_int_equal(g.ended_error[1], 0);
  assert_memory_equal(g.received[0], "world", 5);
  /* The client's "hello" rides on the handshake's last segment, which the
   * core reports (accept) before the data: the server still gets it,
   * although it closes inside the accept callback. */
  assert_memory_equal(g.received[1], "hello", 5);
  assert_int_equal(g.received_len[0], 5);
  assert_int_equal(g.received_len[1], 5);

  int server_conn = g.client_conn + 1;
  char path[256];
  /* The server closed first (in accept): it is the active closer. */
  assert_string_equal(state_path(p.sim, g.client_conn, path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
  assert_string_equal(state_path(p.sim, server_conn, path, sizeof path),
                      "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>"
                      "FIN_WAIT_2>TIME_WAIT>CLOSED");
  assert_string_equal(state_path(p.sim, g.listener, path, sizeof path),
                      "CLOSED>LISTEN");

  struct tcplab_sim_conn_info c, s;
  OK(tcplab_sim_conn_info(p.sim, g.client_conn, &c));
  OK(tcplab_sim_conn_info(p.sim, server_conn, &s));
  assert_string_equal(c.flow, s.flow);
  assert_int_equal(c.role, TCPLAB_ROLE_ACTIVE);
  assert_int_equal(s.role, TCPLAB_ROLE_PASSIVE);
  assert_int_equal(c.local.addr, 0x0a000001);
  assert_int_equal(c.remote.addr, 0x0a000002);
  assert_int_equal(c.remote.port, 80);
  assert_int_equal(s.local.port, 80);
  assert_int_equal(s.remote.port, c.local.port);
  assert_int_equal(c.native, ckind == TCPLAB_SIM_TCP_NS3);
  assert_int_equal(c.open, TCPLAB_S(1));
  assert_true(c.established > c.open);
  assert_int_equal(c.handshake, c.established - c.open);
  assert_int_equal(c.close, TCPLAB_S(2));
  assert_int_equal(c.syn_tx, 1);
  assert_int_equal(s.syn_tx, 1);
  assert_int_equal(c.bytes_sent, 5);
  assert_int_equal(c.bytes_received, 5);
  assert_int_equal(s.bytes_sent, 5);
  assert_int_equal(s.bytes_received, 5);
  assert_int_equal(c.retransmissions, 0);
  assert_int_equal(c.error, 0);
  char flow[64];
  snprintf(flow, sizeof flow, "10.0.0.1:%u-10.0.0.2:80", c.local.port);
  assert_string_equal(c.flow, flow);

  /* Every timeline and segment row of the connection names that flow. */
  int64_t n = tcplab_sim_rows(p.sim, TCPLAB_SIM_SEGMENTS);
  assert_true(n >= 9);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(p.sim, i, &r));
    assert_string_equal(r.flow, flow);
    assert_int_equal(r.link, p.link);
  }
  OK(tcplab_sim_destroy(p.sim));
}

static void tcplab_to_tcplab(void **state) {
  (void)state;
  one_connection(TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB);
}

static void native_to_tcplab_small(void **state) {
  (void)state;
  one_connection(TCPLAB_SIM_TCP_NS3, TCPLAB_SIM_TCP_TCPLAB);
}

static void tcplab_to_native_small(void **state) {
  (void)state;
  one_connection(TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_NS3);
}

/* ------------------------------------------------------ run and stop */

static void run_until_and_stop(void **state) {
  (void)state;
  struct pair p = pair_new(3, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB,
                           10000000, TCPLAB_MS(5));
  struct log g = {.stop_in_timer = true, .close_in_accept = true};
  tcplab_sim_set_callbacks(p.sim, &callbacks, &g);
  g.listener = tcplab_sim_listen(p.sim, p.server, 80, 0);
  OK(g.listener);
  int c = tcplab_sim_connect(p.sim, p.client, p.server, 80, 0, 0);
  g.client_conn = c;
  OK(tcplab_sim_close(p.sim, c, TCPLAB_MS(100)));
  /* Until a time: now is that time afterwards, even with nothing to do. */
  OK(tcplab_sim_run(p.sim, TCPLAB_MS(50)));
  assert_int_equal(tcplab_sim_now(p.sim), TCPLAB_MS(50));
  uint64_t events = tcplab_sim_events(p.sim);
  assert_true(events > 0);
  /* A callback stops the run: TIME_WAIT is still pending then. */
  OK(tcplab_sim_at(p.sim, TCPLAB_S(1), &g));
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));
  assert_checks();
  assert_int_equal(tcplab_sim_now(p.sim), TCPLAB_S(1));
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(p.sim, c + 1, &ci));
  assert_int_equal(ci.state, TCPLAB_TIME_WAIT);
  /* The stop did not leave a stale stop behind: the next run goes on. */
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));
  assert_checks();
  OK(tcplab_sim_conn_info(p.sim, c, &ci));
  assert_int_equal(ci.state, TCPLAB_CLOSED);
  assert_true(tcplab_sim_now(p.sim) > TCPLAB_S(60));
  assert_true(tcplab_sim_events(p.sim) > events);
  OK(tcplab_sim_destroy(p.sim));
}

/* Listener close, abort with RST, shutdown (half-close) keeps receiving. */
static void shutdown_abort_and_listener_close(void **state) {
  (void)state;
  struct pair p = pair_new(4, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB,
                           10000000, TCPLAB_MS(5));
  struct log g = {0};
  tcplab_sim_set_callbacks(p.sim, &callbacks, &g);
  g.listener = tcplab_sim_listen(p.sim, p.server, 80, 0);
  OK(g.listener);
  g.client_conn = tcplab_sim_connect(p.sim, p.client, p.server, 80, 0, 0);
  int c = g.client_conn, s = c + 1;
  OK(tcplab_sim_shutdown(p.sim, c, TCPLAB_MS(100)));
  OK(tcplab_sim_run(p.sim, TCPLAB_MS(150)));
  /* The server still sends after the client's FIN: half-close. */
  OK(tcplab_sim_send_generated(p.sim, s, 3000, TCPLAB_MS(200)));
  OK(tcplab_sim_abort(p.sim, s, TCPLAB_MS(300)));
  OK(tcplab_sim_close(p.sim, g.listener, TCPLAB_MS(400)));
  assert_int_equal(tcplab_sim_abort(p.sim, g.listener, TCPLAB_MS(400)),
                   TCPLAB_SIM_ERR_INVAL);
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));
  assert_checks();
  assert_int_equal(g.received_len[0], 63); /* the buffer's size */
  struct tcplab_sim_conn_info ci, si;
  OK(tcplab_sim_conn_info(p.sim, c, &ci));
  OK(tcplab_sim_conn_info(p.sim, s, &si));
  assert_int_equal(ci.bytes_received, 3000);
  assert_int_equal(ci.error, TCPLAB_ERR_RESET);
  assert_int_equal(si.error, TCPLAB_ERR_ABORTED);
  assert_int_equal(ci.close, TCPLAB_MS(100));
  char path[256];
  assert_string_equal(state_path(p.sim, c, path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>"
                      "CLOSED");
  assert_string_equal(state_path(p.sim, s, path, sizeof path),
                      "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>CLOSED");
  assert_string_equal(state_path(p.sim, g.listener, path, sizeof path),
                      "CLOSED>LISTEN>CLOSED");
  /* The generated bytes are k % 251. */
  for (int k = 0; k < 63; k++) {
    assert_int_equal((unsigned char)g.received[0][k], k % 251);
  }
  assert_int_equal(
      count_segments(p.sim, TCPLAB_SIM_SENT, p.server,
                     TCPLAB_RST | TCPLAB_ACK) +
          count_segments(p.sim, TCPLAB_SIM_SENT, p.server, TCPLAB_RST),
      1);
  OK(tcplab_sim_destroy(p.sim));
}

/* --------------------------------------- actions inside callbacks */

/* Per listener port: what the server does on the client's FIN or data, and
 * the server connection's state right after its call. */
struct inside {
  int listener[3];
  enum tcplab_state after_close_now, after_close_at_now, after_abort_now;
  int abort_error;
};

static void inside_peer_closed(void *u, tcplab_sim *sim, int conn) {
  struct inside *g = u;
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  if (ci.listener == g->listener[0]) {
    /* No time: the close runs here, while the FIN is being handled. */
    CHECK(tcplab_sim_close(sim, conn, TCPLAB_SIM_NOW) >= 0);
    CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
    g->after_close_now = ci.state;
  } else if (ci.listener == g->listener[1]) {
    /* An explicit time, even this one: an event of its own. */
    CHECK(tcplab_sim_close(sim, conn, tcplab_sim_now(sim)) >= 0);
    CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
    g->after_close_at_now = ci.state;
  }
}

static void inside_data(void *u, tcplab_sim *sim, int conn, size_t n) {
  struct inside *g = u;
  char buf[64];
  CHECK(tcplab_sim_recv(sim, conn, buf, sizeof buf) == (int64_t)n);
  struct tcplab_sim_conn_info ci;
  CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
  if (ci.listener == g->listener[2]) {
    CHECK(tcplab_sim_abort(sim, conn, TCPLAB_SIM_NOW) >= 0);
    CHECK(tcplab_sim_conn_info(sim, conn, &ci) >= 0);
    g->after_abort_now = ci.state;
    g->abort_error = ci.error;
  }
}

/* The flags of the segments `from` sent on conn's flow from `at` on. */
static const char *flags_sent(tcplab_sim *sim, int conn, int from,
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

/* An action asked for now (TCPLAB_SIM_NOW) inside a callback takes effect
 * before the call returns; with an explicit time it waits for its event.
 * A close inside peer_closed therefore answers the FIN with one FIN|ACK,
 * and the client skips FIN_WAIT_2; a close "at now" sends the ACK first. */
static void actions_inside_callbacks(void **state) {
  (void)state;
  struct pair p = pair_new(6, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB,
                           10000000, TCPLAB_MS(5));
  struct inside g = {.after_close_now = TCPLAB_CLOSED,
                     .after_close_at_now = TCPLAB_CLOSED,
                     .after_abort_now = TCPLAB_ESTABLISHED};
  struct tcplab_sim_callbacks cb = {.data = inside_data,
                                    .peer_closed = inside_peer_closed};
  tcplab_sim_set_callbacks(p.sim, &cb, &g);
  int conns[3];
  for (int i = 0; i < 3; i++) {
    g.listener[i] = tcplab_sim_listen(p.sim, p.server, (uint16_t)(80 + i), 0);
    OK(g.listener[i]);
    conns[i] = tcplab_sim_connect(p.sim, p.client, p.server, (uint16_t)(80 + i),
                                  TCPLAB_S(i), 0);
    OK(conns[i]);
  }
  OK(tcplab_sim_close(p.sim, conns[0], TCPLAB_MS(100)));
  OK(tcplab_sim_close(p.sim, conns[1], TCPLAB_S(1) + TCPLAB_MS(100)));
  OK(tcplab_sim_send(p.sim, conns[2], "x", 1, TCPLAB_S(2) + TCPLAB_MS(100)));
  OK(tcplab_sim_run(p.sim, TCPLAB_TIME_NEVER));
  assert_checks();

  char path[256], segs[128];
  assert_int_equal(g.after_close_now, TCPLAB_LAST_ACK);
  assert_string_equal(
      flags_sent(p.sim, conns[0], p.server, TCPLAB_MS(100), segs, sizeof segs),
      "FIN|ACK");
  assert_string_equal(state_path(p.sim, conns[0], path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>"
                      "CLOSED");

  assert_int_equal(g.after_close_at_now, TCPLAB_CLOSE_WAIT);
  assert_string_equal(flags_sent(p.sim, conns[1], p.server,
                                 TCPLAB_S(1) + TCPLAB_MS(100), segs,
                                 sizeof segs),
                      "ACK FIN|ACK");
  assert_string_equal(state_path(p.sim, conns[1], path, sizeof path),
                      "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>"
                      "TIME_WAIT>CLOSED");

  /* The abort ended the connection before the data callback returned:
   * its RST is the server's only answer to the data. */
  assert_int_equal(g.after_abort_now, TCPLAB_CLOSED);
  assert_int_equal(g.abort_error, TCPLAB_ERR_ABORTED);
  assert_string_equal(flags_sent(p.sim, conns[2], p.server,
                                 TCPLAB_S(2) + TCPLAB_MS(100), segs,
                                 sizeof segs),
                      "RST|ACK");
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(p.sim, conns[2], &ci));
  assert_int_equal(ci.error, TCPLAB_ERR_RESET);
  OK(tcplab_sim_destroy(p.sim));
}

/* ------------------------------------------------ simultaneous open */

/* Two active opens from fixed ports meet (RFC 9293 figure 7). Each end's
 * ISN belongs to its side of the flow, not to its role (both are active):
 * every row's relative numbers count from the sender's and the receiver's
 * own SYN, on both ends. */
static void simultaneous_open_relative_numbers(void **state) {
  (void)state;
  struct pair p = pair_new(7, TCPLAB_SIM_TCP_TCPLAB, TCPLAB_SIM_TCP_TCPLAB,
                           10000000, TCPLAB_MS(20));
  int a =
      tcplab_sim_connect(p.sim, p.client, p.server, 5001, TCPLAB_S(1), 5000);
  int b =
      tcplab_sim_connect(p.sim, p.server, p.client, 5000, TCPLAB_S(1), 5001);
  OK(a);
  OK(b);
  OK(tcplab_sim_send(p.sim, a, "ab", 2, TCPLAB_S(2)));
  OK(tcplab_sim_send(p.sim, b, "xyz", 3, TCPLAB_S(2)));
  OK(tcplab_sim_run(p.sim, TCPLAB_S(3)));

  struct tcplab_sim_conn_info ai, bi;
  OK(tcplab_sim_conn_info(p.sim, a, &ai));
  OK(tcplab_sim_conn_info(p.sim, b, &bi));
  assert_string_equal(ai.flow, "10.0.0.1:5000-10.0.0.2:5001");
  assert_string_equal(bi.flow, ai.flow);
  assert_int_equal(ai.role, TCPLAB_ROLE_ACTIVE);
  assert_int_equal(bi.role, TCPLAB_ROLE_ACTIVE);
  char path[256];
  assert_string_equal(state_path(p.sim, a, path, sizeof path),
                      "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED");
  assert_string_equal(state_path(p.sim, b, path, sizeof path),
                      "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED");

  /* Each end's ISN is the seq of the SYN it sent. */
  uint32_t isn[2] = {0, 0};
  int64_t n = tcplab_sim_rows(p.sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(p.sim, i, &r));
    if (r.action == TCPLAB_SIM_SENT && r.flags == TCPLAB_SYN) {
      isn[r.from_node == p.client ? 0 : 1] = r.seq;
    }
  }
  assert_int_not_equal(isn[0], isn[1]);
  int rows = 0;
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(p.sim, i, &r));
    int from = r.from_node == p.client ? 0 : 1;
    assert_true(r.has_rel_seq);
    assert_int_equal(r.rel_seq, r.seq - isn[from]);
    assert_true(r.rel_seq <= 4);
    if (r.flags & TCPLAB_ACK) {
      assert_true(r.has_rel_ack);
      assert_int_equal(r.rel_ack, r.ack - isn[1 - from]);
      assert_true(r.rel_ack >= 1 && r.rel_ack <= 4);
    }
    rows++;
  }
  assert_true(rows >= 8);
  /* The timeline says the same on both ends. */
  int64_t t = tcplab_sim_rows(p.sim, TCPLAB_SIM_TIMELINE);
  for (int64_t i = 0; i < t; i++) {
    struct tcplab_sim_timeline_row r;
    OK(tcplab_sim_timeline_row(p.sim, i, &r));
    if (r.has_rel_seq) {
      assert_true(r.rel_seq <= 1);
    }
    if (r.has_rel_ack) {
      assert_int_equal(r.rel_ack, 1);
    }
  }
  OK(tcplab_sim_destroy(p.sim));
}

/* -------------------------------------------------------------- CSV */

static void csv_files(void **state) {
  (void)state;
  tcplab_sim *sim;
  OK(tcplab_sim_create(5, &sim));
  g_sim = sim;
  /* A name that needs RFC 4180 quoting. */
  int a = tcplab_sim_node(sim, "client, \"one\"", NULL);
  int b = tcplab_sim_node(sim, "server", NULL);
  struct tcplab_sim_link_opts lo = {.delay = TCPLAB_US(1500), .name = "L"};
  OK(tcplab_sim_link(sim, a, b, &lo));
  OK(tcplab_sim_listen(sim, b, 80, 0));
  int c = tcplab_sim_connect(sim, a, b, 80, TCPLAB_NS(123456789), 40000);
  OK(tcplab_sim_close(sim, c, TCPLAB_S(1)));
  OK(tcplab_sim_run(sim, TCPLAB_TIME_NEVER));

  assert_int_equal(tcplab_sim_columns(TCPLAB_SIM_TIMELINE), 12);
  assert_int_equal(tcplab_sim_columns(TCPLAB_SIM_SEGMENTS), 14);
  assert_int_equal(tcplab_sim_columns(TCPLAB_SIM_CONNECTIONS), 17);
  assert_string_equal(tcplab_sim_column_name(TCPLAB_SIM_CONNECTIONS, 8),
                      "handshake_s");
  assert_null(tcplab_sim_column_name(TCPLAB_SIM_TIMELINE, 12));
  assert_int_equal(tcplab_sim_rows(sim, (enum tcplab_sim_table)9),
                   TCPLAB_SIM_ERR_INVAL);
  assert_int_equal(tcplab_sim_columns((enum tcplab_sim_table)9),
                   TCPLAB_SIM_ERR_INVAL);
  assert_null(tcplab_sim_cell(sim, (enum tcplab_sim_table)9, 0, 0));
  assert_int_equal(tcplab_sim_rows(sim, TCPLAB_SIM_CONNECTIONS), 2);
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 0, 6),
                      "0.123456789");
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 0, 3),
                      "10.0.0.1:40000-10.0.0.2:80");
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 1, 3),
                      "10.0.0.1:40000-10.0.0.2:80");
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 0, 2),
                      "active");
  /* Nobody closes the server's end: the client waits in FIN_WAIT_2. */
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 0, 12),
                      "FIN_WAIT_2");
  assert_null(tcplab_sim_cell(sim, TCPLAB_SIM_CONNECTIONS, 2, 0));
  /* cwnd.csv: each end's initial window (RFC 6928: 10 segments of 1460
   * bytes) when it is established; no data, so no change after. */
  assert_int_equal(tcplab_sim_columns(TCPLAB_SIM_CWND), 6);
  assert_string_equal(tcplab_sim_column_name(TCPLAB_SIM_CWND, 5), "ssthresh");
  assert_int_equal(tcplab_sim_rows(sim, TCPLAB_SIM_CWND), 2);
  struct tcplab_sim_cwnd_row cr[2];
  OK(tcplab_sim_cwnd_row(sim, 0, &cr[0]));
  OK(tcplab_sim_cwnd_row(sim, 1, &cr[1]));
  assert_int_equal(tcplab_sim_cwnd_row(sim, 2, &cr[0]), TCPLAB_SIM_ERR_INVAL);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cr[i].cwnd, 14600);
    assert_false(cr[i].has_ssthresh);
    assert_string_equal(cr[i].flow, "10.0.0.1:40000-10.0.0.2:80");
    struct tcplab_sim_conn_info ci;
    OK(tcplab_sim_conn_info(sim, cr[i].conn, &ci));
    assert_int_equal(cr[i].node, ci.node);
    assert_int_equal(cr[i].time, ci.established);
  }
  assert_int_equal(cr[0].node, a); /* the client is established first */
  assert_int_equal(cr[1].node, b);
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CWND, 0, 4), "14600");
  assert_string_equal(tcplab_sim_cell(sim, TCPLAB_SIM_CWND, 0, 5), "");

  char dir[128];
  out_dir(dir, sizeof dir, "basic/csv");
  OK(tcplab_sim_write_csv(sim, dir));
  char path[256];
  snprintf(path, sizeof path, "%s/timeline.csv", dir);
  char *t = slurp(path, NULL);
  assert_non_null(t);
  assert_memory_equal(t,
                      "time_s,node,conn,flow,from_state,to_state,event,flags,"
                      "seq,ack,rel_seq,rel_ack\r\n",
                      78);
  assert_non_null(strstr(t, "0.000000000,server,1,0.0.0.0:80,CLOSED,LISTEN,"
                            "app_listen,,,,,\r\n"));
  assert_non_null(strstr(t, "0.123456789,\"client, \"\"one\"\"\",2,"
                            "10.0.0.1:40000-10.0.0.2:80,CLOSED,SYN_SENT,"
                            "app_connect,,,,,\r\n"));
  free(t);
  snprintf(path, sizeof path, "%s/segments.csv", dir);
  t = slurp(path, NULL);
  assert_non_null(t);
  assert_non_null(strstr(t, "time_s,link,from_node,to_node,action,flow,flags,"
                            "seq,ack,rel_seq,rel_ack,len,win,reason\r\n"));
  assert_non_null(strstr(t, "0.123456789,L,\"client, \"\"one\"\"\",server,sent,"
                            "10.0.0.1:40000-10.0.0.2:80,SYN,"));
  free(t);
  snprintf(path, sizeof path, "%s/connections.csv", dir);
  t = slurp(path, NULL);
  assert_non_null(t);
  assert_non_null(strstr(
      t, "conn,node,role,flow,local,remote,open_s,established_s,handshake_s,"
         "syn_tx,close_s,closed_s,final_state,bytes_sent,bytes_received,"
         "retransmissions,error\r\n"));
  free(t);
  snprintf(path, sizeof path, "%s/cwnd.csv", dir);
  t = slurp(path, NULL);
  assert_non_null(t);
  assert_non_null(strstr(t, "time_s,node,conn,flow,cwnd,ssthresh\r\n"));
  assert_non_null(strstr(t, ",\"client, \"\"one\"\"\",2,"
                            "10.0.0.1:40000-10.0.0.2:80,14600,\r\n"));
  free(t);
  OK(tcplab_sim_destroy(sim));
}

/* A native node's syn_retries reaches ns-3's socket (its attribute is
 * called ConnCount): with 2 retries and every SYN lost, three SYNs leave
 * and the connection gives up. */
static void native_syn_retries(void **state) {
  (void)state;
  OK(tcplab_sim_create(1, &g_sim));
  tcplab_sim *sim = g_sim;
  struct tcplab_config cfg;
  tcplab_config_default(&cfg);
  cfg.syn_retries = 2;
  struct tcplab_sim_node_opts co = {.tcp = TCPLAB_SIM_TCP_NS3, .config = &cfg};
  int c = tcplab_sim_node(sim, "client", &co);
  int s = tcplab_sim_node(sim, "server", NULL);
  OK(c);
  OK(s);
  int link = tcplab_sim_link(sim, c, s, NULL);
  OK(link);
  struct tcplab_sim_match m = {.from = c, .flags = TCPLAB_SYN, .every = true};
  OK(tcplab_sim_link_drop(sim, link, &m));
  OK(tcplab_sim_listen(sim, s, 80, 0));
  int conn = tcplab_sim_connect(sim, c, s, 80, 0, 0);
  OK(conn);
  OK(tcplab_sim_run(sim, TCPLAB_S(600)));
  assert_int_equal(count_segments(sim, TCPLAB_SIM_SENT, c, TCPLAB_SYN), 3);
  struct tcplab_sim_conn_info ci;
  OK(tcplab_sim_conn_info(sim, conn, &ci));
  assert_int_equal(ci.state, TCPLAB_CLOSED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      SIM_TEST(create_destroy_create),
      SIM_TEST(errors_are_returned_with_messages),
      SIM_TEST(tcplab_to_tcplab),
      SIM_TEST(native_to_tcplab_small),
      SIM_TEST(tcplab_to_native_small),
      SIM_TEST(run_until_and_stop),
      SIM_TEST(shutdown_abort_and_listener_close),
      SIM_TEST(actions_inside_callbacks),
      SIM_TEST(simultaneous_open_relative_numbers),
      SIM_TEST(csv_files),
      SIM_TEST(native_syn_retries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
