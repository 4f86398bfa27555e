/*
 * tcplab-two-stacks: one TCP connection between two tcplab stacks joined
 * by an in-memory 20 ms link, drawn as a ladder diagram.
 *
 * The client (10.0.0.1) connects to the server (10.0.0.2) on port 80 at
 * t = 0 and sends "hello"; the server answers "world"; the client closes
 * and the server closes when the client's FIN arrives. Every segment is
 * printed as an arrow with its flags and sequence numbers relative to
 * each side's initial sequence number, and every state a side enters is
 * written beside its column. The same events go to timeline.csv.
 *
 * The program is its own network: a list of segments in flight ordered by
 * arrival time, and a virtual clock that jumps from one event (a segment
 * arriving, a stack's timer) to the next.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tcplab/core.h>

#define LINK_DELAY  TCPLAB_MS(20)
#define SERVER_PORT 80

/* Ladder geometry: time, the client's state label, the client's line, the
 * space between the lines, the server's line, the server's state label. */
#define TIME_W  11
#define LABEL_W 13
#define INNER_W 46

enum { CLIENT, SERVER };

/* A segment on the link. */
struct packet {
  tcplab_time_t arrival;
  uint64_t order; /* ties keep sending order */
  int to;
  uint32_t src, dst;
  size_t len;
  struct packet *next;
  uint8_t bytes[];
};

struct node {
  const char *name;
  uint32_t addr;
  struct tcplab_stack *stack;
  struct tcplab_conn *conn;
  uint32_t isn; /* from the SYN it sent, as Wireshark learns it */
  bool isn_known;
  char received[64];
  size_t received_len;
  bool closed;                    /* the connection reached CLOSED */
  int error;                      /* ... with this error */
  struct tcplab_conn_stats stats; /* as it closed */
  struct world *world;
};

struct world {
  struct node node[2];
  tcplab_time_t now;
  struct packet *in_flight; /* sorted by (arrival, order) */
  uint64_t order;
  FILE *csv;
  bool failed; /* an API call the demo relies on failed */
};

/* ------------------------------------------------------------ helpers */

static void fail(struct world *w, const char *what, int rc) {
  fprintf(stderr, "tcplab-two-stacks: %s: %s\n", what, tcplab_strerror(rc));
  w->failed = true;
}

static void format_time(tcplab_time_t t, char *buf, size_t cap) {
  snprintf(buf, cap, "%" PRIu64 ".%09" PRIu64, t / 1000000000u,
           t % 1000000000u);
}

static void format_endpoint(struct tcplab_endpoint e, char *buf, size_t cap) {
  snprintf(buf, cap, "%u.%u.%u.%u:%u", (unsigned)(e.addr >> 24) & 255,
           (unsigned)(e.addr >> 16) & 255, (unsigned)(e.addr >> 8) & 255,
           (unsigned)e.addr & 255, (unsigned)e.port);
}

/* mkdir -p */
static int make_dirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return -1;
    buf[i] = c;
  }
  return 0;
}

/* ------------------------------------------------------------- ladder */

static void ladder_header(const struct world *w) {
  char addr[2][16];
  for (int i = 0; i < 2; i++)
    snprintf(addr[i], sizeof addr[i], "%u.%u.%u.%u",
             (unsigned)(w->node[i].addr >> 24) & 255,
             (unsigned)(w->node[i].addr >> 16) & 255,
             (unsigned)(w->node[i].addr >> 8) & 255,
             (unsigned)w->node[i].addr & 255);
  /* Names and addresses centred over the two vertical lines. */
  int left = TIME_W + LABEL_W + 1, right = left + INNER_W + 1;
  printf("%-*s%*s%*s\n", TIME_W, "time (s)",
         left - TIME_W + (int)strlen(w->node[CLIENT].name) / 2,
         w->node[CLIENT].name,
         right - left + (int)(strlen(w->node[SERVER].name) + 1) / 2 -
             (int)strlen(w->node[CLIENT].name) / 2,
         w->node[SERVER].name);
  printf("%*s%*s\n", left + (int)strlen(addr[CLIENT]) / 2, addr[CLIENT],
         right - left + (int)(strlen(addr[SERVER]) + 1) / 2 -
             (int)strlen(addr[CLIENT]) / 2,
         addr[SERVER]);
}

/* One ladder row: the time, then either a state label beside one side's
 * line or an arrow between the lines. */
static void ladder_row(tcplab_time_t now, const char *client_label,
                       const char *between, const char *server_label) {
  char line[256];
  int n = snprintf(line, sizeof line, "%*.6f %*s |%-*s| %s", TIME_W - 1,
                   (double)now / 1e9, LABEL_W - 1,
                   client_label ? client_label : "", INNER_W,
                   between ? between : "", server_label ? server_label : "");
  if (n < 0)
    return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  while (len > 0 && line[len - 1] == ' ')
    len--;
  printf("%.*s\n", (int)len, line);
}

/* "SYN|ACK seq=0 ack=1 len=5 "hello"" for a segment from `from`. */
static void describe(const struct world *w, int from,
                     const struct tcplab_segment *seg, char *buf, size_t cap) {
  const struct node *src = &w->node[from], *dst = &w->node[1 - from];
  char flags[24];
  tcplab_flags_format(seg->flags, flags, sizeof flags);
  int n = snprintf(buf, cap, "%s seq=%" PRIu32, flags, seg->seq - src->isn);
  if ((seg->flags & TCPLAB_ACK) && dst->isn_known && n > 0 && (size_t)n < cap)
    n += snprintf(buf + n, cap - (size_t)n, " ack=%" PRIu32,
                  seg->ack - dst->isn);
  if (seg->len > 0 && n > 0 && (size_t)n < cap) {
    n += snprintf(buf + n, cap - (size_t)n, " len=%zu", seg->len);
    /* Short printable payloads are shown, as a teacher would write them. */
    bool text = seg->len <= 8;
    for (size_t i = 0; i < seg->len && text; i++)
      text = seg->payload[i] >= 0x20 && seg->payload[i] < 0x7f &&
             seg->payload[i] != '"';
    if (text && n > 0 && (size_t)n < cap)
      snprintf(buf + n, cap - (size_t)n, " \"%.*s\"", (int)seg->len,
               (const char *)seg->payload);
  }
}

static void ladder_arrow(const struct world *w, int from,
                         const struct tcplab_segment *seg) {
  char text[INNER_W - 6 + 1], arrow[INNER_W + 1];
  describe(w, from, seg, text, sizeof text);
  size_t tlen = strlen(text);
  memset(arrow, '-', INNER_W);
  arrow[INNER_W] = '\0';
  if (from == CLIENT) { /* "-- SYN seq=0 ------->" */
    memcpy(arrow + 3, text, tlen);
    arrow[2] = ' ';
    arrow[3 + tlen] = ' ';
    arrow[INNER_W - 1] = '>';
  } else { /* "<------- SYN|ACK seq=0 ack=1 --" */
    memcpy(arrow + INNER_W - 3 - tlen, text, tlen);
    arrow[INNER_W - 4 - tlen] = ' ';
    arrow[INNER_W - 3] = ' ';
    arrow[0] = '<';
  }
  ladder_row(w->now, NULL, arrow, NULL);
}

/* ------------------------------------------------------- timeline.csv */

static void csv_row(struct world *w, const struct node *n,
                    const struct tcplab_trace_event *ev) {
  char time[32], flow[64], a[24], b[24];
  format_time(ev->now, time, sizeof time);
  if (ev->conn) {
    /* The active opener's end first, so both ends name the flow alike. */
    format_endpoint(ev->local, a, sizeof a);
    format_endpoint(ev->remote, b, sizeof b);
    bool active = tcplab_conn_stats(ev->conn)->role == TCPLAB_ROLE_ACTIVE;
    snprintf(flow, sizeof flow, "%s-%s", active ? a : b, active ? b : a);
  } else {
    format_endpoint(ev->local, flow, sizeof flow); /* a listener */
  }
  fprintf(w->csv, "%s,%s,%" PRIu64 ",%s,%s,%s,%s,", time, n->name, ev->id, flow,
          tcplab_state_name(ev->from), tcplab_state_name(ev->to),
          tcplab_event_name(ev->event));
  if (ev->event != TCPLAB_EV_SND && ev->event != TCPLAB_EV_RCV) {
    fprintf(w->csv, ",,,,\n");
    return;
  }
  /* Relative numbers count from the sender's ISN (seq) and the
   * receiver's (ack); a received SYN carries the sender's ISN itself. */
  bool snd = ev->event == TCPLAB_EV_SND;
  bool has_ack = ev->flags & TCPLAB_ACK;
  char flags[24], ack[16] = "", rel_seq[16] = "", rel_ack[16] = "";
  tcplab_flags_format(ev->flags, flags, sizeof flags);
  if (has_ack)
    snprintf(ack, sizeof ack, "%" PRIu32, ev->ack);
  if (snd)
    snprintf(rel_seq, sizeof rel_seq, "%" PRIu32, ev->seq - ev->iss);
  else if (ev->irs_valid)
    snprintf(rel_seq, sizeof rel_seq, "%" PRIu32, ev->seq - ev->irs);
  else if (ev->flags & TCPLAB_SYN)
    snprintf(rel_seq, sizeof rel_seq, "0");
  if (has_ack && snd && ev->irs_valid)
    snprintf(rel_ack, sizeof rel_ack, "%" PRIu32, ev->ack - ev->irs);
  else if (has_ack && !snd)
    snprintf(rel_ack, sizeof rel_ack, "%" PRIu32, ev->ack - ev->iss);
  fprintf(w->csv, "%s,%" PRIu32 ",%s,%s,%s\n", flags, ev->seq, ack, rel_seq,
          rel_ack);
}

/* ---------------------------------------------------- stack callbacks */

static void on_output(void *user_data, tcplab_time_t now, uint32_t src,
                      uint32_t dst, const uint8_t *bytes, size_t len) {
  struct node *n = user_data;
  struct world *w = n->world;
  int from = n == &w->node[CLIENT] ? CLIENT : SERVER;
  (void)now;

  struct tcplab_segment seg;
  if (tcplab_segment_decode(bytes, len, src, dst, true, &seg) ==
      TCPLAB_MALFORMED_NONE) {
    if ((seg.flags & TCPLAB_SYN) && !n->isn_known) {
      n->isn = seg.seq;
      n->isn_known = true;
    }
    ladder_arrow(w, from, &seg);
  }

  struct packet *p = malloc(sizeof *p + len);
  if (!p) {
    w->failed = true;
    return;
  }
  p->arrival = w->now + LINK_DELAY;
  p->order = w->order++;
  p->to = 1 - from;
  p->src = src;
  p->dst = dst;
  p->len = len;
  memcpy(p->bytes, bytes, len);
  struct packet **at = &w->in_flight;
  while (*at && ((*at)->arrival < p->arrival ||
                 ((*at)->arrival == p->arrival && (*at)->order < p->order)))
    at = &(*at)->next;
  p->next = *at;
  *at = p;
}

static void on_trace(void *user_data, const struct tcplab_trace_event *ev) {
  struct node *n = user_data;
  struct world *w = n->world;
  csv_row(w, n, ev);
  if (ev->from == ev->to)
    return;
  const char *state = tcplab_state_name(ev->to);
  if (n == &w->node[CLIENT])
    ladder_row(ev->now, state, NULL, NULL);
  else
    ladder_row(ev->now, NULL, NULL, state);
}

static void on_acceptable(void *user_data, struct tcplab_listener *l) {
  struct node *n = user_data;
  struct tcplab_conn *c;
  while (tcplab_listener_accept(l, &c) == TCPLAB_OK)
    n->conn = c;
}

static void on_connected(void *user_data, struct tcplab_conn *c) {
  struct node *n = user_data;
  int rc = tcplab_conn_send(c, n->world->now, "hello", 5);
  if (rc != 5)
    fail(n->world, "client send", rc);
}

static void on_readable(void *user_data, struct tcplab_conn *c, size_t avail) {
  struct node *n = user_data;
  struct world *w = n->world;
  (void)avail;
  for (;;) {
    size_t room = sizeof n->received - 1 - n->received_len;
    if (room == 0)
      break;
    int got = tcplab_conn_recv(c, w->now, n->received + n->received_len, room);
    if (got <= 0)
      break;
    n->received_len += (size_t)got;
  }
  n->received[n->received_len] = '\0';
  int rc = TCPLAB_OK;
  /* The server answers the whole greeting; the client, having the whole
   * answer, closes. */
  if (n == &w->node[SERVER] && strcmp(n->received, "hello") == 0)
    rc = tcplab_conn_send(c, w->now, "world", 5);
  else if (n == &w->node[CLIENT] && strcmp(n->received, "world") == 0)
    rc = tcplab_conn_close(c, w->now);
  if (rc < 0)
    fail(w, "answer", rc);
}

static void on_peer_closed(void *user_data, struct tcplab_conn *c) {
  struct node *n = user_data;
  if (n == &n->world->node[SERVER]) {
    int rc = tcplab_conn_close(c, n->world->now);
    if (rc < 0)
      fail(n->world, "server close", rc);
  }
}

static void on_closed(void *user_data, struct tcplab_conn *c, int error) {
  struct node *n = user_data;
  n->stats = *tcplab_conn_stats(c);
  n->error = error;
  n->closed = true;
  n->conn = NULL;
}

/* -------------------------------------------------------------- main */

static void usage(FILE *f) {
  fprintf(f, "usage: tcplab-two-stacks [--out DIR]\n"
             "  Runs one TCP connection between two in-memory stacks over a\n"
             "  20 ms link, prints it as a ladder diagram and writes\n"
             "  DIR/timeline.csv (default DIR: results/two-stacks).\n");
}

int main(int argc, char **argv) {
  const char *out = "results/two-stacks";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }

  char path[4096];
  if (make_dirs(out) != 0 ||
      snprintf(path, sizeof path, "%s/timeline.csv", out) >= (int)sizeof path) {
    fprintf(stderr, "tcplab-two-stacks: cannot create %s: %s\n", out,
            strerror(errno));
    return 1;
  }
  static struct world w;
  w.csv = fopen(path, "w");
  if (!w.csv) {
    fprintf(stderr, "tcplab-two-stacks: cannot write %s: %s\n", path,
            strerror(errno));
    return 1;
  }
  fprintf(w.csv, "time_s,node,conn,flow,from_state,to_state,event,flags,seq,"
                 "ack,rel_seq,rel_ack\n");

  w.node[CLIENT] = (struct node){.name = "client", .addr = 0x0a000001u};
  w.node[SERVER] = (struct node){.name = "server", .addr = 0x0a000002u};
  static const struct tcplab_callbacks cb = {
      .output = on_output,
      .trace = on_trace,
      .acceptable = on_acceptable,
      .connected = on_connected,
      .readable = on_readable,
      .peer_closed = on_peer_closed,
      .closed = on_closed,
  };
  struct tcplab_config cfg;
  tcplab_config_default(&cfg);
  cfg.seed = 1; /* fixed ISN key: every run prints the same numbers */
  for (int i = 0; i < 2; i++) {
    w.node[i].world = &w;
    int rc = tcplab_stack_new(&cfg, &cb, NULL, &w.node[i], &w.node[i].stack);
    if (rc != TCPLAB_OK) {
      fail(&w, "stack", rc);
      return 1;
    }
  }

  printf("One TCP connection, client -> server port %d, %.0f ms each way.\n"
         "Sequence numbers are relative to each side's initial one.\n\n",
         SERVER_PORT, (double)LINK_DELAY / 1e6);
  ladder_header(&w);

  struct tcplab_listener *listener;
  int rc = tcplab_stack_listen(w.node[SERVER].stack, 0, w.node[SERVER].addr,
                               SERVER_PORT, 16, &listener);
  if (rc == TCPLAB_OK)
    rc = tcplab_stack_connect(w.node[CLIENT].stack, 0, w.node[CLIENT].addr, 0,
                              w.node[SERVER].addr, SERVER_PORT,
                              &w.node[CLIENT].conn);
  if (rc != TCPLAB_OK)
    fail(&w, "listen/connect", rc);

  /* The event loop: jump to the earliest arrival or timer. A connection
   * that ends properly leaves nothing pending after TIME_WAIT; the limit
   * only guards against a demo that would never end. */
  const tcplab_time_t limit = TCPLAB_S(3600);
  for (;;) {
    tcplab_time_t next = w.in_flight ? w.in_flight->arrival : TCPLAB_TIME_NEVER;
    int timer = -1;
    for (int i = 0; i < 2; i++) {
      tcplab_time_t t = tcplab_stack_next_expiry(w.node[i].stack);
      if (t < next) {
        next = t;
        timer = i;
      }
    }
    if (next == TCPLAB_TIME_NEVER || next > limit)
      break;
    if (next > w.now)
      w.now = next;
    if (timer >= 0) {
      tcplab_stack_handle_expiry(w.node[timer].stack, w.now);
    } else {
      struct packet *p = w.in_flight;
      w.in_flight = p->next;
      tcplab_stack_input(w.node[p->to].stack, w.now, p->src, p->dst, p->bytes,
                         p->len);
      free(p);
    }
  }

  /* A summary under the ladder: what each side read and how it ended. */
  printf("\n");
  for (int i = 0; i < 2; i++) {
    const struct node *n = &w.node[i];
    printf("%s: read \"%s\", ", n->name, n->received);
    if (n->closed)
      printf("closed %s at %.6f s", n->error ? tcplab_strerror(n->error) : "ok",
             (double)n->stats.closed / 1e9);
    else
      printf("still open");
    if (n->closed && n->stats.established != TCPLAB_TIME_NEVER &&
        n->stats.role == TCPLAB_ROLE_ACTIVE)
      printf(", handshake took %.3f s",
             (double)(n->stats.established - n->stats.opened) / 1e9);
    printf("\n");
  }
  printf("timeline: %s\n", path);
  bool ok = !w.failed && !w.in_flight &&
            strcmp(w.node[SERVER].received, "hello") == 0 &&
            strcmp(w.node[CLIENT].received, "world") == 0 &&
            w.node[CLIENT].closed && w.node[SERVER].closed &&
            w.node[CLIENT].error == TCPLAB_OK &&
            w.node[SERVER].error == TCPLAB_OK;

  while (w.in_flight) {
    struct packet *p = w.in_flight;
    w.in_flight = p->next;
    free(p);
  }
  for (int i = 0; i < 2; i++)
    tcplab_stack_del(w.node[i].stack);
  if (fclose(w.csv) != 0) {
    fprintf(stderr, "tcplab-two-stacks: writing %s failed\n", path);
    return 1;
  }
  if (!ok) {
    fprintf(stderr, "tcplab-two-stacks: the connection did not complete\n");
    return 1;
  }
  return 0;
}
