/* The Internet checksum's one's complement sum (RFC 1071), alone and
 * while copying, so a payload is read once on its way in or out. */
#ifndef TCPLAB_CSUM_H
#define TCPLAB_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Partial sums are 64-bit values in the machine's byte order: add them
 * with csum_combine, fold once at the end. A part must start at an even
 * offset of the data it belongs to (else see csum_at_odd); only the last
 * part may have an odd length. */
uint64_t csum_add(const void *p, size_t n, uint64_t acc);
/* Copies n bytes to dst (no overlap) and returns their sum. */
uint64_t csum_copy(void *dst, const void *src, size_t n);
uint64_t csum_combine(uint64_t a, uint64_t b);
/* A partial sum for 16-bit words given as values (their network-order
 * reading) and added up as plain numbers, for sums of header fields. */
uint64_t csum_of_values(uint64_t values);
/* The partial sum of a part that starts at an odd offset of the data,
 * from the sum it has on its own. */
uint64_t csum_at_odd(uint64_t acc);
/* The 16-bit sum in network byte order (not complemented). */
uint16_t csum_fold(uint64_t acc);

/* The implementations this build has, the portable one first; tests run
 * every one the CPU supports against a reference. */
struct csum_impl {
  const char *name;
  bool (*supported)(void);
  uint64_t (*add)(const void *p, size_t n, uint64_t acc);
  uint64_t (*copy)(void *dst, const void *src, size_t n);
};
extern const struct csum_impl csum_impls[];
extern const size_t csum_impl_count;

#endif
