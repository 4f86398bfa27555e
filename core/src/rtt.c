#include "rtt.h"

static tcplab_time_t clamp(tcplab_time_t v, const struct tcplab_config *cfg) {
  if (v < cfg->rto_min) {
    return cfg->rto_min; /* RFC 6298 2.4 */
  }
  if (v > cfg->rto_max) {
    return cfg->rto_max; /* RFC 6298 2.5 */
  }
  return v;
}

void rtt_init(struct rtt *r, const struct tcplab_config *cfg) {
  r->srtt = 0;
  r->rttvar = TCPLAB_TIME_NEVER; /* no sample yet */
  r->rto = clamp(cfg->rto_initial, cfg);
}

void rtt_sample(struct rtt *r, const struct tcplab_config *cfg,
                tcplab_time_t m) {
  if (r->rttvar == TCPLAB_TIME_NEVER) {
    /* 2.2: SRTT <- R, RTTVAR <- R/2 */
    r->srtt = m;
    r->rttvar = m / 2;
  } else {
    /* 2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|, then
     * SRTT <- 7/8 SRTT + 1/8 R' (beta = 1/4, alpha = 1/8). */
    tcplab_time_t err = r->srtt > m ? r->srtt - m : m - r->srtt;
    r->rttvar = r->rttvar - r->rttvar / 4 + err / 4;
    r->srtt = r->srtt - r->srtt / 8 + m / 8;
  }
  /* RTO <- SRTT + max(G, K*RTTVAR), K = 4; time is in nanoseconds, so the
   * clock granularity G is negligible. */
  r->rto = clamp(r->srtt + 4 * r->rttvar, cfg);
}

void rtt_backoff(struct rtt *r, const struct tcplab_config *cfg) {
  tcplab_time_t doubled = r->rto > cfg->rto_max / 2 ? cfg->rto_max : r->rto * 2;
  r->rto = clamp(doubled, cfg);
}

void rtt_after_syn_retransmit(struct rtt *r, const struct tcplab_config *cfg) {
  /* "using an RTO less than 3 seconds": a larger configured initial RTO
   * is kept, without the SYN's backoff. */
  if (r->rttvar == TCPLAB_TIME_NEVER) {
    tcplab_time_t three = TCPLAB_S(3);
    r->rto = clamp(cfg->rto_initial > three ? cfg->rto_initial : three, cfg);
  }
}
