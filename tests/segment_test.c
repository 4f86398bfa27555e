/* Tests for the segment codec and checksum (core/src/segment.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcplab/core.h"

#define SRC 0x0A000001u /* 10.0.0.1 */
#define DST 0x0A000002u /* 10.0.0.2 */

/* RFC 1071 written the plain way, one big-endian 16-bit word at a time, as
 * an independent reference for the optimised checksum. */
static uint16_t ref_checksum(uint32_t src, uint32_t dst, const uint8_t *p,
                             size_t len) {
  uint32_t sum = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) +
                 6 + (uint32_t)len;
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (len % 2)
    sum += (uint32_t)p[len - 1] << 8;
  while (sum >> 16)
    sum = (sum & 0xFFFF) + (sum >> 16);
  return (uint16_t)~sum;
}

/* Deterministic bytes for payloads and random headers (xorshift32). */
static uint32_t rng_state = 2463534242u;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rng();
}

/* A SYN from a Linux stack, 192.168.254.103:59058 -> 192.168.254.107:8888,
 * as captured (IPv4 header stripped): MSS 1460, SACK-permitted, timestamps,
 * NOP, window scale 7; checksum 0xd502 on the wire. */
#define CAPTURED_SRC 0xC0A8FE67u
#define CAPTURED_DST 0xC0A8FE6Bu
static const uint8_t captured_syn[40] = {
    0xe6, 0xb2, 0x22, 0xb8, 0x60, 0xa0, 0xe9, 0x6f, 0x00, 0x00,
    0x00, 0x00, 0xa0, 0x02, 0xff, 0xff, 0xd5, 0x02, 0x00, 0x00,
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x55,
    0xa1, 0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* A 20-byte header with the given data offset, flags SYN, checksum left
 * zero; the caller adds options and fills the checksum. */
static void header(uint8_t *p, unsigned offset) {
  memset(p, 0, TCPLAB_HEADER_MIN);
  p[0] = 0x30; /* sport 12345 */
  p[1] = 0x39;
  p[3] = 80;
  p[7] = 1; /* seq 1 */
  p[12] = (uint8_t)(offset << 4);
  p[13] = TCPLAB_SYN;
  p[14] = 0xFF;
  p[15] = 0xFF;
}

static void set_checksum(uint8_t *p, size_t len) {
  p[16] = p[17] = 0;
  uint16_t c = tcplab_checksum(SRC, DST, p, len);
  p[16] = (uint8_t)(c >> 8);
  p[17] = (uint8_t)c;
}

/* Decodes a header of `offset` words whose option bytes are opts[0..n)
 * (the rest of the option space zero, i.e. EOL), checksum filled in. */
static enum tcplab_malformed decode_options(unsigned offset,
                                            const uint8_t *opts, size_t n,
                                            struct tcplab_segment *seg) {
  uint8_t p[TCPLAB_HEADER_MAX];
  size_t len = offset * 4;
  header(p, offset);
  memset(p + TCPLAB_HEADER_MIN, 0, len - TCPLAB_HEADER_MIN);
  memcpy(p + TCPLAB_HEADER_MIN, opts, n);
  set_checksum(p, len);
  return tcplab_segment_decode(p, len, SRC, DST, true, seg);
}

/* ------------------------------------------------------------ checksum */

static void checksum_matches_reference(void **state) {
  (void)state;
  uint8_t buf[300 + 8];
  fill(buf, sizeof buf);
  /* Every length, at every alignment, including odd tails. */
  for (size_t align = 0; align < 8; align++) {
    for (size_t len = 0; len <= 300; len++) {
      assert_int_equal(tcplab_checksum(SRC, DST, buf + align, len),
                       ref_checksum(SRC, DST, buf + align, len));
    }
  }
  /* All-ones data pushes every carry. */
  memset(buf, 0xFF, sizeof buf);
  for (size_t len = 0; len <= 300; len++) {
    assert_int_equal(tcplab_checksum(0xFFFFFFFFu, 0xFFFFFFFFu, buf, len),
                     ref_checksum(0xFFFFFFFFu, 0xFFFFFFFFu, buf, len));
  }
}

static void checksum_large_segment(void **state) {
  (void)state;
  size_t len = 65535;
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  memset(buf, 0xFF, len);
  assert_int_equal(tcplab_checksum(SRC, DST, buf, len),
                   ref_checksum(SRC, DST, buf, len));
  fill(buf, len);
  assert_int_equal(tcplab_checksum(SRC, DST, buf, len),
                   ref_checksum(SRC, DST, buf, len));
  free(buf);
}

static void checksum_of_captured_syn(void **state) {
  (void)state;
  uint8_t p[sizeof captured_syn];
  memcpy(p, captured_syn, sizeof p);
  /* With the field as captured, the segment verifies... */
  assert_int_equal(tcplab_checksum(CAPTURED_SRC, CAPTURED_DST, p, sizeof p), 0);
  /* ...and with the field zeroed we compute the value the sender wrote. */
  p[16] = p[17] = 0;
  assert_int_equal(tcplab_checksum(CAPTURED_SRC, CAPTURED_DST, p, sizeof p),
                   0xd502);
  /* Addresses are part of the sum (pseudo-header). */
  assert_int_not_equal(
      tcplab_checksum(CAPTURED_SRC, CAPTURED_DST + 1, captured_syn, sizeof p),
      0);
}

/* -------------------------------------------------------------- decode */

static void decode_captured_syn(void **state) {
  (void)state;
  struct tcplab_segment seg;
  assert_int_equal(tcplab_segment_decode(captured_syn, sizeof captured_syn,
                                         CAPTURED_SRC, CAPTURED_DST, true,
                                         &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.sport, 59058);
  assert_int_equal(seg.dport, 8888);
  assert_int_equal(seg.seq, 0x60a0e96fu);
  assert_int_equal(seg.ack, 0);
  assert_int_equal(seg.flags, TCPLAB_SYN);
  assert_int_equal(seg.wnd, 65535);
  assert_int_equal(seg.urp, 0);
  assert_int_equal(seg.opt.present, TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE |
                                        TCPLAB_OPT_SACK_PERM |
                                        TCPLAB_OPT_TIMESTAMP);
  assert_int_equal(seg.opt.mss, 1460);
  assert_int_equal(seg.opt.wscale, 7);
  assert_int_equal(seg.opt.ts_val, 0x0055a108u);
  assert_int_equal(seg.opt.ts_ecr, 0);
  assert_int_equal(seg.len, 0);
  assert_ptr_equal(seg.payload, captured_syn + sizeof captured_syn);

  /* The wrong addresses make the same bytes fail verification. */
  assert_int_equal(tcplab_segment_decode(captured_syn, sizeof captured_syn,
                                         CAPTURED_DST, CAPTURED_SRC + 1, true,
                                         &seg),
                   TCPLAB_MALFORMED_CHECKSUM);
}

static void decode_plain_header(void **state) {
  (void)state;
  uint8_t p[TCPLAB_HEADER_MIN + 5];
  header(p, 5);
  p[4] = 0x80; /* seq 0x80000001 */
  p[8] = 0xDE, p[9] = 0xAD, p[10] = 0xBE, p[11] = 0xEF;
  p[13] = TCPLAB_ACK | TCPLAB_PSH | TCPLAB_URG;
  p[18] = 0x12, p[19] = 0x34;
  memcpy(p + TCPLAB_HEADER_MIN, "hello", 5);
  set_checksum(p, sizeof p);
  struct tcplab_segment seg;
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.sport, 12345);
  assert_int_equal(seg.dport, 80);
  assert_int_equal(seg.seq, 0x80000001u);
  assert_int_equal(seg.ack, 0xDEADBEEFu);
  assert_int_equal(seg.flags, TCPLAB_ACK | TCPLAB_PSH | TCPLAB_URG);
  assert_int_equal(seg.urp, 0x1234);
  assert_int_equal(seg.opt.present, 0);
  assert_int_equal(seg.len, 5);
  assert_memory_equal(seg.payload, "hello", 5);
}

static void decode_ignores_ecn_and_reserved_bits(void **state) {
  (void)state;
  uint8_t p[TCPLAB_HEADER_MIN];
  header(p, 5);
  p[12] |= 0x0F; /* reserved bits: ignored on receipt (RFC 9293 3.1) */
  p[13] = 0xC0 | TCPLAB_SYN; /* CWR, ECE (RFC 3168) */
  set_checksum(p, sizeof p);
  struct tcplab_segment seg;
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.flags, TCPLAB_SYN);
}

static void decode_short(void **state) {
  (void)state;
  uint8_t p[TCPLAB_HEADER_MIN];
  header(p, 5);
  set_checksum(p, sizeof p);
  struct tcplab_segment seg;
  for (size_t len = 0; len < TCPLAB_HEADER_MIN; len++) {
    assert_int_equal(tcplab_segment_decode(p, len, SRC, DST, true, &seg),
                     TCPLAB_MALFORMED_SHORT);
  }
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_NONE);
}

static void decode_bad_offset(void **state) {
  (void)state;
  uint8_t p[TCPLAB_HEADER_MAX];
  struct tcplab_segment seg;
  for (unsigned offset = 0; offset < 5; offset++) {
    header(p, offset);
    set_checksum(p, 40);
    assert_int_equal(tcplab_segment_decode(p, 40, SRC, DST, true, &seg),
                     TCPLAB_MALFORMED_OFFSET);
  }
  /* Offset 6 needs 24 bytes; 23 are there. */
  header(p, 6);
  set_checksum(p, 23);
  assert_int_equal(tcplab_segment_decode(p, 23, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_OFFSET);
  /* Offset 15 (60 bytes) in a 20-byte segment. */
  header(p, 15);
  set_checksum(p, 20);
  assert_int_equal(tcplab_segment_decode(p, 20, SRC, DST, false, &seg),
                   TCPLAB_MALFORMED_OFFSET);
  /* Offset 15 with exactly 60 bytes of zeros (EOL) is fine. */
  memset(p + TCPLAB_HEADER_MIN, 0, 40);
  set_checksum(p, 60);
  assert_int_equal(tcplab_segment_decode(p, 60, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.len, 0);
}

static void decode_bad_option_lengths(void **state) {
  (void)state;
  struct tcplab_segment seg;
  static const struct {
    unsigned offset;
    uint8_t opts[40];
    size_t n;
  } bad[] = {
      {6, {30, 0}, 2},                     /* length 0 */
      {6, {30, 1}, 2},                     /* length 1 */
      {6, {1, 1, 30, 3}, 4},               /* runs 1 byte past the header */
      {6, {30, 200}, 2},                   /* runs far past the header */
      {6, {1, 1, 1, 30}, 4},               /* length byte missing at the end */
      {6, {2, 3, 5, 1}, 4},                /* MSS with length 3 */
      {7, {2, 5, 5, 0xb4, 0}, 5},          /* MSS with length 5 */
      {6, {3, 4, 7, 1}, 4},                /* window scale with length 4 */
      {6, {1, 3, 2, 7}, 4},                /* window scale with length 2 */
      {6, {4, 3, 0, 1}, 4},                /* SACK-permitted with length 3 */
      {8, {8, 8, 0, 0, 0, 1, 0, 0}, 8},    /* timestamps with length 8 */
      {7, {1, 1, 8, 10, 0, 0, 0, 1}, 8},   /* timestamps past the end */
      {7, {2, 4, 5, 0xb4, 1, 1, 1, 2}, 8}, /* MSS, then a lone kind */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    enum tcplab_malformed why =
        decode_options(bad[i].offset, bad[i].opts, bad[i].n, &seg);
    if (why != TCPLAB_MALFORMED_OPTION)
      fail_msg("case %zu: got %d", i, (int)why);
  }
  /* Wrong option structure is reported even without checksum checks. */
  uint8_t p[24];
  header(p, 6);
  p[20] = 30;
  p[21] = 0;
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, false, &seg),
                   TCPLAB_MALFORMED_OPTION);
}

static void decode_unknown_options_skipped(void **state) {
  (void)state;
  struct tcplab_segment seg;
  /* SACK blocks (kind 5, RFC 2018) and an experimental kind 254, each
   * skipped by its length, around MSS and timestamps. */
  static const uint8_t opts[] = {
      5,   10, 0,    0,    0, 1, 0, 0, 0, 2, /* SACK, one block */
      2,   4,  0x05, 0x3c,                   /* MSS 1340 */
      254, 4,  0xAB, 0xCD,                   /* experimental */
      8,   10, 0,    0,    0, 7, 0, 0, 0, 9, /* timestamps 7, 9 */
      30,  2,                                /* empty unknown option */
  };
  assert_int_equal(
      decode_options(5 + (sizeof opts + 3) / 4, opts, sizeof opts, &seg),
      TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.opt.present, TCPLAB_OPT_MSS | TCPLAB_OPT_TIMESTAMP);
  assert_int_equal(seg.opt.mss, 1340);
  assert_int_equal(seg.opt.ts_val, 7);
  assert_int_equal(seg.opt.ts_ecr, 9);
}

static void decode_eol_ends_options(void **state) {
  (void)state;
  struct tcplab_segment seg;
  /* After EOL the rest of the header is padding, whatever it holds. */
  static const uint8_t opts[] = {2, 4, 0x02, 0x18, 0, 2, 1, 3, 0, 0, 30, 0};
  assert_int_equal(decode_options(8, opts, sizeof opts, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.opt.present, TCPLAB_OPT_MSS);
  assert_int_equal(seg.opt.mss, 536);
  /* NOPs only, and an option that ends exactly at the header end. */
  static const uint8_t nops[] = {1, 1, 1, 1, 1, 3, 3, 14};
  assert_int_equal(decode_options(7, nops, sizeof nops, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.opt.present, TCPLAB_OPT_WSCALE);
  assert_int_equal(seg.opt.wscale, 14);
}

static void decode_bad_checksum(void **state) {
  (void)state;
  uint8_t p[TCPLAB_HEADER_MIN + 7];
  header(p, 5);
  memcpy(p + TCPLAB_HEADER_MIN, "payload", 7);
  set_checksum(p, sizeof p);
  struct tcplab_segment seg;
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, true, &seg),
                   TCPLAB_MALFORMED_NONE);
  /* Any single flipped bit is caught. */
  for (size_t i = 0; i < sizeof p * 8; i++) {
    p[i / 8] ^= (uint8_t)(1u << (i % 8));
    enum tcplab_malformed why =
        tcplab_segment_decode(p, sizeof p, SRC, DST, true, &seg);
    /* Flipping data-offset bits may change the structure first. */
    if (i / 8 == 12 && i % 8 >= 4)
      assert_int_not_equal(why, TCPLAB_MALFORMED_NONE);
    else
      assert_int_equal(why, TCPLAB_MALFORMED_CHECKSUM);
    p[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  /* Without verification the same corruption passes. */
  p[sizeof p - 1] ^= 1;
  assert_int_equal(tcplab_segment_decode(p, sizeof p, SRC, DST, false, &seg),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(seg.len, 7);
}

/* Every prefix of a valid segment with options, in a buffer of exactly
 * that size so that AddressSanitizer sees any read past the end. */
static void decode_every_truncation(void **state) {
  (void)state;
  uint8_t payload[33];
  fill(payload, sizeof payload);
  struct tcplab_segment seg = {
      .sport = 1,
      .dport = 2,
      .seq = 3,
      .ack = 4,
      .flags = TCPLAB_SYN | TCPLAB_ACK,
      .wnd = 5,
      .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE |
                         TCPLAB_OPT_SACK_PERM | TCPLAB_OPT_TIMESTAMP,
              .mss = 1460,
              .wscale = 7,
              .ts_val = 11,
              .ts_ecr = 12},
      .payload = payload,
      .len = sizeof payload,
  };
  uint8_t full[128];
  size_t total = tcplab_segment_encode(&seg, SRC, DST, full, sizeof full);
  size_t hlen = 44;
  assert_int_equal(total, hlen + sizeof payload);
  for (size_t len = 0; len <= total; len++) {
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, full, len);
    struct tcplab_segment out;
    enum tcplab_malformed loose =
        tcplab_segment_decode(p, len, SRC, DST, false, &out);
    enum tcplab_malformed strict =
        tcplab_segment_decode(p, len, SRC, DST, true, &out);
    if (len < TCPLAB_HEADER_MIN) {
      assert_int_equal(loose, TCPLAB_MALFORMED_SHORT);
      assert_int_equal(strict, TCPLAB_MALFORMED_SHORT);
    } else if (len < hlen) {
      assert_int_equal(loose, TCPLAB_MALFORMED_OFFSET);
      assert_int_equal(strict, TCPLAB_MALFORMED_OFFSET);
    } else {
      assert_int_equal(loose, TCPLAB_MALFORMED_NONE);
      assert_int_equal(strict, len == total ? TCPLAB_MALFORMED_NONE
                                            : TCPLAB_MALFORMED_CHECKSUM);
    }
    free(p);
  }
}

/* Random headers of random length, each in an exact-size buffer: the
 * decoder returns some verdict and never reads out of bounds. */
static void decode_random_headers(void **state) {
  (void)state;
  unsigned counts[TCPLAB_MALFORMED_COUNT] = {0};
  for (int i = 0; i < 50000; i++) {
    size_t len = rng() % 70;
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    fill(p, len);
    if (len > 12 && (rng() & 1)) /* plausible offsets more often */
      p[12] = (uint8_t)((5 + rng() % 11) << 4);
    if (len > 20 && (rng() & 1)) /* mostly known kinds */
      p[20] = (uint8_t)(rng() % 10);
    struct tcplab_segment seg;
    enum tcplab_malformed why =
        tcplab_segment_decode(p, len, SRC, DST, (rng() & 3) == 0, &seg);
    assert_true((unsigned)why < TCPLAB_MALFORMED_COUNT);
    counts[why]++;
    if (why == TCPLAB_MALFORMED_NONE) {
      assert_true(seg.payload >= p && seg.payload + seg.len == p + len);
    }
    free(p);
  }
  /* The generator reached every verdict. */
  for (int why = 0; why < TCPLAB_MALFORMED_COUNT; why++)
    assert_true(counts[why] > 0);
}

/* -------------------------------------------------------------- encode */

static void encode_option_layout(void **state) {
  (void)state;
  struct tcplab_segment seg = {
      .sport = 0x1234,
      .dport = 0x5678,
      .seq = 0x01020304,
      .ack = 0,
      .flags = TCPLAB_SYN,
      .wnd = 0xFAF0,
      .opt = {.present = TCPLAB_OPT_MSS | TCPLAB_OPT_WSCALE |
                         TCPLAB_OPT_SACK_PERM | TCPLAB_OPT_TIMESTAMP,
              .mss = 1460,
              .wscale = 7,
              .ts_val = 0xA1B2C3D4,
              .ts_ecr = 0},
  };
  uint8_t buf[64];
  size_t n = tcplab_segment_encode(&seg, SRC, DST, buf, sizeof buf);
  static const uint8_t want[44] = {
      0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x03, 0x04, /* ports, seq */
      0x00, 0x00, 0x00, 0x00, 0xB0, 0x02, 0xFA, 0xF0, /* ack, off 11, SYN */
      0x00, 0x00, 0x00, 0x00,                         /* checksum, urp */
      0x02, 0x04, 0x05, 0xB4,                         /* MSS 1460 */
      0x01, 0x03, 0x03, 0x07,                         /* NOP, WS 7 */
      0x01, 0x01, 0x04, 0x02,                         /* NOP, NOP, SACK-perm */
      0x01, 0x01, 0x08, 0x0A, 0xA1, 0xB2, 0xC3, 0xD4, /* NOP, NOP, TS */
      0x00, 0x00, 0x00, 0x00,
  };
  assert_int_equal(n, sizeof want);
  assert_memory_equal(buf, want, 16);
  assert_memory_equal(buf + 18, want + 18, sizeof want - 18);
  assert_int_equal(buf[16] << 8 | buf[17], ref_checksum(SRC, DST, want, n));

  /* Each option alone takes one aligned word (TS three). */
  static const struct {
    uint8_t present;
    size_t len;
  } alone[] = {{0, 20},
               {TCPLAB_OPT_MSS, 24},
               {TCPLAB_OPT_WSCALE, 24},
               {TCPLAB_OPT_SACK_PERM, 24},
               {TCPLAB_OPT_TIMESTAMP, 32}};
  for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++) {
    seg.opt.present = alone[i].present;
    assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, sizeof buf),
                     alone[i].len);
    assert_int_equal(buf[12] >> 4, alone[i].len / 4);
  }
}

static void encode_decode_round_trip(void **state) {
  (void)state;
  static uint8_t payload[1460];
  fill(payload, sizeof payload);
  static uint8_t buf[TCPLAB_HEADER_MAX + sizeof payload];
  static const size_t lens[] = {0, 1, 2, 3, 536, 1459, 1460};
  for (unsigned present = 0; present < 16; present++) {
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
      struct tcplab_segment in = {
          .sport = (uint16_t)rng(),
          .dport = (uint16_t)rng(),
          .seq = rng(),
          .ack = rng(),
          .flags = (uint8_t)(rng() & 0x3F),
          .wnd = (uint16_t)rng(),
          .urp = (uint16_t)rng(),
          .opt = {.present = (uint8_t)present,
                  .mss = (present & TCPLAB_OPT_MSS) ? (uint16_t)rng() : 0,
                  .wscale =
                      (present & TCPLAB_OPT_WSCALE) ? (uint8_t)(rng() % 15) : 0,
                  .ts_val = (present & TCPLAB_OPT_TIMESTAMP) ? rng() : 0,
                  .ts_ecr = (present & TCPLAB_OPT_TIMESTAMP) ? rng() : 0},
          .payload = payload,
          .len = lens[l],
      };
      uint32_t src = rng(), dst = rng();
      size_t n = tcplab_segment_encode(&in, src, dst, buf, sizeof buf);
      assert_true(n >= TCPLAB_HEADER_MIN + lens[l]);
      assert_int_equal(n % 4, lens[l] % 4); /* header is whole words */
      assert_int_equal(ref_checksum(src, dst, buf, n), 0);
      struct tcplab_segment out;
      assert_int_equal(tcplab_segment_decode(buf, n, src, dst, true, &out),
                       TCPLAB_MALFORMED_NONE);
      assert_int_equal(out.sport, in.sport);
      assert_int_equal(out.dport, in.dport);
      assert_int_equal(out.seq, in.seq);
      assert_int_equal(out.ack, in.ack);
      assert_int_equal(out.flags, in.flags);
      assert_int_equal(out.wnd, in.wnd);
      assert_int_equal(out.urp, in.urp);
      assert_int_equal(out.opt.present, in.opt.present);
      assert_int_equal(out.opt.mss, in.opt.mss);
      assert_int_equal(out.opt.wscale, in.opt.wscale);
      assert_int_equal(out.opt.ts_val, in.opt.ts_val);
      assert_int_equal(out.opt.ts_ecr, in.opt.ts_ecr);
      assert_int_equal(out.len, in.len);
      assert_ptr_equal(out.payload, buf + (n - in.len));
      assert_memory_equal(out.payload, payload, in.len);
    }
  }
}

static void encode_captured_syn_fields(void **state) {
  (void)state;
  /* Re-encoding the captured SYN's fields gives our own option layout,
   * which must verify and decode to the same values. */
  struct tcplab_segment seg;
  assert_int_equal(tcplab_segment_decode(captured_syn, sizeof captured_syn,
                                         CAPTURED_SRC, CAPTURED_DST, true,
                                         &seg),
                   TCPLAB_MALFORMED_NONE);
  uint8_t buf[64];
  size_t n =
      tcplab_segment_encode(&seg, CAPTURED_SRC, CAPTURED_DST, buf, sizeof buf);
  assert_int_equal(n, 44);
  assert_int_equal(ref_checksum(CAPTURED_SRC, CAPTURED_DST, buf, n), 0);
  struct tcplab_segment again;
  assert_int_equal(
      tcplab_segment_decode(buf, n, CAPTURED_SRC, CAPTURED_DST, true, &again),
      TCPLAB_MALFORMED_NONE);
  assert_int_equal(again.opt.present, seg.opt.present);
  assert_int_equal(again.opt.mss, 1460);
  assert_int_equal(again.opt.wscale, 7);
  assert_int_equal(again.opt.ts_val, 0x0055a108u);
}

static void encode_capacity(void **state) {
  (void)state;
  uint8_t payload[10] = "0123456789";
  struct tcplab_segment seg = {
      .flags = TCPLAB_ACK,
      .opt = {.present = TCPLAB_OPT_TIMESTAMP},
      .payload = payload,
      .len = sizeof payload,
  };
  size_t total = 32 + sizeof payload;
  uint8_t *buf = malloc(total);
  assert_non_null(buf);
  for (size_t cap = 0; cap < total; cap++)
    assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, cap), 0);
  assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, total), total);
  free(buf);
  /* No room for a header at all. */
  seg.opt.present = 0;
  seg.len = 0;
  uint8_t small[19];
  assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, small, sizeof small),
                   0);
}

static void encode_too_long_for_ipv4(void **state) {
  (void)state;
  /* The pseudo-header's length field has 16 bits. */
  size_t cap = 70000;
  uint8_t *buf = calloc(1, cap);
  assert_non_null(buf);
  struct tcplab_segment seg = {
      .flags = TCPLAB_ACK, .payload = buf + 20, .len = 65535 - 20};
  assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, cap), 65535);
  seg.len++;
  assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, cap), 0);
  free(buf);
}

static void encode_payload_in_place(void **state) {
  (void)state;
  /* A caller may put the payload where the header leaves it. */
  uint8_t buf[24 + 6];
  memcpy(buf + 24, "inside", 6);
  struct tcplab_segment seg = {
      .flags = TCPLAB_PSH | TCPLAB_ACK,
      .opt = {.present = TCPLAB_OPT_MSS, .mss = 1000},
      .payload = buf + 24,
      .len = 6,
  };
  assert_int_equal(tcplab_segment_encode(&seg, SRC, DST, buf, sizeof buf),
                   sizeof buf);
  assert_memory_equal(buf + 24, "inside", 6);
  struct tcplab_segment out;
  assert_int_equal(tcplab_segment_decode(buf, sizeof buf, SRC, DST, true, &out),
                   TCPLAB_MALFORMED_NONE);
  assert_int_equal(out.opt.mss, 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(checksum_matches_reference),
      cmocka_unit_test(checksum_large_segment),
      cmocka_unit_test(checksum_of_captured_syn),
      cmocka_unit_test(decode_captured_syn),
      cmocka_unit_test(decode_plain_header),
      cmocka_unit_test(decode_ignores_ecn_and_reserved_bits),
      cmocka_unit_test(decode_short),
      cmocka_unit_test(decode_bad_offset),
      cmocka_unit_test(decode_bad_option_lengths),
      cmocka_unit_test(decode_unknown_options_skipped),
      cmocka_unit_test(decode_eol_ends_options),
      cmocka_unit_test(decode_bad_checksum),
      cmocka_unit_test(decode_every_truncation),
      cmocka_unit_test(decode_random_headers),
      cmocka_unit_test(encode_option_layout),
      cmocka_unit_test(encode_decode_round_trip),
      cmocka_unit_test(encode_captured_syn_fields),
      cmocka_unit_test(encode_capacity),
      cmocka_unit_test(encode_too_long_for_ipv4),
      cmocka_unit_test(encode_payload_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
