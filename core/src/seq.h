/* Sequence number arithmetic modulo 2^32 (RFC 9293 section 3.4). */
#ifndef TCPLAB_SEQ_H
#define TCPLAB_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* The signed distance from b to a; correct while |a - b| < 2^31, which the
 * window limits guarantee. */
static inline int32_t seq_diff(uint32_t a, uint32_t b) {
  return (int32_t)(a - b);
}
static inline bool seq_lt(uint32_t a, uint32_t b) {
  return seq_diff(a, b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b) {
  return seq_diff(a, b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b) {
  return seq_diff(a, b) > 0;
}
static inline bool seq_geq(uint32_t a, uint32_t b) {
  return seq_diff(a, b) >= 0;
}
/* lo <= x < hi, all modulo 2^32. */
static inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi) {
  return seq_leq(lo, x) && seq_lt(x, hi);
}

#endif
