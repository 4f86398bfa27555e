/* The Internet checksum's one's complement sum (RFC 1071), alone and
 * while copying, so a payload is read once on its way in or out. */
#ifndef TCPLAB_CSUM_H
#define TCPLAB_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Partial sums are 64-bit values in the machine's byte order: add them
 * with csum_combine, fold once at the end. A part must start at an even
 * offset of the data it belongs to (else see csum_at_odd); only the last
 * part may have an odd length. */
uint64_t csum_add(const void *p, size_t n, uint64_t acc);
/* Copies n bytes to dst (no overlap) and returns their sum. */
uint64_t csum_copy(void *dst, const void *src, size_t n);
/* The partial sum of a part that starts at an odd offset of the data,
 * from the sum it has on its own. */
uint64_t csum_at_odd(uint64_t acc);

/* The small helpers are inline: they run several times per segment. */

static inline uint64_t csum_combine(uint64_t a, uint64_t b) {
  /* End-around carry: 2^64 = 1 in one's complement arithmetic. */
  uint64_t s = a + b;
  return s + (s < a);
}

static inline bool csum_little_endian(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* The sum folded to 16 bits, in the machine's byte order. */
static inline uint16_t csum_fold16(uint64_t acc) {
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  acc = (acc & 0xFFFFu) + (acc >> 16);
  return (uint16_t)acc;
}

static inline uint16_t csum_swap16(uint16_t v) {
  return (uint16_t)(v >> 8 | v << 8);
}

/* The 16-bit sum in network byte order (not complemented). */
static inline uint16_t csum_fold(uint64_t acc) {
  uint16_t sum = csum_fold16(acc);
  return csum_little_endian() ? csum_swap16(sum) : sum;
}

/* A partial sum for 16-bit words given as values (their network-order
 * reading) and added up as plain numbers, for sums of header fields:
 * a big-endian machine would load the same, a little-endian one the
 * same sum with its bytes swapped. */
static inline uint64_t csum_of_values(uint64_t values) {
  return csum_fold(values);
}

/* The implementations this build has, slowest (the portable one) first;
 * csum_add and csum_copy use the last one the CPU supports. Tests run
 * every one it supports against a reference. */
struct csum_impl {
  const char *name;
  bool (*supported)(void);
  uint64_t (*add)(const void *p, size_t n, uint64_t acc);
  uint64_t (*copy)(void *dst, const void *src, size_t n);
};
extern const struct csum_impl csum_impls[];
extern const size_t csum_impl_count;

#endif
