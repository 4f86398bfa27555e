/* A byte ring buffer: the send and receive buffers. */
#ifndef TCPLAB_RING_H
#define TCPLAB_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
  uint8_t *buf; /* NULL until the first byte is stored */
  uint32_t cap;
  uint32_t head; /* offset of the first byte */
  uint32_t len;
};

static inline uint32_t ring_free(const struct ring *r) {
  return r->cap - r->len;
}

/* Appends up to n bytes (bounded by free space); returns how many. */
uint32_t ring_push(struct ring *r, const void *data, uint32_t n);
/* Copies n bytes starting off bytes past the head into out. */
void ring_peek(const struct ring *r, uint32_t off, void *out, uint32_t n);
/* Stores n bytes off bytes past the end of the data without making them
 * part of it (out-of-order data); off + n must not exceed the free space. */
void ring_write_at(struct ring *r, uint32_t off, const void *data, uint32_t n);
/* Makes n bytes past the end, stored by ring_write_at, part of the data. */
void ring_commit(struct ring *r, uint32_t n);
/* Drops the first n bytes. */
void ring_consume(struct ring *r, uint32_t n);

#endif
