/* The benchmarks' in-memory network (loop.h). */
#include "loop.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ allocator */

/* The size sits in front of each block because tcplab_allocator.free is
 * not told the size; 16 bytes keep the block aligned as malloc's is. */
union mem_hdr {
  size_t size;
  unsigned char align[16];
};

static void *count_malloc(size_t size, void *user_data) {
  struct mem_count *c = user_data;
  union mem_hdr *h = malloc(sizeof *h + size);
  if (h == NULL)
    return NULL;
  h->size = size;
  c->live_bytes += size;
  c->live_blocks++;
  c->allocs++;
  if (c->sizes_on) {
    size_t i = 0;
    while (i < c->nsizes && c->sizes[i].size != size)
      i++;
    if (i < 16) {
      if (i == c->nsizes)
        c->sizes[c->nsizes++].size = size;
      c->sizes[i].count++;
    }
  }
  if (c->live_bytes > c->peak_bytes)
    c->peak_bytes = c->live_bytes;
  return h + 1;
}

static void count_free(void *ptr, void *user_data) {
  struct mem_count *c = user_data;
  if (ptr == NULL)
    return;
  union mem_hdr *h = (union mem_hdr *)ptr - 1;
  c->live_bytes -= h->size;
  c->live_blocks--;
  c->frees++;
  free(h);
}

struct tcplab_allocator mem_counting_allocator(struct mem_count *count) {
  return (struct tcplab_allocator){count_malloc, count_free, count};
}

/* A free block of the pool keeps the link to the next one of its size
 * where its data went. */
union pool_hdr {
  size_t size;
  unsigned char align[16];
};

static void *pool_malloc(size_t size, void *user_data) {
  struct mem_pool *p = user_data;
  for (size_t i = 0; i < p->nlists; i++) {
    if (p->lists[i].size == size && p->lists[i].head != NULL) {
      void *block = p->lists[i].head;
      memcpy(&p->lists[i].head, block, sizeof(void *));
      return block;
    }
  }
  union pool_hdr *h =
      malloc(sizeof *h + (size < sizeof(void *) ? sizeof(void *) : size));
  if (h == NULL)
    return NULL;
  h->size = size;
  return h + 1;
}

static void pool_free(void *ptr, void *user_data) {
  struct mem_pool *p = user_data;
  if (ptr == NULL)
    return;
  size_t size = ((union pool_hdr *)ptr - 1)->size;
  size_t i = 0;
  while (i < p->nlists && p->lists[i].size != size)
    i++;
  if (i == p->nlists) {
    if (p->nlists == 16) {
      free((union pool_hdr *)ptr - 1); /* a size too many: not cached */
      return;
    }
    p->lists[i].size = size;
    p->lists[i].head = NULL;
    p->nlists++;
  }
  memcpy(ptr, &p->lists[i].head, sizeof(void *));
  p->lists[i].head = ptr;
}

struct tcplab_allocator mem_pool_allocator(struct mem_pool *pool) {
  return (struct tcplab_allocator){pool_malloc, pool_free, pool};
}

void mem_pool_release(struct mem_pool *pool) {
  for (size_t i = 0; i < pool->nlists; i++) {
    void *block = pool->lists[i].head;
    while (block != NULL) {
      void *next;
      memcpy(&next, block, sizeof next);
      free((union pool_hdr *)block - 1);
      block = next;
    }
  }
  pool->nlists = 0;
}

/* ---------------------------------------------------------------- queue */

struct slot {
  uint32_t src, dst;
  uint32_t len;
  int to;
  uint8_t *buf; /* slot_bytes of storage, the segment at the front */
};

struct net {
  struct net_host host[2];
  struct tcplab_stack *stack[2];
  tcplab_time_t now;
  /* A ring of segments in flight, and the buffers free for new ones.
   * Buffers never move: the one being delivered is read in place. */
  struct slot *slots;
  size_t head, len, cap;
  size_t slot_bytes;
  /* Freed buffers are taken last in, first out: the one a segment was
   * just read from is still in the cache when the next is built in it. */
  uint8_t **free_bufs;
  size_t nfree;     /* free_bufs has room for cap */
  uint8_t *pending; /* the buffer given to the segment being built */
  uint64_t delivered;
  net_pump_fn pump;
  void *pump_arg;
  net_tap_fn tap;
  void *tap_arg;
};

/* Room for twice the segments in flight, and as many free buffers. */
static bool grow(struct net *n) {
  size_t cap = n->cap ? n->cap * 2 : 256;
  struct slot *slots = malloc(cap * sizeof *slots);
  uint8_t **free_bufs = realloc(n->free_bufs, cap * sizeof *free_bufs);
  if (free_bufs != NULL)
    n->free_bufs = free_bufs;
  if (slots == NULL || free_bufs == NULL) {
    free(slots);
    return false;
  }
  for (size_t i = 0; i < n->len; i++)
    slots[i] = n->slots[(n->head + i) % n->cap];
  free(n->slots);
  n->slots = slots;
  n->head = 0;
  n->cap = cap;
  return true;
}

/* The stacks build each segment straight into a queue buffer
 * (tcplab_callbacks.tx_buffer), so putting it on the wire is a matter of
 * counting it in. */
static uint8_t *on_tx_buffer(void *user_data, size_t len) {
  struct net_host *h = user_data;
  struct net *n = h->net;
  if (len > n->slot_bytes || (n->len == n->cap && !grow(n)))
    abort(); /* a benchmark that cannot queue a segment measures nothing */
  n->pending = n->nfree > 0 ? n->free_bufs[--n->nfree] : malloc(n->slot_bytes);
  if (n->pending == NULL)
    abort();
  return n->pending;
}

static void on_output(void *user_data, tcplab_time_t now, uint32_t src,
                      uint32_t dst, const uint8_t *bytes, size_t len) {
  struct net_host *h = user_data;
  struct net *n = h->net;
  (void)now;
  if (bytes != n->pending)
    abort(); /* every segment is built where on_tx_buffer said */
  if (n->tap)
    n->tap(n->tap_arg, h->index, bytes, len);
  size_t i = n->head + n->len;
  i = i < n->cap ? i : i - n->cap;
  n->len++;
  n->slots[i] =
      (struct slot){src, dst, (uint32_t)len, 1 - h->index, n->pending};
  n->pending = NULL;
}

/* ------------------------------------------------------------- the net */

struct net *net_new(const struct tcplab_config cfg[2],
                    const struct tcplab_allocator *alloc[2],
                    const struct tcplab_callbacks *cb, void *app) {
  struct net *n = calloc(1, sizeof *n);
  if (n == NULL)
    return NULL;
  uint16_t mss = cfg[0].mss > cfg[1].mss ? cfg[0].mss : cfg[1].mss;
  n->slot_bytes = TCPLAB_HEADER_MAX + mss;
  struct tcplab_callbacks c = *cb;
  c.output = on_output;
  c.tx_buffer = on_tx_buffer;
  for (int i = 0; i < 2; i++) {
    n->host[i] = (struct net_host){n, i, app};
    if (tcplab_stack_new(&cfg[i], &c, alloc[i], &n->host[i], &n->stack[i]) !=
        TCPLAB_OK) {
      net_free(n);
      return NULL;
    }
  }
  if (!grow(n)) {
    net_free(n);
    return NULL;
  }
  return n;
}

void net_free(struct net *n) {
  if (n == NULL)
    return;
  tcplab_stack_del(n->stack[0]);
  tcplab_stack_del(n->stack[1]);
  for (size_t i = 0; i < n->len; i++)
    free(n->slots[(n->head + i) % n->cap].buf);
  for (size_t i = 0; i < n->nfree; i++)
    free(n->free_bufs[i]);
  free(n->slots);
  free(n->free_bufs);
  free(n);
}

struct tcplab_stack *net_stack(struct net *n, int host) {
  return n->stack[host];
}

tcplab_time_t net_now(const struct net *n) {
  return n->now;
}

void net_set_pump(struct net *n, net_pump_fn fn, void *arg) {
  n->pump = fn;
  n->pump_arg = arg;
}

void net_set_tap(struct net *n, net_tap_fn fn, void *arg) {
  n->tap = fn;
  n->tap_arg = arg;
}

uint64_t net_delivered(const struct net *n) {
  return n->delivered;
}

/* Delivers the oldest queued segment, in place (see struct net). */
static void deliver_one(struct net *n) {
  struct slot s = n->slots[n->head];
  n->head = n->head + 1 == n->cap ? 0 : n->head + 1;
  n->len--;
  int rc =
      tcplab_stack_input(n->stack[s.to], n->now, s.src, s.dst, s.buf, s.len);
  if (rc != TCPLAB_OK)
    abort(); /* the stacks only ever exchange valid segments */
  /* Room for it: a buffer is made only when none is free, so there are
   * never more of them than slots. */
  n->free_bufs[n->nfree++] = s.buf;
  n->delivered++;
  if (n->pump)
    n->pump(n, n->pump_arg);
}

uint64_t net_flush(struct net *n) {
  uint64_t before = n->delivered;
  while (n->len > 0)
    deliver_one(n);
  return n->delivered - before;
}

void net_run(struct net *n, bool (*stop)(void *arg), void *arg) {
  for (;;) {
    while (n->len > 0) {
      deliver_one(n);
      if (stop && stop(arg))
        return;
    }
    tcplab_time_t e0 = tcplab_stack_next_expiry(n->stack[0]);
    tcplab_time_t e1 = tcplab_stack_next_expiry(n->stack[1]);
    tcplab_time_t e = e0 < e1 ? e0 : e1;
    if (e == TCPLAB_TIME_NEVER)
      return;
    if (e > n->now)
      n->now = e; /* nothing in flight: jump to the next timer */
    tcplab_stack_handle_expiry(n->stack[e0 <= e1 ? 0 : 1], n->now);
    if (n->pump)
      n->pump(n, n->pump_arg);
    if (stop && stop(arg))
      return;
  }
}
