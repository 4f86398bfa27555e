/* The one's complement sum (RFC 1071) in a portable form and, on x86-64,
 * in AVX2 and AVX-512 forms chosen at run time. It does not depend on byte
 * order (RFC 1071 2(B)): words are summed in the machine's own order and
 * the folded result is swapped once. Words are loaded with memcpy, so any
 * alignment works. */
#include "csum.h"

#include <stdatomic.h>
#include <string.h>

/* RFC 1071: any word size that is a multiple of 16 bits may be summed and
 * folded at the end; 64-bit words with their carries counted apart (two
 * independent chains) halve the additions of 32-bit ones. */
static uint64_t add_portable(const void *data, size_t n, uint64_t acc) {
  const uint8_t *p = data;
  uint64_t a0 = acc, a1 = 0, c0 = 0, c1 = 0;
  while (n >= 16) {
    uint64_t w[2];
    memcpy(w, p, sizeof w);
    a0 += w[0];
    c0 += a0 < w[0];
    a1 += w[1];
    c1 += a1 < w[1];
    p += 16;
    n -= 16;
  }
  /* The rest one size at a time: a piece adds the same as its 16-bit
   * words (2^16 = 1 in one's complement). Bytes gathered on the stack and
   * read back as one word would stall that load on every call. */
  uint64_t w8 = 0, rest = 0;
  if (n >= 8) {
    memcpy(&w8, p, sizeof w8);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    uint32_t w;
    memcpy(&w, p, sizeof w);
    rest += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    memcpy(&w, p, sizeof w);
    rest += w;
    p += 2;
    n -= 2;
  }
  if (n > 0) {
    /* An odd byte is padded with a zero byte on the right (RFC 9293 3.1):
     * it is the first byte of its word. */
    rest += csum_little_endian() ? p[0] : (uint64_t)p[0] << 8;
  }
  uint64_t sum = csum_combine(csum_combine(a0, a1), c0 + c1);
  return csum_combine(csum_combine(sum, w8), rest);
}

/* A separate copy is as fast as a scalar loop that also stores. */
static uint64_t copy_portable(void *dst, const void *src, size_t n) {
  memcpy(dst, src, n);
  return add_portable(dst, n, 0);
}

static bool always(void) {
  return true;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CSUM_X86 1

#include <immintrin.h>

typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef uint64_t u64x8 __attribute__((vector_size(64)));

/* Each 64-bit lane keeps two sums of its words: all of each word (which
 * wraps) and the high 32-bit half of each (which cannot: a lane grows by
 * less than 2^32 per step, room for 2^26 bytes, far more than an IPv4
 * packet). The low halves' sum is the first minus the second shifted up,
 * modulo 2^64, and it fits 64 bits, so no carry is lost. That is three
 * operations per vector (add, shift, add) where summing the two halves
 * apart takes four: a sixth faster alone (bench/README.md). Two vectors
 * per step, summed apart, keep two chains of additions going. Copying in
 * the same pass costs one store per vector. A plain SSE2 build of this is
 * slower than add_portable, so there is none. The last partial vector is
 * left to add_portable, or taken in one masked step where the ISA has
 * byte masks (TAIL). */
#define VECTOR_SUM(name, vec, isa, TAIL)                                       \
  __attribute__((target(isa))) static uint64_t name(                           \
      uint8_t *dst, const uint8_t *p, size_t n, uint64_t acc) {                \
    vec all = {0}, hi = {0}, all2 = {0}, hi2 = {0};                            \
    for (; n >= 2 * sizeof(vec); n -= 2 * sizeof(vec), p += 2 * sizeof(vec)) { \
      vec w, w2;                                                               \
      memcpy(&w, p, sizeof w);                                                 \
      memcpy(&w2, p + sizeof w, sizeof w2);                                    \
      if (dst != NULL) {                                                       \
        memcpy(dst, &w, sizeof w);                                             \
        memcpy(dst + sizeof w, &w2, sizeof w2);                                \
        dst += 2 * sizeof w;                                                   \
      }                                                                        \
      all += w;                                                                \
      hi += w >> 32;                                                           \
      all2 += w2;                                                              \
      hi2 += w2 >> 32;                                                         \
    }                                                                          \
    all += all2;                                                               \
    hi += hi2;                                                                 \
    for (; n >= sizeof(vec); n -= sizeof(vec), p += sizeof(vec)) { /* once */  \
      vec w;                                                                   \
      memcpy(&w, p, sizeof w);                                                 \
      if (dst != NULL) {                                                       \
        memcpy(dst, &w, sizeof w);                                             \
        dst += sizeof w;                                                       \
      }                                                                        \
      all += w;                                                                \
      hi += w >> 32;                                                           \
    }                                                                          \
    TAIL;                                                                      \
    vec lo = all - (hi << 32);                                                 \
    uint64_t s = 0;                                                            \
    for (size_t i = 0; i < sizeof(vec) / 8; i++) {                             \
      s += lo[i] + hi[i];                                                      \
    }                                                                          \
    /* gcc 12 leaves the upper halves dirty here, and every SSE                \
     * instruction after that pays for it (memcpy's among them). */            \
    __builtin_ia32_vzeroupper();                                               \
    if (dst != NULL) {                                                         \
      memcpy(dst, p, n);                                                       \
    }                                                                          \
    return csum_combine(acc, n > 0 ? add_portable(p, n, s) : s);               \
  }

/* Bytes past n read as zero: the padding RFC 9293 3.1 asks for. */
#define MASKED_TAIL                                                            \
  do {                                                                         \
    if (n > 0) {                                                               \
      __mmask64 m = (__mmask64)(((uint64_t)1 << n) - 1);                       \
      u64x8 w = (u64x8)_mm512_maskz_loadu_epi8(m, p);                          \
      if (dst != NULL) {                                                       \
        _mm512_mask_storeu_epi8(dst, m, (__m512i)w);                           \
      }                                                                        \
      all += w;                                                                \
      hi += w >> 32;                                                           \
      p += n;                                                                  \
      n = 0;                                                                   \
    }                                                                          \
  } while (0)
#define NO_TAIL ((void)0)

VECTOR_SUM(sum_avx2, u64x4, "avx2", NO_TAIL)
VECTOR_SUM(sum_avx512, u64x8, "avx512f,avx512bw", MASKED_TAIL)

static uint64_t add_avx2(const void *p, size_t n, uint64_t acc) {
  return sum_avx2(NULL, p, n, acc);
}
static uint64_t copy_avx2(void *dst, const void *src, size_t n) {
  return sum_avx2(dst, src, n, 0);
}
static bool has_avx2(void) {
  return __builtin_cpu_supports("avx2");
}
static uint64_t add_avx512(const void *p, size_t n, uint64_t acc) {
  return sum_avx512(NULL, p, n, acc);
}
static uint64_t copy_avx512(void *dst, const void *src, size_t n) {
  return sum_avx512(dst, src, n, 0);
}
static bool has_avx512(void) {
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw");
}
#endif

const struct csum_impl csum_impls[] = {
    {"portable", always, add_portable, copy_portable},
#ifdef CSUM_X86
    {"avx2", has_avx2, add_avx2, copy_avx2},
    {"avx512", has_avx512, add_avx512, copy_avx512},
#endif
};
const size_t csum_impl_count = sizeof csum_impls / sizeof csum_impls[0];

/* Short inputs (headers, the pseudo-header) are not worth a vector. */
#define VECTOR_MIN 128

/* The fastest implementation this CPU has: the last one in the table
 * that it supports. Found once; every thread that races to find it finds
 * the same. */
static const struct csum_impl *best(void) {
  static _Atomic(const struct csum_impl *) found;
  const struct csum_impl *impl =
      atomic_load_explicit(&found, memory_order_relaxed);
  if (impl == NULL) {
    size_t i = csum_impl_count - 1;
    while (i > 0 && !csum_impls[i].supported()) {
      i--;
    }
    impl = &csum_impls[i];
    atomic_store_explicit(&found, impl, memory_order_relaxed);
  }
  return impl;
}

uint64_t csum_add(const void *p, size_t n, uint64_t acc) {
  return n >= VECTOR_MIN ? best()->add(p, n, acc) : add_portable(p, n, acc);
}

uint64_t csum_copy(void *dst, const void *src, size_t n) {
  return n >= VECTOR_MIN ? best()->copy(dst, src, n)
                         : copy_portable(dst, src, n);
}

uint64_t csum_at_odd(uint64_t acc) {
  /* RFC 1071 2(B): shifting the data by one byte swaps the sum's bytes. */
  return csum_swap16(csum_fold16(acc));
}
