/* Helpers shared by the tests of the sim C API (sim.h). */
#ifndef TCPLAB_TESTS_SIM_UTIL_H
#define TCPLAB_TESTS_SIM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <tcplab/sim.h>

#define OK(call)                                                               \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ < 0) {                                                             \
      fail_msg("%s: %d %s", #call, rc_, tcplab_sim_last_error());              \
    }                                                                          \
  } while (0)

/* The simulation of the running test, destroyed by sim_teardown even when
 * an assertion failed half way (a live one would block the next test). */
static tcplab_sim *g_sim;

static inline int sim_teardown(void **state) {
  (void)state;
  tcplab_sim_destroy(g_sim); /* refused harmlessly if already destroyed */
  g_sim = NULL;
  return 0;
}

/* Checks inside simulation callbacks: an assertion there would jump out
 * of the running simulator, so record the first failure and report it
 * after the run with assert_checks(). */
static char g_check_failed[512];

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond) && !g_check_failed[0]) {                                       \
      snprintf(g_check_failed, sizeof g_check_failed, "%s:%d: %s", __FILE__,   \
               __LINE__, #cond);                                               \
    }                                                                          \
  } while (0)

static inline void assert_checks(void) {
  if (g_check_failed[0]) {
    char msg[512];
    memcpy(msg, g_check_failed, sizeof msg);
    g_check_failed[0] = '\0';
    fail_msg("in a callback: %s", msg);
  }
}

#define SIM_TEST(f) cmocka_unit_test_teardown(f, sim_teardown)

/* Two hosts on one link: client (kind c) and server (kind s). */
struct pair {
  tcplab_sim *sim;
  int client, server, link;
};

static inline struct pair pair_new(uint64_t seed, enum tcplab_sim_tcp c,
                                   enum tcplab_sim_tcp s, uint64_t rate,
                                   tcplab_time_t delay) {
  struct pair p;
  OK(tcplab_sim_create(seed, &p.sim));
  g_sim = p.sim;
  struct tcplab_sim_node_opts co = {.tcp = c}, so = {.tcp = s};
  p.client = tcplab_sim_node(p.sim, "client", &co);
  p.server = tcplab_sim_node(p.sim, "server", &so);
  OK(p.client);
  OK(p.server);
  struct tcplab_sim_link_opts lo = {.rate_bps = rate, .delay = delay};
  p.link = tcplab_sim_link(p.sim, p.client, p.server, &lo);
  OK(p.link);
  return p;
}

/* The first timeline row of conn going from -> to, or -1. */
static inline int64_t find_transition(const tcplab_sim *sim, int conn,
                                      enum tcplab_state from,
                                      enum tcplab_state to) {
  int64_t n = tcplab_sim_rows(sim, TCPLAB_SIM_TIMELINE);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_timeline_row r;
    OK(tcplab_sim_timeline_row(sim, i, &r));
    if (r.conn == conn && r.from == from && r.to == to) {
      return i;
    }
  }
  return -1;
}

static inline tcplab_time_t transition_time(const tcplab_sim *sim, int conn,
                                            enum tcplab_state from,
                                            enum tcplab_state to) {
  int64_t i = find_transition(sim, conn, from, to);
  if (i < 0) {
    fail_msg("conn %d never went %s -> %s", conn, tcplab_state_name(from),
             tcplab_state_name(to));
  }
  struct tcplab_sim_timeline_row r;
  OK(tcplab_sim_timeline_row(sim, i, &r));
  return r.time;
}

/* Writes the states conn went through, "CLOSED>SYN_SENT>...", into buf. */
static inline const char *state_path(const tcplab_sim *sim, int conn, char *buf,
                                     size_t cap) {
  buf[0] = '\0';
  int64_t n = tcplab_sim_rows(sim, TCPLAB_SIM_TIMELINE);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_timeline_row r;
    OK(tcplab_sim_timeline_row(sim, i, &r));
    if (r.conn != conn) {
      continue;
    }
    size_t len = strlen(buf);
    if (len == 0) {
      snprintf(buf, cap, "%s", tcplab_state_name(r.from));
      len = strlen(buf);
    }
    snprintf(buf + len, cap - len, ">%s", tcplab_state_name(r.to));
  }
  return buf;
}

/* Counts segment rows with this action, sent by `from` (-1: any), whose
 * flags are exactly `flags` (-1: any). */
static inline int count_segments(const tcplab_sim *sim,
                                 enum tcplab_sim_action action, int from,
                                 int flags) {
  int count = 0;
  int64_t n = tcplab_sim_rows(sim, TCPLAB_SIM_SEGMENTS);
  for (int64_t i = 0; i < n; i++) {
    struct tcplab_sim_segment_row r;
    OK(tcplab_sim_segment_row(sim, i, &r));
    if (r.action == action && (from < 0 || r.from_node == from) &&
        (flags < 0 || r.flags == flags)) {
      count++;
    }
  }
  return count;
}

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
static inline char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  buf[got] = '\0';
  if (len) {
    *len = got;
  }
  return buf;
}

/* The build tree's directory for the tests' files, an absolute path set
 * by tests/CMakeLists.txt: a relative one would follow the working
 * directory, and a test run by hand from the source tree would write
 * there. */
#ifndef TCPLAB_SIM_OUT
#error "TCPLAB_SIM_OUT must name the tests' output directory"
#endif

/* A directory for a test's output files, TCPLAB_SIM_OUT/name, created
 * with its parents. Returns buf. */
static inline const char *out_dir(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", TCPLAB_SIM_OUT, name);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0777); /* fails harmlessly when it exists */
      *p = '/';
    }
  }
  mkdir(buf, 0777);
  return buf;
}

#endif /* TCPLAB_TESTS_SIM_UTIL_H */
