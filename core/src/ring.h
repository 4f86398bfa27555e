/* A byte ring buffer: the send and receive buffers. Its storage grows on
 * demand up to its capacity, so a short connection costs a few KiB and
 * not the configured buffer sizes. */
#ifndef TCPLAB_RING_H
#define TCPLAB_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tcplab/core.h>

struct ring {
  uint8_t *buf;  /* NULL until storage is needed */
  uint32_t cap;  /* the most it may hold: the configured buffer size */
  uint32_t size; /* storage allocated, <= cap */
  uint32_t head; /* offset of the first byte */
  uint32_t len;
};

static inline uint32_t ring_free(const struct ring *r) {
  return r->cap - r->len;
}

/* Bytes of storage past the end of the data, which may wrap. */
static inline uint32_t ring_storage_free(const struct ring *r) {
  return r->size - r->len;
}

/* Makes storage for the first `total` bytes from the head (in-order data
 * and anything past it), at most cap. Returns false when out of memory. */
bool ring_reserve(struct ring *r, uint32_t total,
                  const struct tcplab_allocator *a);
/* Frees the storage; the ring must be empty. */
void ring_release(struct ring *r, const struct tcplab_allocator *a);

/* Appends up to n bytes (bounded by free space and storage); returns how
 * many. */
uint32_t ring_push(struct ring *r, const void *data, uint32_t n);
/* Copies n bytes starting off bytes past the head into out. */
void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n);
/* Where the data's byte off (< len) is stored; *n is how many data bytes
 * follow it in one piece. */
const uint8_t *ring_at(const struct ring *r, uint32_t off, uint32_t *n);
/* ring_peek that also returns the bytes' one's complement sum (csum.h). */
uint64_t ring_peek_sum(const struct ring *r, uint32_t off, void *out,
                       uint32_t n);
/* ring_write_at(r, 0, data, n) that also returns the bytes' sum; the n
 * bytes past the end must be in storage (ring_storage_free). */
uint64_t ring_place_sum(struct ring *r, const void *data, uint32_t n);
/* Stores n bytes off bytes past the end of the data without making them
 * part of it (out-of-order data); storage must have been reserved. */
void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n);
/* Makes n bytes past the end, stored by ring_write_at, part of the data. */
void ring_commit(struct ring *r, uint32_t n);
/* Moves the head of an empty ring to the front of its storage; only when
 * nothing is stored past the end (ring_write_at). */
static inline void ring_rewind(struct ring *r) {
  r->head = 0;
}
/* Drops the first n bytes. */
void ring_consume(struct ring *r, uint32_t n);

#endif
