/* Initial sequence numbers (RFC 6528): internals exposed for tests. */
#ifndef TCPLAB_ISN_H
#define TCPLAB_ISN_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of msg[0..len) under a
 * 128-bit key; the 64-bit result as the paper's little-endian bytes read. */
uint64_t tcplab_siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif
