/* Test harness for the tcplab core; see harness.h. */
#include "harness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds a run of timers in one advance(): a timer that keeps firing at
 * the same instant would otherwise hang the test. */
#define MAX_EXPIRIES_PER_ADVANCE 100000u

/* ------------------------------------------------------------ printing */

static double secs(tcplab_time_t t) {
  return (double)t / 1e9;
}

static void format_seg(char *buf, size_t cap, const struct tcplab_segment *s) {
  char flags[32];
  char opt[48] = "";
  tcplab_flags_format(s->flags, flags, sizeof flags);
  if (s->opt.present & TCPLAB_OPT_MSS)
    snprintf(opt, sizeof opt, " mss=%u", (unsigned)s->opt.mss);
  if (s->opt.present & ~TCPLAB_OPT_MSS) {
    size_t n = strlen(opt);
    snprintf(opt + n, sizeof opt - n, " opts=0x%x", (unsigned)s->opt.present);
  }
  if (s->flags & TCPLAB_URG) {
    size_t n = strlen(opt);
    snprintf(opt + n, sizeof opt - n, " urp=%u", (unsigned)s->urp);
  }
  snprintf(buf, cap,
           "%u->%u <%s> seq=%" PRIu32 " ack=%" PRIu32 " wnd=%u len=%zu%s",
           (unsigned)s->sport, (unsigned)s->dport, flags, s->seq, s->ack,
           (unsigned)s->wnd, s->len, opt);
}

static const char *error_name(int e) {
  return e == TCPLAB_OK ? "ok" : tcplab_error_name(e);
}

static void fail_at(const char *file, int line) {
  _fail(file, line);
}

/* ----------------------------------------------------------- callbacks */

static void *grow(void *p, size_t *cap, size_t len, size_t size) {
  if (len < *cap)
    return p;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *np = realloc(p, ncap * size);
  if (np == NULL)
    abort();
  *cap = ncap;
  return np;
}

/* Each segment in a block of exactly its length, so that a sanitizer
 * sees a byte written past it; output takes the block over. */
static uint8_t *cb_tx_buffer(void *user_data, size_t len) {
  struct harness *h = user_data;
  assert_null(h->tx_given);
  if (h->tx_refuse > 0) {
    h->tx_refuse--;
    return NULL;
  }
  h->tx_given = malloc(len ? len : 1);
  if (h->tx_given == NULL)
    abort();
  h->tx_given_len = len;
  return h->tx_given;
}

static void cb_output(void *user_data, tcplab_time_t now, uint32_t src,
                      uint32_t dst, const uint8_t *bytes, size_t len) {
  struct harness *h = user_data;
  struct out_seg *o = calloc(1, sizeof *o);
  if (o == NULL)
    abort();
  o->at = now;
  o->src = src;
  o->dst = dst;
  o->size = len;
  if (h->tx_buffer) {
    /* Built where tx_buffer said, and exactly as long as it asked. */
    assert_ptr_equal(bytes, h->tx_given);
    assert_int_equal(len, h->tx_given_len);
    o->bytes = h->tx_given;
    h->tx_given = NULL;
  } else {
    o->bytes = malloc(len ? len : 1);
    if (o->bytes == NULL)
      abort();
    memcpy(o->bytes, bytes, len);
  }
  /* Every segment the core emits must carry a valid checksum. */
  o->bad = tcplab_segment_decode(o->bytes, len, src, dst, true, &o->seg);
  h->out = grow(h->out, &h->out_cap, h->out_len, sizeof *h->out);
  h->out[h->out_len++] = o;
  if (h->verbose) {
    char buf[160];
    format_seg(buf, sizeof buf, &o->seg);
    fprintf(stderr, "  [%08x] %.9f out %s%s\n", (unsigned)h->local_addr,
            secs(now), buf, o->bad ? " MALFORMED" : "");
  }
}

static void cb_trace(void *user_data, const struct tcplab_trace_event *ev) {
  struct harness *h = user_data;
  h->trace = grow(h->trace, &h->trace_cap, h->trace_len, sizeof *h->trace);
  h->trace[h->trace_len++] = *ev;
  /* The newest connection: how a test reaches a passive connection that
   * is not yet accepted (SYN_RECEIVED). */
  if (ev->conn != NULL && ev->id > h->conn_id) {
    h->conn = ev->conn;
    h->conn_id = ev->id;
  }
  if (h->verbose) {
    char flags[32];
    tcplab_flags_format(ev->flags, flags, sizeof flags);
    fprintf(stderr,
            "  [%08x] %.9f #%" PRIu64 " %s -> %s %s <%s> seq=%" PRIu32
            " ack=%" PRIu32 " len=%" PRIu32 " %s\n",
            (unsigned)h->local_addr, secs(ev->now), ev->id,
            tcplab_state_name(ev->from), tcplab_state_name(ev->to),
            tcplab_event_name(ev->event), flags, ev->seq, ev->ack, ev->len,
            error_name(ev->error));
  }
}

static void cb_acceptable(void *user_data, struct tcplab_listener *l) {
  struct harness *h = user_data;
  (void)l;
  h->acceptable++;
}

static void cb_connected(void *user_data, struct tcplab_conn *c) {
  struct harness *h = user_data;
  (void)c;
  h->connected++;
}

static void cb_readable(void *user_data, struct tcplab_conn *c, size_t avail) {
  struct harness *h = user_data;
  h->readable++;
  h->readable_avail = avail;
  if (h->on_readable != NULL)
    h->on_readable(h, c, avail);
}

static void cb_urgent(void *user_data, struct tcplab_conn *c, size_t pending) {
  struct harness *h = user_data;
  (void)c;
  h->urgent++;
  h->urgent_pending = pending;
}

static void cb_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct harness *h = user_data;
  h->peer_closed++;
  if (h->on_peer_closed != NULL)
    h->on_peer_closed(h, c);
}

static void cb_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct harness *h = user_data;
  h->closed = grow(h->closed, &h->closed_cap, h->closed_len, sizeof *h->closed);
  h->closed[h->closed_len++] = (struct closed_rec){
      .id = tcplab_conn_id(c), .error = error, .at = h->now};
  if (h->verbose)
    fprintf(stderr, "  [%08x] closed #%" PRIu64 " %s\n",
            (unsigned)h->local_addr, tcplab_conn_id(c), error_name(error));
  /* The handle dies when this returns. */
  if (c == h->conn)
    h->conn = NULL;
}

static uint32_t cb_isn(void *user_data, tcplab_time_t now,
                       struct tcplab_endpoint local,
                       struct tcplab_endpoint remote) {
  struct harness *h = user_data;
  (void)now;
  (void)local;
  (void)remote;
  return h->iss;
}

static const struct tcplab_callbacks callbacks = {
    .output = cb_output,
    .tx_buffer = NULL, /* set in start_stack when h->tx_buffer */
    .trace = cb_trace,
    .acceptable = cb_acceptable,
    .connected = cb_connected,
    .readable = cb_readable,
    .peer_closed = cb_peer_closed,
    .urgent = cb_urgent,
    .closed = cb_closed,
    .isn = cb_isn,
};

/* ------------------------------------------------------------- harness */

static void clear_records(struct harness *h) {
  for (size_t i = 0; i < h->out_len; i++) {
    free(h->out[i]->bytes);
    free(h->out[i]);
  }
  free(h->out);
  free(h->trace);
  free(h->closed);
  h->out = NULL;
  h->out_len = h->out_cap = h->out_head = 0;
  h->trace = NULL;
  h->trace_len = h->trace_cap = 0;
  h->closed = NULL;
  h->closed_len = h->closed_cap = 0;
  h->acceptable = h->connected = h->peer_closed = h->readable = 0;
  h->readable_avail = 0;
  h->urgent = 0;
  h->urgent_pending = 0;
  h->conn = NULL;
  h->conn_id = 0;
  h->listener = NULL;
}

void h_config_default(struct tcplab_config *cfg) {
  tcplab_config_default(cfg);
  /* RFC 9293's segment diagrams show every ACK at once and no options
   * but MSS; the tests of delayed ACKs and window scaling turn them on.
   * A 65535-byte receive buffer makes the window field show exactly the
   * free space, unread data included. */
  cfg->delayed_ack = 0;
  cfg->window_scale = false;
  cfg->rcv_buf = 65535;
  cfg->snd_buf = 65535;
}

static void start_stack(struct harness *h, const struct tcplab_config *cfg) {
  if (cfg != NULL)
    h->cfg = *cfg;
  else
    h_config_default(&h->cfg);
  struct tcplab_callbacks cb = callbacks;
  if (h->tx_buffer)
    cb.tx_buffer = cb_tx_buffer;
  int rc = tcplab_stack_new(&h->cfg, &cb, NULL, h, &h->stack);
  assert_int_equal(rc, TCPLAB_OK);
  assert_non_null(h->stack);
}

struct harness *h_new(const struct tcplab_config *cfg) {
  struct harness *h = calloc(1, sizeof *h);
  assert_non_null(h);
  h->local_addr = LOCAL_ADDR;
  h->remote_addr = REMOTE_ADDR;
  h->local_port = LOCAL_PORT;
  h->remote_port = REMOTE_PORT;
  h->iss = LOCAL_ISS;
  h->verbose = getenv("HARNESS_VERBOSE") != NULL;
  h->tx_buffer = getenv("HARNESS_TX_BUFFER") != NULL;
  start_stack(h, cfg);
  return h;
}

void h_del(struct harness *h) {
  if (h == NULL)
    return;
  h_del(h->peer);
  if (h->stack != NULL)
    tcplab_stack_del(h->stack);
  clear_records(h);
  free(h->tx_given);
  free(h);
}

void h_restart(struct harness *h, const struct tcplab_config *cfg) {
  tcplab_stack_del(h->stack);
  h->stack = NULL;
  clear_records(h);
  start_stack(h, cfg);
}

struct harness *h_new_peer(struct harness *h, const struct tcplab_config *cfg) {
  assert_null(h->peer);
  struct harness *p = h_new(cfg);
  p->local_addr = h->remote_addr;
  p->remote_addr = h->local_addr;
  p->local_port = h->remote_port;
  p->remote_port = h->local_port;
  p->iss = REMOTE_ISS;
  p->now = h->now;
  h->peer = p;
  return p;
}

int h_setup(void **state) {
  *state = h_new(NULL);
  return 0;
}

int h_teardown(void **state) {
  struct harness *h = *state;
  h_del(h);
  return 0;
}

/* ---------------------------------------------------------------- verbs */

void advance_at(struct harness *h, tcplab_time_t t, const char *file,
                int line) {
  if (t < h->now) {
    print_error("time goes backwards: %.9f s after %.9f s\n", secs(t),
                secs(h->now));
    fail_at(file, line);
  }
  for (unsigned n = 0;; n++) {
    tcplab_time_t e = tcplab_stack_next_expiry(h->stack);
    if (e == TCPLAB_TIME_NEVER || e > t)
      break;
    if (n == MAX_EXPIRIES_PER_ADVANCE) {
      print_error("timers keep expiring at %.9f s\n", secs(e));
      fail_at(file, line);
    }
    /* A deadline already in the past is handled now: time never runs
     * backwards for the stack. */
    if (e > h->now)
      h->now = e;
    tcplab_stack_handle_expiry(h->stack, h->now);
  }
  h->now = t;
}

static void fill_feed_defaults(const struct harness *h,
                               struct tcplab_segment *s) {
  if (s->sport == 0)
    s->sport = h->remote_port;
  if (s->dport == 0)
    s->dport = h->local_port;
  if (s->opt.present & HARNESS_WND_ZERO) {
    s->opt.present &= (uint8_t)~HARNESS_WND_ZERO;
    s->wnd = 0;
  } else if (s->wnd == 0) {
    s->wnd = DEFAULT_WND;
  }
  /* A real peer's SYN announces its MSS (RFC 9293 3.7.1). */
  if ((s->flags & SYN) && s->opt.present == 0) {
    s->opt.present = TCPLAB_OPT_MSS;
    s->opt.mss = 1460;
  }
}

static void input_bytes(struct harness *h, tcplab_time_t t, const uint8_t *b,
                        size_t len, const char *file, int line) {
  advance_at(h, t, file, line);
  int rc =
      tcplab_stack_input(h->stack, t, h->remote_addr, h->local_addr, b, len);
  if (rc != TCPLAB_OK) {
    print_error("tcplab_stack_input: %s\n", error_name(rc));
    fail_at(file, line);
  }
}

void feed_at(struct harness *h, tcplab_time_t t, struct tcplab_segment seg,
             const char *file, int line) {
  uint8_t buf[TCPLAB_HEADER_MAX + 2048];
  fill_feed_defaults(h, &seg);
  if (h->verbose) {
    char text[160];
    format_seg(text, sizeof text, &seg);
    fprintf(stderr, "  [%08x] %.9f in  %s\n", (unsigned)h->local_addr, secs(t),
            text);
  }
  size_t n = tcplab_segment_encode(&seg, h->remote_addr, h->local_addr, buf,
                                   sizeof buf);
  if (n == 0) {
    print_error("cannot encode the segment\n");
    fail_at(file, line);
  }
  input_bytes(h, t, buf, n, file, line);
}

void deliver_at(struct harness *to, tcplab_time_t t, const struct out_seg *o,
                const char *file, int line) {
  if (o->src != to->remote_addr || o->dst != to->local_addr) {
    print_error("segment %08x -> %08x does not go to this stack\n",
                (unsigned)o->src, (unsigned)o->dst);
    fail_at(file, line);
  }
  input_bytes(to, t, o->bytes, o->size, file, line);
}

static void fill_expect_defaults(const struct harness *h,
                                 struct tcplab_segment *s) {
  if (s->sport == 0)
    s->sport = h->local_port;
  if (s->dport == 0)
    s->dport = h->remote_port;
  if (s->opt.present & HARNESS_WND_ZERO) {
    s->opt.present &= (uint8_t)~HARNESS_WND_ZERO;
    s->wnd = 0;
  } else if (s->wnd == 0) {
    s->wnd = h->cfg.rcv_buf > 65535u ? 65535u : (uint16_t)h->cfg.rcv_buf;
  }
  /* The SYN and the SYN|ACK carry exactly one option: our MSS. */
  if ((s->flags & SYN) && s->opt.present == 0) {
    s->opt.present = TCPLAB_OPT_MSS;
    s->opt.mss = h->cfg.mss;
  }
}

static bool options_equal(const struct tcplab_options *a,
                          const struct tcplab_options *b) {
  if (a->present != b->present)
    return false;
  if ((a->present & TCPLAB_OPT_MSS) && a->mss != b->mss)
    return false;
  if ((a->present & TCPLAB_OPT_WSCALE) && a->wscale != b->wscale)
    return false;
  if ((a->present & TCPLAB_OPT_TIMESTAMP) &&
      (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr))
    return false;
  return true;
}

static bool seg_matches(const struct tcplab_segment *want,
                        const struct tcplab_segment *got) {
  if (want->flags != got->flags || want->seq != got->seq ||
      want->sport != got->sport || want->dport != got->dport)
    return false;
  if ((want->flags & ACK) && want->ack != got->ack)
    return false;
  /* A RST's window is meaningless to its receiver. */
  if (!(want->flags & RST) && want->wnd != got->wnd)
    return false;
  if (want->len != got->len)
    return false;
  if ((want->flags & URG) && want->urp != got->urp)
    return false;
  if (want->len > 0 && memcmp(want->payload, got->payload, want->len) != 0)
    return false;
  return options_equal(&want->opt, &got->opt);
}

static void print_pending(const struct harness *h) {
  for (size_t i = h->out_head; i < h->out_len; i++) {
    char text[160];
    format_seg(text, sizeof text, &h->out[i]->seg);
    print_error("  pending at %.9f s: %s\n", secs(h->out[i]->at), text);
  }
}

const struct out_seg *expect_at(struct harness *h, tcplab_time_t t,
                                struct tcplab_segment seg, const char *file,
                                int line) {
  char want[160], got[160];
  advance_at(h, t, file, line);
  fill_expect_defaults(h, &seg);
  format_seg(want, sizeof want, &seg);
  if (h->out_head == h->out_len) {
    print_error("expected at %.9f s: %s\n  but nothing was sent\n", secs(t),
                want);
    fail_at(file, line);
  }
  const struct out_seg *o = h->out[h->out_head++];
  format_seg(got, sizeof got, &o->seg);
  if (o->bad != TCPLAB_MALFORMED_NONE) {
    print_error("the stack sent a malformed segment (%s)\n",
                tcplab_malformed_name(o->bad));
    fail_at(file, line);
  }
  if (o->src != h->local_addr || o->dst != h->remote_addr) {
    print_error("segment sent %08x -> %08x, expected %08x -> %08x\n",
                (unsigned)o->src, (unsigned)o->dst, (unsigned)h->local_addr,
                (unsigned)h->remote_addr);
    fail_at(file, line);
  }
  if (!seg_matches(&seg, &o->seg) || o->at != t) {
    print_error("expected at %.9f s: %s\n     got at %.9f s: %s\n", secs(t),
                want, secs(o->at), got);
    print_pending(h);
    fail_at(file, line);
  }
  return o;
}

void expect_nothing_at(struct harness *h, tcplab_time_t t, const char *file,
                       int line) {
  advance_at(h, t, file, line);
  if (h->out_head != h->out_len) {
    print_error("expected nothing sent up to %.9f s\n", secs(t));
    print_pending(h);
    fail_at(file, line);
  }
}

/* ----------------------------------------------------------- assertions */

void assert_state_at(const struct tcplab_conn *c, enum tcplab_state want,
                     const char *file, int line) {
  if (c == NULL) {
    print_error("no connection (expected %s)\n", tcplab_state_name(want));
    fail_at(file, line);
  }
  enum tcplab_state got = tcplab_conn_state(c);
  if (got != want) {
    print_error("state %s, expected %s\n", tcplab_state_name(got),
                tcplab_state_name(want));
    fail_at(file, line);
  }
}

void assert_closed_at(const struct harness *h, uint64_t id, int error,
                      const char *file, int line) {
  size_t n = 0;
  int got = TCPLAB_OK;
  for (size_t i = 0; i < h->closed_len; i++) {
    if (h->closed[i].id == id) {
      n++;
      got = h->closed[i].error;
    }
  }
  if (n != 1 || got != error) {
    print_error("connection %" PRIu64 ": closed called %zu times (last: %s), "
                "expected once with %s\n",
                id, n, error_name(got), error_name(error));
    fail_at(file, line);
  }
}

void assert_not_closed_at(const struct harness *h, uint64_t id,
                          const char *file, int line) {
  for (size_t i = 0; i < h->closed_len; i++) {
    if (h->closed[i].id == id) {
      print_error("connection %" PRIu64 " closed (%s), expected open\n", id,
                  error_name(h->closed[i].error));
      fail_at(file, line);
    }
  }
}

static void print_transitions(const struct harness *h, uint64_t id) {
  for (size_t i = 0; i < h->trace_len; i++) {
    const struct tcplab_trace_event *ev = &h->trace[i];
    if (ev->id == id && ev->from != ev->to)
      print_error("  %s -> %s (%s)\n", tcplab_state_name(ev->from),
                  tcplab_state_name(ev->to), tcplab_event_name(ev->event));
  }
}

void assert_transitions_at(const struct harness *h, uint64_t id,
                           const struct transition *want, size_t n,
                           const char *file, int line) {
  size_t k = 0;
  bool ok = true;
  for (size_t i = 0; i < h->trace_len && ok; i++) {
    const struct tcplab_trace_event *ev = &h->trace[i];
    if (ev->id != id || ev->from == ev->to)
      continue;
    if (k == n || ev->from != want[k].from || ev->to != want[k].to ||
        ev->event != want[k].event)
      ok = false;
    k++;
  }
  if (!ok || k != n) {
    print_error("transitions of %" PRIu64 " differ; expected:\n", id);
    for (size_t i = 0; i < n; i++)
      print_error("  %s -> %s (%s)\n", tcplab_state_name(want[i].from),
                  tcplab_state_name(want[i].to),
                  tcplab_event_name(want[i].event));
    print_error("got:\n");
    print_transitions(h, id);
    fail_at(file, line);
  }
}

const struct tcplab_trace_event *first_event(const struct harness *h,
                                             uint64_t id) {
  for (size_t i = 0; i < h->trace_len; i++)
    if (h->trace[i].id == id)
      return &h->trace[i];
  return NULL;
}

const struct tcplab_trace_event *last_event(const struct harness *h,
                                            uint64_t id) {
  for (size_t i = h->trace_len; i-- > 0;)
    if (h->trace[i].id == id)
      return &h->trace[i];
  return NULL;
}

const struct tcplab_trace_event *
find_event(const struct harness *h, uint64_t id, enum tcplab_event event) {
  for (size_t i = h->trace_len; i-- > 0;)
    if (h->trace[i].id == id && h->trace[i].event == event)
      return &h->trace[i];
  return NULL;
}

size_t count_events(const struct harness *h, uint64_t id,
                    enum tcplab_event event) {
  size_t n = 0;
  for (size_t i = 0; i < h->trace_len; i++)
    if (h->trace[i].id == id && h->trace[i].event == event)
      n++;
  return n;
}

void assert_recv_at(struct harness *h, struct tcplab_conn *c, tcplab_time_t t,
                    const char *want, size_t len, const char *file, int line) {
  char buf[4096];
  size_t got = 0;
  advance_at(h, t, file, line);
  for (;;) {
    int n = tcplab_conn_recv(c, t, buf + got, sizeof buf - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    if (got == sizeof buf)
      break;
  }
  if (got != len || memcmp(buf, want, len) != 0) {
    print_error("received %zu bytes \"%.*s\", expected %zu bytes \"%.*s\"\n",
                got, (int)got, buf, len, (int)len, want);
    fail_at(file, line);
  }
}

void app_close(struct harness *h, struct tcplab_conn *c) {
  int rc = tcplab_conn_close(c, h->now);
  if (rc != TCPLAB_OK) {
    print_error("close in a callback: %s\n", error_name(rc));
    fail_at(__FILE__, __LINE__);
  }
}

/* ------------------------------------------------------------- fixtures */

struct tcplab_listener *fx_listen(struct harness *h) {
  struct tcplab_listener *l = NULL;
  assert_int_equal(tcplab_stack_listen(h->stack, 0, h->local_addr,
                                       h->local_port, BACKLOG, &l),
                   TCPLAB_OK);
  assert_non_null(l);
  assert_transitions(h, tcplab_listener_id(l),
                     {TCPLAB_CLOSED, TCPLAB_LISTEN, TCPLAB_EV_APP_LISTEN});
  expect_nothing(h, 0);
  h->listener = l;
  return l;
}

/* RFC 9293 3.10.7.2: a SYN in LISTEN is answered
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and the connection is SYN-RECEIVED. */
struct tcplab_conn *fx_syn_received(struct harness *h) {
  fx_listen(h);
  feed(h, 0, SEG(.flags = SYN, .seq = REMOTE_ISS));
  expect(h, 0,
         SEG(.flags = SYN | ACK, .seq = LOCAL_ISS, .ack = REMOTE_ISS + 1));
  assert_non_null(h->conn);
  assert_state(h->conn, TCPLAB_SYN_RECEIVED);
  assert_transitions(h, h->conn_id,
                     {TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV});
  return h->conn;
}

/* RFC 9293 3.10.7.4, fifth check, SYN-RECEIVED: an acceptable ACK makes
 * the connection ESTABLISHED; nothing is sent in answer. */
struct tcplab_conn *fx_established(struct harness *h) {
  struct tcplab_conn *c = fx_syn_received(h);
  feed(h, T_HANDSHAKE,
       SEG(.flags = ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect_nothing(h, T_HANDSHAKE);
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(h->acceptable, 1);
  struct tcplab_conn *got = NULL;
  assert_int_equal(tcplab_listener_accept(h->listener, &got), TCPLAB_OK);
  assert_ptr_equal(got, c);
  return c;
}

struct tcplab_conn *fx_syn_sent(struct harness *h) {
  struct tcplab_conn *c = NULL;
  assert_int_equal(tcplab_stack_connect(h->stack, 0, h->local_addr,
                                        h->local_port, h->remote_addr,
                                        h->remote_port, &c),
                   TCPLAB_OK);
  assert_non_null(c);
  assert_ptr_equal(c, h->conn);
  expect(h, 0, SEG(.flags = SYN, .seq = LOCAL_ISS));
  assert_state(c, TCPLAB_SYN_SENT);
  return c;
}

/* RFC 9293 3.10.7.3, fourth check: a SYN|ACK acknowledging our SYN makes
 * the connection ESTABLISHED and is answered <SEQ=SND.NXT><ACK=RCV.NXT>. */
struct tcplab_conn *fx_established_active(struct harness *h) {
  struct tcplab_conn *c = fx_syn_sent(h);
  feed(h, T_HANDSHAKE,
       SEG(.flags = SYN | ACK, .seq = REMOTE_ISS, .ack = LOCAL_ISS + 1));
  expect(h, T_HANDSHAKE,
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_ESTABLISHED);
  assert_int_equal(h->connected, 1);
  return c;
}

/* RFC 9293 3.10.4 CLOSE in ESTABLISHED: send FIN, enter FIN-WAIT-1. */
struct tcplab_conn *fx_fin_wait_1(struct harness *h) {
  struct tcplab_conn *c = fx_established(h);
  advance(h, T_CLOSE);
  assert_int_equal(tcplab_conn_close(c, T_CLOSE), TCPLAB_OK);
  expect(h, T_CLOSE,
         SEG(.flags = FIN | ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 1));
  assert_state(c, TCPLAB_FIN_WAIT_1);
  return c;
}

/* RFC 9293 3.10.7.4, fifth check, FIN-WAIT-1: our FIN acknowledged. */
struct tcplab_conn *fx_fin_wait_2(struct harness *h) {
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110),
       SEG(.flags = ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 2));
  expect_nothing(h, MS(110));
  assert_state(c, TCPLAB_FIN_WAIT_2);
  return c;
}

/* RFC 9293 3.10.7.4, eighth check, FIN-WAIT-1: a FIN that does not
 * acknowledge ours leads to CLOSING; it is acknowledged. */
struct tcplab_conn *fx_closing(struct harness *h) {
  struct tcplab_conn *c = fx_fin_wait_1(h);
  feed(h, MS(110),
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect(h, MS(110),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 2, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_CLOSING);
  return c;
}

/* RFC 9293 3.10.7.4, eighth check, FIN-WAIT-2: the peer's FIN leads to
 * TIME-WAIT; it is acknowledged. */
struct tcplab_conn *fx_time_wait(struct harness *h) {
  struct tcplab_conn *c = fx_fin_wait_2(h);
  feed(h, MS(120),
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 2));
  expect(h, MS(120),
         SEG(.flags = ACK, .seq = LOCAL_ISS + 2, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_TIME_WAIT);
  return c;
}

/* RFC 9293 3.10.7.4, eighth check, ESTABLISHED: the peer's FIN leads to
 * CLOSE-WAIT; it is acknowledged and the application told. */
struct tcplab_conn *fx_close_wait(struct harness *h) {
  struct tcplab_conn *c = fx_established(h);
  feed(h, T_CLOSE,
       SEG(.flags = FIN | ACK, .seq = REMOTE_ISS + 1, .ack = LOCAL_ISS + 1));
  expect(h, T_CLOSE,
         SEG(.flags = ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_CLOSE_WAIT);
  assert_int_equal(h->peer_closed, 1);
  return c;
}

/* RFC 9293 3.10.4 CLOSE in CLOSE-WAIT: send FIN, enter LAST-ACK. */
struct tcplab_conn *fx_last_ack(struct harness *h) {
  struct tcplab_conn *c = fx_close_wait(h);
  advance(h, MS(110));
  assert_int_equal(tcplab_conn_close(c, MS(110)), TCPLAB_OK);
  expect(h, MS(110),
         SEG(.flags = FIN | ACK, .seq = LOCAL_ISS + 1, .ack = REMOTE_ISS + 2));
  assert_state(c, TCPLAB_LAST_ACK);
  return c;
}
