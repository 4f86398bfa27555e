/* NewReno congestion control (RFC 5681, RFC 6582). */
#ifndef TCPLAB_CC_H
#define TCPLAB_CC_H

#include "internal.h"

/* Our SYN was acknowledged: the initial window (RFC 6928). */
void cc_init(struct tcplab_conn *c, tcplab_time_t now);
/* Data is about to leave after nothing was in flight (RFC 5681 4.1). */
void cc_after_idle(struct tcplab_conn *c, tcplab_time_t now);
/* Bytes of new data that may leave past cwnd now (RFC 3042). */
uint32_t cc_limited_transmit(const struct tcplab_conn *c);
/* ack advanced snd_una by acked bytes (already released). */
void cc_on_new_ack(struct tcplab_conn *c, tcplab_time_t now, uint32_t ack,
                   uint32_t acked);
/* A duplicate ACK (RFC 5681 section 2) arrived. */
void cc_on_dupack(struct tcplab_conn *c, tcplab_time_t now);
/* The retransmission timer expired (c->retries already counts it). */
void cc_on_timeout(struct tcplab_conn *c, tcplab_time_t now);

#endif
