/* Tests for sequence number arithmetic modulo 2^32 (core/src/seq.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "seq.h"

static void ordinary_comparisons(void **state) {
  (void)state;
  assert_true(seq_lt(1, 2));
  assert_false(seq_lt(2, 1));
  assert_false(seq_lt(5, 5));
  assert_true(seq_leq(5, 5));
  assert_true(seq_leq(4, 5));
  assert_false(seq_leq(6, 5));
  assert_true(seq_gt(2, 1));
  assert_false(seq_gt(5, 5));
  assert_true(seq_geq(5, 5));
  assert_false(seq_geq(4, 5));
  assert_int_equal(seq_diff(10, 3), 7);
  assert_int_equal(seq_diff(3, 10), -7);
}

static void comparisons_across_wrap(void **state) {
  (void)state;
  /* RFC 9293 3.4: arithmetic is modulo 2^32, so a number just past 0 is
   * after one just below 2^32. */
  assert_true(seq_lt(0xFFFFFFF0u, 0x10u));
  assert_true(seq_leq(0xFFFFFFF0u, 0x10u));
  assert_false(seq_gt(0xFFFFFFF0u, 0x10u));
  assert_false(seq_geq(0xFFFFFFF0u, 0x10u));
  assert_true(seq_gt(0x10u, 0xFFFFFFF0u));
  assert_true(seq_geq(0x10u, 0xFFFFFFF0u));
  assert_false(seq_lt(0x10u, 0xFFFFFFF0u));
  assert_true(seq_lt(0xFFFFFFFFu, 0));
  assert_true(seq_gt(0, 0xFFFFFFFFu));
  assert_int_equal(seq_diff(0x10u, 0xFFFFFFF0u), 0x20);
  assert_int_equal(seq_diff(0xFFFFFFF0u, 0x10u), -0x20);
  assert_int_equal(seq_diff(0, 0xFFFFFFFFu), 1);
  assert_true(seq_leq(0xFFFFFFFFu, 0xFFFFFFFFu));
}

static void comparisons_up_to_half_the_space(void **state) {
  (void)state;
  /* Valid while the distance is below 2^31, from any starting point. */
  static const uint32_t bases[] = {0,           1,           0x7FFFFFFFu,
                                   0x80000000u, 0xFFFFFFFFu, 0xDEADBEEFu};
  static const uint32_t steps[] = {1, 1000, 0x10000u, 0x7FFFFFFFu};
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
      uint32_t a = bases[i], b = a + steps[j];
      assert_true(seq_lt(a, b));
      assert_true(seq_gt(b, a));
      assert_int_equal(seq_diff(b, a), (int32_t)steps[j]);
      assert_int_equal(seq_diff(a, b), -(int32_t)steps[j]);
    }
  }
}

static void window_membership(void **state) {
  (void)state;
  /* lo <= x < hi */
  assert_true(seq_in(100, 100, 200));
  assert_true(seq_in(199, 100, 200));
  assert_false(seq_in(200, 100, 200));
  assert_false(seq_in(99, 100, 200));
  /* A window that straddles 2^32. */
  assert_true(seq_in(0xFFFFFFF0u, 0xFFFFFFF0u, 0x10u));
  assert_true(seq_in(0xFFFFFFFFu, 0xFFFFFFF0u, 0x10u));
  assert_true(seq_in(0, 0xFFFFFFF0u, 0x10u));
  assert_true(seq_in(0xFu, 0xFFFFFFF0u, 0x10u));
  assert_false(seq_in(0x10u, 0xFFFFFFF0u, 0x10u));
  assert_false(seq_in(0xFFFFFFEFu, 0xFFFFFFF0u, 0x10u));
  /* An empty window holds nothing (a zero receive window, RFC 9293 3.4). */
  assert_false(seq_in(5, 5, 5));
  assert_false(seq_in(0, 0, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ordinary_comparisons),
      cmocka_unit_test(comparisons_across_wrap),
      cmocka_unit_test(comparisons_up_to_half_the_space),
      cmocka_unit_test(window_membership),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
