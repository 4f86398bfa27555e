/* Tests for RFC 6528 initial sequence numbers (core/src/isn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "isn.h"
#include "tcplab/core.h"

/* SipHash-2-4 reference vectors (Aumasson and Bernstein): key 00 01 .. 0f,
 * message 00 01 .. (len - 1) for len 0..63, the output read as a
 * little-endian 64-bit number. */
static const uint64_t sip_vectors[64] = {
    0x726fdb47dd0e0e31u, 0x74f839c593dc67fdu, 0x0d6c8009d9a94f5au,
    0x85676696d7fb7e2du, 0xcf2794e0277187b7u, 0x18765564cd99a68du,
    0xcbc9466e58fee3ceu, 0xab0200f58b01d137u, 0x93f5f5799a932462u,
    0x9e0082df0ba9e4b0u, 0x7a5dbbc594ddb9f3u, 0xf4b32f46226bada7u,
    0x751e8fbc860ee5fbu, 0x14ea5627c0843d90u, 0xf723ca908e7af2eeu,
    0xa129ca6149be45e5u, 0x3f2acc7f57c29bdbu, 0x699ae9f52cbe4794u,
    0x4bc1b3f0968dd39cu, 0xbb6dc91da77961bdu, 0xbed65cf21aa2ee98u,
    0xd0f2cbb02e3b67c7u, 0x93536795e3a33e88u, 0xa80c038ccd5ccec8u,
    0xb8ad50c6f649af94u, 0xbce192de8a85b8eau, 0x17d835b85bbb15f3u,
    0x2f2e6163076bcfadu, 0xde4daaaca71dc9a5u, 0xa6a2506687956571u,
    0xad87a3535c49ef28u, 0x32d892fad841c342u, 0x7127512f72f27cceu,
    0xa7f32346f95978e3u, 0x12e0b01abb051238u, 0x15e034d40fa197aeu,
    0x314dffbe0815a3b4u, 0x027990f029623981u, 0xcadcd4e59ef40c4du,
    0x9abfd8766a33735cu, 0x0e3ea96b5304a7d0u, 0xad0c42d6fc585992u,
    0x187306c89bc215a9u, 0xd4a60abcf3792b95u, 0xf935451de4f21df2u,
    0xa9538f0419755787u, 0xdb9acddff56ca510u, 0xd06c98cd5c0975ebu,
    0xe612a3cb9ecba951u, 0xc766e62cfcadaf96u, 0xee64435a9752fe72u,
    0xa192d576b245165au, 0x0a8787bf8ecb74b2u, 0x81b3e73d20b49b6fu,
    0x7fa8220ba3b2eceau, 0x245731c13ca42499u, 0xb78dbfaf3a8d83bdu,
    0xea1ad565322a1a0bu, 0x60e61c23a3795013u, 0x6606d7e446282b93u,
    0x6ca4ecb15c5f91e1u, 0x9f626da15c9625f3u, 0xe51b38608ef25f57u,
    0x958a324ceb064572u,
};

static void siphash_reference_vectors(void **state) {
  (void)state;
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++)
    msg[i] = (uint8_t)i;
  for (size_t len = 0; len < 64; len++) {
    if (tcplab_siphash24(key, msg, len) != sip_vectors[len])
      fail_msg("length %zu", len);
  }
  /* The paper's appendix A example: a 15-byte message. */
  assert_int_equal(tcplab_siphash24(key, msg, 15), 0xa129ca6149be45e5u);
}

static void siphash_unaligned_message(void **state) {
  (void)state;
  uint8_t key[16], buf[80];
  for (int i = 0; i < 16; i++)
    key[i] = (uint8_t)i;
  for (size_t off = 1; off < 8; off++) {
    for (int i = 0; i < 64; i++)
      buf[off + i] = (uint8_t)i;
    assert_int_equal(tcplab_siphash24(key, buf + off, 63), sip_vectors[63]);
  }
}

#define LADDR 0x0A000001u
#define RADDR 0x0A000002u

static void isn_deterministic(void **state) {
  (void)state;
  for (uint64_t seed = 0; seed < 4; seed++) {
    assert_int_equal(tcplab_isn(seed, TCPLAB_S(7), LADDR, 49152, RADDR, 80),
                     tcplab_isn(seed, TCPLAB_S(7), LADDR, 49152, RADDR, 80));
  }
}

/* Values from an independent implementation of the same construction:
 * key = two splitmix64 outputs (little-endian) from the seed, F = low 32
 * bits of SipHash-2-4 over laddr, lport, raddr, rport in network order,
 * M = now / 4000. Pinned so that runs repeat across versions. */
static void isn_known_values(void **state) {
  (void)state;
  assert_int_equal(tcplab_isn(0, 0, LADDR, 49152, RADDR, 80), 0xfe50185au);
  assert_int_equal(tcplab_isn(1, 123456789, LADDR, 49152, RADDR, 80),
                   0xe309840eu);
  assert_int_equal(
      tcplab_isn(42, TCPLAB_S(1), 0xC0A80001u, 12345, 0xC0A80002u, 443),
      0x916ba44au);
}

static void isn_differs_by_seed_and_tuple(void **state) {
  (void)state;
  uint32_t base = tcplab_isn(1, 0, LADDR, 49152, RADDR, 80);
  assert_int_not_equal(tcplab_isn(2, 0, LADDR, 49152, RADDR, 80), base);
  assert_int_not_equal(tcplab_isn(1, 0, LADDR + 1, 49152, RADDR, 80), base);
  assert_int_not_equal(tcplab_isn(1, 0, LADDR, 49153, RADDR, 80), base);
  assert_int_not_equal(tcplab_isn(1, 0, LADDR, 49152, RADDR + 1, 80), base);
  assert_int_not_equal(tcplab_isn(1, 0, LADDR, 49152, RADDR, 81), base);
  /* The two ends of one connection get unrelated ISNs. */
  assert_int_not_equal(tcplab_isn(1, 0, RADDR, 80, LADDR, 49152), base);
}

static void isn_spread_over_ports(void **state) {
  (void)state;
  /* Consecutive ephemeral ports give distinct, well-spread ISNs: no two
   * among 1000 share a value and the top bit is set about half the time. */
  enum { N = 1000 };
  static uint32_t seen[N];
  unsigned high = 0;
  for (unsigned i = 0; i < N; i++) {
    seen[i] = tcplab_isn(5, 0, LADDR, (uint16_t)(49152 + i), RADDR, 80);
    high += seen[i] >> 31;
    for (unsigned j = 0; j < i; j++)
      assert_int_not_equal(seen[i], seen[j]);
  }
  assert_in_range(high, 400, 600);
}

static void isn_clock_ticks_every_4us(void **state) {
  (void)state;
  uint32_t at0 = tcplab_isn(3, 0, LADDR, 49152, RADDR, 80);
  assert_int_equal(tcplab_isn(3, TCPLAB_NS(3999), LADDR, 49152, RADDR, 80),
                   at0);
  assert_int_equal(tcplab_isn(3, TCPLAB_US(4), LADDR, 49152, RADDR, 80),
                   at0 + 1);
  assert_int_equal(tcplab_isn(3, TCPLAB_US(8) - 1, LADDR, 49152, RADDR, 80),
                   at0 + 1);
  assert_int_equal(tcplab_isn(3, TCPLAB_S(1), LADDR, 49152, RADDR, 80),
                   at0 + 250000u);
  /* For any start time, 4 us later is exactly one more. */
  for (tcplab_time_t now = TCPLAB_S(100); now < TCPLAB_S(100) + 50000;
       now += 1237) {
    uint32_t a = tcplab_isn(3, now, LADDR, 49152, RADDR, 80);
    uint32_t b = tcplab_isn(3, now + TCPLAB_US(4), LADDR, 49152, RADDR, 80);
    assert_int_equal((uint32_t)(b - a), 1);
  }
  /* M wraps with the sequence space: 2^32 ticks (about 4.77 hours) later
   * the same ISN comes back. */
  tcplab_time_t wrap = (tcplab_time_t)4000 << 32;
  assert_int_equal(tcplab_isn(3, wrap, LADDR, 49152, RADDR, 80), at0);
  assert_int_equal(tcplab_isn(3, wrap - 4000, LADDR, 49152, RADDR, 80),
                   at0 - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(siphash_reference_vectors),
      cmocka_unit_test(siphash_unaligned_message),
      cmocka_unit_test(isn_deterministic),
      cmocka_unit_test(isn_known_values),
      cmocka_unit_test(isn_differs_by_seed_and_tuple),
      cmocka_unit_test(isn_spread_over_ports),
      cmocka_unit_test(isn_clock_ticks_every_4us),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
