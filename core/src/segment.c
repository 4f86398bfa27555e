/* TCP segment codec and checksum (RFC 9293 section 3.1, RFC 7323). */
#include <string.h>

#include "tcplab/core.h"

#include "bytes.h"
#include "csum.h"
#include "segment.h"

/* Option kinds and lengths (RFC 9293 3.2, RFC 7323 2.2 and 3.2,
 * RFC 2018 2). */
enum {
  OPT_EOL = 0,
  OPT_NOP = 1,
  OPT_MSS = 2,
  OPT_WSCALE = 3,
  OPT_SACK_PERM = 4,
  OPT_TIMESTAMP = 8,
  OPT_MSS_LEN = 4,
  OPT_WSCALE_LEN = 3,
  OPT_SACK_PERM_LEN = 2,
  OPT_TIMESTAMP_LEN = 10,
};

/* FIN..URG. CWR and ECE (RFC 3168, listed in RFC 9293 3.1) are left out of
 * tcplab_segment.flags: the core does not do ECN. */
#define FLAGS_MASK 0x3Fu

#define PROTO_TCP 6u

/* ------------------------------------------------------------ checksum */

/* The IPv4 pseudo-header (RFC 9293 3.1), from its values: source,
 * destination, zero, protocol 6, TCP length. It is twelve bytes, so the
 * segment's 16-bit words line up with its words. */
static uint64_t pseudo_values(uint32_t src, uint32_t dst, size_t len) {
  return (src >> 16) + (src & 0xFFFFu) + (dst >> 16) + (dst & 0xFFFFu) +
         PROTO_TCP + len;
}

uint16_t tcplab_checksum(uint32_t src, uint32_t dst, const uint8_t *bytes,
                         size_t len) {
  uint64_t acc =
      csum_add(bytes, len, csum_of_values(pseudo_values(src, dst, len)));
  return (uint16_t)~csum_fold(acc);
}

bool segment_checksum_ok(uint32_t src, uint32_t dst, const uint8_t *bytes,
                         size_t len, size_t payload_len, uint64_t payload_sum) {
  size_t hlen = len - payload_len; /* a multiple of 4: the payload's words
                                      line up with the header's */
  /* A header is at most fifteen 32-bit words: their sum fits 64 bits
   * as it is, with no call and no carries to count. */
  uint64_t acc = csum_of_values(pseudo_values(src, dst, len));
  for (size_t i = 0; i < hlen; i += 4) {
    uint32_t w;
    memcpy(&w, bytes + i, sizeof w);
    acc += w;
  }
  return csum_fold(csum_combine(acc, payload_sum)) == 0xFFFF;
}

/* -------------------------------------------------------------- decode */

/* Parses the options in p[0..n). RFC 9293 3.2: EOL ends the list, NOP is
 * one byte, every other kind has a length byte counting kind and length,
 * so unknown kinds can be skipped (RFC 9293 3.1, MUST-6, MUST-68). An
 * illegal length rejects the segment (MUST-7). */
static enum tcplab_malformed parse_options(const uint8_t *p, size_t n,
                                           struct tcplab_options *opt) {
  size_t i = 0;
  while (i < n) {
    uint8_t kind = p[i];
    if (kind == OPT_EOL)
      break;
    if (kind == OPT_NOP) {
      i++;
      continue;
    }
    if (n - i < 2)
      return TCPLAB_MALFORMED_OPTION; /* no room for the length byte */
    uint8_t olen = p[i + 1];
    if (olen < 2 || olen > n - i)
      return TCPLAB_MALFORMED_OPTION;
    const uint8_t *v = p + i + 2;
    switch (kind) {
    case OPT_MSS:
      if (olen != OPT_MSS_LEN)
        return TCPLAB_MALFORMED_OPTION;
      opt->present |= TCPLAB_OPT_MSS;
      opt->mss = get16(v);
      break;
    case OPT_WSCALE:
      if (olen != OPT_WSCALE_LEN)
        return TCPLAB_MALFORMED_OPTION;
      opt->present |= TCPLAB_OPT_WSCALE;
      opt->wscale = v[0];
      break;
    case OPT_SACK_PERM:
      if (olen != OPT_SACK_PERM_LEN)
        return TCPLAB_MALFORMED_OPTION;
      opt->present |= TCPLAB_OPT_SACK_PERM;
      break;
    case OPT_TIMESTAMP:
      if (olen != OPT_TIMESTAMP_LEN)
        return TCPLAB_MALFORMED_OPTION;
      opt->present |= TCPLAB_OPT_TIMESTAMP;
      opt->ts_val = get32(v);
      opt->ts_ecr = get32(v + 4);
      break;
    default: break;
    }
    i += olen;
  }
  return TCPLAB_MALFORMED_NONE;
}

enum tcplab_malformed tcplab_segment_decode(const uint8_t *bytes, size_t len,
                                            uint32_t src, uint32_t dst,
                                            bool verify_checksum,
                                            struct tcplab_segment *seg) {
  if (len < TCPLAB_HEADER_MIN)
    return TCPLAB_MALFORMED_SHORT;
  size_t hlen = (size_t)(bytes[12] >> 4) * 4;
  if (hlen < TCPLAB_HEADER_MIN || hlen > len)
    return TCPLAB_MALFORMED_OFFSET;

  seg->sport = get16(bytes);
  seg->dport = get16(bytes + 2);
  seg->seq = get32(bytes + 4);
  seg->ack = get32(bytes + 8);
  seg->flags = (uint8_t)(bytes[13] & FLAGS_MASK);
  seg->wnd = get16(bytes + 14);
  seg->urp = get16(bytes + 18);
  memset(&seg->opt, 0, sizeof seg->opt);
  /* Structure before checksum: the reason reported for a segment then
   * does not depend on whether checksums are verified. */
  enum tcplab_malformed why = parse_options(
      bytes + TCPLAB_HEADER_MIN, hlen - TCPLAB_HEADER_MIN, &seg->opt);
  if (why != TCPLAB_MALFORMED_NONE)
    return why;
  if (verify_checksum && tcplab_checksum(src, dst, bytes, len) != 0)
    return TCPLAB_MALFORMED_CHECKSUM;
  seg->payload = bytes + hlen;
  seg->len = len - hlen;
  return TCPLAB_MALFORMED_NONE;
}

/* -------------------------------------------------------------- encode */

static uint8_t *put_options(uint8_t *p, const struct tcplab_options *opt) {
  if (opt->present & TCPLAB_OPT_MSS) {
    *p++ = OPT_MSS;
    *p++ = OPT_MSS_LEN;
    put16(p, opt->mss);
    p += 2;
  }
  if (opt->present & TCPLAB_OPT_WSCALE) {
    *p++ = OPT_NOP;
    *p++ = OPT_WSCALE;
    *p++ = OPT_WSCALE_LEN;
    *p++ = opt->wscale;
  }
  if (opt->present & TCPLAB_OPT_SACK_PERM) {
    *p++ = OPT_NOP;
    *p++ = OPT_NOP;
    *p++ = OPT_SACK_PERM;
    *p++ = OPT_SACK_PERM_LEN;
  }
  if (opt->present & TCPLAB_OPT_TIMESTAMP) {
    *p++ = OPT_NOP;
    *p++ = OPT_NOP;
    *p++ = OPT_TIMESTAMP;
    *p++ = OPT_TIMESTAMP_LEN;
    put32(p, opt->ts_val);
    put32(p + 4, opt->ts_ecr);
    p += 8;
  }
  return p;
}

size_t segment_encode(const struct tcplab_segment *seg, uint32_t src,
                      uint32_t dst, uint8_t *buf, size_t cap,
                      const uint64_t *payload_sum) {
  size_t hlen = segment_header_len(seg);
  /* The pseudo-header's TCP length is 16 bits: nothing longer can be
   * checksummed or carried by IPv4. */
  if (seg->len > UINT16_MAX - hlen || hlen + seg->len > cap)
    return 0;
  size_t total = hlen + seg->len;

  /* The payload may already sit in buf (in place after the header). */
  if (seg->len > 0 && seg->payload != buf + hlen)
    memmove(buf + hlen, seg->payload, seg->len);
  put16(buf, seg->sport);
  put16(buf + 2, seg->dport);
  put32(buf + 4, seg->seq);
  put32(buf + 8, seg->ack);
  buf[12] = (uint8_t)((hlen / 4) << 4); /* reserved bits zero (3.1) */
  buf[13] = (uint8_t)(seg->flags & FLAGS_MASK);
  put16(buf + 14, seg->wnd);
  put16(buf + 16, 0);
  put16(buf + 18, seg->urp);
  put_options(buf + TCPLAB_HEADER_MIN, &seg->opt);
  /* The fixed header is summed from its values, not read back: a load
   * spanning several fresh narrow stores waits for all of them. */
  uint64_t values = pseudo_values(src, dst, total) + seg->sport + seg->dport +
                    (seg->seq >> 16) + (seg->seq & 0xFFFFu) + (seg->ack >> 16) +
                    (seg->ack & 0xFFFFu) + ((hlen / 4) << 12) +
                    (seg->flags & FLAGS_MASK) + seg->wnd + seg->urp;
  uint64_t acc = csum_of_values(values);
  if (hlen > TCPLAB_HEADER_MIN) {
    acc = csum_add(buf + TCPLAB_HEADER_MIN, hlen - TCPLAB_HEADER_MIN, acc);
  }
  acc = payload_sum != NULL ? csum_combine(acc, *payload_sum)
                            : csum_add(buf + hlen, seg->len, acc);
  put16(buf + 16, (uint16_t)~csum_fold(acc));
  return total;
}

size_t tcplab_segment_encode(const struct tcplab_segment *seg, uint32_t src,
                             uint32_t dst, uint8_t *buf, size_t cap) {
  return segment_encode(seg, src, dst, buf, cap, NULL);
}
