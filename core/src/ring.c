#include "ring.h"

#include <string.h>

#include "csum.h"
#include "minmax.h"

/* The first allocation; most short exchanges never need more. */
#define RING_MIN 4096u

/* The storage offset of the byte `pos` bytes past the start of storage,
 * for pos < 2 * size (head < size, and what lies past it fits in
 * storage). A subtraction, not %: a division costs dozens of cycles, and
 * the ring is indexed several times per segment. */
static uint32_t wrap(const struct ring *r, uint32_t pos) {
  return pos < r->size ? pos : pos - r->size;
}

bool ring_reserve(struct ring *r, uint32_t total,
                  const struct tcplab_allocator *a) {
  total = min_u32(total, r->cap);
  if (total <= r->size) {
    return true;
  }
  uint32_t size = r->size ? r->size : min_u32(RING_MIN, r->cap);
  while (size < total) {
    size = size > r->cap / 2 ? r->cap : size * 2;
  }
  uint8_t *buf = a->malloc(size, a->user_data);
  if (buf == NULL) {
    return false;
  }
  if (r->buf != NULL) {
    /* Unwrap the old storage, in-order data and what lies past it alike:
     * every byte keeps its offset from the head. */
    uint32_t first = r->size - r->head;
    memcpy(buf, r->buf + r->head, first);
    memcpy(buf + first, r->buf, r->head);
    a->free(r->buf, a->user_data);
  }
  r->buf = buf;
  r->size = size;
  r->head = 0;
  return true;
}

void ring_release(struct ring *r, const struct tcplab_allocator *a) {
  if (r->buf != NULL) {
    a->free(r->buf, a->user_data);
  }
  r->buf = NULL;
  r->size = r->head = r->len = 0;
}

uint32_t ring_push(struct ring *r, const void *data, uint32_t n) {
  n = min_u32(n, r->size - r->len);
  const uint8_t *p = data;
  uint32_t tail = wrap(r, r->head + r->len);
  uint32_t first = min_u32(n, r->size - tail);
  memcpy(r->buf + tail, p, first);
  memcpy(r->buf, p + first, n - first);
  r->len += n;
  return n;
}

void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n) {
  uint8_t *p = out;
  uint32_t start = wrap(r, r->head + off);
  uint32_t first = min_u32(n, r->size - start);
  memcpy(p, r->buf + start, first);
  memcpy(p + first, r->buf, n - first);
}

const uint8_t *ring_at(const struct ring *r, uint32_t off, uint32_t *n) {
  uint32_t start = wrap(r, r->head + off);
  *n = min_u32(r->len - off, r->size - start);
  return r->buf + start;
}

/* Copies the n bytes at storage offset start to out, or data to that
 * offset, wrapping at the end of storage, and sums them. */
static uint64_t copy_sum(const struct ring *r, uint32_t start, uint8_t *out,
                         const uint8_t *data, uint32_t n) {
  uint32_t first = min_u32(n, r->size - start);
  uint64_t sum = out ? csum_copy(out, r->buf + start, first)
                     : csum_copy(r->buf + start, data, first);
  if (first == n) {
    return sum;
  }
  uint64_t rest = out ? csum_copy(out + first, r->buf, n - first)
                      : csum_copy(r->buf, data + first, n - first);
  return csum_combine(sum, first % 2 ? csum_at_odd(rest) : rest);
}

uint64_t ring_peek_sum(const struct ring *r, uint32_t off, void *out,
                       uint32_t n) {
  return copy_sum(r, wrap(r, r->head + off), out, NULL, n);
}

uint64_t ring_place_sum(struct ring *r, const void *data, uint32_t n) {
  return copy_sum(r, wrap(r, r->head + r->len), NULL, data, n);
}

void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n) {
  const uint8_t *p = data;
  uint32_t start = wrap(r, r->head + r->len + off);
  uint32_t first = min_u32(n, r->size - start);
  memcpy(r->buf + start, p, first);
  memcpy(r->buf, p + first, n - first);
}

void ring_commit(struct ring *r, uint32_t n) {
  r->len += n;
}

void ring_consume(struct ring *r, uint32_t n) {
  /* head is not reset when the ring empties: out-of-order data may sit
   * past the end, at offsets relative to it. */
  if (n == 0) {
    return;
  }
  r->head = wrap(r, r->head + n);
  r->len -= n;
}
