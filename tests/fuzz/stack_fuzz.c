/*
 * Fuzz target: arbitrary bytes into tcplab_stack_input.
 *
 * Host A (10.0.0.2) is the stack under test. At the start of every input it
 * is brought, through the public API only, to a listener on port 80 and an
 * established connection from host B (10.0.0.1:40000), a second real stack,
 * with data in flight both ways. The input then drives A as a sequence of
 * records. Input layout (a byte the input lacks reads as 0):
 *
 *   c0 c1        configuration, see setup()
 *   record...    each an op byte; its low three bits pick the kind, the
 *                high five (arg) qualify it:
 *     0, 1, 2    a crafted segment arrives at A: a length (one byte, or two
 *                little-endian if arg bit 0), a mode byte (crafted_segment),
 *                then that many raw segment bytes
 *     3          a time byte: +1..64 ms, +25..1600 ms, +1..64 s, or straight
 *                to the next timer (top two bits); timers run on the way
 *     4, 6       A's (4) or B's (6) application: an action byte, low four
 *                bits the action (app_record), high four the connection;
 *                some actions take one more byte
 *     5          the oldest segment queued for A (arg bit 0 clear) or for
 *                B is delivered; with arg bit 1, two position bytes and a
 *                mask flip bits in it first (checksum refixed unless the
 *                position's top bit is set)
 *     7          arg & 3: 0 lets the stacks exchange until quiet (a count
 *                byte bounds it), 1 fails one of A's next allocations
 *                (count byte), 2 and 3 deliver one queued segment
 *
 * A crafted segment is taken as raw bytes, but unless the fuzzer says
 * otherwise its ports are set to one of the flows A knows, its sequence and
 * acknowledgment numbers are rebased onto what A last sent and acked (the
 * low 16 bits of each field become a signed offset) and its checksum is
 * filled in. Without that nearly every input would die in the decoder or
 * the window check and the fuzzer would never reach the deep states.
 *
 * After every call into either stack the target checks what it can see from
 * outside: return codes are documented ones, stack statistics agree with
 * what the callbacks reported, every emitted segment decodes with a valid
 * checksum and obeys the header rules, and next_expiry never lies behind
 * the clock after handle_expiry. At the end both stacks are deleted and
 * every byte they allocated must have been returned.
 *
 * The same entry point is run by libFuzzer and by the replay driver
 * (replay.c).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tcplab/core.h>

/* Core internals that are header-only: byte order and sequence space. */
#include "bytes.h"
#include "seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define A_ADDR 0x0a000002u /* the stack under test */
#define B_ADDR 0x0a000001u /* its real peer; the fuzzer also speaks as it */
#define C_ADDR 0x0a000003u /* a host only the fuzzer speaks as */
#define A_PORT 80u
#define B_PORT 40000u

#define MSS_MAX     1460u /* no configuration below uses a larger MSS */
#define SLOT_BYTES  (TCPLAB_HEADER_MAX + MSS_MAX)
#define QUEUE_SLOTS 64u
#define FLOWS       16u
#define MAX_CONNS   64u
#define CRAFT_MAX   2048u /* longest crafted segment */
#define MAX_RECORDS 2000u /* bounds the work one input can ask for */
#define MAX_EXPIRY  10000u

/* ------------------------------------------------------------- checks */

static void fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  abort();
}

/* Always on, whatever NDEBUG says: these checks are the point. */
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      fail(__FILE__, __LINE__, #c);                                            \
  } while (0)

/* ------------------------------------------------------------ the world */

struct slot {
  uint32_t src, dst;
  size_t len;
  uint8_t bytes[SLOT_BYTES];
};

/* Segments one stack emitted for the other, oldest first. */
struct queue {
  struct slot slot[QUEUE_SLOTS];
  size_t head, len;
};

/* What A is known to have sent to, and received from, one remote
 * endpoint on one of its ports: the references crafted segments are
 * rebased on. */
struct flow {
  bool used;
  uint32_t addr;     /* the remote host */
  uint16_t port;     /* its port */
  uint16_t lport;    /* A's port: 80, or an ephemeral one A connected from */
  bool a_sent;       /* a_end and a_seq are valid */
  uint32_t a_end;    /* highest sequence end A sent (its SND.MAX) */
  uint32_t a_seq;    /* sequence number of A's latest segment */
  bool a_acked;      /* a_ack is valid */
  uint32_t a_ack;    /* A's latest acknowledgment (its RCV.NXT) */
  bool peer_sent;    /* peer_end is valid */
  uint32_t peer_end; /* sequence end of the latest segment to A */
};

struct alloc_hdr {
  size_t size;
  size_t pad; /* keeps the block 16-byte aligned, as malloc's is */
};

struct host {
  const char *name;
  struct tcplab_stack *s;
  uint32_t addr;
  struct tcplab_config cfg;
  struct queue *out; /* where its segments go */
  uint32_t peer_addr;

  size_t live_allocs, live_bytes;
  unsigned fail_in; /* fail the allocation this many from now; 0: none */

  struct tcplab_listener *listener;
  struct tcplab_conn *conns[MAX_CONNS]; /* the application's handles */
  size_t nconns;

  uint64_t outputs; /* output callbacks */
  bool urgent_sent; /* the application has sent urgent data */
  /* B builds its segments in blocks of exactly their length that it
   * hands out (tx_buffer), and once set up refuses one request in 23. */
  uint8_t *tx_given;
  size_t tx_given_len;
  uint64_t tx_asked, tx_refused;
  bool tx_refusing;
  uint64_t created;   /* connections first seen in the trace */
  uint64_t ended;     /* closed callbacks */
  uint64_t max_id;    /* highest connection or listener id seen */
  uint64_t segs_in;   /* expected stats.segs_in */
  uint64_t malformed; /* expected sum of stats.malformed */

  bool auto_accept, auto_read, close_on_fin;
};

static struct world {
  struct host a, b;
  struct queue to_a, to_b;
  struct flow flows[FLOWS];
  unsigned next_flow;
  tcplab_time_t now;
  struct tcplab_conn *main_a, *main_b; /* the established pair */
  const uint8_t *in;                   /* the rest of the input */
  size_t in_len;
} w;

static uint8_t pattern[65536]; /* what applications send */
static bool verbose;           /* STACK_FUZZ_TRACE set: print every event */

/* ------------------------------------------------------- input reading */

static uint8_t take8(void) {
  if (w.in_len == 0)
    return 0;
  w.in_len--;
  return *w.in++;
}

static uint16_t take16(void) {
  uint16_t lo = take8();
  return (uint16_t)(lo | (uint16_t)take8() << 8);
}

/* Up to n bytes of input; returns how many were copied. */
static size_t take(uint8_t *out, size_t n) {
  if (n > w.in_len)
    n = w.in_len;
  memcpy(out, w.in, n);
  w.in += n;
  w.in_len -= n;
  return n;
}

/* -------------------------------------------------------------- helpers */

/* The checksum field (bytes 16-17) recomputed over the pseudo-header. */
static void fix_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst) {
  if (len < TCPLAB_HEADER_MIN)
    return;
  put16(seg + 16, 0);
  put16(seg + 16, tcplab_checksum(src, dst, seg, len));
}

static uint32_t seg_len(const struct tcplab_segment *seg) {
  return (uint32_t)seg->len + ((seg->flags & TCPLAB_SYN) ? 1u : 0u) +
         ((seg->flags & TCPLAB_FIN) ? 1u : 0u);
}

static struct flow *flow_find(uint32_t addr, uint16_t port, uint16_t lport,
                              bool create) {
  for (unsigned i = 0; i < FLOWS; i++) {
    struct flow *f = &w.flows[i];
    if (f->used && f->addr == addr && f->port == port && f->lport == lport)
      return f;
  }
  if (!create)
    return NULL;
  /* Round robin: the oldest flow makes room; the main flow is slot 0 and
   * the setup fills it first, but it may be evicted too, like any other. */
  struct flow *f = &w.flows[w.next_flow];
  w.next_flow = (w.next_flow + 1) % FLOWS;
  memset(f, 0, sizeof *f);
  f->used = true;
  f->addr = addr;
  f->port = port;
  f->lport = lport;
  return f;
}

static bool is_error(int rc) {
  return rc <= TCPLAB_ERR_NOMEM && rc >= TCPLAB_ERR_MALFORMED;
}

/* ------------------------------------------------------------ allocator */

static void *fz_malloc(size_t size, void *user_data) {
  struct host *h = user_data;
  if (h->fail_in > 0 && --h->fail_in == 0)
    return NULL; /* the allocation the input asked to fail */
  struct alloc_hdr *p = malloc(sizeof *p + size);
  if (p == NULL)
    return NULL;
  p->size = size;
  h->live_allocs++;
  h->live_bytes += size;
  return p + 1;
}

static void fz_free(void *ptr, void *user_data) {
  struct host *h = user_data;
  if (ptr == NULL)
    return;
  struct alloc_hdr *p = (struct alloc_hdr *)ptr - 1;
  CHECK(h->live_allocs > 0 && h->live_bytes >= p->size);
  h->live_allocs--;
  h->live_bytes -= p->size;
  free(p);
}

/* ------------------------------------------------------ handle tracking */

static void conn_add(struct host *h, struct tcplab_conn *c) {
  for (size_t i = 0; i < h->nconns; i++)
    if (h->conns[i] == c)
      return;
  if (h->nconns < MAX_CONNS)
    h->conns[h->nconns++] = c;
  /* Past MAX_CONNS the application simply does not act on it. */
}

static void conn_drop(struct host *h, struct tcplab_conn *c) {
  for (size_t i = 0; i < h->nconns; i++) {
    if (h->conns[i] == c) {
      h->conns[i] = h->conns[--h->nconns];
      break;
    }
  }
  if (w.main_a == c)
    w.main_a = NULL;
  if (w.main_b == c)
    w.main_b = NULL;
}

/* ------------------------------------------------------------ callbacks */

static void check_emitted(struct host *h, uint32_t src, uint32_t dst,
                          const uint8_t *bytes, size_t len,
                          struct tcplab_segment *seg) {
  CHECK(src == h->addr);
  CHECK(len >= TCPLAB_HEADER_MIN && len <= TCPLAB_HEADER_MAX + h->cfg.mss);
  CHECK(tcplab_segment_decode(bytes, len, src, dst, true, seg) ==
        TCPLAB_MALFORMED_NONE);
  uint8_t f = seg->flags;
  CHECK(seg->len <= h->cfg.mss);
  CHECK(!((f & TCPLAB_SYN) && (f & (TCPLAB_FIN | TCPLAB_RST))));
  CHECK(!((f & TCPLAB_RST) && seg->len > 0));
  /* RFC 9293 3.10.7: once synchronized every segment carries ACK; only a
   * SYN or a RST may go without it. */
  CHECK((f & TCPLAB_ACK) || (f & (TCPLAB_SYN | TCPLAB_RST)));
  /* URG only after the application sent urgent data, pointing past the
   * segment's first octet (RFC 9293 3.8.5). */
  CHECK(!(f & TCPLAB_URG) || (h->urgent_sent && seg->urp > 0));
  /* The MSS option travels only on SYNs (RFC 9293 3.7.1). */
  CHECK(!(seg->opt.present & TCPLAB_OPT_MSS) || (f & TCPLAB_SYN));
}

static uint8_t *cb_tx_buffer(void *user_data, size_t len) {
  struct host *h = user_data;
  CHECK(h->tx_given == NULL);
  CHECK(len >= TCPLAB_HEADER_MIN && len <= TCPLAB_HEADER_MAX + h->cfg.mss);
  if (h->tx_refusing && ++h->tx_asked % 23 == 0) {
    h->tx_refused++;
    return NULL;
  }
  h->tx_given = malloc(len);
  CHECK(h->tx_given != NULL);
  h->tx_given_len = len;
  return h->tx_given;
}

static void output(struct host *h, tcplab_time_t now, uint32_t src,
                   uint32_t dst, const uint8_t *bytes, size_t len);

static void cb_output(void *user_data, tcplab_time_t now, uint32_t src,
                      uint32_t dst, const uint8_t *bytes, size_t len) {
  struct host *h = user_data;
  output(h, now, src, dst, bytes, len);
  free(h->tx_given); /* B's block, once the segment is queued */
  h->tx_given = NULL;
}

static void output(struct host *h, tcplab_time_t now, uint32_t src,
                   uint32_t dst, const uint8_t *bytes, size_t len) {
  struct tcplab_segment seg;
  CHECK(now == w.now);
  if (h == &w.b) {
    CHECK(bytes == h->tx_given && len == h->tx_given_len);
  }
  check_emitted(h, src, dst, bytes, len, &seg);
  h->outputs++;
  if (h == &w.a && !(seg.flags & TCPLAB_RST)) {
    struct flow *f = flow_find(dst, seg.dport, seg.sport, true);
    uint32_t end = seg.seq + seg_len(&seg);
    if (!f->a_sent || seq_gt(end, f->a_end))
      f->a_end = end;
    f->a_seq = seg.seq;
    f->a_sent = true;
    if (seg.flags & TCPLAB_ACK) {
      f->a_ack = seg.ack;
      f->a_acked = true;
    }
  }
  /* Only what is addressed to the other real stack travels; the fuzzer
   * plays every other host and reads nothing. */
  if (dst != h->peer_addr || h->out->len == QUEUE_SLOTS)
    return;
  struct slot *sl = &h->out->slot[(h->out->head + h->out->len) % QUEUE_SLOTS];
  h->out->len++;
  sl->src = src;
  sl->dst = dst;
  sl->len = len;
  memcpy(sl->bytes, bytes, len);
}

static void cb_trace(void *user_data, const struct tcplab_trace_event *ev) {
  struct host *h = user_data;
  CHECK(ev->now == w.now);
  CHECK((unsigned)ev->from < TCPLAB_STATE_COUNT);
  CHECK((unsigned)ev->to < TCPLAB_STATE_COUNT);
  CHECK((unsigned)ev->event < TCPLAB_EVENT_COUNT);
  CHECK(ev->id > 0);
  if (verbose) {
    char flags[24];
    tcplab_flags_format(ev->flags, flags, sizeof flags);
    fprintf(stderr,
            "%12.6f %s #%" PRIu64 " %s -> %s %s %s seq=%" PRIu32 " ack=%" PRIu32
            " len=%" PRIu32 "\n",
            (double)w.now / 1e9, h->name, ev->id, tcplab_state_name(ev->from),
            tcplab_state_name(ev->to), tcplab_event_name(ev->event), flags,
            ev->seq - (ev->event == TCPLAB_EV_SND ? ev->iss : ev->irs),
            ev->ack - (ev->event == TCPLAB_EV_SND ? ev->irs : ev->iss),
            ev->len);
  }
  if (ev->conn != NULL) {
    if (ev->id > h->max_id) {
      h->created++; /* a connection's first event comes with its birth */
      h->max_id = ev->id;
    }
    CHECK(tcplab_conn_id(ev->conn) == ev->id);
    CHECK(ev->local.addr == h->addr);
  } else if (ev->id > h->max_id) {
    h->max_id = ev->id;
  }
}

static void cb_acceptable(void *user_data, struct tcplab_listener *l) {
  struct host *h = user_data;
  CHECK(l == h->listener);
  if (!h->auto_accept)
    return;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK) {
    CHECK(tcplab_conn_listener(c) == NULL);
    conn_add(h, c);
  }
}

static void cb_connected(void *user_data, struct tcplab_conn *c) {
  struct host *h = user_data;
  /* The segment that established it may have moved it on already (a
   * SYN|ACK carrying a FIN ends in CLOSE_WAIT), so the state is not
   * necessarily ESTABLISHED; that it got there is. */
  const struct tcplab_conn_stats *cs = tcplab_conn_stats(c);
  CHECK(cs->role == TCPLAB_ROLE_ACTIVE);
  CHECK(cs->established == w.now);
  CHECK(tcplab_conn_state(c) != TCPLAB_CLOSED);
  conn_add(h, c);
}

static void read_all(struct host *h, struct tcplab_conn *c) {
  static uint8_t buf[4096];
  static unsigned reads;
  if (reads++ % 2) {
    /* Every other time in place: the pieces must add up to what is
     * readable, and consuming them all must empty the buffer. */
    size_t avail = tcplab_conn_readable(c), all = 0, n;
    const void *data;
    while ((n = tcplab_conn_peek(c, all, &data)) > 0) {
      CHECK(data != NULL);
      all += n;
    }
    CHECK(all == avail);
    CHECK(tcplab_conn_consume(c, w.now, all + 1) == TCPLAB_ERR_INVAL);
    CHECK(tcplab_conn_consume(c, w.now, all) == (int)all);
    CHECK(tcplab_conn_readable(c) == 0);
    return;
  }
  for (int i = 0; i < 1000; i++) {
    int n = tcplab_conn_recv(c, w.now, buf, sizeof buf);
    CHECK(n >= 0 || n == TCPLAB_ERR_WOULDBLOCK);
    if (n <= 0)
      break;
    CHECK((size_t)n <= sizeof buf);
  }
  (void)h;
}

static void cb_readable(void *user_data, struct tcplab_conn *c, size_t avail) {
  struct host *h = user_data;
  CHECK(avail > 0);
  if (h->auto_read)
    read_all(h, c);
}

static void cb_urgent(void *user_data, struct tcplab_conn *c, size_t pending) {
  (void)user_data;
  CHECK(pending > 0 && pending == tcplab_conn_urgent(c));
}

static void cb_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct host *h = user_data;
  if (h->close_on_fin) {
    int rc = tcplab_conn_close(c, w.now);
    CHECK(rc == TCPLAB_OK || rc == TCPLAB_ERR_STATE);
  }
}

static void cb_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct host *h = user_data;
  CHECK(error == TCPLAB_OK || error == TCPLAB_ERR_RESET ||
        error == TCPLAB_ERR_REFUSED || error == TCPLAB_ERR_TIMEDOUT ||
        error == TCPLAB_ERR_ABORTED || error == TCPLAB_ERR_DATA_LOST);
  CHECK(tcplab_conn_stats(c)->error == error);
  CHECK(tcplab_conn_stats(c)->closed == w.now);
  h->ended++;
  conn_drop(h, c);
}

/* ----------------------------------------------------------- invariants */

static void check_host(struct host *h) {
  const struct tcplab_stack_stats *st = tcplab_stack_stats(h->s);
  CHECK(st->segs_out == h->outputs);
  CHECK(st->tx_no_buffer == h->tx_refused);
  CHECK(st->segs_in == h->segs_in);
  uint64_t bad = 0;
  for (int i = 0; i < TCPLAB_MALFORMED_COUNT; i++)
    bad += st->malformed[i];
  CHECK(st->malformed[TCPLAB_MALFORMED_NONE] == 0);
  CHECK(bad == h->malformed);
  CHECK(st->conns_total == h->created);
  CHECK(st->conns_active == h->created - h->ended);
  CHECK(st->conns_active <= st->conns_total);
  for (size_t i = 0; i < h->nconns; i++) {
    const struct tcplab_conn *c = h->conns[i];
    enum tcplab_state state = tcplab_conn_state(c);
    const struct tcplab_conn_stats *cs = tcplab_conn_stats(c);
    CHECK(state != TCPLAB_CLOSED && state != TCPLAB_LISTEN &&
          (unsigned)state < TCPLAB_STATE_COUNT);
    CHECK(tcplab_conn_local(c).addr == h->addr);
    CHECK(cs->error == TCPLAB_OK);
    CHECK(cs->closed == TCPLAB_TIME_NEVER);
    CHECK(tcplab_conn_send_space(c) <= h->cfg.snd_buf);
    CHECK(tcplab_conn_readable(c) <= h->cfg.rcv_buf);
    /* An application that reads in every readable callback has nothing
     * left to read between calls: data never arrives unannounced. */
    if (h->auto_read)
      CHECK(tcplab_conn_readable(c) == 0);
    /* A connection whose SYN was acknowledged always has a window to send
     * in: a zero cwnd would stall it for good. */
    if (cs->established != TCPLAB_TIME_NEVER)
      CHECK(cs->cwnd > 0);
  }
  /* Every timer is set at or after the time it was set at; one due now
   * (msl 0) is run by the caller's next handle_expiry. */
  CHECK(tcplab_stack_next_expiry(h->s) >= w.now);
}

static void check_all(void) {
  check_host(&w.a);
  check_host(&w.b);
}

/* ------------------------------------------------------- driving stacks */

static void run_expiry(struct host *h) {
  if (tcplab_stack_next_expiry(h->s) > w.now)
    return;
  tcplab_stack_handle_expiry(h->s, w.now);
  /* Anything still due would never run: the caller sleeps until it. */
  CHECK(tcplab_stack_next_expiry(h->s) > w.now);
}

/* Moves the clock to t, stopping at every timer on the way, as a caller
 * with one timer per stack would. */
static void advance_to(tcplab_time_t t) {
  for (unsigned i = 0; i < MAX_EXPIRY; i++) {
    tcplab_time_t ea = tcplab_stack_next_expiry(w.a.s);
    tcplab_time_t eb = tcplab_stack_next_expiry(w.b.s);
    tcplab_time_t e = ea < eb ? ea : eb;
    if (e > t)
      break;
    if (e > w.now)
      w.now = e;
    run_expiry(&w.a);
    run_expiry(&w.b);
    check_all();
  }
  if (t > w.now)
    w.now = t;
}

static void input(struct host *h, uint32_t src, uint32_t dst,
                  const uint8_t *bytes, size_t len) {
  struct tcplab_segment seg;
  bool ok = tcplab_segment_decode(bytes, len, src, dst, true, &seg) ==
            TCPLAB_MALFORMED_NONE;
  int rc = tcplab_stack_input(h->s, w.now, src, dst, bytes, len);
  CHECK(rc == (ok ? TCPLAB_OK : TCPLAB_ERR_MALFORMED));
  if (ok)
    h->segs_in++;
  else
    h->malformed++;
  if (ok && h == &w.a) {
    struct flow *f = flow_find(src, seg.sport, seg.dport, true);
    f->peer_end = seg.seq + seg_len(&seg);
    f->peer_sent = true;
  }
  check_all();
  run_expiry(h); /* a timer the segment made due now */
  check_all();
}

/* Delivers the oldest queued segment for host `to`; returns false when
 * there is none. */
static bool deliver(struct host *to, bool mutate) {
  struct queue *q = to == &w.a ? &w.to_a : &w.to_b;
  if (q->len == 0)
    return false;
  struct slot sl = q->slot[q->head];
  q->head = (q->head + 1) % QUEUE_SLOTS;
  q->len--;
  if (mutate) {
    uint16_t pos = take16();
    uint8_t x = take8();
    sl.bytes[pos % sl.len] ^= x;
    if (!(pos & 0x8000u))
      fix_checksum(sl.bytes, sl.len, sl.src, sl.dst);
  }
  input(to, sl.src, sl.dst, sl.bytes, sl.len);
  return true;
}

/* Lets the real stacks talk until both queues are empty, a millisecond
 * per exchange. */
static void drain(unsigned limit) {
  for (unsigned i = 0; i < limit; i++) {
    advance_to(w.now + TCPLAB_MS(1));
    bool any = deliver(&w.a, false);
    any = deliver(&w.b, false) || any;
    if (!any)
      break;
  }
}

/* --------------------------------------------------------------- records */

/* A signed 16-bit offset from the low half of a raw field. */
static uint32_t offset16(uint32_t raw) {
  return (uint32_t)(int32_t)(int16_t)(uint16_t)raw;
}

/* The mode byte of a crafted segment:
 *   bits 0-1  ports: 0 the established connection; 1 the flow A knows at
 *             index (raw source port % FLOWS); 2 as the bytes say; 3 the
 *             raw source port to A's listener
 *   bits 2-3  seq: 0 A's last ACK + offset; 1 the end of the last segment
 *             sent to A on the flow + offset; 2, 3 raw
 *   bits 4-5  ack: 0 A's highest sequence sent + offset; 1 the sequence
 *             number of A's latest segment + offset; 2, 3 raw
 *   bit 6     from 10.0.0.3 (a host only the fuzzer plays), else 10.0.0.1
 *   bit 7     leave the checksum as the bytes say */
static void crafted_segment(bool long_len) {
  static uint8_t seg[CRAFT_MAX];
  size_t want = long_len ? take16() % (CRAFT_MAX + 1) : take8();
  uint8_t mode = take8();
  size_t len = take(seg, want);
  uint32_t src = (mode & 0x40) ? C_ADDR : B_ADDR;
  if (len >= TCPLAB_HEADER_MIN) {
    uint16_t sport = get16(seg), dport = get16(seg + 2);
    switch (mode & 3) {
    case 0: /* the established connection */
      src = B_ADDR;
      sport = B_PORT;
      dport = A_PORT;
      break;
    case 1: { /* any flow A knows, picked by the raw source port */
      struct flow *f = &w.flows[sport % FLOWS];
      if (f->used) {
        src = f->addr;
        sport = f->port;
        dport = f->lport;
      } else {
        dport = A_PORT;
      }
      break;
    }
    case 2: break;                  /* as the bytes say */
    default: dport = A_PORT; break; /* a new peer of the listener */
    }
    put16(seg, sport);
    put16(seg + 2, dport);
    struct flow *f = flow_find(src, sport, dport, false);
    uint32_t seq = get32(seg + 4), ack = get32(seg + 8);
    switch ((mode >> 2) & 3) {
    case 0:
      if (f && f->a_acked)
        seq = f->a_ack + offset16(seq);
      break;
    case 1:
      if (f && f->peer_sent)
        seq = f->peer_end + offset16(seq);
      break;
    default: break;
    }
    switch ((mode >> 4) & 3) {
    case 0:
      if (f && f->a_sent)
        ack = f->a_end + offset16(ack);
      break;
    case 1:
      if (f && f->a_sent)
        ack = f->a_seq + offset16(ack);
      break;
    default: break;
    }
    put32(seg + 4, seq);
    put32(seg + 8, ack);
    if (!(mode & 0x80))
      fix_checksum(seg, len, src, A_ADDR);
  }
  input(&w.a, src, A_ADDR, seg, len);
}

static void time_record(void) {
  uint8_t t = take8();
  tcplab_time_t amount = (tcplab_time_t)(t & 0x3f) + 1;
  switch (t >> 6) {
  case 0: advance_to(w.now + TCPLAB_MS(amount)); break;
  case 1: advance_to(w.now + TCPLAB_MS(amount * 25)); break;
  case 2: advance_to(w.now + TCPLAB_S(amount)); break;
  default: {
    /* Straight to the next timer, whichever stack it belongs to: the way
     * to reach TIME_WAIT's end or a far retransmission quickly. */
    tcplab_time_t ea = tcplab_stack_next_expiry(w.a.s);
    tcplab_time_t eb = tcplab_stack_next_expiry(w.b.s);
    tcplab_time_t e = ea < eb ? ea : eb;
    if (e != TCPLAB_TIME_NEVER)
      advance_to(e);
    break;
  }
  }
}

/* Actions (low four bits of the action byte): 0, 1 send 8 or 256 bytes
 * times (next byte + 1); 2 read everything; 3 shutdown; 4 close; 5 abort;
 * 6 Nagle on or off; 7 active open(s) (next byte, see below); 8 accept;
 * 9 close the listener; 10 listen again; 11 fill the send buffer; 12 send
 * 8 bytes times (next byte + 1) as urgent data; others look at the
 * connection's statistics. */
static void app_record(struct host *h) {
  uint8_t v = take8();
  struct tcplab_conn *c =
      h->nconns > 0 ? h->conns[(size_t)(v >> 4) % h->nconns] : NULL;
  int rc;
  switch (v & 15) {
  case 0:
  case 1: { /* send */
    if (c == NULL)
      break;
    size_t n = ((size_t)take8() + 1) * ((v & 1) ? 256u : 8u);
    size_t space = tcplab_conn_send_space(c);
    rc = tcplab_conn_send(c, w.now, pattern, n);
    CHECK((rc >= 0 && (size_t)rc <= n) || rc == TCPLAB_ERR_WOULDBLOCK ||
          rc == TCPLAB_ERR_CLOSING || rc == TCPLAB_ERR_STATE ||
          rc == TCPLAB_ERR_NOMEM);
    /* send_space promises what send takes (memory permitting). */
    if (rc != TCPLAB_ERR_NOMEM)
      CHECK(rc == (int)(space < n ? space : n) || (space == 0 && rc < 0));
    break;
  }
  case 2:
    if (c)
      read_all(h, c);
    break;
  case 3:
    if (c) {
      rc = tcplab_conn_shutdown(c, w.now);
      CHECK(rc == TCPLAB_OK || rc == TCPLAB_ERR_STATE);
    }
    break;
  case 4:
    if (c) {
      rc = tcplab_conn_close(c, w.now);
      CHECK(rc == TCPLAB_OK || rc == TCPLAB_ERR_STATE);
    }
    break;
  case 5:
    if (c) {
      rc = tcplab_conn_abort(c, w.now);
      CHECK(rc == TCPLAB_OK);
    }
    break;
  case 6:
    if (c)
      tcplab_conn_set_nagle(c, (v >> 4) & 1);
    break;
  case 7: { /* active opens to the other host */
    /* A opens one to a closed port of B; B opens up to 64 to A's
     * listener at once, enough to fill the backlog and to make A grow
     * its connection table and timer heap. */
    uint8_t arg = take8();
    unsigned count = h == &w.a ? 1u : 1u + (arg & 63u);
    uint16_t rport = h == &w.a ? (uint16_t)(1000u + arg) : (uint16_t)A_PORT;
    for (unsigned i = 0; i < count; i++) {
      struct tcplab_conn *n = NULL;
      rc = tcplab_stack_connect(h->s, w.now, h->addr, 0, h->peer_addr, rport,
                                &n);
      CHECK(rc == TCPLAB_OK || rc == TCPLAB_ERR_NOMEM ||
            rc == TCPLAB_ERR_NOPORTS);
      if (rc == TCPLAB_OK) {
        CHECK(tcplab_conn_state(n) == TCPLAB_SYN_SENT);
        conn_add(h, n);
      }
    }
    break;
  }
  case 8:
    if (h->listener) {
      while (tcplab_listener_accept(h->listener, &c) == TCPLAB_OK)
        conn_add(h, c);
    }
    break;
  case 9:
    if (h->listener) {
      struct tcplab_listener *l = h->listener;
      h->listener = NULL;
      tcplab_listener_close(l, w.now);
    }
    break;
  case 10:
    if (h->listener == NULL) {
      rc = tcplab_stack_listen(h->s, w.now, h->addr, A_PORT, 1u + (v >> 4),
                               &h->listener);
      CHECK(rc == TCPLAB_OK || rc == TCPLAB_ERR_NOMEM);
    }
    break;
  case 11:
    if (c) {
      /* Fill the send buffer: long flights, full windows. */
      rc = tcplab_conn_send(c, w.now, pattern, sizeof pattern);
      CHECK(rc >= 0 || is_error(rc));
    }
    break;
  case 12:
    if (c) {
      size_t n = ((size_t)take8() + 1) * 8u;
      h->urgent_sent = true; /* its segments leave inside the call */
      rc = tcplab_conn_send_urgent(c, w.now, pattern, n);
      CHECK((rc >= 0 && (size_t)rc <= n) || is_error(rc));
    }
    break;
  default:
    if (c) {
      const struct tcplab_conn_stats *cs = tcplab_conn_stats(c);
      CHECK(cs->bytes_sent <= cs->segs_sent * (uint64_t)MSS_MAX);
      CHECK(tcplab_state_name(tcplab_conn_state(c))[0] != '?');
    }
    break;
  }
  check_all();
}

static void misc_record(uint8_t arg) {
  switch (arg & 3) {
  case 0: drain(1u + take8()); break;
  case 1: w.a.fail_in = 1u + (take8() & 15); break;
  case 2: deliver(&w.a, false); break;
  default: deliver(&w.b, false); break;
  }
}

/* ---------------------------------------------------------------- setup */

static struct tcplab_callbacks callbacks = {
    .output = cb_output,
    .trace = cb_trace,
    .acceptable = cb_acceptable,
    .connected = cb_connected,
    .readable = cb_readable,
    .peer_closed = cb_peer_closed,
    .urgent = cb_urgent,
    .closed = cb_closed,
};

static void host_new(struct host *h, const char *name, uint32_t addr,
                     uint32_t peer, struct queue *out,
                     const struct tcplab_config *cfg) {
  h->name = name;
  h->addr = addr;
  h->peer_addr = peer;
  h->out = out;
  h->cfg = *cfg;
  struct tcplab_allocator alloc = {fz_malloc, fz_free, h};
  struct tcplab_callbacks cb = callbacks;
  if (h == &w.b)
    cb.tx_buffer = cb_tx_buffer;
  CHECK(tcplab_stack_new(cfg, &cb, &alloc, h, &h->s) == TCPLAB_OK);
}

/* Configuration byte c0 shapes A, c1 the applications and B. */
static void setup(uint8_t c0, uint8_t c1) {
  memset(&w, 0, sizeof w);
  struct tcplab_config ca, cb;
  tcplab_config_default(&ca);
  ca.seed = 1;
  if (c0 & 0x01)
    ca.delayed_ack = 0;
  if (c0 & 0x02)
    ca.nagle = false;
  if (c0 & 0x04)
    ca.window_scale = false;
  if (c0 & 0x08)
    ca.snd_buf = ca.rcv_buf = 4096; /* zero windows come quickly */
  if (c0 & 0x10)
    ca.mss = 536;
  if (c0 & 0x20)
    ca.rfc5961 = false;
  if (c0 & 0x40)
    ca.rfc1337 = false;
  if (c1 & 0x04)
    ca.fin_wait_2_timeout = TCPLAB_S(3);
  if (c1 & 0x08)
    ca.msl = 0; /* TIME_WAIT ends at once */
  if (c1 & 0x10)
    ca.initial_window = 1;
  if (c1 & 0x20)
    ca.retries = 2;
  tcplab_config_default(&cb);
  cb.seed = 2;
  if (c1 & 0x40)
    cb.rcv_buf = 2048;

  host_new(&w.a, "A", A_ADDR, B_ADDR, &w.to_b, &ca);
  host_new(&w.b, "B", B_ADDR, A_ADDR, &w.to_a, &cb);
  w.a.auto_accept = true;
  w.a.auto_read = !(c0 & 0x80);
  w.b.auto_read = !(c1 & 0x80);
  w.a.close_on_fin = c1 & 0x02;
  w.now = TCPLAB_S(1);

  CHECK(tcplab_stack_listen(w.a.s, w.now, A_ADDR, A_PORT, 64, &w.a.listener) ==
        TCPLAB_OK);
  CHECK(tcplab_stack_connect(w.b.s, w.now, B_ADDR, B_PORT, A_ADDR, A_PORT,
                             &w.main_b) == TCPLAB_OK);
  conn_add(&w.b, w.main_b);
  drain(100);
  CHECK(w.a.nconns == 1 && w.main_b != NULL);
  w.main_a = w.a.conns[0];
  CHECK(tcplab_conn_state(w.main_a) == TCPLAB_ESTABLISHED);
  CHECK(tcplab_conn_state(w.main_b) == TCPLAB_ESTABLISHED);

  /* Data both ways; B's reaches A, A's stays in flight (queued for B). */
  CHECK(tcplab_conn_send(w.main_a, w.now, pattern, 3000) > 0);
  CHECK(tcplab_conn_send(w.main_b, w.now, pattern, 1000) == 1000);
  advance_to(w.now + TCPLAB_MS(1));
  while (deliver(&w.a, false)) {
  }
  w.a.auto_accept = !(c1 & 0x01); /* from now on, as the input says */
  w.b.tx_refusing = true;
  check_all();
}

static void teardown(void) {
  tcplab_stack_del(w.a.s);
  tcplab_stack_del(w.b.s);
  /* Deleting a stack returns everything it allocated. */
  CHECK(w.a.live_allocs == 0 && w.a.live_bytes == 0);
  CHECK(w.b.live_allocs == 0 && w.b.live_bytes == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (pattern[1] == 0) {
    for (size_t i = 0; i < sizeof pattern; i++)
      pattern[i] = (uint8_t)(i * 7 + 1);
    verbose = getenv("STACK_FUZZ_TRACE") != NULL;
  }
  uint8_t c0 = size > 0 ? data[0] : 0;
  uint8_t c1 = size > 1 ? data[1] : 0;
  setup(c0, c1);
  w.in = size > 2 ? data + 2 : data + size;
  w.in_len = size > 2 ? size - 2 : 0;
  for (unsigned r = 0; r < MAX_RECORDS && w.in_len > 0; r++) {
    uint8_t op = take8();
    uint8_t arg = op >> 3;
    switch (op & 7) {
    case 0:
    case 1:
    case 2: crafted_segment(arg & 1); break;
    case 3: time_record(); break;
    case 4: app_record(&w.a); break;
    case 5: deliver((arg & 1) ? &w.b : &w.a, arg & 2); break;
    case 6: app_record(&w.b); break;
    default: misc_record(arg); break;
    }
  }
  check_all();
  teardown();
  return 0;
}
