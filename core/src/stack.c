/* The stack: one host's listeners and connections, 4-tuple demultiplexing,
 * ephemeral ports, the timer heap, and the segments nobody owns. */
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "internal.h"
#include "segment.h"

/* ------------------------------------------------------------ memory */

static void *default_malloc(size_t size, void *user_data) {
  (void)user_data;
  return malloc(size);
}

static void default_free(void *p, void *user_data) {
  (void)user_data;
  free(p);
}

void *stack_alloc(struct tcplab_stack *s, size_t size) {
  return s->alloc.malloc(size, s->alloc.user_data);
}

void stack_free(struct tcplab_stack *s, void *p) {
  if (p != NULL) {
    s->alloc.free(p, s->alloc.user_data);
  }
}

void stack_enter(struct tcplab_stack *s) {
  s->depth++;
}

void stack_leave(struct tcplab_stack *s) {
  if (--s->depth > 0) {
    return;
  }
  while (s->dead) {
    struct tcplab_conn *c = s->dead;
    s->dead = c->dnext;
    conn_free(c);
  }
  while (s->dead_listeners) {
    struct tcplab_listener *l = s->dead_listeners;
    s->dead_listeners = l->next;
    stack_free(s, l);
  }
}

/* -------------------------------------------------------- 4-tuple hash */

static size_t tuple_hash(const struct tcplab_stack *s,
                         struct tcplab_endpoint local,
                         struct tcplab_endpoint remote) {
  /* Multiply-xorshift mixing: cheap, and it spreads sequential ports. */
  uint64_t h =
      ((uint64_t)local.addr << 32 | remote.addr) * UINT64_C(0x9e3779b97f4a7c15);
  h ^=
      ((uint64_t)local.port << 16 | remote.port) * UINT64_C(0xc2b2ae3d27d4eb4f);
  h ^= h >> 29;
  h *= UINT64_C(0xbf58476d1ce4e5b9);
  h ^= h >> 32;
  return (size_t)h & (s->nbuckets - 1);
}

static bool same(struct tcplab_endpoint a, struct tcplab_endpoint b) {
  return a.addr == b.addr && a.port == b.port;
}

struct tcplab_conn *stack_lookup(struct tcplab_stack *s,
                                 struct tcplab_endpoint local,
                                 struct tcplab_endpoint remote) {
  struct tcplab_conn *c = s->buckets[tuple_hash(s, local, remote)];
  while (c && !(same(c->local, local) && same(c->remote, remote))) {
    c = c->hnext;
  }
  return c;
}

static void rehash(struct tcplab_stack *s, size_t nbuckets) {
  struct tcplab_conn **nb = stack_alloc(s, nbuckets * sizeof *nb);
  if (nb == NULL) {
    return; /* keep the longer chains: slower, still correct */
  }
  memset(nb, 0, nbuckets * sizeof *nb);
  struct tcplab_conn **old = s->buckets;
  size_t oldn = s->nbuckets;
  s->buckets = nb;
  s->nbuckets = nbuckets;
  for (size_t i = 0; i < oldn; i++) {
    struct tcplab_conn *c = old[i];
    while (c) {
      struct tcplab_conn *next = c->hnext;
      size_t b = tuple_hash(s, c->local, c->remote);
      c->hnext = nb[b];
      nb[b] = c;
      c = next;
    }
  }
  stack_free(s, old);
}

void stack_insert(struct tcplab_stack *s, struct tcplab_conn *c) {
  if (s->stats.conns_active >= s->nbuckets) {
    rehash(s, s->nbuckets * 2); /* keep the load factor at most 1 */
  }
  size_t b = tuple_hash(s, c->local, c->remote);
  c->hnext = s->buckets[b];
  s->buckets[b] = c;
}

void stack_remove(struct tcplab_stack *s, struct tcplab_conn *c) {
  struct tcplab_conn **pp = &s->buckets[tuple_hash(s, c->local, c->remote)];
  while (*pp && *pp != c) {
    pp = &(*pp)->hnext;
  }
  if (*pp) {
    *pp = c->hnext;
  }
  c->hnext = NULL;
}

/* ------------------------------------------------------------- stack */

int tcplab_stack_new(const struct tcplab_config *cfg,
                     const struct tcplab_callbacks *cb,
                     const struct tcplab_allocator *alloc, void *user_data,
                     struct tcplab_stack **out) {
  struct tcplab_config defaults;
  if (out == NULL || cb == NULL || cb->output == NULL) {
    return TCPLAB_ERR_INVAL;
  }
  *out = NULL;
  if (cfg == NULL) {
    tcplab_config_default(&defaults);
    cfg = &defaults;
  }
  if (tcplab_config_check(cfg, NULL) != TCPLAB_OK) {
    return TCPLAB_ERR_INVAL;
  }
  struct tcplab_allocator a = {default_malloc, default_free, NULL};
  if (alloc != NULL) {
    if (alloc->malloc == NULL || alloc->free == NULL) {
      return TCPLAB_ERR_INVAL;
    }
    a = *alloc;
  }
  struct tcplab_stack *s = a.malloc(sizeof *s, a.user_data);
  if (s == NULL) {
    return TCPLAB_ERR_NOMEM;
  }
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->cb = *cb;
  s->alloc = a;
  s->user_data = user_data;
  s->next_id = 1;
  s->next_port = cfg->ephemeral_min;
  s->nbuckets = 64;
  s->buckets = stack_alloc(s, s->nbuckets * sizeof *s->buckets);
  s->txcap = TCPLAB_HEADER_MAX + cfg->mss;
  s->txbuf = stack_alloc(s, s->txcap);
  if (s->buckets == NULL || s->txbuf == NULL || timer_init(s) != TCPLAB_OK) {
    tcplab_stack_del(s);
    return TCPLAB_ERR_NOMEM;
  }
  memset(s->buckets, 0, s->nbuckets * sizeof *s->buckets);
  *out = s;
  return TCPLAB_OK;
}

void tcplab_stack_del(struct tcplab_stack *s) {
  if (s == NULL) {
    return;
  }
  for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
    struct tcplab_conn *c = s->buckets[i];
    while (c) {
      struct tcplab_conn *next = c->hnext;
      conn_free(c);
      c = next;
    }
  }
  while (s->dead) {
    struct tcplab_conn *c = s->dead;
    s->dead = c->dnext;
    conn_free(c);
  }
  struct tcplab_listener *lists[] = {s->listeners, s->dead_listeners};
  for (size_t i = 0; i < 2; i++) {
    struct tcplab_listener *l = lists[i];
    while (l) {
      struct tcplab_listener *next = l->next;
      stack_free(s, l);
      l = next;
    }
  }
  timer_free(s);
  stack_free(s, s->buckets);
  stack_free(s, s->txbuf);
  s->alloc.free(s, s->alloc.user_data);
}

const struct tcplab_config *tcplab_stack_config(const struct tcplab_stack *s) {
  return &s->cfg;
}

const struct tcplab_stack_stats *
tcplab_stack_stats(const struct tcplab_stack *s) {
  return &s->stats;
}

tcplab_time_t tcplab_stack_next_expiry(const struct tcplab_stack *s) {
  const struct timer_entry *e = timer_next(s);
  return e ? e->key : TCPLAB_TIME_NEVER;
}

void tcplab_stack_handle_expiry(struct tcplab_stack *s, tcplab_time_t now) {
  stack_enter(s);
  const struct timer_entry *e;
  /* Each expiry either ends the connection or moves its deadline past
   * now (every timeout is > 0), so this loop ends. */
  while ((e = timer_next(s)) != NULL && e->key <= now) {
    conn_on_timer(e->conn, now);
  }
  stack_leave(s);
}

/* ----------------------------------------------------------- listeners */

static struct tcplab_listener *find_listener(struct tcplab_stack *s,
                                             uint32_t addr, uint16_t port) {
  struct tcplab_listener *wildcard = NULL;
  for (struct tcplab_listener *l = s->listeners; l; l = l->next) {
    if (l->local.port != port) {
      continue;
    }
    if (l->local.addr == addr) {
      return l;
    }
    if (l->local.addr == 0) {
      wildcard = l;
    }
  }
  return wildcard;
}

static bool port_listened(struct tcplab_stack *s, uint16_t port) {
  for (struct tcplab_listener *l = s->listeners; l; l = l->next) {
    if (l->local.port == port) {
      return true;
    }
  }
  return false;
}

int tcplab_stack_listen(struct tcplab_stack *s, tcplab_time_t now,
                        uint32_t addr, uint16_t port, unsigned backlog,
                        struct tcplab_listener **out) {
  if (out == NULL || port == 0 || backlog == 0 || backlog > 65535) {
    return TCPLAB_ERR_INVAL;
  }
  for (struct tcplab_listener *l = s->listeners; l; l = l->next) {
    if (l->local.port == port &&
        (l->local.addr == addr || l->local.addr == 0 || addr == 0)) {
      return TCPLAB_ERR_ADDRINUSE;
    }
  }
  struct tcplab_listener *l = stack_alloc(s, sizeof *l);
  if (l == NULL) {
    return TCPLAB_ERR_NOMEM;
  }
  memset(l, 0, sizeof *l);
  l->stack = s;
  l->id = s->next_id++;
  l->local.addr = addr;
  l->local.port = port;
  l->backlog = backlog;
  l->next = s->listeners;
  s->listeners = l;
  *out = l;
  stack_enter(s);
  listener_trace(l, now, TCPLAB_CLOSED, TCPLAB_LISTEN, TCPLAB_EV_APP_LISTEN);
  stack_leave(s);
  return TCPLAB_OK;
}

int tcplab_listener_accept(struct tcplab_listener *l,
                           struct tcplab_conn **out) {
  struct tcplab_conn *c = l->qhead;
  if (c == NULL || out == NULL) {
    return out == NULL ? TCPLAB_ERR_INVAL : TCPLAB_ERR_WOULDBLOCK;
  }
  l->qhead = c->qnext;
  if (l->qhead == NULL) {
    l->qtail = NULL;
  }
  c->qnext = NULL;
  c->queued = 0;
  c->listener = NULL;
  l->pending--;
  *out = c;
  return TCPLAB_OK;
}

void tcplab_listener_close(struct tcplab_listener *l, tcplab_time_t now) {
  struct tcplab_stack *s = l->stack;
  if (l->closed) {
    return;
  }
  stack_enter(s);
  l->closed = true;
  struct tcplab_listener **pp = &s->listeners;
  while (*pp != l) {
    pp = &(*pp)->next;
  }
  *pp = l->next;
  l->next = s->dead_listeners;
  s->dead_listeners = l;
  listener_trace(l, now, TCPLAB_LISTEN, TCPLAB_CLOSED, TCPLAB_EV_APP_CLOSE);
  /* Connections nobody accepted are reset. They are found by a scan:
   * closing a listener is rare, and a list per listener would cost every
   * connection two more pointers. Aborting calls back into the
   * application, so each scan starts over. */
  while (l->pending > 0) {
    struct tcplab_conn *victim = NULL;
    for (size_t i = 0; i < s->nbuckets && victim == NULL; i++) {
      for (struct tcplab_conn *c = s->buckets[i]; c; c = c->hnext) {
        if (c->listener == l) {
          victim = c;
          break;
        }
      }
    }
    if (victim == NULL) {
      break;
    }
    tcplab_conn_abort(victim, now);
  }
  stack_leave(s);
}

uint64_t tcplab_listener_id(const struct tcplab_listener *l) {
  return l->id;
}

void tcplab_listener_set_user_data(struct tcplab_listener *l, void *p) {
  l->user_data = p;
}

void *tcplab_listener_user_data(const struct tcplab_listener *l) {
  return l->user_data;
}

/* -------------------------------------------------------- connecting */

static int pick_port(struct tcplab_stack *s, uint32_t laddr, uint32_t raddr,
                     uint16_t rport, uint16_t *port) {
  uint32_t lo = s->cfg.ephemeral_min, hi = s->cfg.ephemeral_max;
  uint32_t range = hi - lo + 1;
  for (uint32_t i = 0; i < range; i++) {
    uint32_t p = s->next_port;
    s->next_port = p >= hi ? lo : p + 1;
    struct tcplab_endpoint local = {laddr, (uint16_t)p};
    struct tcplab_endpoint remote = {raddr, rport};
    if (!port_listened(s, (uint16_t)p) && !stack_lookup(s, local, remote)) {
      *port = (uint16_t)p;
      return TCPLAB_OK;
    }
  }
  return TCPLAB_ERR_NOPORTS;
}

int tcplab_stack_connect(struct tcplab_stack *s, tcplab_time_t now,
                         uint32_t laddr, uint16_t lport, uint32_t raddr,
                         uint16_t rport, struct tcplab_conn **out) {
  if (out == NULL || laddr == 0 || raddr == 0 || rport == 0) {
    return TCPLAB_ERR_INVAL;
  }
  if (lport == 0) {
    int rc = pick_port(s, laddr, raddr, rport, &lport);
    if (rc != TCPLAB_OK) {
      return rc;
    }
  } else if (stack_lookup(s, (struct tcplab_endpoint){laddr, lport},
                          (struct tcplab_endpoint){raddr, rport})) {
    return TCPLAB_ERR_ADDRINUSE;
  }
  stack_enter(s);
  struct tcplab_conn *c =
      conn_new(s, now, (struct tcplab_endpoint){laddr, lport},
               (struct tcplab_endpoint){raddr, rport});
  if (c == NULL) {
    stack_leave(s);
    return TCPLAB_ERR_NOMEM;
  }
  c->stats.role = TCPLAB_ROLE_ACTIVE;
  *out = c;
  conn_set_state(c, now, TCPLAB_SYN_SENT, TCPLAB_EV_APP_CONNECT);
  conn_output(c, now); /* <SEQ=ISS><CTL=SYN> */
  stack_leave(s);
  return TCPLAB_OK;
}

/* ------------------------------------------------------------- input */

/* RFC 9293 3.10.7.1: a segment for no connection is answered with a RST
 * the sender will accept; a RST is never answered. */
static void reply_closed(struct tcplab_stack *s, tcplab_time_t now,
                         uint32_t src, uint32_t dst,
                         const struct tcplab_segment *seg) {
  if (seg->flags & TCPLAB_RST) {
    return;
  }
  struct tcplab_endpoint local = {dst, seg->dport};
  struct tcplab_endpoint remote = {src, seg->sport};
  s->stats.rst_sent++;
  if (seg->flags & TCPLAB_ACK) {
    send_rst_raw(s, now, local, remote, seg->ack, 0, TCPLAB_RST);
  } else {
    uint32_t seg_len = (uint32_t)seg->len +
                       ((seg->flags & TCPLAB_SYN) ? 1 : 0) +
                       ((seg->flags & TCPLAB_FIN) ? 1 : 0);
    send_rst_raw(s, now, local, remote, 0, seg->seq + seg_len,
                 TCPLAB_RST | TCPLAB_ACK);
  }
}

int tcplab_stack_input(struct tcplab_stack *s, tcplab_time_t now, uint32_t src,
                       uint32_t dst, const uint8_t *bytes, size_t len) {
  struct tcplab_segment seg;
  enum tcplab_malformed why =
      tcplab_segment_decode(bytes, len, src, dst, false, &seg);
  struct tcplab_conn *c = NULL;
  bool placed = false;
  if (why == TCPLAB_MALFORMED_NONE) {
    /* Finding the connection has no effect, so it may come before the
     * checksum; then an in-order payload is summed as it is copied into
     * the receive buffer (conn_place), not read twice. */
    struct tcplab_endpoint local = {dst, seg.dport};
    struct tcplab_endpoint remote = {src, seg.sport};
    c = stack_lookup(s, local, remote);
    uint64_t sum = 0;
    placed = c != NULL && conn_place(c, &seg, &sum);
    if (!placed) {
      sum = csum_add(seg.payload, seg.len, 0);
    }
    if (!segment_checksum_ok(src, dst, bytes, len, seg.len, sum)) {
      why = TCPLAB_MALFORMED_CHECKSUM;
    }
  }
  if (why != TCPLAB_MALFORMED_NONE) {
    s->stats.malformed[why]++;
    return TCPLAB_ERR_MALFORMED;
  }
  s->stats.segs_in++;
  stack_enter(s);
  struct tcplab_listener *l;
  if (c != NULL) {
    c->rx_placed = placed;
    conn_input(c, now, &seg);
    c->rx_placed = 0; /* c is freed, if it ended, only by stack_leave */
  } else if ((l = find_listener(s, dst, seg.dport)) != NULL) {
    listener_input(l, now, src, dst, &seg);
  } else {
    reply_closed(s, now, src, dst, &seg);
  }
  stack_leave(s);
  return TCPLAB_OK;
}
