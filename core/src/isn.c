/* Initial sequence numbers per RFC 6528, keyed by the stack's seed. */
#include "isn.h"

#include "tcplab/core.h"

static uint64_t rotl(uint64_t x, unsigned b) {
  return x << b | x >> (64 - b);
}

static uint64_t get64le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

struct sip {
  uint64_t v0, v1, v2, v3;
};

static void sipround(struct sip *s) {
  s->v0 += s->v1;
  s->v1 = rotl(s->v1, 13);
  s->v1 ^= s->v0;
  s->v0 = rotl(s->v0, 32);
  s->v2 += s->v3;
  s->v3 = rotl(s->v3, 16);
  s->v3 ^= s->v2;
  s->v0 += s->v3;
  s->v3 = rotl(s->v3, 21);
  s->v3 ^= s->v0;
  s->v2 += s->v1;
  s->v1 = rotl(s->v1, 17);
  s->v1 ^= s->v2;
  s->v2 = rotl(s->v2, 32);
}

static void compress(struct sip *s, uint64_t m) {
  s->v3 ^= m;
  sipround(s);
  sipround(s);
  s->v0 ^= m;
}

static uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len) {
  const uint8_t *p = msg;
  uint64_t k0 = get64le(key), k1 = get64le(key + 8);
  /* Initialisation constants: "somepseudorandomlygeneratedbytes". */
  struct sip s = {
      k0 ^ 0x736f6d6570736575u,
      k1 ^ 0x646f72616e646f6du,
      k0 ^ 0x6c7967656e657261u,
      k1 ^ 0x7465646279746573u,
  };
  size_t n = len;
  for (; n >= 8; n -= 8, p += 8)
    compress(&s, get64le(p));
  /* The last block: the remaining bytes, then len mod 256 in the top
   * byte. */
  uint64_t last = (uint64_t)(len & 0xFF) << 56;
  for (size_t i = 0; i < n; i++)
    last |= (uint64_t)p[i] << (8 * i);
  compress(&s, last);
  s.v2 ^= 0xFF;
  for (int i = 0; i < 4; i++)
    sipround(&s);
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t tcplab_siphash24(const uint8_t key[16], const void *msg, size_t len) {
  return siphash24(key, msg, len);
}

/* splitmix64 (Steele, Lea, Flood 2014): spreads a small seed such as 1 or 2
 * over all 128 key bits, so neighbouring seeds give unrelated keys. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t tcplab_isn(uint64_t seed, tcplab_time_t now, uint32_t laddr,
                    uint16_t lport, uint32_t raddr, uint16_t rport) {
  uint8_t key[16];
  uint64_t state = seed;
  put_le64(key, splitmix64(&state));
  put_le64(key + 8, splitmix64(&state));

  /* The connection-id (RFC 6528 section 3): both endpoints in network
   * byte order. */
  const uint8_t tuple[12] = {
      (uint8_t)(laddr >> 24), (uint8_t)(laddr >> 16), (uint8_t)(laddr >> 8),
      (uint8_t)laddr,         (uint8_t)(lport >> 8),  (uint8_t)lport,
      (uint8_t)(raddr >> 24), (uint8_t)(raddr >> 16), (uint8_t)(raddr >> 8),
      (uint8_t)raddr,         (uint8_t)(rport >> 8),  (uint8_t)rport,
  };
  /* M: a timer ticking every 4 microseconds (RFC 6528 section 3, from
   * RFC 793's ISN clock); it wraps modulo 2^32 like the sequence space. */
  uint32_t m = (uint32_t)(now / 4000u);
  uint32_t f = (uint32_t)siphash24(key, tuple, sizeof tuple);
  return m + f;
}
