/* One binary min-heap of connections for the whole stack, keyed by each
 * connection's earliest deadline, so the caller needs a single timer. */
#include <stdint.h>

#include "internal.h"

static bool earlier(struct timer_entry a, struct timer_entry b) {
  /* Ties go to the older connection so expiry order is deterministic. */
  return a.key < b.key || (a.key == b.key && a.conn->id < b.conn->id);
}

static void place(struct timer_heap *h, uint32_t i, struct timer_entry e) {
  h->v[i] = e;
  e.conn->heap_idx = i;
}

static void sift_up(struct timer_heap *h, uint32_t i) {
  struct timer_entry e = h->v[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!earlier(e, h->v[parent])) {
      break;
    }
    place(h, i, h->v[parent]);
    i = parent;
  }
  place(h, i, e);
}

static void sift_down(struct timer_heap *h, uint32_t i) {
  struct timer_entry e = h->v[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= h->len) {
      break;
    }
    if (child + 1 < h->len && earlier(h->v[child + 1], h->v[child])) {
      child++;
    }
    if (!earlier(h->v[child], e)) {
      break;
    }
    place(h, i, h->v[child]);
    i = child;
  }
  place(h, i, e);
}

void timer_heap_remove(struct timer_heap *h, struct tcplab_conn *c) {
  uint32_t i = c->heap_idx;
  if (i == HEAP_NONE) {
    return;
  }
  c->heap_idx = HEAP_NONE;
  struct timer_entry last = h->v[--h->len];
  if (last.conn == c) {
    return;
  }
  place(h, i, last);
  sift_down(h, i);
  sift_up(h, last.conn->heap_idx);
}

void timer_heap_update(struct timer_heap *h, struct tcplab_conn *c) {
  if (c->timer_key == TCPLAB_TIME_NEVER) {
    timer_heap_remove(h, c);
    return;
  }
  struct timer_entry e = {c->timer_key, c};
  if (c->heap_idx == HEAP_NONE) {
    /* Capacity was reserved when the connection was created, so this
     * cannot fail (see timer_heap_reserve). */
    place(h, h->len++, e);
    sift_up(h, c->heap_idx);
    return;
  }
  /* The entry's old key says which way it moves. */
  bool later = e.key > h->v[c->heap_idx].key;
  place(h, c->heap_idx, e);
  if (later) {
    sift_down(h, c->heap_idx);
  } else {
    sift_up(h, c->heap_idx);
  }
}

void timer_set(struct tcplab_conn *c, enum timer_kind k, tcplab_time_t at) {
  c->timer[k] = at;
  tcplab_time_t key = TCPLAB_TIME_NEVER;
  for (int i = 0; i < TIMER_COUNT; i++) {
    if (c->timer[i] < key) {
      key = c->timer[i];
    }
  }
  if (key != c->timer_key) {
    c->timer_key = key;
    timer_heap_update(&c->stack->heap, c);
  }
}

struct tcplab_conn *timer_heap_top(const struct timer_heap *h) {
  return h->len > 0 ? h->v[0].conn : NULL;
}

int timer_heap_reserve(struct tcplab_stack *s, size_t n) {
  struct timer_heap *h = &s->heap;
  if (n <= h->cap) {
    return TCPLAB_OK;
  }
  /* The capacity doubles up to 2n: it, and its size in bytes, must fit. */
  if (n > UINT32_MAX / 2 || n > SIZE_MAX / 2 / sizeof *h->v) {
    return TCPLAB_ERR_NOMEM;
  }
  uint32_t cap = h->cap ? h->cap : 64;
  while (cap < n) {
    cap *= 2;
  }
  struct timer_entry *v = stack_alloc(s, cap * sizeof *v);
  if (v == NULL) {
    return TCPLAB_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < h->len; i++) {
    v[i] = h->v[i];
  }
  stack_free(s, h->v);
  h->v = v;
  h->cap = cap;
  return TCPLAB_OK;
}

void timer_heap_free(struct tcplab_stack *s) {
  stack_free(s, s->heap.v);
  s->heap.v = NULL;
  s->heap.len = s->heap.cap = 0;
}
