/* Tests for configuration defaults and range checks (core/src/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcplab/core.h"

static void defaults(void **state) {
  (void)state;
  struct tcplab_config cfg;
  memset(&cfg, 0xA5, sizeof cfg);
  tcplab_config_default(&cfg);
  assert_int_equal(cfg.msl, TCPLAB_S(30));
  assert_int_equal(cfg.rto_initial, TCPLAB_S(1));
  assert_int_equal(cfg.rto_min, TCPLAB_S(1));
  assert_int_equal(cfg.rto_max, TCPLAB_S(120));
  assert_int_equal(cfg.syn_retries, 6);
  assert_int_equal(cfg.synack_retries, 5);
  assert_int_equal(cfg.retries, 15);
  assert_true(cfg.fin_wait_2_timeout == TCPLAB_TIME_NEVER);
  assert_int_equal(cfg.mss, 1460);
  assert_int_equal(cfg.snd_buf, 131072);
  assert_int_equal(cfg.rcv_buf, 131072);
  assert_int_equal(cfg.delayed_ack, TCPLAB_MS(40));
  assert_true(cfg.nagle);
  assert_true(cfg.window_scale);
  assert_int_equal(cfg.initial_window, 10);
  assert_true(cfg.rfc1337);
  assert_true(cfg.rfc5961);
  assert_int_equal(cfg.challenge_ack_limit, 10); /* RFC 5961 7's example */
  assert_int_equal(cfg.challenge_ack_interval, TCPLAB_S(5));
  assert_true(cfg.rst_on_data_loss); /* RFC 1122 4.2.2.13 SHOULD */
  assert_int_equal(cfg.seed, 0);
  assert_int_equal(cfg.ephemeral_min, 49152);
  assert_int_equal(cfg.ephemeral_max, 65535);

  const char *why = NULL;
  assert_int_equal(tcplab_config_check(&cfg, &why), TCPLAB_OK);
  assert_non_null(why);
  assert_string_equal(why, "");
  assert_int_equal(tcplab_config_check(&cfg, NULL), TCPLAB_OK);
}

/* Expects cfg to be rejected with a message that starts with `field`. */
static void expect_invalid(const struct tcplab_config *cfg, const char *field) {
  const char *why = NULL;
  assert_int_equal(tcplab_config_check(cfg, &why), TCPLAB_ERR_INVAL);
  assert_non_null(why);
  if (strncmp(why, field, strlen(field)) != 0)
    fail_msg("expected a message about %s, got \"%s\"", field, why);
  assert_int_equal(tcplab_config_check(cfg, NULL), TCPLAB_ERR_INVAL);
}

static void expect_valid(const struct tcplab_config *cfg) {
  const char *why = NULL;
  if (tcplab_config_check(cfg, &why) != TCPLAB_OK)
    fail_msg("rejected: %s", why);
}

static void rejects_each_field(void **state) {
  (void)state;
  struct tcplab_config d, c;
  tcplab_config_default(&d);

  c = d;
  c.msl = TCPLAB_S(3600) + 1;
  expect_invalid(&c, "msl");

  c = d;
  c.rto_min = 0;
  expect_invalid(&c, "rto_min");
  c = d;
  c.rto_min = TCPLAB_S(121); /* above rto_max */
  expect_invalid(&c, "rto_min");
  c = d;
  c.rto_max = TCPLAB_S(3600) + 1;
  expect_invalid(&c, "rto_max");
  c = d;
  c.rto_initial = TCPLAB_MS(999);
  expect_invalid(&c, "rto_initial");
  c = d;
  c.rto_initial = TCPLAB_S(121);
  expect_invalid(&c, "rto_initial");

  c = d;
  c.syn_retries = 256;
  expect_invalid(&c, "syn_retries");
  c = d;
  c.synack_retries = 256;
  expect_invalid(&c, "synack_retries");
  c = d;
  c.retries = 256;
  expect_invalid(&c, "retries");

  c = d;
  c.challenge_ack_interval = 0;
  expect_invalid(&c, "challenge_ack_interval");
  c = d;
  c.challenge_ack_interval = TCPLAB_S(3600) + 1;
  expect_invalid(&c, "challenge_ack_interval");

  c = d;
  c.fin_wait_2_timeout = 0;
  expect_invalid(&c, "fin_wait_2_timeout");
  c = d;
  c.fin_wait_2_timeout = TCPLAB_S(3600) + 1;
  expect_invalid(&c, "fin_wait_2_timeout");

  c = d;
  c.mss = 87;
  expect_invalid(&c, "mss");
  c = d;
  c.mss = 0;
  expect_invalid(&c, "mss");
  c = d;
  c.mss = 65496;
  expect_invalid(&c, "mss");

  c = d;
  c.snd_buf = 0;
  expect_invalid(&c, "snd_buf");
  c = d;
  c.snd_buf = (1u << 30) + 1;
  expect_invalid(&c, "snd_buf");
  c = d;
  c.rcv_buf = 0;
  expect_invalid(&c, "rcv_buf");
  c = d;
  c.rcv_buf = UINT32_MAX;
  expect_invalid(&c, "rcv_buf");

  c = d;
  c.ephemeral_min = 0;
  expect_invalid(&c, "ephemeral_min");
  c = d;
  c.ephemeral_min = 60000;
  c.ephemeral_max = 59999;
  expect_invalid(&c, "ephemeral_min");

  const char *why = NULL;
  assert_int_equal(tcplab_config_check(NULL, &why), TCPLAB_ERR_INVAL);
  assert_non_null(why);
}

static void accepts_boundaries(void **state) {
  (void)state;
  struct tcplab_config d, c;
  tcplab_config_default(&d);

  c = d;
  c.msl = 0; /* no TIME_WAIT: allowed for teaching */
  expect_valid(&c);
  c = d;
  c.msl = TCPLAB_S(3600);
  expect_valid(&c);

  c = d;
  c.rto_min = c.rto_initial = c.rto_max = 1;
  expect_valid(&c);
  c = d;
  c.rto_min = TCPLAB_MS(200);
  c.rto_initial = TCPLAB_S(3);
  c.rto_max = TCPLAB_S(3600);
  expect_valid(&c);

  c = d;
  c.syn_retries = c.synack_retries = c.retries = 0;
  expect_valid(&c);
  c = d;
  c.syn_retries = c.synack_retries = c.retries = 255;
  expect_valid(&c);

  c = d;
  c.fin_wait_2_timeout = 1;
  expect_valid(&c);
  c = d;
  c.fin_wait_2_timeout = TCPLAB_S(60); /* Linux's tcp_fin_timeout */
  expect_valid(&c);
  c = d;
  c.fin_wait_2_timeout = TCPLAB_S(3600);
  expect_valid(&c);

  c = d;
  c.mss = 88;
  expect_valid(&c);
  c = d;
  c.mss = 536; /* RFC 9293 3.7.1 default */
  expect_valid(&c);
  c = d;
  c.mss = 65495;
  expect_valid(&c);

  c = d;
  c.snd_buf = c.rcv_buf = 1;
  expect_valid(&c);
  c = d;
  c.snd_buf = c.rcv_buf = 1u << 30;
  expect_valid(&c);

  c = d;
  c.ephemeral_min = c.ephemeral_max = 1;
  expect_valid(&c);
  c = d;
  c.ephemeral_min = 1;
  c.ephemeral_max = 65535;
  expect_valid(&c);

  c = d;
  c.seed = UINT64_MAX;
  c.rfc1337 = false;
  c.rfc5961 = false;
  expect_valid(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),
      cmocka_unit_test(rejects_each_field),
      cmocka_unit_test(accepts_boundaries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
