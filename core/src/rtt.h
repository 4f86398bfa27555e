/* The RFC 6298 retransmission timeout estimator. Karn's rule (never
 * sample a retransmitted segment) is the caller's: it only passes samples
 * of segments sent once. */
#ifndef TCPLAB_RTT_H
#define TCPLAB_RTT_H

#include <stdbool.h>
#include <tcplab/core.h>

struct rtt {
  tcplab_time_t srtt;   /* smoothed round-trip time */
  tcplab_time_t rttvar; /* round-trip time variation; TCPLAB_TIME_NEVER
                           before the first sample (no flag beside it: the
                           connection is kept small) */
  tcplab_time_t rto;    /* current timeout, backoff included */
};

/* RFC 6298 2.1: before any sample, RTO = the initial RTO. */
void rtt_init(struct rtt *r, const struct tcplab_config *cfg);
/* RFC 6298 2.2/2.3: a new measurement r_ns; recomputes RTO. */
void rtt_sample(struct rtt *r, const struct tcplab_config *cfg,
                tcplab_time_t r_ns);
/* RFC 6298 5.5: double RTO on expiry, bounded by rto_max. */
void rtt_backoff(struct rtt *r, const struct tcplab_config *cfg);
/* RFC 6298 5.7: after a retransmitted SYN and no sample, start data
 * transmission with an RTO of 3 s. */
void rtt_after_syn_retransmit(struct rtt *r, const struct tcplab_config *cfg);

#endif
