/* NewReno congestion control (RFC 5681, RFC 6582). */
#ifndef TCPLAB_CC_H
#define TCPLAB_CC_H

#include "internal.h"

/* Our SYN was acknowledged: the initial window (RFC 6928). */
void cc_init(struct tcplab_conn *c, tcplab_time_t now);
/* Data is about to leave after nothing was in flight (RFC 5681 4.1). */
void cc_after_idle(struct tcplab_conn *c, tcplab_time_t now);
/* Bytes of new data that may leave past cwnd now (RFC 3042); inline, as
 * every output asks. */
static inline uint32_t cc_limited_transmit(const struct tcplab_conn *c) {
  /* RFC 3042, as RFC 5681 3.2 asks: the first two duplicate ACKs each let
   * one segment of new data out, so that a window too small to bring
   * three duplicates can still recover without a timeout. cwnd itself
   * does not change. After a timeout (snd_nxt went back) nothing is new. */
  if (c->in_recovery || c->dupacks == 0 || c->dupacks >= 3 ||
      c->snd_nxt != c->snd_max) {
    return 0;
  }
  return c->dupacks * (uint32_t)c->snd_mss;
}
/* ack advanced snd_una, acknowledging `acked` bytes of data (already
 * released; a SYN or FIN it covers is not counted). */
void cc_on_new_ack(struct tcplab_conn *c, tcplab_time_t now, uint32_t ack,
                   uint32_t acked);
/* A duplicate ACK (RFC 5681 section 2) arrived. */
void cc_on_dupack(struct tcplab_conn *c, tcplab_time_t now);
/* The retransmission timer expired (c->retries already counts it). */
void cc_on_timeout(struct tcplab_conn *c, tcplab_time_t now);

#endif
