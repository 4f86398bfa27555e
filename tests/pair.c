/* Two tcplab stacks joined by an in-memory link over a virtual clock. */
#include "pair.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the PRNG */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void pair_rng_seed(struct pair_rng *r, uint64_t seed) {
  /* xoshiro's authors recommend splitmix64 to spread a 64-bit seed over
   * the 256-bit state, which must not be all zero (splitmix never gives
   * four zeros in a row). */
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t pair_rng_next(struct pair_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double pair_rng_double(struct pair_rng *r) {
  /* The top 53 bits fill a double's mantissa exactly. */
  return (double)(pair_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Eight pattern bytes: a hash of the offset rather than a counter, so
 * that a segment delivered at the wrong offset (a multiple of 256 away
 * included) does not match by accident. One hash per 8-byte word keeps
 * megabyte transfers cheap to generate and check. */
static uint64_t pattern_word(int from, uint64_t word) {
  uint64_t x = word * 2 + (uint64_t)(from != 0);
  return splitmix64(&x);
}

uint8_t pair_pattern(int from, uint64_t i) {
  return (uint8_t)(pattern_word(from, i >> 3) >> ((i & 7) * 8));
}

static void pattern_compute(int from, uint64_t start, uint8_t *out, size_t n) {
  size_t k = 0;
  for (; k < n && ((start + k) & 7) != 0; k++)
    out[k] = pair_pattern(from, start + k);
  /* Whole words: a fixed 8-byte loop the compiler turns into one store. */
  for (; n - k >= 8; k += 8) {
    uint64_t w = pattern_word(from, (start + k) >> 3);
    for (unsigned b = 0; b < 8; b++)
      out[k + b] = (uint8_t)(w >> (b * 8));
  }
  for (; k < n; k++)
    out[k] = pair_pattern(from, start + k);
}

/* The streams do not depend on the seed, so their first megabytes are
 * computed once per process and copied from then on: tests that move
 * gigabytes in total would otherwise spend most of their time hashing. */
#define PATTERN_CACHE (8u << 20)
static uint8_t *pattern_cache[2];
static size_t pattern_cached[2];

void pair_pattern_fill(int from, uint64_t start, uint8_t *out, size_t n) {
  int d = from != 0;
  if (start + n > PATTERN_CACHE) {
    pattern_compute(from, start, out, n);
    return;
  }
  if (pattern_cache[d] == NULL) {
    pattern_cache[d] = malloc(PATTERN_CACHE);
    if (!pattern_cache[d])
      abort();
  }
  if (pattern_cached[d] < start + n) {
    /* Extend in whole megabytes. */
    size_t upto =
        (size_t)(start + n + (1u << 20) - 1) & ~(size_t)((1u << 20) - 1);
    if (upto > PATTERN_CACHE)
      upto = PATTERN_CACHE;
    pattern_compute(from, pattern_cached[d],
                    pattern_cache[d] + pattern_cached[d],
                    upto - pattern_cached[d]);
    pattern_cached[d] = upto;
  }
  memcpy(out, pattern_cache[d] + start, n);
}

/* ------------------------------------------------------------- types */

enum ev_kind { EV_SEGMENT, EV_CALL };

/* Something due at a time: a segment arriving, or a scheduled call. */
struct ev {
  tcplab_time_t at;
  uint64_t order; /* scheduling order: breaks ties deterministically */
  enum ev_kind kind;
  int to; /* EV_SEGMENT: receiving host */
  uint32_t src, dst;
  void (*fn)(struct pair *p, void *arg);
  void *arg;
  size_t len;
  size_t payload; /* EV_SEGMENT: TCP payload bytes */
  uint8_t bytes[];
};

/* Departure times of the segments queued at one link's sender, oldest
 * first; they only grow, so the queue is a ring. */
struct txq {
  tcplab_time_t *t;
  size_t head, len, cap;
};

/* Counts the core's live allocations; the size sits in front of each
 * block because the allocator interface does not pass it to free. */
struct alloc_count {
  size_t live;
  size_t bytes;
};
union alloc_hdr {
  max_align_t align;
  size_t size;
};

struct host {
  struct pair *p;
  int index;
};

struct pair {
  struct pair_config cfg;
  struct host hosts[2];
  struct tcplab_stack *stack[2];
  struct tcplab_listener *listener;
  struct alloc_count allocs[2];
  struct tcplab_allocator allocator[2];
  struct pair_rng rng[2]; /* one per direction, so one direction's draws
                             do not depend on the other's traffic */
  tcplab_time_t now;
  uint64_t order;
  struct ev **heap;
  size_t heap_len, heap_cap;
  struct pair_conn **recs;
  size_t nrecs, recs_cap;
  struct pair_counters counters;
  uint64_t last_order[2];      /* per direction: latest send order delivered */
  struct txq txq[2];           /* per direction: segments not yet serialized */
  tcplab_time_t busy_until[2]; /* per direction: the link is serializing */
};

static const char *const host_name[2] = {"client", "server"};

/* --------------------------------------------------------- allocator */

static void *count_malloc(size_t size, void *user_data) {
  struct alloc_count *c = user_data;
  union alloc_hdr *h = malloc(sizeof *h + size);
  if (!h)
    return NULL;
  h->size = size;
  c->live++;
  c->bytes += size;
  return h + 1;
}

static void count_free(void *ptr, void *user_data) {
  struct alloc_count *c = user_data;
  if (!ptr)
    return;
  union alloc_hdr *h = (union alloc_hdr *)ptr - 1;
  c->live--;
  c->bytes -= h->size;
  free(h);
}

/* ---------------------------------------------------------- the heap */

static bool ev_before(const struct ev *a, const struct ev *b) {
  return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int heap_push(struct pair *p, struct ev *e) {
  if (p->heap_len == p->heap_cap) {
    size_t cap = p->heap_cap ? p->heap_cap * 2 : 64;
    struct ev **h = realloc(p->heap, cap * sizeof *h);
    if (!h)
      return TCPLAB_ERR_NOMEM;
    p->heap = h;
    p->heap_cap = cap;
  }
  e->order = p->order++;
  size_t i = p->heap_len++;
  while (i > 0 && ev_before(e, p->heap[(i - 1) / 2])) {
    p->heap[i] = p->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  p->heap[i] = e;
  return TCPLAB_OK;
}

static struct ev *heap_pop(struct pair *p) {
  struct ev *top = p->heap[0];
  struct ev *last = p->heap[--p->heap_len];
  size_t n = p->heap_len, i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && ev_before(p->heap[c + 1], p->heap[c]))
      c++;
    if (!ev_before(p->heap[c], last))
      break;
    p->heap[i] = p->heap[c];
    i = c;
  }
  if (n > 0)
    p->heap[i] = last;
  return top;
}

/* ------------------------------------------------------------ helpers */

const char *pair_endpoint_str(struct tcplab_endpoint e, char *buf) {
  snprintf(buf, 22, "%u.%u.%u.%u:%u", (unsigned)(e.addr >> 24) & 255,
           (unsigned)(e.addr >> 16) & 255, (unsigned)(e.addr >> 8) & 255,
           (unsigned)e.addr & 255, (unsigned)e.port);
  return buf;
}

static void log_time(const struct pair *p) {
  fprintf(p->cfg.log, "%4" PRIu64 ".%06" PRIu64 " ", p->now / 1000000000u,
          p->now % 1000000000u / 1000u);
}

static bool grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return true;
  size_t n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  uint8_t *b = realloc(*buf, n);
  if (!b)
    return false;
  *buf = b;
  *cap = n;
  return true;
}

/* The record of c, created on first sight. Every connection shows up in a
 * trace event or callback before anything else happens to it. */
static struct pair_conn *rec_of(struct pair *p, int host,
                                struct tcplab_conn *c) {
  struct pair_conn *pc = tcplab_conn_user_data(c);
  if (pc)
    return pc;
  if (p->nrecs == p->recs_cap) {
    size_t cap = p->recs_cap ? p->recs_cap * 2 : 8;
    struct pair_conn **r = realloc(p->recs, cap * sizeof *r);
    if (!r)
      abort(); /* test harness: out of memory is not a scenario */
    p->recs = r;
    p->recs_cap = cap;
  }
  pc = calloc(1, sizeof *pc);
  if (!pc)
    abort();
  pc->pair = p;
  pc->host = host;
  pc->id = tcplab_conn_id(c);
  pc->conn = c;
  pc->active = tcplab_conn_stats(c)->role == TCPLAB_ROLE_ACTIVE;
  pc->state = tcplab_conn_state(c);
  pc->states_seen = 1u << pc->state;
  pc->final_from = TCPLAB_CLOSED;
  pc->opened_at = p->now;
  pc->established_at = TCPLAB_TIME_NEVER;
  pc->closed_at = TCPLAB_TIME_NEVER;
  p->recs[p->nrecs++] = pc;
  tcplab_conn_set_user_data(c, pc);
  /* Room for what the script will deliver, so megabyte transfers do not
   * grow the buffer step by step. */
  size_t expect =
      host == PAIR_CLIENT ? p->cfg.script.reply : p->cfg.script.request;
  if (!grow(&pc->rx, &pc->rx_cap, expect))
    abort();
  return pc;
}

/* Hands queued application bytes to the core as its buffer allows, then
 * closes if the application asked for that after its data. */
static void pump(struct pair_conn *pc) {
  struct pair *p = pc->pair;
  while (pc->conn && pc->tx_off < pc->tx_len) {
    int n = (p->cfg.script.urgent ? tcplab_conn_send_urgent : tcplab_conn_send)(
        pc->conn, p->now, pc->tx + pc->tx_off, pc->tx_len - pc->tx_off);
    if (n <= 0) {
      if (n != TCPLAB_ERR_WOULDBLOCK && n != 0) {
        pc->tx_error = n;
        pc->tx_off = pc->tx_len;
      }
      break;
    }
    pc->tx_off += (size_t)n;
  }
  if (pc->tx_off == pc->tx_len)
    pc->tx_off = pc->tx_len = 0;
  if (pc->conn && pc->close_after_tx && pc->tx_len == 0 && !pc->app_closed) {
    pc->app_closed = true;
    int rc = tcplab_conn_close(pc->conn, p->now);
    if (rc < 0)
      pc->tx_error = rc;
  }
}

/* The number of segments still queued or being serialized at now. */
static size_t txq_occupancy(struct txq *q, tcplab_time_t now) {
  while (q->len > 0 && q->t[q->head] <= now) {
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
  return q->len;
}

static void txq_push(struct txq *q, tcplab_time_t depart) {
  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    tcplab_time_t *t = malloc(cap * sizeof *t);
    if (!t)
      abort();
    for (size_t i = 0; i < q->len; i++)
      t[i] = q->t[(q->head + i) % q->cap];
    free(q->t);
    q->t = t;
    q->head = 0;
    q->cap = cap;
  }
  q->t[(q->head + q->len) % q->cap] = depart;
  q->len++;
}

static void pump_host(struct pair *p, int host) {
  /* Index loop: a callback may add records while we pump. */
  for (size_t i = 0; i < p->nrecs; i++) {
    struct pair_conn *pc = p->recs[i];
    if (pc->host == host && pc->conn &&
        (pc->tx_len > 0 || (pc->close_after_tx && !pc->app_closed)))
      pump(pc);
  }
}

/* The scripted application: acts whenever a connection makes progress. */
static void script_step(struct pair_conn *pc) {
  struct pair *p = pc->pair;
  const struct pair_script *s = &p->cfg.script;
  if (!pc->conn)
    return;
  if (pc->active) {
    if (!pc->script_requested && pc->established_at != TCPLAB_TIME_NEVER) {
      pc->script_requested = true;
      if (s->request)
        pair_send_pattern(pc, s->request);
    }
    if (pc->conn && s->client_close && pc->script_requested &&
        !pc->close_after_tx && pc->rx_len >= s->reply)
      pair_close(pc);
  } else if (pc->accepted) {
    if (!pc->script_replied && (s->reply_at_once || pc->rx_len >= s->request)) {
      pc->script_replied = true;
      if (s->reply)
        pair_send_pattern(pc, s->reply);
    }
  }
}

static void drain(struct pair_conn *pc) {
  struct pair *p = pc->pair;
  uint8_t buf[4096];
  while (pc->conn && !pc->eof && !pc->rx_paused) {
    int n = tcplab_conn_recv(pc->conn, p->now, buf, sizeof buf);
    if (n == 0)
      pc->eof = true;
    if (n <= 0)
      break;
    if (!grow(&pc->rx, &pc->rx_cap, pc->rx_len + (size_t)n))
      abort();
    memcpy(pc->rx + pc->rx_len, buf, (size_t)n);
    pc->rx_len += (size_t)n;
  }
}

/* ------------------------------------------------- stack callbacks */

static void cb_output(void *user_data, tcplab_time_t now, uint32_t src,
                      uint32_t dst, const uint8_t *bytes, size_t len) {
  struct host *h = user_data;
  struct pair *p = h->p;
  int from = h->index;
  const struct pair_link *link = &p->cfg.link[from];
  (void)now; /* the loop's clock is the one the stack was called with */

  p->counters.sent[from]++;
  /* Both draws happen for every segment, so the same seed gives the same
   * draws at any loss rate: runs at different rates stay comparable. */
  double u_loss = pair_rng_double(&p->rng[from]);
  double u_jitter = pair_rng_double(&p->rng[from]);
  bool lost = u_loss < link->loss;

  struct tcplab_segment seg;
  bool decoded = tcplab_segment_decode(bytes, len, src, dst, false, &seg) ==
                 TCPLAB_MALFORMED_NONE;
  if (!lost && decoded && p->cfg.hooks.drop)
    lost = p->cfg.hooks.drop(p, from, &seg, p->cfg.hooks.arg);

  /* The bottleneck: wait behind the queue, or find it full. */
  tcplab_time_t depart = p->now;
  bool queue_full = false;
  if (link->rate > 0) {
    size_t queued = txq_occupancy(&p->txq[from], p->now);
    if (link->queue > 0 && queued >= link->queue) {
      queue_full = true;
    } else {
      uint64_t bits = (uint64_t)(len + link->overhead) * 8u;
      tcplab_time_t tx = (bits * 1000000000u + link->rate - 1) / link->rate;
      tcplab_time_t start =
          p->busy_until[from] > p->now ? p->busy_until[from] : p->now;
      depart = start + tx;
      p->busy_until[from] = depart;
      txq_push(&p->txq[from], depart);
      if (queued + 1 > p->counters.queue_max[from])
        p->counters.queue_max[from] = queued + 1;
    }
  }
  if (!queue_full)
    p->counters.wire_bytes[from] += len + link->overhead;

  if (p->cfg.log) {
    log_time(p);
    if (decoded) {
      char flags[24];
      tcplab_flags_format(seg.flags, flags, sizeof flags);
      fprintf(p->cfg.log,
              "%s %s %-12s seq=%" PRIu32 " ack=%" PRIu32 " len=%zu%s\n",
              host_name[from], from == PAIR_CLIENT ? "->" : "<-", flags,
              seg.seq, seg.ack, seg.len,
              queue_full ? "  QUEUE FULL"
              : lost     ? "  LOST"
                         : "");
    } else {
      fprintf(p->cfg.log, "%s sent %zu undecodable bytes\n", host_name[from],
              len);
    }
  }
  if (lost || queue_full) {
    p->counters.dropped[from]++;
    if (queue_full)
      p->counters.queue_drops[from]++;
    return;
  }
  struct ev *e = malloc(sizeof *e + len);
  if (!e)
    abort();
  e->kind = EV_SEGMENT;
  e->at = depart + link->delay + (tcplab_time_t)(u_jitter * link->jitter);
  e->to = 1 - from;
  e->src = src;
  e->dst = dst;
  e->len = len;
  e->payload = decoded ? seg.len : 0;
  memcpy(e->bytes, bytes, len);
  if (heap_push(p, e) != TCPLAB_OK)
    abort();
}

static void cb_trace(void *user_data, const struct tcplab_trace_event *ev) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct pair_conn *pc = ev->conn ? rec_of(p, h->index, ev->conn) : NULL;
  if (pc && ev->from != ev->to) {
    pc->state = ev->to;
    pc->states_seen |= 1u << ev->to;
    if (ev->to == TCPLAB_ESTABLISHED && pc->established_at == TCPLAB_TIME_NEVER)
      pc->established_at = ev->now;
    if (ev->to == TCPLAB_CLOSED) {
      pc->final_from = ev->from;
      pc->final_event = ev->event;
    }
  }
  if (p->cfg.log && ev->from != ev->to) {
    log_time(p);
    fprintf(p->cfg.log, "%s #%" PRIu64 " %s -> %s (%s)%s%s\n",
            host_name[h->index], ev->id, tcplab_state_name(ev->from),
            tcplab_state_name(ev->to), tcplab_event_name(ev->event),
            ev->error ? " " : "",
            ev->error ? tcplab_error_name(ev->error) : "");
  }
  if (p->cfg.hooks.trace)
    p->cfg.hooks.trace(p, h->index, ev, p->cfg.hooks.arg);
}

static void cb_acceptable(void *user_data, struct tcplab_listener *l) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK) {
    struct pair_conn *pc = rec_of(p, h->index, c);
    pc->accepted = true;
    script_step(pc);
    if (p->cfg.hooks.accepted)
      p->cfg.hooks.accepted(pc, p->cfg.hooks.arg);
  }
}

static void cb_connected(void *user_data, struct tcplab_conn *c) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct pair_conn *pc = rec_of(p, h->index, c);
  if (pc->established_at == TCPLAB_TIME_NEVER)
    pc->established_at = p->now;
  script_step(pc);
  if (p->cfg.hooks.connected)
    p->cfg.hooks.connected(pc, p->cfg.hooks.arg);
}

static void cb_readable(void *user_data, struct tcplab_conn *c, size_t avail) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct pair_conn *pc = rec_of(p, h->index, c);
  size_t before = pc->rx_len;
  (void)avail;
  drain(pc);
  script_step(pc);
  if (p->cfg.hooks.data && pc->rx_len > before)
    p->cfg.hooks.data(pc, pc->rx_len - before, p->cfg.hooks.arg);
}

static void cb_urgent(void *user_data, struct tcplab_conn *c, size_t pending) {
  struct host *h = user_data;
  struct pair_conn *pc = rec_of(h->p, h->index, c);
  pc->urgent_calls++;
  if (pending == 0 || pending != tcplab_conn_urgent(c))
    pc->urgent_bad = true;
}

static void cb_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct pair_conn *pc = rec_of(p, h->index, c);
  pc->peer_closed = true;
  drain(pc);
  script_step(pc);
  if (pc->conn && !pc->active && p->cfg.script.server_close_on_fin &&
      !pc->close_after_tx)
    pair_close(pc);
  if (p->cfg.hooks.peer_closed)
    p->cfg.hooks.peer_closed(pc, p->cfg.hooks.arg);
}

static void cb_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct host *h = user_data;
  struct pair *p = h->p;
  struct pair_conn *pc = rec_of(p, h->index, c);
  pc->closed = true;
  pc->error = error;
  pc->closed_at = p->now;
  pc->stats = *tcplab_conn_stats(c);
  pc->state = TCPLAB_CLOSED;
  pc->conn = NULL; /* freed by the stack when we return */
  if (p->cfg.hooks.closed)
    p->cfg.hooks.closed(pc, p->cfg.hooks.arg);
}

/* ------------------------------------------------------------- public */

void pair_config_default(struct pair_config *cfg, uint64_t seed) {
  memset(cfg, 0, sizeof *cfg);
  cfg->seed = seed;
  for (int d = 0; d < 2; d++) {
    cfg->link[d].delay = TCPLAB_MS(10);
    tcplab_config_default(&cfg->stack[d]);
    uint64_t x = seed ^ (uint64_t)d << 32;
    cfg->stack[d].seed = splitmix64(&x);
  }
  cfg->script.listen = true;
  cfg->script.port = 80;
  cfg->script.connect_at = 0;
}

static void do_connect(struct pair *p, void *arg) {
  struct tcplab_conn *c;
  (void)arg;
  int rc = tcplab_stack_connect(p->stack[PAIR_CLIENT], p->now, PAIR_CLIENT_ADDR,
                                0, PAIR_SERVER_ADDR, p->cfg.script.port, &c);
  if (rc == TCPLAB_OK)
    rec_of(p, PAIR_CLIENT, c);
  else
    p->counters.connect_error = rc;
}

int pair_new(const struct pair_config *cfg, struct pair **out) {
  struct pair *p = calloc(1, sizeof *p);
  if (!p)
    return TCPLAB_ERR_NOMEM;
  p->cfg = *cfg;
  static const struct tcplab_callbacks cb = {
      .output = cb_output,
      .trace = cb_trace,
      .acceptable = cb_acceptable,
      .connected = cb_connected,
      .readable = cb_readable,
      .peer_closed = cb_peer_closed,
      .urgent = cb_urgent,
      .closed = cb_closed,
  };
  int rc = TCPLAB_OK;
  for (int h = 0; h < 2 && rc == TCPLAB_OK; h++) {
    p->hosts[h] = (struct host){p, h};
    p->allocator[h] =
        (struct tcplab_allocator){count_malloc, count_free, &p->allocs[h]};
    uint64_t x = cfg->seed + (uint64_t)h;
    pair_rng_seed(&p->rng[h], splitmix64(&x));
    rc = tcplab_stack_new(&cfg->stack[h], &cb, &p->allocator[h], &p->hosts[h],
                          &p->stack[h]);
  }
  if (rc == TCPLAB_OK && cfg->script.listen)
    rc = tcplab_stack_listen(p->stack[PAIR_SERVER], 0, PAIR_SERVER_ADDR,
                             cfg->script.port, 128, &p->listener);
  if (rc == TCPLAB_OK && cfg->script.connect_at != TCPLAB_TIME_NEVER)
    rc = pair_at(p, cfg->script.connect_at, do_connect, NULL);
  if (rc != TCPLAB_OK) {
    pair_free(p);
    return rc;
  }
  *out = p;
  return TCPLAB_OK;
}

int pair_at(struct pair *p, tcplab_time_t t,
            void (*fn)(struct pair *p, void *arg), void *arg) {
  struct ev *e = malloc(sizeof *e);
  if (!e)
    return TCPLAB_ERR_NOMEM;
  e->kind = EV_CALL;
  e->at = t < p->now ? p->now : t;
  e->fn = fn;
  e->arg = arg;
  e->len = 0;
  int rc = heap_push(p, e);
  if (rc != TCPLAB_OK)
    free(e);
  return rc;
}

enum pair_run_result pair_run(struct pair *p, tcplab_time_t until) {
  unsigned spins = 0;
  for (;;) {
    /* The earliest of: the next event, then each stack's timer. Ties go
     * to events first, then the client's timers, so runs repeat. */
    tcplab_time_t t = TCPLAB_TIME_NEVER;
    int which = -1;
    if (p->heap_len > 0) {
      t = p->heap[0]->at;
      which = 2;
    }
    for (int h = 0; h < 2; h++) {
      if (!p->stack[h])
        continue;
      tcplab_time_t e = tcplab_stack_next_expiry(p->stack[h]);
      if (e != TCPLAB_TIME_NEVER && (which < 0 || e < t)) {
        t = e;
        which = h;
      }
    }
    if (which < 0)
      return PAIR_IDLE;
    if (t > until) {
      if (until > p->now)
        p->now = until;
      return PAIR_LIMIT;
    }
    /* A deadline already past is run now: the clock never goes back. */
    if (t > p->now)
      p->now = t;

    if (which == 2) {
      struct ev *e = heap_pop(p);
      if (e->kind == EV_CALL) {
        e->fn(p, e->arg);
      } else if (p->stack[e->to]) {
        int from = 1 - e->to;
        p->counters.delivered[from]++;
        p->counters.payload_delivered[from] += e->payload;
        if (e->order + 1 < p->last_order[from])
          p->counters.reordered[from]++;
        else
          p->last_order[from] = e->order + 1;
        int rc = tcplab_stack_input(p->stack[e->to], p->now, e->src, e->dst,
                                    e->bytes, e->len);
        if (rc != TCPLAB_OK)
          p->counters.input_errors++;
        pump_host(p, e->to);
      }
      free(e);
      spins = 0;
    } else {
      tcplab_stack_handle_expiry(p->stack[which], p->now);
      pump_host(p, which);
      /* A timer that stays due after being handled would spin forever;
       * report it instead of hanging the test. */
      if (tcplab_stack_next_expiry(p->stack[which]) <= p->now) {
        if (++spins > 1000)
          return PAIR_STUCK;
      } else {
        spins = 0;
      }
    }
  }
}

tcplab_time_t pair_now(const struct pair *p) {
  return p->now;
}

struct tcplab_stack *pair_stack(struct pair *p, int host) {
  return p->stack[host];
}

const struct pair_config *pair_config(const struct pair *p) {
  return &p->cfg;
}

size_t pair_conn_count(const struct pair *p) {
  return p->nrecs;
}

struct pair_conn *pair_conn_at(struct pair *p, size_t i) {
  return i < p->nrecs ? p->recs[i] : NULL;
}

struct pair_conn *pair_client(struct pair *p) {
  for (size_t i = 0; i < p->nrecs; i++)
    if (p->recs[i]->host == PAIR_CLIENT && p->recs[i]->active)
      return p->recs[i];
  return NULL;
}

int pair_send(struct pair_conn *pc, const void *data, size_t len) {
  if (!pc->conn)
    return TCPLAB_ERR_STATE;
  if (pc->close_after_tx)
    return TCPLAB_ERR_CLOSING;
  if (!grow(&pc->tx, &pc->tx_cap, pc->tx_len + len))
    return TCPLAB_ERR_NOMEM;
  memcpy(pc->tx + pc->tx_len, data, len);
  pc->tx_len += len;
  pc->tx_total += len;
  pump(pc);
  return TCPLAB_OK;
}

int pair_send_pattern(struct pair_conn *pc, size_t len) {
  if (!pc->conn)
    return TCPLAB_ERR_STATE;
  if (pc->close_after_tx)
    return TCPLAB_ERR_CLOSING;
  if (!grow(&pc->tx, &pc->tx_cap, pc->tx_len + len))
    return TCPLAB_ERR_NOMEM;
  pair_pattern_fill(pc->host, pc->tx_total, pc->tx + pc->tx_len, len);
  pc->tx_len += len;
  pc->tx_total += len;
  pump(pc);
  return TCPLAB_OK;
}

int pair_close(struct pair_conn *pc) {
  if (!pc->conn)
    return TCPLAB_ERR_STATE;
  if (pc->close_after_tx)
    return TCPLAB_ERR_STATE;
  pc->close_after_tx = true;
  pump(pc);
  return TCPLAB_OK;
}

void pair_pause_rx(struct pair_conn *pc) {
  pc->rx_paused = true;
}

void pair_resume_rx(struct pair_conn *pc) {
  struct pair *p = pc->pair;
  size_t before = pc->rx_len;
  pc->rx_paused = false;
  drain(pc);
  script_step(pc);
  if (p->cfg.hooks.data && pc->rx_len > before)
    p->cfg.hooks.data(pc, pc->rx_len - before, p->cfg.hooks.arg);
}

size_t pair_abort_live(struct pair *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->nrecs; i++) {
    struct pair_conn *pc = p->recs[i];
    if (!pc->conn)
      continue;
    pc->app_aborted = true;
    tcplab_conn_abort(pc->conn, p->now);
    n++;
  }
  return n;
}

bool pair_rx_matches(const struct pair_conn *pc) {
  uint8_t want[4096];
  for (size_t off = 0; off < pc->rx_len; off += sizeof want) {
    size_t n = pc->rx_len - off < sizeof want ? pc->rx_len - off : sizeof want;
    pair_pattern_fill(1 - pc->host, off, want, n);
    if (memcmp(pc->rx + off, want, n) != 0)
      return false;
  }
  return true;
}

const struct pair_counters *pair_counters(const struct pair *p) {
  return &p->counters;
}

size_t pair_destroy_stacks(struct pair *p) {
  for (int h = 0; h < 2; h++) {
    if (p->stack[h])
      tcplab_stack_del(p->stack[h]);
    p->stack[h] = NULL;
  }
  p->listener = NULL;
  for (size_t i = 0; i < p->nrecs; i++)
    p->recs[i]->conn = NULL;
  while (p->heap_len > 0)
    free(heap_pop(p));
  return p->allocs[0].live + p->allocs[1].live;
}

size_t pair_live_allocs(const struct pair *p, int host) {
  return p->allocs[host].live;
}

void pair_free(struct pair *p) {
  if (!p)
    return;
  pair_destroy_stacks(p);
  for (size_t i = 0; i < p->nrecs; i++) {
    free(p->recs[i]->rx);
    free(p->recs[i]->tx);
    free(p->recs[i]);
  }
  free(p->recs);
  free(p->heap);
  free(p->txq[0].t);
  free(p->txq[1].t);
  free(p);
}
