/* The one's complement sum (core/src/csum.c) and the ring's summing copies
 * (core/src/ring.c), against RFC 1071 written the plain way. Every
 * implementation this CPU supports is checked, not only the one the
 * dispatcher picks here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csum.h"
#include "ring.h"

/* RFC 1071, one big-endian 16-bit word at a time, an odd byte padded with
 * zero on the right; folded, not complemented. */
static uint16_t ref_sum(const uint8_t *p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    sum += (uint32_t)p[i] << 8 | p[i + 1];
  }
  if (n % 2) {
    sum += (uint32_t)p[n - 1] << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return (uint16_t)sum;
}

/* One's complement has two zeros; the folded sum of a non-empty input
 * that sums to zero may come out as either. */
static void assert_same_sum(uint16_t got, uint16_t want) {
  if (got == 0xFFFF) {
    got = 0;
  }
  if (want == 0xFFFF) {
    want = 0;
  }
  assert_int_equal(got, want);
}

#define BIG 4096
static uint8_t data[BIG + 64];

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t x = seed | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
}

/* Every length up to BIG from every alignment of 0..7 (the vector loops'
 * tails and unaligned loads), for add and copy alike. */
static void test_every_implementation_matches_rfc1071(void **state) {
  (void)state;
  fill(data, sizeof data, 12345);
  static uint8_t dst[BIG + 64];
  for (size_t k = 0; k < csum_impl_count; k++) {
    const struct csum_impl *impl = &csum_impls[k];
    if (!impl->supported()) {
      continue;
    }
    for (size_t align = 0; align < 8; align++) {
      for (size_t n = 0; n <= BIG; n += n < 300 ? 1 : 97) {
        const uint8_t *src = data + align;
        uint16_t want = ref_sum(src, n);
        assert_same_sum(csum_fold(impl->add(src, n, 0)), want);
        memset(dst, 0xA5, sizeof dst);
        assert_same_sum(csum_fold(impl->copy(dst + align, src, n)), want);
        assert_memory_equal(dst + align, src, n);
        /* Nothing written around the copy. */
        for (size_t i = 0; i < align; i++) {
          assert_int_equal(dst[i], 0xA5);
        }
        assert_int_equal(dst[align + n], 0xA5);
      }
    }
  }
}

/* Sums of 0xFF bytes carry on every addition; 65535 bytes is the longest
 * a segment can be. */
static void test_carries_at_the_largest_length(void **state) {
  (void)state;
  size_t n = 65535;
  uint8_t *ones = malloc(n);
  uint8_t *dst = malloc(n);
  assert_non_null(ones);
  assert_non_null(dst);
  memset(ones, 0xFF, n);
  for (size_t k = 0; k < csum_impl_count; k++) {
    const struct csum_impl *impl = &csum_impls[k];
    if (impl->supported()) {
      assert_same_sum(csum_fold(impl->add(ones, n, 0)), ref_sum(ones, n));
      assert_same_sum(csum_fold(impl->copy(dst, ones, n)), ref_sum(ones, n));
      /* A running sum of all ones is zero in one's complement, and
       * every addition to it carries out of 64 bits. */
      assert_same_sum(csum_fold(impl->add(ones, n, UINT64_MAX)),
                      ref_sum(ones, n));
    }
  }
  free(ones);
  free(dst);
}

/* Data summed in two parts at any split, the second part shifted when the
 * first is odd, equals the whole; so does the dispatching entry point. */
static void test_parts_combine(void **state) {
  (void)state;
  fill(data, 1500, 777);
  uint16_t want = ref_sum(data, 1500);
  for (size_t split = 0; split <= 1500; split++) {
    uint64_t a = csum_add(data, split, 0);
    uint64_t b = csum_add(data + split, 1500 - split, 0);
    if (split % 2) {
      b = csum_at_odd(b);
    }
    assert_same_sum(csum_fold(csum_combine(a, b)), want);
  }
  /* Header fields given as values sum like their bytes. */
  const uint8_t words[6] = {0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF};
  assert_same_sum(csum_fold(csum_of_values(0x1234u + 0xABCDu + 0xFFFFu)),
                  ref_sum(words, sizeof words));
}

static void *ring_malloc(size_t n, void *user) {
  (void)user;
  return malloc(n);
}
static void ring_free_cb(void *p, void *user) {
  (void)user;
  free(p);
}

/* The ring's summing copies, in and out, from every head position of a
 * small ring, so copies wrap after an odd and an even first part. */
static void test_ring_sums_across_the_wrap(void **state) {
  (void)state;
  const struct tcplab_allocator a = {ring_malloc, ring_free_cb, NULL};
  fill(data, 600, 4242);
  static uint8_t out[600];
  for (uint32_t head = 0; head < 512; head++) {
    for (uint32_t n = 1; n <= 300; n += 37) {
      struct ring r = {.cap = 512};
      assert_true(ring_reserve(&r, 512, &a));
      assert_int_equal(r.size, 512);
      r.head = head;
      /* In: placed past the (empty) data and made part of it. */
      assert_int_equal(ring_storage_free(&r), 512);
      uint64_t in = ring_place_sum(&r, data, n);
      assert_same_sum(csum_fold(in), ref_sum(data, n));
      ring_commit(&r, n);
      /* Out: the same bytes and sum, from an odd offset as well. */
      for (uint32_t off = 0; off < 2; off++) {
        memset(out, 0, sizeof out);
        uint64_t got = ring_peek_sum(&r, off, out, n - off);
        assert_memory_equal(out, data + off, n - off);
        assert_same_sum(csum_fold(got), ref_sum(data + off, n - off));
      }
      ring_consume(&r, n);
      ring_release(&r, &a);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_implementation_matches_rfc1071),
      cmocka_unit_test(test_carries_at_the_largest_length),
      cmocka_unit_test(test_parts_combine),
      cmocka_unit_test(test_ring_sums_across_the_wrap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
