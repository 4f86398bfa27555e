#include "ring.h"

#include <string.h>

static uint32_t min_u32(uint32_t a, uint32_t b) {
  return a < b ? a : b;
}

uint32_t ring_push(struct ring *r, const void *data, uint32_t n) {
  n = min_u32(n, ring_free(r));
  const uint8_t *p = data;
  uint32_t tail = (r->head + r->len) % r->cap;
  uint32_t first = min_u32(n, r->cap - tail);
  memcpy(r->buf + tail, p, first);
  memcpy(r->buf, p + first, n - first);
  r->len += n;
  return n;
}

void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n) {
  uint8_t *p = out;
  uint32_t start = (r->head + off) % r->cap;
  uint32_t first = min_u32(n, r->cap - start);
  memcpy(p, r->buf + start, first);
  memcpy(p + first, r->buf, n - first);
}

void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n) {
  const uint8_t *p = data;
  uint32_t start = (r->head + r->len + off) % r->cap;
  uint32_t first = min_u32(n, r->cap - start);
  memcpy(r->buf + start, p, first);
  memcpy(r->buf, p + first, n - first);
}

void ring_commit(struct ring *r, uint32_t n) {
  r->len += n;
}

void ring_consume(struct ring *r, uint32_t n) {
  /* head is not reset when the ring empties: out-of-order data may sit
   * past the end, at offsets relative to it. */
  r->head = (r->head + n) % r->cap;
  r->len -= n;
}
