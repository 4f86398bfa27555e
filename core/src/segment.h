/* The segment codec's entry points for the core's own paths, which copy a
 * payload and sum it in one pass (csum.h) and hand the sum over. */
#ifndef TCPLAB_SEGMENT_H
#define TCPLAB_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tcplab/core.h>

/* tcplab_segment_encode, given the payload's sum when the caller has it
 * (payload_sum may be NULL). */
size_t segment_encode(const struct tcplab_segment *seg, uint32_t src,
                      uint32_t dst, uint8_t *bytes, size_t cap,
                      const uint64_t *payload_sum);
/* Header length of seg with its options: where its payload starts. Each
 * option starts its own 32-bit word, led by NOPs, as BSD and Linux lay
 * them out (RFC 9293 3.2 allows any padding; RFC 7323 appendix A
 * recommends this alignment). Inline: the sender asks before it copies a
 * payload behind the header, and encode asks again. */
static inline size_t segment_header_len(const struct tcplab_segment *seg) {
  size_t n = TCPLAB_HEADER_MIN;
  if (seg->opt.present & TCPLAB_OPT_MSS)
    n += 4;
  if (seg->opt.present & TCPLAB_OPT_WSCALE)
    n += 4;
  if (seg->opt.present & TCPLAB_OPT_SACK_PERM)
    n += 4;
  if (seg->opt.present & TCPLAB_OPT_TIMESTAMP)
    n += 12;
  return n;
}
/* Whether the len bytes of a segment, whose last payload_len bytes sum
 * to payload_sum, carry a right checksum. */
bool segment_checksum_ok(uint32_t src, uint32_t dst, const uint8_t *bytes,
                         size_t len, size_t payload_len, uint64_t payload_sum);

#endif
