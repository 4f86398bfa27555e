/*
 * The floor under the scale benchmark: what finding connections in a hash
 * table costs at each count on this machine, with no TCP at all.
 *
 * Records as large as a connection (so the memory spans as much) sit in
 * one chained table per side, doubled as the stack's are. Each connection
 * makes the accesses every TCP of this design must make, in the
 * benchmark's order: on connect a lookup (the 4-tuple must be free) and an
 * insert; for each of the six segments of a handshake and a close a lookup
 * that reads the record; the server's record removed after the last ACK,
 * the client's when its TIME_WAIT ends. Only the line holding the key and
 * the state is touched, so this is a lower bound.
 */
#include "floor.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct rec {
  struct rec *next;
  uint32_t laddr, raddr;
  uint16_t lport, rport;
  uint32_t state;
};

struct table {
  struct rec **b;
  size_t nb, n;
};

enum kind { SYN, SYN_ACK, ACK, FIN, FIN_ACK, LAST_ACK };

struct seg {
  enum kind kind;
  uint32_t addr; /* the client's end: the server's is fixed */
  uint16_t port;
};

struct floor {
  struct table client, server;
  struct seg *q; /* FIFO of segments in flight */
  size_t qhead, qtail, qcap;
  struct rec **clients;   /* the client's records, in connect order */
  struct rec **time_wait; /* client records in TIME_WAIT, in order */
  size_t n, ntw;
  size_t rec_bytes;
  uint32_t client_addr;
};

#define SERVER_ADDR 0x0a000002u
#define SERVER_PORT 80

static void fail(const char *what) {
  fprintf(stderr, "tcplab-bench: floor: %s\n", what);
  exit(1);
}

static size_t slot(const struct table *t, uint32_t la, uint16_t lp, uint32_t ra,
                   uint16_t rp) {
  uint64_t h = ((uint64_t)la << 32 | ra) ^ ((uint64_t)lp << 48 | rp);
  h ^= h >> 31;
  h *= UINT64_C(0x7fb5d329728ea185);
  h ^= h >> 27;
  h *= UINT64_C(0x81dadef4bc2dd44d);
  h ^= h >> 33;
  return (size_t)h & (t->nb - 1);
}

static struct rec *lookup(const struct table *t, uint32_t la, uint16_t lp,
                          uint32_t ra, uint16_t rp) {
  struct rec *r = t->b[slot(t, la, lp, ra, rp)];
  while (r && !(r->laddr == la && r->lport == lp && r->raddr == ra &&
                r->rport == rp))
    r = r->next;
  return r;
}

static void table_init(struct table *t) {
  t->nb = 64;
  t->n = 0;
  t->b = calloc(t->nb, sizeof *t->b);
  if (t->b == NULL)
    fail("out of memory");
}

static void insert(struct table *t, struct rec *r) {
  if (t->n >= t->nb) { /* load factor at most 1, as in the stack */
    size_t oldn = t->nb;
    struct rec **old = t->b;
    t->nb *= 2;
    t->b = calloc(t->nb, sizeof *t->b);
    if (t->b == NULL)
      fail("out of memory");
    for (size_t i = 0; i < oldn; i++) {
      for (struct rec *x = old[i], *next; x; x = next) {
        next = x->next;
        size_t k = slot(t, x->laddr, x->lport, x->raddr, x->rport);
        x->next = t->b[k];
        t->b[k] = x;
      }
    }
    free(old);
  }
  size_t k = slot(t, r->laddr, r->lport, r->raddr, r->rport);
  r->next = t->b[k];
  t->b[k] = r;
  t->n++;
}

static void remove_free(struct table *t, struct rec *r) {
  struct rec **pp = &t->b[slot(t, r->laddr, r->lport, r->raddr, r->rport)];
  while (*pp != r)
    pp = &(*pp)->next;
  *pp = r->next;
  t->n--;
  free(r);
}

static struct rec *rec_new(const struct floor *f, uint32_t la, uint16_t lp,
                           uint32_t ra, uint16_t rp) {
  struct rec *r = malloc(f->rec_bytes);
  if (r == NULL)
    fail("out of memory");
  *r = (struct rec){NULL, la, ra, lp, rp, 1};
  return r;
}

static void send_seg(struct floor *f, enum kind k, uint32_t addr,
                     uint16_t port) {
  if (f->qtail - f->qhead == f->qcap)
    fail("queue full");
  f->q[f->qtail++ % f->qcap] = (struct seg){k, addr, port};
}

static struct rec *must(struct rec *r) {
  if (r == NULL)
    fail("a segment found no record");
  return r;
}

static void flush(struct floor *f) {
  while (f->qhead != f->qtail) {
    struct seg g = f->q[f->qhead++ % f->qcap];
    struct rec *r;
    switch (g.kind) {
    case SYN:
      if (lookup(&f->server, SERVER_ADDR, SERVER_PORT, g.addr, g.port))
        fail("4-tuple in use");
      insert(&f->server, rec_new(f, SERVER_ADDR, SERVER_PORT, g.addr, g.port));
      send_seg(f, SYN_ACK, g.addr, g.port);
      break;
    case SYN_ACK:
      must(lookup(&f->client, g.addr, g.port, SERVER_ADDR, SERVER_PORT))
          ->state = 2;
      send_seg(f, ACK, g.addr, g.port);
      break;
    case ACK:
      must(lookup(&f->server, SERVER_ADDR, SERVER_PORT, g.addr, g.port))
          ->state = 2;
      break;
    case FIN: /* the server closes at once: its FIN rides on the ACK */
      must(lookup(&f->server, SERVER_ADDR, SERVER_PORT, g.addr, g.port))
          ->state = 4;
      send_seg(f, FIN_ACK, g.addr, g.port);
      break;
    case FIN_ACK:
      r = must(lookup(&f->client, g.addr, g.port, SERVER_ADDR, SERVER_PORT));
      r->state = 5;
      f->time_wait[f->ntw++] = r;
      send_seg(f, LAST_ACK, g.addr, g.port);
      break;
    case LAST_ACK:
      remove_free(&f->server, must(lookup(&f->server, SERVER_ADDR, SERVER_PORT,
                                          g.addr, g.port)));
      break;
    }
  }
}

struct floor *floor_new(size_t n, size_t rec_bytes, uint32_t client_addr) {
  struct floor *f = calloc(1, sizeof *f);
  if (f == NULL)
    fail("out of memory");
  f->qcap = 4096;
  f->n = n;
  f->rec_bytes =
      rec_bytes > sizeof(struct rec) ? rec_bytes : sizeof(struct rec);
  f->client_addr = client_addr;
  table_init(&f->client);
  table_init(&f->server);
  f->q = malloc(f->qcap * sizeof *f->q);
  f->clients = malloc(n * sizeof *f->clients);
  f->time_wait = malloc(n * sizeof *f->time_wait);
  if (f->q == NULL || f->clients == NULL || f->time_wait == NULL)
    fail("out of memory");
  return f;
}

/* The same addresses and batches of 1000 as the stacks' run. */
void floor_open(struct floor *f) {
  for (size_t i = 0; i < f->n; i++) {
    uint32_t addr = f->client_addr + 0x100u * (uint32_t)(1 + i / 50000);
    uint16_t port = (uint16_t)(10000 + i % 50000);
    if (lookup(&f->client, addr, port, SERVER_ADDR, SERVER_PORT))
      fail("4-tuple in use");
    f->clients[i] = rec_new(f, addr, port, SERVER_ADDR, SERVER_PORT);
    insert(&f->client, f->clients[i]);
    send_seg(f, SYN, addr, port);
    if ((i + 1) % 1000 == 0)
      flush(f);
  }
  flush(f);
}

void floor_close(struct floor *f) {
  for (size_t i = 0; i < f->n; i++) {
    f->clients[i]->state = 3; /* the application's close */
    send_seg(f, FIN, f->clients[i]->laddr, f->clients[i]->lport);
    if ((i + 1) % 1000 == 0)
      flush(f);
  }
  flush(f);
  for (size_t i = 0; i < f->ntw; i++) /* every TIME_WAIT ends, in order */
    remove_free(&f->client, f->time_wait[i]);
  if (f->client.n != 0 || f->server.n != 0 || f->ntw != f->n)
    fail("records left over");
}

void floor_free(struct floor *f) {
  free(f->client.b);
  free(f->server.b);
  free(f->q);
  free(f->clients);
  free(f->time_wait);
  free(f);
}
