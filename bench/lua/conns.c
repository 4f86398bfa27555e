/*
 * The Lua layer's cost: the experiment of bench/lua/conns.lua written
 * against sim.h, and a driver that times both, each in its own process,
 * alternating, and checks that they did the same thing (same connections,
 * bytes, final simulated time and ns-3 event count).
 *
 *   tcplab-bench-lua [--conns N] [--parallel P] [--runs R]
 *                    [--tcplab PATH] [--script PATH]
 *   tcplab-bench-lua --c-only [--conns N] [--parallel P]
 */
#define _XOPEN_SOURCE 700

#include <tcplab/sim.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TCPLAB_COMMAND
#define TCPLAB_COMMAND "tcplab"
#endif
#ifndef TCPLAB_BENCH_SCRIPT
#define TCPLAB_BENCH_SCRIPT "bench/lua/conns.lua"
#endif

#define KB 1024

/* ------------------------------------------------------- the experiment */

struct bench {
  tcplab_sim *sim;
  int client, server;
  int n, started, ended;
  uint64_t bytes;
  /* by connection id: bytes received, and whether it is the client's */
  uint64_t *got;
  bool *is_client;
  size_t cap;
};

static void need(struct bench *b, int id) {
  if ((size_t)id < b->cap) {
    return;
  }
  size_t cap = b->cap ? b->cap : 1024;
  while (cap <= (size_t)id) {
    cap *= 2;
  }
  b->got = realloc(b->got, cap * sizeof *b->got);
  b->is_client = realloc(b->is_client, cap * sizeof *b->is_client);
  if (b->got == NULL || b->is_client == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  memset(b->got + b->cap, 0, (cap - b->cap) * sizeof *b->got);
  memset(b->is_client + b->cap, 0, (cap - b->cap) * sizeof *b->is_client);
  b->cap = cap;
}

static void start(struct bench *b) {
  if (b->started == b->n) {
    return;
  }
  b->started++;
  int id =
      tcplab_sim_connect(b->sim, b->client, b->server, 80, TCPLAB_SIM_NOW, 0);
  if (id < 0) {
    fprintf(stderr, "connect: %s\n", tcplab_sim_last_error());
    exit(1);
  }
  need(b, id);
  b->is_client[id] = true;
}

static void on_connected(void *u, tcplab_sim *sim, int conn) {
  (void)u;
  tcplab_sim_send_generated(sim, conn, KB, TCPLAB_SIM_NOW);
}

static void on_data(void *u, tcplab_sim *sim, int conn, size_t n) {
  struct bench *b = u;
  char buf[4096];
  int64_t k;
  /* Read it, as the Lua version's conn:read() does. */
  while ((k = tcplab_sim_recv(sim, conn, buf, sizeof buf)) > 0) {
    b->bytes += (uint64_t)k;
  }
  need(b, conn);
  b->got[conn] += n;
  if (b->got[conn] == KB) {
    if (b->is_client[conn]) {
      tcplab_sim_close(sim, conn, TCPLAB_SIM_NOW);
    } else {
      tcplab_sim_send_generated(sim, conn, KB, TCPLAB_SIM_NOW);
    }
  }
}

static void on_peer_closed(void *u, tcplab_sim *sim, int conn) {
  struct bench *b = u;
  need(b, conn);
  if (b->is_client[conn]) {
    start(b);
  } else {
    tcplab_sim_close(sim, conn, TCPLAB_SIM_NOW);
  }
}

static void on_ended(void *u, tcplab_sim *sim, int conn, int error) {
  struct bench *b = u;
  (void)sim;
  (void)error;
  need(b, conn);
  if (b->is_client[conn]) {
    b->ended++;
  }
}

static int run_c(int n, int parallel) {
  struct bench b = {.n = n};
  if (tcplab_sim_create(1, &b.sim) < 0) {
    fprintf(stderr, "create: %s\n", tcplab_sim_last_error());
    return 1;
  }
  struct tcplab_sim_callbacks cb = {
      .connected = on_connected,
      .data = on_data,
      .peer_closed = on_peer_closed,
      .ended = on_ended,
  };
  tcplab_sim_set_callbacks(b.sim, &cb, &b);
  b.client = tcplab_sim_node(b.sim, "client", NULL);
  b.server = tcplab_sim_node(b.sim, "server", NULL);
  struct tcplab_sim_link_opts lo = {.rate_bps = 100000000,
                                    .delay = TCPLAB_MS(1)};
  if (b.client < 0 || b.server < 0 ||
      tcplab_sim_link(b.sim, b.client, b.server, &lo) < 0 ||
      tcplab_sim_listen(b.sim, b.server, 80, 0) < 0) {
    fprintf(stderr, "setup: %s\n", tcplab_sim_last_error());
    return 1;
  }
  for (int i = 0; i < parallel; i++) {
    start(&b);
  }
  if (tcplab_sim_run(b.sim, TCPLAB_TIME_NEVER) < 0) {
    fprintf(stderr, "run: %s\n", tcplab_sim_last_error());
    return 1;
  }
  tcplab_time_t now = tcplab_sim_now(b.sim);
  printf("result conns=%d bytes=%llu now=%.9f events=%llu\n", b.ended,
         (unsigned long long)b.bytes, (double)now / 1e9,
         (unsigned long long)tcplab_sim_events(b.sim));
  tcplab_sim_destroy(b.sim);
  free(b.got);
  free(b.is_client);
  return 0;
}

/* ------------------------------------------------------------ the driver */

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of the children waited for so far. */
static double children_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Runs argv in a child, returns its wall time, its CPU time (user +
 * system, in *cpu: less disturbed than wall time by other work on the
 * machine) and the "result ..." line of its output (in line). */
static double timed(char *const argv[], double *cpu, char *line, size_t cap) {
  int fd[2];
  if (pipe(fd) != 0) {
    perror("pipe");
    exit(1);
  }
  double cpu0 = children_cpu();
  double t0 = seconds();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    execv(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(fd[1]);
  FILE *f = fdopen(fd[0], "r");
  char buf[512];
  line[0] = '\0';
  while (fgets(buf, sizeof buf, f) != NULL) {
    if (strncmp(buf, "result ", 7) == 0) {
      snprintf(line, cap, "%s", buf);
    }
  }
  fclose(f);
  int status;
  waitpid(pid, &status, 0);
  double t = seconds() - t0;
  *cpu = children_cpu() - cpu0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || line[0] == '\0') {
    fprintf(stderr, "%s failed\n", argv[0]);
    exit(1);
  }
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  int n = 10000, parallel = 10, runs = 5;
  bool c_only = false;
  const char *cmd = TCPLAB_COMMAND, *script = TCPLAB_BENCH_SCRIPT;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--c-only") == 0) {
      c_only = true;
    } else if (v && strcmp(a, "--conns") == 0) {
      n = atoi(v), i++;
    } else if (v && strcmp(a, "--parallel") == 0) {
      parallel = atoi(v), i++;
    } else if (v && strcmp(a, "--runs") == 0) {
      runs = atoi(v), i++;
    } else if (v && strcmp(a, "--tcplab") == 0) {
      cmd = v, i++;
    } else if (v && strcmp(a, "--script") == 0) {
      script = v, i++;
    } else {
      fprintf(stderr,
              "usage: %s [--conns N] [--parallel P] [--runs R] "
              "[--tcplab PATH] [--script PATH] [--c-only]\n",
              argv[0]);
      return 2;
    }
  }
  if (n < 1 || parallel < 1 || runs < 1 || runs > 99) {
    fprintf(stderr, "conns, parallel and runs must be >= 1 (runs <= 99)\n");
    return 2;
  }
  if (c_only) {
    return run_c(n, parallel);
  }

  char ns[32], ps[32], set_n[48], set_p[48];
  snprintf(ns, sizeof ns, "%d", n);
  snprintf(ps, sizeof ps, "%d", parallel);
  snprintf(set_n, sizeof set_n, "conns=%d", n);
  snprintf(set_p, sizeof set_p, "parallel=%d", parallel);
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    perror("readlink");
    return 1;
  }
  self[len] = '\0';
  char *c_argv[] = {self, "--c-only", "--conns", ns, "--parallel", ps, NULL};
  char *lua_argv[] = {(char *)cmd, "run", (char *)script, "--out", "/tmp",
                      "--set",     set_n, "--set",        set_p,   NULL};

  printf("%d connections (%d chains), 1 KB each way; %d runs of each, "
         "alternating\n",
         n, parallel, runs);
  double tc[99], tl[99], cc[99], cl[99], ratio[99], cratio[99];
  char rc[512], rl[512];
  for (int r = 0; r < runs; r++) {
    tc[r] = timed(c_argv, &cc[r], rc, sizeof rc);
    tl[r] = timed(lua_argv, &cl[r], rl, sizeof rl);
    ratio[r] = tl[r] / tc[r];
    cratio[r] = cl[r] / cc[r];
    printf("run %d: wall C %.3f s, Lua %.3f s (x%.3f); CPU C %.3f s, Lua "
           "%.3f s (x%.3f)\n",
           r + 1, tc[r], tl[r], ratio[r], cc[r], cl[r], cratio[r]);
    fflush(stdout);
    if (strcmp(rc, rl) != 0) {
      fprintf(stderr, "the two did different things:\n  C:   %s  Lua: %s", rc,
              rl);
      return 1;
    }
  }
  printf("both: %s", rc);
  double mc = median(tc, runs), ml = median(tl, runs);
  printf("median wall time: C %.3f s, Lua %.3f s; Lua/C = %.3f (%+.1f %%); "
         "median of the runs' ratios %.3f\n",
         mc, ml, ml / mc, (ml / mc - 1) * 100, median(ratio, runs));
  double mcc = median(cc, runs), mcl = median(cl, runs);
  printf("median CPU time:  C %.3f s, Lua %.3f s; Lua/C = %.3f (%+.1f %%); "
         "median of the runs' ratios %.3f\n",
         mcc, mcl, mcl / mcc, (mcl / mcc - 1) * 100, median(cratio, runs));
  return 0;
}
