/*
 * tcplab-bench: CPU time and memory of the core between two in-memory
 * stacks (loop.h). bench/README.md lists the figures and the commands that
 * produced them.
 *
 *   tcplab-bench [options] [lifecycle|bulk|memory|scale|all]...
 *     --repeat R        timed repetitions; best and median are printed (5)
 *     --lifecycles N    lifecycles per repetition (20000)
 *     --bulk-mb M       megabytes per bulk repetition (64)
 *     --scale A,B,C     concurrent connection counts (10000,50000,100000)
 *     --once            one run of each, no warm-up (for callgrind)
 *
 * Times are CPU time of the process (CLOCK_PROCESS_CPUTIME_ID), so time
 * the scheduler gives to other processes on a shared machine is not
 * counted; caches and frequency still vary, hence the repetitions. The
 * virtual clock makes TIME_WAIT and delayed ACKs cost CPU, not waiting.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "floor.h"
#include "loop.h"

#define CLIENT      0
#define SERVER      1
#define CLIENT_ADDR 0x0a000001u /* 10.0.0.1 */
#define SERVER_ADDR 0x0a000002u /* 10.0.0.2 */
#define PORT        80
#define MSG_BYTES   1024 /* the lifecycle's request and reply */

static uint8_t pattern[65536];
/* --once: each benchmark runs once, without warm-up, so that callgrind's
 * instruction count divides by exactly the work printed. */
static bool once;

static void die(const char *what) {
  fprintf(stderr, "tcplab-bench: %s\n", what);
  exit(1);
}

/* ------------------------------------------------------------- timing */

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

struct summary {
  double best, median;
};

/* Best and median of n samples (sorted in place). */
static struct summary summarize(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return (struct summary){v[0], median};
}

static const char *verdict(bool met) {
  return met ? "met" : "MISSED";
}

/* ---------------------------------------------------------- lifecycle */

/* One connection at a time: the client connects, sends 1 KB, the server
 * answers with 1 KB, the client closes once it has the answer, the
 * server closes on the client's FIN, and the client's TIME_WAIT expires
 * (on the virtual clock). */
struct life {
  struct net *net;
  struct tcplab_listener *listener;
  size_t rx[2];   /* bytes the current connection received, per host */
  unsigned ended; /* `closed` callbacks */
  uint8_t buf[4096];
};

static void life_acceptable(void *user_data, struct tcplab_listener *l) {
  struct net_host *h = user_data;
  struct life *lf = h->app;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK)
    lf->rx[SERVER] = 0;
}

static void life_connected(void *user_data, struct tcplab_conn *c) {
  struct net_host *h = user_data;
  if (tcplab_conn_send(c, net_now(h->net), pattern, MSG_BYTES) != MSG_BYTES)
    die("lifecycle: request did not fit");
}

static void life_readable(void *user_data, struct tcplab_conn *c,
                          size_t avail) {
  struct net_host *h = user_data;
  struct life *lf = h->app;
  tcplab_time_t now = net_now(h->net);
  (void)avail;
  int n;
  while ((n = tcplab_conn_recv(c, now, lf->buf, sizeof lf->buf)) > 0)
    lf->rx[h->index] += (size_t)n;
  if (lf->rx[h->index] != MSG_BYTES)
    return;
  if (h->index == SERVER) {
    if (tcplab_conn_send(c, now, pattern, MSG_BYTES) != MSG_BYTES)
      die("lifecycle: reply did not fit");
  } else {
    tcplab_conn_close(c, now);
  }
}

static void life_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct net_host *h = user_data;
  if (h->index == SERVER)
    tcplab_conn_close(c, net_now(h->net));
}

static void life_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct net_host *h = user_data;
  struct life *lf = h->app;
  (void)c;
  if (error != TCPLAB_OK)
    die("lifecycle: a connection failed");
  lf->ended++;
}

static struct net *life_new(struct life *lf,
                            const struct tcplab_allocator *pool) {
  memset(lf, 0, sizeof *lf);
  struct tcplab_config cfg[2];
  tcplab_config_default(&cfg[0]);
  tcplab_config_default(&cfg[1]);
  cfg[1].seed = 1;
  const struct tcplab_allocator *alloc[2] = {pool, pool};
  struct tcplab_callbacks cb = {
      .acceptable = life_acceptable,
      .connected = life_connected,
      .readable = life_readable,
      .peer_closed = life_peer_closed,
      .closed = life_closed,
  };
  lf->net = net_new(cfg, alloc, &cb, lf);
  if (lf->net == NULL ||
      tcplab_stack_listen(net_stack(lf->net, SERVER), 0, SERVER_ADDR, PORT, 128,
                          &lf->listener) != TCPLAB_OK)
    die("lifecycle: setup failed");
  return lf->net;
}

/* Runs n complete lifecycles. Not inlined, so that callgrind can count
 * exactly this function (--toggle-collect=lifecycle_batch). */
__attribute__((noinline)) void lifecycle_batch(struct life *lf, unsigned n);
__attribute__((noinline)) void lifecycle_batch(struct life *lf, unsigned n) {
  struct tcplab_stack *client = net_stack(lf->net, CLIENT);
  for (unsigned i = 0; i < n; i++) {
    struct tcplab_conn *c;
    lf->rx[CLIENT] = lf->rx[SERVER] = 0;
    lf->ended = 0;
    if (tcplab_stack_connect(client, net_now(lf->net), CLIENT_ADDR, 0,
                             SERVER_ADDR, PORT, &c) != TCPLAB_OK)
      die("lifecycle: connect failed");
    net_run(lf->net, NULL, NULL); /* until both stacks are idle */
    if (lf->ended != 2 || lf->rx[CLIENT] != MSG_BYTES ||
        lf->rx[SERVER] != MSG_BYTES)
      die("lifecycle: did not complete");
  }
}

static double rusage_sys_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

/* With use_pool the stacks allocate from a caching pool (loop.h) rather
 * than malloc: the difference is the cost of malloc and of the kernel's
 * page faults for the 128 KiB buffers each connection allocates. */
static void bench_lifecycle(unsigned n, int repeat, bool use_pool) {
  struct life lf;
  struct mem_pool pool = {0};
  struct tcplab_allocator pa = mem_pool_allocator(&pool);
  life_new(&lf, use_pool ? &pa : NULL);
  if (!once)
    lifecycle_batch(&lf, n / 10 + 1); /* warm caches and free lists */
  uint64_t segs0 = net_delivered(lf.net);
  double us[64];
  double sys0 = rusage_sys_us();
  for (int r = 0; r < repeat; r++) {
    uint64_t t0 = cpu_ns();
    lifecycle_batch(&lf, n);
    us[r] = (double)(cpu_ns() - t0) / 1e3 / n;
  }
  double sys = (rusage_sys_us() - sys0) / ((double)n * repeat);
  double segs = (double)(net_delivered(lf.net) - segs0) / ((double)n * repeat);
  struct summary s = summarize(us, repeat);
  printf("lifecycle (%s): %.2f us per lifecycle (best of %d x %u; median "
         "%.2f; kernel %.2f on average); %.0f segments each; goal < 5 us: "
         "%s\n",
         use_pool ? "pool allocator" : "malloc", s.best, repeat, n, s.median,
         sys, segs, verdict(s.best < 5.0));
  net_free(lf.net);
  mem_pool_release(&pool);
}

/* --------------------------------------------------------------- bulk */

/* One connection; the client sends `total` bytes as fast as the windows
 * allow, the server reads everything as it arrives. */
struct bulk {
  struct net *net;
  struct tcplab_conn *client;
  bool accepted;
  bool in_place; /* the server reads with peek/consume, not recv */
  uint64_t total, queued, received;
  uint64_t data_segs, full_segs, segs[2];
  uint8_t buf[65536];
};

static void bulk_acceptable(void *user_data, struct tcplab_listener *l) {
  struct net_host *h = user_data;
  struct bulk *b = h->app;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK)
    b->accepted = true;
}

static void bulk_readable(void *user_data, struct tcplab_conn *c,
                          size_t avail) {
  struct net_host *h = user_data;
  struct bulk *b = h->app;
  (void)avail;
  if (b->in_place) {
    /* As an application that uses the bytes where they lie (this one
     * only counts them): no copy out of the receive buffer. */
    const void *data;
    size_t n, all = 0;
    while ((n = tcplab_conn_peek(c, all, &data)) > 0)
      all += n;
    tcplab_conn_consume(c, net_now(h->net), all);
    b->received += all;
    return;
  }
  int n;
  while ((n = tcplab_conn_recv(c, net_now(h->net), b->buf, sizeof b->buf)) > 0)
    b->received += (uint64_t)n;
}

/* The application refills the send buffer after every event. */
static void bulk_pump(struct net *n, void *arg) {
  struct bulk *b = arg;
  while (b->queued < b->total) {
    uint64_t left = b->total - b->queued;
    size_t chunk = left < sizeof pattern ? (size_t)left : sizeof pattern;
    int k = tcplab_conn_send(b->client, net_now(n), pattern, chunk);
    if (k <= 0)
      break;
    b->queued += (uint64_t)k;
  }
}

static void bulk_tap(void *arg, int from, const uint8_t *bytes, size_t len) {
  struct bulk *b = arg;
  size_t header = (size_t)(bytes[12] >> 4) * 4;
  b->segs[from]++;
  if (from == CLIENT && len > header) {
    b->data_segs++;
    if (len - header == 1460)
      b->full_segs++;
  }
}

static bool bulk_done(void *arg) {
  struct bulk *b = arg;
  return b->received >= b->total;
}

static bool bulk_established(void *arg) {
  struct bulk *b = arg;
  return b->accepted && tcplab_conn_state(b->client) == TCPLAB_ESTABLISHED;
}

/* The timed part: the whole transfer. Not inlined, for callgrind
 * (--toggle-collect=bulk_transfer). */
__attribute__((noinline)) void bulk_transfer(struct bulk *b);
__attribute__((noinline)) void bulk_transfer(struct bulk *b) {
  bulk_pump(b->net, b);
  net_run(b->net, bulk_done, b);
}

/* Time spent on one full segment's checksum by itself (tcplab_checksum),
 * to put the total in proportion; in the transfer each segment is summed
 * once when sent and once when received, while it is copied. */
static double checksum_ns(void) {
  uint8_t seg[1480];
  memcpy(seg, pattern, sizeof seg);
  volatile uint16_t sink = 0;
  const int n = 1000000;
  uint64_t t0 = cpu_ns();
  for (int i = 0; i < n; i++) {
    seg[0] = (uint8_t)i; /* no hoisting out of the loop */
    sink = (uint16_t)(sink + tcplab_checksum(CLIENT_ADDR, SERVER_ADDR, seg,
                                             sizeof seg));
  }
  (void)sink;
  return (double)(cpu_ns() - t0) / n;
}

/* One transfer of mb MB (8 MB as a warm-up); returns ns per data
 * segment and adds to the segment counts. */
static double bulk_run(struct bulk *b, uint64_t mb, bool in_place,
                       uint64_t counts[3]) {
  memset(b, 0, sizeof *b);
  b->in_place = in_place;
  struct tcplab_config cfg[2];
  tcplab_config_default(&cfg[0]);
  tcplab_config_default(&cfg[1]);
  cfg[1].seed = 1;
  const struct tcplab_allocator *alloc[2] = {NULL, NULL};
  struct tcplab_callbacks cb = {.acceptable = bulk_acceptable,
                                .readable = bulk_readable};
  struct tcplab_listener *l;
  b->net = net_new(cfg, alloc, &cb, b);
  if (b->net == NULL ||
      tcplab_stack_listen(net_stack(b->net, SERVER), 0, SERVER_ADDR, PORT, 8,
                          &l) != TCPLAB_OK ||
      tcplab_stack_connect(net_stack(b->net, CLIENT), 0, CLIENT_ADDR, 0,
                           SERVER_ADDR, PORT, &b->client) != TCPLAB_OK)
    die("bulk: setup failed");
  net_run(b->net, bulk_established, b);
  b->total = mb << 20;
  net_set_tap(b->net, bulk_tap, b);
  net_set_pump(b->net, bulk_pump, b);
  uint64_t t0 = cpu_ns();
  bulk_transfer(b);
  uint64_t t = cpu_ns() - t0;
  if (b->received != b->total)
    die("bulk: transfer incomplete");
  counts[0] += b->segs[CLIENT] + b->segs[SERVER];
  counts[1] += b->data_segs;
  counts[2] += b->full_segs;
  net_free(b->net);
  return (double)t / (double)b->data_segs;
}

/* The server reads in place, and then (alternating, so that both see the
 * same machine) copies out with tcplab_conn_recv. */
static void bench_bulk(uint64_t mb, int repeat) {
  double ns[2][64];
  uint64_t counts[2][3] = {{0}}, warm[3] = {0};
  struct bulk *b = calloc(1, sizeof *b);
  if (b == NULL)
    die("bulk: out of memory");
  if (!once) {
    bulk_run(b, 8, true, warm);
    bulk_run(b, 8, false, warm);
  }
  for (int r = 0; r < repeat; r++) {
    for (int copy = 0; copy < 2; copy++)
      ns[copy][r] = bulk_run(b, mb, copy == 0, counts[copy]);
  }
  free(b);
  for (int copy = 0; copy < 2; copy++) {
    struct summary s = summarize(ns[copy], repeat);
    uint64_t segs = counts[copy][0], data = counts[copy][1];
    printf(
        "bulk (server %s): %.0f ns per full-size data segment, sender + "
        "receiver (best of %d x %" PRIu64 " MB; median %.0f); %" PRIu64
        " data segments timed, %.1f%% full-size, %.2f ACKs per data "
        "segment%s%s\n",
        copy ? "copies out" : "reads in place", s.best, repeat, mb, s.median,
        data, 100.0 * (double)counts[copy][2] / (double)data,
        (double)(segs - data) / (double)data,
        copy ? "" : "; goal < 200 ns: ", copy ? "" : verdict(s.best < 200.0));
  }
  if (once)
    return;
  double ck = checksum_ns();
  printf("bulk: a checksum alone: %.0f ns for one 1480-byte segment; each "
         "segment is summed twice (sender and receiver), each time while "
         "it is copied\n",
         ck);
}

/* -------------------------------------------------- many connections */

/* n connections between the two stacks, opened in batches, measured
 * idle, then closed by the clients (TIME_WAIT on the client stack). */
struct many {
  struct net *net;
  struct tcplab_conn **clients;
  size_t nclients;
  uint64_t accepted, ended;
  bool exchange; /* the server answers each byte it reads */
  uint8_t buf[64];
};

static void many_acceptable(void *user_data, struct tcplab_listener *l) {
  struct net_host *h = user_data;
  struct many *m = h->app;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK)
    m->accepted++;
}

static void many_readable(void *user_data, struct tcplab_conn *c,
                          size_t avail) {
  struct net_host *h = user_data;
  struct many *m = h->app;
  (void)avail;
  tcplab_time_t now = net_now(h->net);
  int n;
  while ((n = tcplab_conn_recv(c, now, m->buf, sizeof m->buf)) > 0) {
    if (h->index == SERVER && m->exchange)
      tcplab_conn_send(c, now, m->buf, (size_t)n);
  }
}

static void many_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct net_host *h = user_data;
  if (h->index == SERVER)
    tcplab_conn_close(c, net_now(h->net));
}

static void many_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct net_host *h = user_data;
  struct many *m = h->app;
  (void)c;
  if (error != TCPLAB_OK)
    die("many: a connection failed");
  m->ended++;
}

static struct net *many_new(struct many *m, struct mem_count mem[2], size_t n) {
  memset(m, 0, sizeof *m);
  memset(mem, 0, 2 * sizeof *mem);
  m->clients = calloc(n, sizeof *m->clients);
  if (m->clients == NULL)
    die("many: out of memory");
  struct tcplab_config cfg[2];
  tcplab_config_default(&cfg[0]);
  tcplab_config_default(&cfg[1]);
  cfg[1].seed = 1;
  struct tcplab_allocator a0 = mem_counting_allocator(&mem[0]);
  struct tcplab_allocator a1 = mem_counting_allocator(&mem[1]);
  const struct tcplab_allocator *alloc[2] = {&a0, &a1};
  struct tcplab_callbacks cb = {.acceptable = many_acceptable,
                                .readable = many_readable,
                                .peer_closed = many_peer_closed,
                                .closed = many_closed};
  struct tcplab_listener *l;
  m->net = net_new(cfg, alloc, &cb, m);
  if (m->net == NULL ||
      tcplab_stack_listen(net_stack(m->net, SERVER), 0, SERVER_ADDR, PORT,
                          65535, &l) != TCPLAB_OK)
    die("many: setup failed");
  return m->net;
}

/* Opens n more connections, 1000 at a time so the listener's backlog
 * never overflows. Client addresses and ports are chosen, not
 * ephemeral: 100,000 connections need more than one client address. */
static void many_open(struct many *m, size_t n) {
  struct tcplab_stack *cs = net_stack(m->net, CLIENT);
  size_t start = m->nclients;
  for (size_t i = start; i < start + n; i++) {
    uint32_t addr = CLIENT_ADDR + 0x100u * (uint32_t)(1 + i / 50000);
    uint16_t port = (uint16_t)(10000 + i % 50000);
    if (tcplab_stack_connect(cs, net_now(m->net), addr, port, SERVER_ADDR, PORT,
                             &m->clients[i]) != TCPLAB_OK)
      die("many: connect failed");
    m->nclients++;
    if ((i + 1) % 1000 == 0)
      net_flush(m->net);
  }
  net_flush(m->net);
  if (m->accepted != m->nclients)
    die("many: not every connection was accepted");
}

static void many_close(struct many *m) {
  for (size_t i = 0; i < m->nclients; i++) {
    tcplab_conn_close(m->clients[i], net_now(m->net));
    if ((i + 1) % 1000 == 0)
      net_flush(m->net);
  }
  net_run(m->net, NULL, NULL); /* every FIN, then every TIME_WAIT ends */
  if (m->ended != 2 * m->nclients)
    die("many: not every connection closed cleanly");
}

static void print_sizes(const struct mem_count *mem) {
  for (size_t i = 0; i < mem->nsizes; i++)
    printf("%s%zu bytes x %" PRIu64, i ? ", " : "", mem->sizes[i].size,
           mem->sizes[i].count);
}

static void bench_memory(void) {
  const size_t n = 1000;
  struct many m;
  struct mem_count mem[2];
  many_new(&m, mem, n);
  size_t base = mem[SERVER].live_bytes, base_blocks = mem[SERVER].live_blocks;
  mem[SERVER].sizes_on = true;
  many_open(&m, n);
  mem[SERVER].sizes_on = false;
  double per = (double)(mem[SERVER].live_bytes - base) / n;
  double blocks = (double)(mem[SERVER].live_blocks - base_blocks) / n;
  printf("memory: %.0f bytes per idle ESTABLISHED connection, buffers "
         "excluded (server stack, %zu connections, %.2f blocks each, "
         "hash table and timer heap included); goal <= 512: %s\n",
         per, n, blocks, verdict(per <= 512));
  printf("memory: blocks allocated while opening: ");
  print_sizes(&mem[SERVER]);
  printf("\n");

  /* One byte each way: the buffers are allocated on first use, so this
   * shows what a connection that has carried data holds. */
  m.exchange = true;
  size_t before = mem[SERVER].live_bytes;
  for (size_t i = 0; i < n; i++) {
    tcplab_conn_send(m.clients[i], net_now(m.net), "x", 1);
    if ((i + 1) % 100 == 0)
      net_flush(m.net);
  }
  net_run(m.net, NULL, NULL);
  printf("memory: after one byte each way, %.0f more bytes per "
         "connection (send and receive buffers, allocated on first use "
         "and grown as data needs, up to snd_buf and rcv_buf)\n",
         (double)(mem[SERVER].live_bytes - before) / n);
  many_close(&m);
  net_free(m.net);
  free(m.clients);
}

/* The memory's own price at a footprint: nanoseconds per step of a walk
 * that reads one 64-byte line after another, each chosen by the one
 * before, over a buffer of `bytes` (one cycle through every line, drawn
 * with Sattolo's shuffle from a fixed seed). The connections' time per
 * connection is set largely by such reads (bench/README.md); this shows
 * what one costs on this machine at each size. */
static double walk_ns(size_t bytes) {
  size_t lines = bytes / 64 > 2 ? bytes / 64 : 2;
  uint64_t *buf = aligned_alloc(64, lines * 64);
  if (buf == NULL)
    die("scale: out of memory");
  for (size_t i = 0; i < lines; i++)
    buf[i * 8] = i;
  uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift64 */
  for (size_t i = lines - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % i); /* j < i: one cycle, not any permutation */
    uint64_t t = buf[i * 8];
    buf[i * 8] = buf[j * 8];
    buf[j * 8] = t;
  }
  const uint64_t steps = 2000000;
  uint64_t at = 0;
  uint64_t t0 = cpu_ns();
  for (uint64_t k = 0; k < steps; k++)
    at = buf[at * 8];
  uint64_t t = cpu_ns() - t0;
  volatile uint64_t sink = at; /* the walk is not dead code */
  (void)sink;
  free(buf);
  return (double)t / (double)steps;
}

/* Each count runs the stacks and then the floor (floor.c), alternately,
 * so both see the machine in the same state. */
static void bench_scale(const size_t *counts, int ncounts, int repeat) {
  printf("scale: %8s %12s %12s %14s %12s %12s %8s %11s %11s\n", "conns",
         "open us/conn", "close us/conn", "server bytes", "bytes/conn",
         "client bytes", "walk ns", "floor open", "floor close");
  double first[4] = {0}, last[4] = {0};
  for (int k = 0; k < ncounts; k++) {
    size_t n = counts[k];
    double open_us[64], close_us[64], fopen_us[64], fclose_us[64];
    size_t server_bytes = 0, client_bytes = 0;
    for (int r = 0; r < repeat; r++) {
      struct many m;
      struct mem_count mem[2];
      many_new(&m, mem, n);
      size_t base = mem[SERVER].live_bytes;
      uint64_t t0 = cpu_ns();
      many_open(&m, n);
      uint64_t t1 = cpu_ns();
      server_bytes = mem[SERVER].live_bytes - base;
      client_bytes = mem[CLIENT].live_bytes;
      many_close(&m);
      uint64_t t2 = cpu_ns();
      open_us[r] = (double)(t1 - t0) / 1e3 / (double)n;
      close_us[r] = (double)(t2 - t1) / 1e3 / (double)n;
      net_free(m.net);
      free(m.clients);
      /* Records as large as the server's memory per connection. */
      struct floor *f = floor_new(n, server_bytes / n / 16 * 16, CLIENT_ADDR);
      t0 = cpu_ns();
      floor_open(f);
      t1 = cpu_ns();
      floor_close(f);
      t2 = cpu_ns();
      floor_free(f);
      fopen_us[r] = (double)(t1 - t0) / 1e3 / (double)n;
      fclose_us[r] = (double)(t2 - t1) / 1e3 / (double)n;
    }
    double best[4] = {
        summarize(open_us, repeat).best, summarize(close_us, repeat).best,
        summarize(fopen_us, repeat).best, summarize(fclose_us, repeat).best};
    double walk = once ? 0 : walk_ns(server_bytes + client_bytes);
    printf("scale: %8zu %12.3f %12.3f %14zu %12.1f %12zu %8.1f %11.3f "
           "%11.3f\n",
           n, best[0], best[1], server_bytes, (double)server_bytes / (double)n,
           client_bytes, walk, best[2], best[3]);
    memcpy(k == 0 ? first : last, best, sizeof best);
  }
  printf("scale: times are the best of %d runs, CPU time of both stacks "
         "and the loop; open = handshakes, close = FIN exchange and "
         "TIME_WAIT expiry; walk = ns per dependent read of a random line "
         "in a buffer as large as both stacks (the memory's own price at "
         "that size); floor = a bare hash table of records as large "
         "making only the same connections' lookups, inserts and removals, "
         "no TCP (bench/core/floor.c)\n",
         repeat);
  if (ncounts > 1)
    printf("scale: from %zu to %zu connections, time per connection grows "
           "%.2fx opening and %.2fx closing; the floor's grows %.2fx and "
           "%.2fx\n",
           counts[0], counts[ncounts - 1], last[0] / first[0],
           last[1] / first[1], last[2] / first[2], last[3] / first[3]);
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
  fprintf(stderr,
          "usage: tcplab-bench [--repeat R] [--lifecycles N] [--bulk-mb M]\n"
          "                    [--scale A,B,C] [--once] "
          "[lifecycle|bulk|memory|scale|all]...\n");
  exit(2);
}

int main(int argc, char **argv) {
  int repeat = 5;
  unsigned lifecycles = 20000;
  uint64_t bulk_mb = 64;
  size_t counts[8] = {10000, 50000, 100000};
  int ncounts = 3;
  bool run[4] = {false, false, false, false};
  bool any = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
      repeat = atoi(argv[++i]);
      if (repeat < 1 || repeat > 64)
        usage();
    } else if (strcmp(a, "--lifecycles") == 0 && i + 1 < argc) {
      lifecycles = (unsigned)strtoul(argv[++i], NULL, 10);
      if (lifecycles == 0)
        usage();
    } else if (strcmp(a, "--bulk-mb") == 0 && i + 1 < argc) {
      bulk_mb = strtoull(argv[++i], NULL, 10);
      if (bulk_mb == 0)
        usage();
    } else if (strcmp(a, "--scale") == 0 && i + 1 < argc) {
      char *p = argv[++i];
      ncounts = 0;
      while (*p && ncounts < 8) {
        counts[ncounts++] = (size_t)strtoull(p, &p, 10);
        if (counts[ncounts - 1] == 0 || counts[ncounts - 1] > 1000000)
          usage();
        if (*p == ',')
          p++;
      }
    } else if (strcmp(a, "--once") == 0) {
      once = true;
    } else if (strcmp(a, "lifecycle") == 0) {
      run[0] = any = true;
    } else if (strcmp(a, "bulk") == 0) {
      run[1] = any = true;
    } else if (strcmp(a, "memory") == 0) {
      run[2] = any = true;
    } else if (strcmp(a, "scale") == 0) {
      run[3] = any = true;
    } else if (strcmp(a, "all") == 0) {
      run[0] = run[1] = run[2] = run[3] = any = true;
    } else {
      usage();
    }
  }
  if (!any)
    run[0] = run[1] = run[2] = run[3] = true;
  for (size_t i = 0; i < sizeof pattern; i++)
    pattern[i] = (uint8_t)(i * 131 + 7);

  if (once)
    repeat = 1;
  if (run[0]) {
    bench_lifecycle(lifecycles, repeat, false);
    bench_lifecycle(lifecycles, repeat, true);
  }
  if (run[1])
    bench_bulk(bulk_mb, repeat);
  if (run[2])
    bench_memory();
  if (run[3])
    bench_scale(counts, ncounts, repeat < 3 ? repeat : 3);
  return 0;
}
