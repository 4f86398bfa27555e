/* Stack configuration: defaults from the standards and range checks. */
#include "tcplab/core.h"

/* The longest time any setting may name. It keeps now + delay far from
 * overflow and is beyond anything a connection experiment needs. */
#define TIME_LIMIT TCPLAB_S(3600)

/* Linux's smallest MSS (TCP_MIN_MSS); the largest fits a 65535-byte IPv4
 * datagram with 20-byte IP and TCP headers. */
#define MSS_MIN 88u
#define MSS_MAX 65495u

/* RFC 7323 2.3: the scaled window tops out at 2^30 bytes. */
#define BUF_MAX (UINT32_C(1) << 30)

#define RETRIES_MAX 255u

void tcplab_config_default(struct tcplab_config *cfg) {
  *cfg = (struct tcplab_config){
      .msl = TCPLAB_S(30),
      .rto_initial = TCPLAB_S(1),
      .rto_min = TCPLAB_S(1),
      .rto_max = TCPLAB_S(120),
      .syn_retries = 6,
      .synack_retries = 5,
      .retries = 15,
      .fin_wait_2_timeout = TCPLAB_TIME_NEVER,
      .mss = 1460,
      .snd_buf = 131072,
      .rcv_buf = 131072,
      .delayed_ack = TCPLAB_MS(40),
      .nagle = true,
      .window_scale = true,
      .initial_window = 10,
      .slow_start_after_idle = true,
      .two_way_handshake = false,
      .rfc1337 = true,
      .rfc5961 = true,
      .challenge_ack_limit = 10,
      .challenge_ack_interval = TCPLAB_S(5),
      .rst_on_data_loss = true,
      .seed = 0,
      .ephemeral_min = 49152,
      .ephemeral_max = 65535,
  };
}

static const char *check(const struct tcplab_config *cfg) {
  if (cfg == NULL)
    return "config must not be NULL";
  /* msl 0 turns TIME_WAIT off, which is useful for teaching. */
  if (cfg->msl > TIME_LIMIT)
    return "msl must be in [0, 3600 s]";
  if (cfg->rto_min == 0 || cfg->rto_min > cfg->rto_max)
    return "rto_min must be > 0 and <= rto_max";
  if (cfg->rto_max > TIME_LIMIT)
    return "rto_max must be >= rto_min and <= 3600 s";
  if (cfg->rto_initial < cfg->rto_min || cfg->rto_initial > cfg->rto_max)
    return "rto_initial must be in [rto_min, rto_max]";
  if (cfg->syn_retries > RETRIES_MAX)
    return "syn_retries must be in [0, 255]";
  if (cfg->synack_retries > RETRIES_MAX)
    return "synack_retries must be in [0, 255]";
  if (cfg->retries > RETRIES_MAX)
    return "retries must be in [0, 255]";
  if (cfg->fin_wait_2_timeout != TCPLAB_TIME_NEVER &&
      (cfg->fin_wait_2_timeout == 0 || cfg->fin_wait_2_timeout > TIME_LIMIT))
    return "fin_wait_2_timeout must be in (0, 3600 s] or never";
  if (cfg->mss < MSS_MIN || cfg->mss > MSS_MAX)
    return "mss must be in [88, 65495]";
  if (cfg->snd_buf == 0 || cfg->snd_buf > BUF_MAX)
    return "snd_buf must be in [1, 2^30] bytes";
  if (cfg->rcv_buf == 0 || cfg->rcv_buf > BUF_MAX)
    return "rcv_buf must be in [1, 2^30] bytes";
  /* RFC 9293 3.8.6.3: the delay MUST be less than 0.5 seconds. */
  if (cfg->delayed_ack >= TCPLAB_MS(500))
    return "delayed_ack must be in [0, 500 ms)";
  if (cfg->initial_window == 0 || cfg->initial_window > 1000)
    return "initial_window must be in [1, 1000] segments";
  if (cfg->challenge_ack_interval == 0 ||
      cfg->challenge_ack_interval > TIME_LIMIT)
    return "challenge_ack_interval must be in (0, 3600 s]";
  if (cfg->ephemeral_min == 0 || cfg->ephemeral_min > cfg->ephemeral_max)
    return "ephemeral_min must be in [1, ephemeral_max]";
  return NULL;
}

int tcplab_config_check(const struct tcplab_config *cfg, const char **why) {
  const char *msg = check(cfg);
  if (why != NULL)
    *why = msg != NULL ? msg : "";
  return msg != NULL ? TCPLAB_ERR_INVAL : TCPLAB_OK;
}
