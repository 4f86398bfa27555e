/* Names for codes, states, flags and events: the stable spellings that
 * traces and CSV files use. */
#include <string.h>

#include "tcplab/core.h"

/* ---------------------------------------------------------------- errors */

struct error_text {
  const char *name;    /* stable, for CSV */
  const char *message; /* for people */
};

/* Indexed by -code. */
static const struct error_text errors[] = {
    {"", "success"},
    {"no_memory", "out of memory"},
    {"invalid", "invalid argument"},
    {"address_in_use", "address already in use"},
    {"no_ports", "no ephemeral port available"},
    {"bad_state", "operation not allowed in this connection state"},
    {"closing", "connection is closing: no more data can be sent"},
    {"would_block", "operation would block"},
    {"refused", "connection refused"},
    {"reset", "connection reset by peer"},
    {"timed_out", "connection timed out"},
    {"aborted", "connection aborted"},
    {"malformed", "malformed segment"},
    {"data_lost", "connection reset: received data was never read"},
};
#define ERROR_COUNT (sizeof errors / sizeof errors[0])
_Static_assert(ERROR_COUNT == 1 - TCPLAB_ERR_DATA_LOST,
               "one entry per TCPLAB_ERR_* code");

static const struct error_text *error_text(int error) {
  if (error > 0 || error <= -(int)ERROR_COUNT)
    return NULL;
  return &errors[-error];
}

const char *tcplab_strerror(int error) {
  const struct error_text *e = error_text(error);
  return e ? e->message : "unknown error";
}

const char *tcplab_error_name(int error) {
  const struct error_text *e = error_text(error);
  return e ? e->name : "unknown";
}

/* ---------------------------------------------------------------- states */

/* RFC 9293 3.3.2's names, with '_' for '-'. */
static const char *const states[TCPLAB_STATE_COUNT] = {
    [TCPLAB_CLOSED] = "CLOSED",
    [TCPLAB_LISTEN] = "LISTEN",
    [TCPLAB_SYN_SENT] = "SYN_SENT",
    [TCPLAB_SYN_RECEIVED] = "SYN_RECEIVED",
    [TCPLAB_ESTABLISHED] = "ESTABLISHED",
    [TCPLAB_FIN_WAIT_1] = "FIN_WAIT_1",
    [TCPLAB_FIN_WAIT_2] = "FIN_WAIT_2",
    [TCPLAB_CLOSE_WAIT] = "CLOSE_WAIT",
    [TCPLAB_CLOSING] = "CLOSING",
    [TCPLAB_LAST_ACK] = "LAST_ACK",
    [TCPLAB_TIME_WAIT] = "TIME_WAIT",
};

const char *tcplab_state_name(enum tcplab_state state) {
  if ((unsigned)state >= TCPLAB_STATE_COUNT)
    return "?";
  return states[state];
}

/* ASCII only: names must not change with the host program's locale. */
static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive equality of a NUL-terminated string with s[0..n). */
static bool name_equal(const char *name, const char *s, size_t n) {
  size_t i = 0;
  for (; i < n; i++) {
    if (name[i] == '\0' || lower(name[i]) != lower(s[i]))
      return false;
  }
  return name[i] == '\0';
}

int tcplab_state_from_name(const char *name) {
  if (name == NULL)
    return -1;
  size_t n = strlen(name);
  for (int i = 0; i < TCPLAB_STATE_COUNT; i++) {
    if (name_equal(states[i], name, n))
      return i;
  }
  return -1;
}

/* ----------------------------------------------------------------- flags */

/* The order traces print them in (DESIGN: SYN|FIN|RST|PSH|ACK|URG). */
static const struct {
  uint8_t bit;
  const char *name;
} flag_names[] = {
    {TCPLAB_SYN, "SYN"}, {TCPLAB_FIN, "FIN"}, {TCPLAB_RST, "RST"},
    {TCPLAB_PSH, "PSH"}, {TCPLAB_ACK, "ACK"}, {TCPLAB_URG, "URG"},
};
#define FLAG_COUNT (sizeof flag_names / sizeof flag_names[0])

size_t tcplab_flags_format(uint8_t flags, char *buf, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < FLAG_COUNT; i++) {
    if (!(flags & flag_names[i].bit))
      continue;
    const char *s = flag_names[i].name;
    if (n > 0) {
      if (n + 1 < cap)
        buf[n] = '|';
      n++;
    }
    for (; *s != '\0'; s++, n++) {
      if (n + 1 < cap)
        buf[n] = *s;
    }
  }
  if (cap > 0)
    buf[n < cap ? n : cap - 1] = '\0';
  return n;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

int tcplab_flags_parse(const char *text) {
  if (text == NULL)
    return -1;
  const char *p = text;
  while (is_space(*p))
    p++;
  if (*p == '\0')
    return 0; /* no flags at all */
  int flags = 0;
  for (;;) {
    while (is_space(*p))
      p++;
    const char *start = p;
    while (*p != '\0' && *p != '|' && *p != ',' && !is_space(*p))
      p++;
    size_t n = (size_t)(p - start);
    size_t i = 0;
    while (i < FLAG_COUNT && !name_equal(flag_names[i].name, start, n))
      i++;
    if (i == FLAG_COUNT)
      return -1; /* unknown or empty name */
    flags |= flag_names[i].bit;
    while (is_space(*p))
      p++;
    if (*p == '\0')
      return flags;
    if (*p != '|' && *p != ',')
      return -1;
    p++;
  }
}

/* ------------------------------------------------------ malformed, events */

static const char *const malformed[TCPLAB_MALFORMED_COUNT] = {
    [TCPLAB_MALFORMED_NONE] = "",
    [TCPLAB_MALFORMED_SHORT] = "short",
    [TCPLAB_MALFORMED_OFFSET] = "offset",
    [TCPLAB_MALFORMED_OPTION] = "option",
    [TCPLAB_MALFORMED_CHECKSUM] = "checksum",
};

const char *tcplab_malformed_name(enum tcplab_malformed reason) {
  if ((unsigned)reason >= TCPLAB_MALFORMED_COUNT)
    return "?";
  return malformed[reason];
}

/* timeline.csv's `event` column (DESIGN, "lua/ and the tcplab command"). */
static const char *const events[TCPLAB_EVENT_COUNT] = {
    [TCPLAB_EV_APP_LISTEN] = "app_listen",
    [TCPLAB_EV_APP_CONNECT] = "app_connect",
    [TCPLAB_EV_APP_SHUTDOWN] = "app_shutdown",
    [TCPLAB_EV_APP_CLOSE] = "app_close",
    [TCPLAB_EV_APP_ABORT] = "app_abort",
    [TCPLAB_EV_RCV] = "rcv",
    [TCPLAB_EV_SND] = "snd",
    [TCPLAB_EV_TIMER_RETRANSMIT] = "timer_retransmit",
    [TCPLAB_EV_TIMER_TIME_WAIT] = "timer_time_wait",
    [TCPLAB_EV_TIMER_FIN_WAIT_2] = "timer_fin_wait_2",
    [TCPLAB_EV_GAVE_UP] = "gave_up",
    [TCPLAB_EV_CWND] = "cwnd",
};

const char *tcplab_event_name(enum tcplab_event event) {
  if ((unsigned)event >= TCPLAB_EVENT_COUNT)
    return "?";
  return events[event];
}
