/* The stack's timers: a binary min-heap of connections keyed by each
 * connection's earliest deadline, and a FIFO for TIME_WAIT (internal.h
 * says why), so the caller needs a single timer. */
#include <stdint.h>

#include "internal.h"

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

static bool earlier(struct timer_entry a, struct timer_entry b) {
  /* Ties go to the older connection so expiry order is deterministic. */
  return a.key < b.key || (a.key == b.key && a.conn->id < b.conn->id);
}

/* ---------------------------------------------------------------- heap */

static void place(struct timer_heap *h, uint32_t i, struct timer_entry e) {
  h->v[i] = e;
  e.conn->timer_pos = i;
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

static void heap_remove(struct timer_heap *h, struct tcplab_conn *c) {
  uint32_t i = c->timer_pos;
  c->timer_pos = TIMER_NOWHERE;
  struct timer_entry last = h->v[--h->len];
  if (last.conn == c) {
    return;
  }
  place(h, i, last);
  sift_down(h, i);
  sift_up(h, last.conn->timer_pos);
}

/* Puts c, in neither the heap nor the queue, into the heap. */
static void heap_insert(struct timer_heap *h, struct tcplab_conn *c) {
  if (c->timer_key == TCPLAB_TIME_NEVER) {
    return;
  }
  /* Capacity was reserved when the connection was created, so this
   * cannot fail (see timer_heap_reserve). */
  place(h, h->len++, (struct timer_entry){c->timer_key, c});
  sift_up(h, c->timer_pos);
}

/* Moves c, in the heap, to where its new timer_key belongs. */
static void heap_rekey(struct timer_heap *h, struct tcplab_conn *c) {
  if (c->timer_key == TCPLAB_TIME_NEVER) {
    heap_remove(h, c);
    return;
  }
  /* The entry's old key says which way it moves. */
  uint32_t i = c->timer_pos;
  bool later = c->timer_key > h->v[i].key;
  place(h, i, (struct timer_entry){c->timer_key, c});
  if (later) {
    sift_down(h, i);
  } else {
    sift_up(h, i);
  }
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

/* ----------------------------------------------------- TIME_WAIT queue */

static struct timer_entry *slot(const struct tw_queue *q, uint32_t pos) {
  return &q->v[pos & (q->cap - 1)];
}

static bool queue_grow(struct tcplab_stack *s, struct tw_queue *q) {
  uint32_t cap = q->cap ? q->cap * 2 : 64;
  size_t bytes = (size_t)cap * sizeof *q->v;
  if (q->cap > UINT32_MAX / 4 || bytes / sizeof *q->v != cap) {
    return false; /* positions must keep a spare bit; the size must fit */
  }
  struct timer_entry *v = stack_alloc(s, bytes);
  if (v == NULL) {
    return false;
  }
  /* A position keeps its meaning: it lands on its slot mod the new cap. */
  for (uint32_t pos = q->head; pos != q->tail; pos++) {
    v[pos & (cap - 1)] = *slot(q, pos);
  }
  stack_free(s, q->v);
  q->v = v;
  q->cap = cap;
  return true;
}

/* Appends c, in neither the heap nor the queue, if that keeps the queue in
 * deadline order. False sends it to the heap instead: the caller's clock
 * went back, or there is no memory (the heap has room for everyone). */
static bool queue_append(struct tcplab_stack *s, struct tcplab_conn *c) {
  struct tw_queue *q = &s->twq;
  if (q->head != q->tail && slot(q, q->tail - 1)->key > c->timer_key) {
    return false;
  }
  if (q->tail - q->head == q->cap && !queue_grow(s, q)) {
    return false;
  }
  *slot(q, q->tail) = (struct timer_entry){c->timer_key, c};
  c->timer_pos = q->tail++;
  c->tw_queued = 1;
  return true;
}

/* Leaves a hole, which the head steps over once it gets there. */
static void queue_remove(struct tw_queue *q, struct tcplab_conn *c) {
  slot(q, c->timer_pos)->conn = NULL;
  c->timer_pos = TIMER_NOWHERE;
  c->tw_queued = 0;
  while (q->head != q->tail && slot(q, q->head)->conn == NULL) {
    q->head++;
  }
}

/* ---------------------------------------------------------------- both */

static void unlink_timer(struct tcplab_stack *s, struct tcplab_conn *c) {
  if (c->tw_queued) {
    queue_remove(&s->twq, c);
  } else if (c->timer_pos != TIMER_NOWHERE) {
    heap_remove(&s->heap, c);
  }
}

/* Whether c's one running timer is TIME_WAIT's 2*MSL, which the queue
 * can hold. */
static bool waits_out_time_wait(const struct tcplab_conn *c) {
  return c->state == TCPLAB_TIME_WAIT &&
         c->timer[TIMER_LINGER] != TCPLAB_TIME_NEVER &&
         c->timer[TIMER_RTX] == TCPLAB_TIME_NEVER &&
         c->timer[TIMER_DELACK] == TCPLAB_TIME_NEVER;
}

void timer_set(struct tcplab_conn *c, enum timer_kind k, tcplab_time_t at) {
  c->timer[k] = at;
  tcplab_time_t key = TCPLAB_TIME_NEVER;
  for (int i = 0; i < TIMER_COUNT; i++) {
    if (c->timer[i] < key) {
      key = c->timer[i];
    }
  }
  if (key == c->timer_key) {
    return;
  }
  struct tcplab_stack *s = c->stack;
  c->timer_key = key;
  if (waits_out_time_wait(c)) {
    /* Entered TIME_WAIT, restarted it, or stopped the last other timer:
     * to the end of the queue. */
    unlink_timer(s, c);
    if (!queue_append(s, c)) {
      heap_insert(&s->heap, c);
    }
  } else if (c->tw_queued) {
    queue_remove(&s->twq, c);
    heap_insert(&s->heap, c);
  } else if (c->timer_pos == TIMER_NOWHERE) {
    heap_insert(&s->heap, c);
  } else {
    heap_rekey(&s->heap, c);
  }
}

void timer_cancel_all(struct tcplab_conn *c) {
  for (int i = 0; i < TIMER_COUNT; i++) {
    c->timer[i] = TCPLAB_TIME_NEVER;
  }
  c->timer_key = TCPLAB_TIME_NEVER;
  unlink_timer(c->stack, c);
}

const struct timer_entry *timer_next(const struct tcplab_stack *s) {
  const struct tw_queue *q = &s->twq;
  const struct timer_entry *h = s->heap.len > 0 ? &s->heap.v[0] : NULL;
  if (q->head == q->tail) {
    return h;
  }
  /* The expiry loop comes back for the next ones soon: fetch a
   * connection a few places on, since they lie anywhere in memory. */
  if (q->tail - q->head > 8) {
    PREFETCH(slot(q, q->head + 8)->conn);
  }
  /* At equal deadlines the heap's timer goes first, a rule that needs no
   * read of either connection. */
  const struct timer_entry *first = slot(q, q->head);
  return h == NULL || first->key < h->key ? first : h;
}

/* Room for the first connections' timers comes with the stack. Taken
 * later, from the middle of the first connection's memory, it kept malloc
 * from merging what that connection freed: 4 % more instructions per
 * connection lifecycle. */
int timer_init(struct tcplab_stack *s) {
  if (timer_heap_reserve(s, 64) != TCPLAB_OK || !queue_grow(s, &s->twq)) {
    return TCPLAB_ERR_NOMEM;
  }
  return TCPLAB_OK;
}

void timer_free(struct tcplab_stack *s) {
  stack_free(s, s->heap.v);
  s->heap.v = NULL;
  s->heap.len = s->heap.cap = 0;
  stack_free(s, s->twq.v);
  s->twq.v = NULL;
  s->twq.head = s->twq.tail = s->twq.cap = 0;
}
