/* Tests for the stable names of codes, states, flags and events
 * (core/src/names.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcplab/core.h"

static void error_names(void **state) {
  (void)state;
  assert_string_equal(tcplab_error_name(TCPLAB_OK), "");
  assert_string_equal(tcplab_error_name(TCPLAB_ERR_REFUSED), "refused");
  assert_string_equal(tcplab_error_name(TCPLAB_ERR_RESET), "reset");
  assert_string_equal(tcplab_error_name(TCPLAB_ERR_TIMEDOUT), "timed_out");
  assert_string_equal(tcplab_error_name(TCPLAB_ERR_ABORTED), "aborted");
  assert_string_equal(tcplab_error_name(TCPLAB_ERR_MALFORMED), "malformed");
  /* Every code has its own lower-case name and a message. */
  for (int a = TCPLAB_ERR_MALFORMED; a <= TCPLAB_ERR_NOMEM; a++) {
    const char *name = tcplab_error_name(a);
    assert_true(strlen(name) > 0);
    for (const char *p = name; *p; p++)
      assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
    assert_true(strlen(tcplab_strerror(a)) > 0);
    for (int b = TCPLAB_ERR_MALFORMED; b < a; b++) {
      assert_string_not_equal(name, tcplab_error_name(b));
      assert_string_not_equal(tcplab_strerror(a), tcplab_strerror(b));
    }
  }
}

static void unknown_errors(void **state) {
  (void)state;
  static const int odd[] = {1, 100, -14, -1000, INT32_MIN};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    assert_non_null(tcplab_strerror(odd[i]));
    assert_string_equal(tcplab_strerror(odd[i]), "unknown error");
    assert_string_equal(tcplab_error_name(odd[i]), "unknown");
  }
  assert_string_equal(tcplab_strerror(TCPLAB_OK), "success");
}

static void state_names(void **state) {
  (void)state;
  static const char *const want[TCPLAB_STATE_COUNT] = {
      "CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RECEIVED",
      "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
      "CLOSING",     "LAST_ACK",   "TIME_WAIT",
  };
  for (int s = 0; s < TCPLAB_STATE_COUNT; s++) {
    assert_string_equal(tcplab_state_name((enum tcplab_state)s), want[s]);
    assert_int_equal(tcplab_state_from_name(want[s]), s);
  }
  assert_string_equal(tcplab_state_name((enum tcplab_state)TCPLAB_STATE_COUNT),
                      "?");
  assert_string_equal(tcplab_state_name((enum tcplab_state) - 1), "?");
}

static void state_from_name(void **state) {
  (void)state;
  assert_int_equal(tcplab_state_from_name("time_wait"), TCPLAB_TIME_WAIT);
  assert_int_equal(tcplab_state_from_name("Established"), TCPLAB_ESTABLISHED);
  assert_int_equal(tcplab_state_from_name(""), -1);
  assert_int_equal(tcplab_state_from_name("?"), -1);
  assert_int_equal(tcplab_state_from_name("CLOSE"), -1);
  assert_int_equal(tcplab_state_from_name("CLOSEDX"), -1);
  assert_int_equal(tcplab_state_from_name("FIN-WAIT-1"), -1);
  assert_int_equal(tcplab_state_from_name(NULL), -1);
}

static void flags_format(void **state) {
  (void)state;
  char buf[32];
  assert_int_equal(tcplab_flags_format(0, buf, sizeof buf), 0);
  assert_string_equal(buf, "");
  assert_int_equal(
      tcplab_flags_format(TCPLAB_SYN | TCPLAB_ACK, buf, sizeof buf), 7);
  assert_string_equal(buf, "SYN|ACK");
  assert_int_equal(
      tcplab_flags_format(TCPLAB_ACK | TCPLAB_FIN, buf, sizeof buf), 7);
  assert_string_equal(buf, "FIN|ACK");
  assert_int_equal(tcplab_flags_format(0xFF, buf, sizeof buf), 23);
  assert_string_equal(buf, "SYN|FIN|RST|PSH|ACK|URG");
  /* Bits outside FIN..URG (ECN) are not printed. */
  assert_int_equal(tcplab_flags_format(0xC0 | TCPLAB_RST, buf, sizeof buf), 3);
  assert_string_equal(buf, "RST");
}

static void flags_format_truncates(void **state) {
  (void)state;
  const uint8_t syn_ack = TCPLAB_SYN | TCPLAB_ACK;
  char buf[8];
  /* cap 0 writes nothing at all. */
  memset(buf, 'x', sizeof buf);
  assert_int_equal(tcplab_flags_format(syn_ack, buf, 0), 7);
  assert_int_equal(buf[0], 'x');
  assert_int_equal(tcplab_flags_format(syn_ack, NULL, 0), 7);
  for (size_t cap = 1; cap <= sizeof buf; cap++) {
    memset(buf, 'x', sizeof buf);
    assert_int_equal(tcplab_flags_format(syn_ack, buf, cap), 7);
    assert_int_equal(strlen(buf), cap - 1 < 7 ? cap - 1 : 7);
    assert_memory_equal(buf, "SYN|ACK", strlen(buf));
    for (size_t i = cap; i < sizeof buf; i++)
      assert_int_equal(buf[i], 'x'); /* nothing written past cap */
  }
}

static void flags_parse(void **state) {
  (void)state;
  assert_int_equal(tcplab_flags_parse(""), 0);
  assert_int_equal(tcplab_flags_parse("  "), 0);
  assert_int_equal(tcplab_flags_parse("SYN"), TCPLAB_SYN);
  assert_int_equal(tcplab_flags_parse("syn|ack"), TCPLAB_SYN | TCPLAB_ACK);
  assert_int_equal(tcplab_flags_parse("Fin,Ack"), TCPLAB_FIN | TCPLAB_ACK);
  assert_int_equal(tcplab_flags_parse(" RST | ACK "), TCPLAB_RST | TCPLAB_ACK);
  assert_int_equal(tcplab_flags_parse("ACK|ACK"), TCPLAB_ACK);
  assert_int_equal(tcplab_flags_parse("URG,PSH|FIN"),
                   TCPLAB_URG | TCPLAB_PSH | TCPLAB_FIN);
  static const char *const bad[] = {
      "SYNACK", "SYN ACK", "SYN|", "|SYN", "SYN||ACK", "|",  ",",
      "ECE",    "SY",      "SYNN", "S",    "SYN;ACK",  NULL,
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (tcplab_flags_parse(bad[i]) != -1)
      fail_msg("accepted \"%s\"", bad[i] ? bad[i] : "(null)");
  }
}

static void flags_round_trip(void **state) {
  (void)state;
  char buf[24];
  for (unsigned f = 0; f < 64; f++) {
    size_t n = tcplab_flags_format((uint8_t)f, buf, sizeof buf);
    assert_int_equal(strlen(buf), n);
    assert_int_equal(tcplab_flags_parse(buf), (int)f);
  }
}

static void malformed_names(void **state) {
  (void)state;
  assert_string_equal(tcplab_malformed_name(TCPLAB_MALFORMED_NONE), "");
  assert_string_equal(tcplab_malformed_name(TCPLAB_MALFORMED_SHORT), "short");
  assert_string_equal(tcplab_malformed_name(TCPLAB_MALFORMED_OFFSET), "offset");
  assert_string_equal(tcplab_malformed_name(TCPLAB_MALFORMED_OPTION), "option");
  assert_string_equal(tcplab_malformed_name(TCPLAB_MALFORMED_CHECKSUM),
                      "checksum");
  assert_string_equal(
      tcplab_malformed_name((enum tcplab_malformed)TCPLAB_MALFORMED_COUNT),
      "?");
}

static void event_names(void **state) {
  (void)state;
  static const char *const want[TCPLAB_EVENT_COUNT] = {
      "app_listen",
      "app_connect",
      "app_shutdown",
      "app_close",
      "app_abort",
      "rcv",
      "snd",
      "timer_retransmit",
      "timer_time_wait",
      "timer_fin_wait_2",
      "gave_up",
      "cwnd",
  };
  for (int e = 0; e < TCPLAB_EVENT_COUNT; e++)
    assert_string_equal(tcplab_event_name((enum tcplab_event)e), want[e]);
  assert_string_equal(tcplab_event_name((enum tcplab_event)TCPLAB_EVENT_COUNT),
                      "?");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_names),
      cmocka_unit_test(unknown_errors),
      cmocka_unit_test(state_names),
      cmocka_unit_test(state_from_name),
      cmocka_unit_test(flags_format),
      cmocka_unit_test(flags_format_truncates),
      cmocka_unit_test(flags_parse),
      cmocka_unit_test(flags_round_trip),
      cmocka_unit_test(malformed_names),
      cmocka_unit_test(event_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
