/*
 * Writes the seed corpus of the fuzz target: one small input per scenario
 * a TCP connection goes through, in the record format stack_fuzz.c
 * describes, so the fuzzer starts from inputs that already reach the
 * states worth mutating around.
 *
 *   fuzz_seeds DIR    writes DIR/NN-name for every seed
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record op bytes (stack_fuzz.c). */
enum {
  OP_SEG = 0,      /* crafted segment, one length byte */
  OP_SEG_LONG = 8, /* crafted segment, two length bytes */
  OP_TIME = 3,     /* then a time byte */
  OP_APP_A = 4,    /* then an action byte */
  OP_TO_A = 5,     /* deliver B's next segment to A */
  OP_TO_B = 5 | 8, /* deliver A's next segment to B */
  OP_MUTATE_A = 5 | 16,
  OP_APP_B = 6,
  OP_DRAIN = 7,         /* then a count byte */
  OP_FAIL_ALLOC = 7 | 8 /* then a count byte */
};

/* Crafted segment modes: the main flow, numbers rebased, checksum fixed. */
#define MODE_MAIN       0x00u
#define MODE_FLOW       0x01u /* the flow indexed by the raw source port */
#define MODE_LISTENER   0x03u /* raw source port, the listener's port */
#define MODE_SEQ_PEER   0x04u /* seq from the peer's last segment end */
#define MODE_SEQ_RAW    0x08u
#define MODE_ACK_LAST   0x10u /* ack from A's latest segment's seq */
#define MODE_ALT_SRC    0x40u
#define MODE_BAD_CHKSUM 0x80u

/* Application actions (low nibble; the high one picks the connection). */
enum {
  ACT_SEND8 = 0,
  ACT_SEND256 = 1,
  ACT_RECV = 2,
  ACT_SHUTDOWN = 3,
  ACT_CLOSE = 4,
  ACT_ABORT = 5,
  ACT_NAGLE = 6,
  ACT_CONNECT = 7,
  ACT_ACCEPT = 8,
  ACT_LISTEN_CLOSE = 9,
  ACT_LISTEN = 10,
  ACT_FILL = 11
};

#define TIME_MS(n) ((uint8_t)((n)-1))
#define TIME_S(n)  ((uint8_t)(0x80 | ((n)-1)))
#define TIME_NEXT  0xC0u
#define F_FIN      0x01u
#define F_SYN      0x02u
#define F_RST      0x04u
#define F_PSH      0x08u
#define F_ACK      0x10u

struct buf {
  uint8_t b[4096];
  size_t n;
};

static void put(struct buf *s, uint8_t v) {
  if (s->n < sizeof s->b)
    s->b[s->n++] = v;
}

/* A crafted segment: offsets are relative to the references the mode
 * names (signed 16 bits); window 65535 unless wnd is given. */
static void seg(struct buf *s, uint8_t mode, uint16_t sport, int16_t seq_off,
                int16_t ack_off, uint8_t flags, uint16_t wnd, size_t payload) {
  size_t len = 20 + payload;
  if (len > 255) {
    put(s, OP_SEG_LONG);
    put(s, (uint8_t)len);
    put(s, (uint8_t)(len >> 8));
  } else {
    put(s, OP_SEG);
    put(s, (uint8_t)len);
  }
  put(s, mode);
  uint16_t so = (uint16_t)seq_off, ao = (uint16_t)ack_off;
  uint8_t h[20] = {(uint8_t)(sport >> 8),
                   (uint8_t)sport,
                   0,
                   80,
                   0,
                   0,
                   (uint8_t)(so >> 8),
                   (uint8_t)so,
                   0,
                   0,
                   (uint8_t)(ao >> 8),
                   (uint8_t)ao,
                   5 << 4,
                   flags,
                   (uint8_t)(wnd >> 8),
                   (uint8_t)wnd,
                   0,
                   0,
                   0,
                   0};
  for (size_t i = 0; i < 20; i++)
    put(s, h[i]);
  for (size_t i = 0; i < payload; i++)
    put(s, (uint8_t)('a' + i % 26));
}

static void op(struct buf *s, uint8_t o, uint8_t arg) {
  put(s, o);
  put(s, arg);
}

static void write_seed(const char *dir, int n, const char *name,
                       const struct buf *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%02d-%s", dir, n, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int n = 0;
  struct buf s;

  /* The setup alone: established, data in flight. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  write_seed(dir, n++, "setup", &s);

  /* The real peers finish the exchange; then A's data is acknowledged by
   * a crafted ACK and new data goes out. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_DRAIN, 50);
  op(&s, OP_APP_A, ACT_SEND256);
  put(&s, 3);
  seg(&s, MODE_MAIN, 0, 0, 0, F_ACK, 65535, 0);
  write_seed(dir, n++, "ack-all", &s);

  /* Three duplicate ACKs at SND.UNA (A sent 3000 bytes): fast
   * retransmit, then a partial ACK. */
  s = (struct buf){.b = {0x01, 0}, .n = 2};
  op(&s, OP_APP_A, ACT_SEND256);
  put(&s, 20);
  for (int i = 0; i < 4; i++)
    seg(&s, MODE_MAIN, 0, 0, -7300, F_ACK, 65535, 0);
  seg(&s, MODE_MAIN, 0, 0, -4000, F_ACK, 65535, 0);
  write_seed(dir, n++, "dupacks", &s);

  /* In-order data, then out-of-order data and the segment filling the
   * gap, then an overlapping duplicate. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  seg(&s, MODE_MAIN, 0, 0, 0, F_ACK | F_PSH, 65535, 100);
  seg(&s, MODE_MAIN | MODE_SEQ_PEER, 0, 200, 0, F_ACK, 65535, 100);
  seg(&s, MODE_MAIN | MODE_SEQ_PEER, 0, 400, 0, F_ACK, 65535, 50);
  seg(&s, MODE_MAIN, 0, 0, 0, F_ACK, 65535, 200);
  seg(&s, MODE_MAIN, 0, -50, 0, F_ACK, 65535, 120);
  op(&s, OP_TIME, TIME_MS(50));
  write_seed(dir, n++, "reassembly", &s);

  /* The peer closes: CLOSE_WAIT, A closes: LAST_ACK, the FIN is acked. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  seg(&s, MODE_MAIN, 0, 0, 0, F_ACK | F_FIN, 65535, 0);
  op(&s, OP_APP_A, ACT_CLOSE);
  seg(&s, MODE_MAIN, 0, 1, 0, F_ACK, 65535, 0);
  write_seed(dir, n++, "passive-close", &s);

  /* A closes first with the real peer: FIN_WAIT_1/2, TIME_WAIT, expiry. */
  s = (struct buf){.b = {0, 0x02}, .n = 2};
  op(&s, OP_APP_A, ACT_CLOSE);
  op(&s, OP_DRAIN, 50);
  op(&s, OP_APP_B, ACT_CLOSE);
  op(&s, OP_DRAIN, 50);
  op(&s, OP_TIME, TIME_NEXT);
  op(&s, OP_TIME, TIME_NEXT);
  write_seed(dir, n++, "active-close", &s);

  /* Simultaneous close, crafted: our FIN and theirs cross (CLOSING). */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_DRAIN, 50);
  op(&s, OP_APP_A, ACT_CLOSE);
  seg(&s, MODE_MAIN, 0, 0, -1, F_ACK | F_FIN, 65535, 0);
  seg(&s, MODE_MAIN, 0, 1, 0, F_ACK, 65535, 0);
  op(&s, OP_TIME, TIME_NEXT);
  write_seed(dir, n++, "simultaneous-close", &s);

  /* RST: one off the exact sequence number (challenge ACK), then exact. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  seg(&s, MODE_MAIN, 0, 10, 0, F_RST, 0, 0);
  seg(&s, MODE_MAIN, 0, 0, 0, F_RST, 0, 0);
  write_seed(dir, n++, "reset", &s);

  /* A SYN in the window of the established connection (RFC 5961). */
  s = (struct buf){.b = {0x20, 0}, .n = 2};
  seg(&s, MODE_MAIN, 0, 5, 0, F_SYN, 65535, 0);
  write_seed(dir, n++, "syn-in-window", &s);

  /* A second client through the listener: SYN, then the ACK of A's
   * SYN|ACK (the new flow is the second one A knows, index 1), data,
   * and a FIN. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  seg(&s, MODE_LISTENER | MODE_ALT_SRC | MODE_SEQ_RAW, 5555, 1000, 0, F_SYN,
      65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, 0, 0, F_ACK, 65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, 0, 0, F_ACK | F_PSH, 65535, 30);
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, 0, 0, F_ACK | F_FIN, 65535, 0);
  write_seed(dir, n++, "second-client", &s);

  /* Small buffers and an application that does not read: the window
   * closes, B probes it, A reads and the window opens again. */
  s = (struct buf){.b = {0x88, 0}, .n = 2};
  op(&s, OP_APP_B, ACT_SEND256);
  put(&s, 30);
  op(&s, OP_DRAIN, 100);
  op(&s, OP_TIME, TIME_NEXT);
  op(&s, OP_DRAIN, 10);
  op(&s, OP_TIME, TIME_NEXT);
  op(&s, OP_DRAIN, 10);
  op(&s, OP_APP_A, ACT_RECV);
  op(&s, OP_DRAIN, 100);
  write_seed(dir, n++, "zero-window", &s);

  /* A's data is never acknowledged: retransmissions back off until A
   * gives up (retries 2). */
  s = (struct buf){.b = {0, 0x20}, .n = 2};
  for (int i = 0; i < 6; i++)
    op(&s, OP_TIME, TIME_NEXT);
  write_seed(dir, n++, "give-up", &s);

  /* A opens a connection of its own: the real peer refuses it, then a
   * crafted SYN|ACK answers a second one (its flow is index 1). */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_DRAIN, 50);
  op(&s, OP_APP_A, ACT_CONNECT);
  put(&s, 1);
  op(&s, OP_DRAIN, 5);
  op(&s, OP_APP_A, ACT_CONNECT);
  put(&s, 2);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 2, 7, 0, F_SYN | F_ACK, 65535, 0);
  write_seed(dir, n++, "active-open", &s);

  /* Out of memory while a new client connects, and the listener closed
   * with a connection not yet accepted. */
  s = (struct buf){.b = {0, 0x01}, .n = 2};
  op(&s, OP_FAIL_ALLOC, 0);
  op(&s, OP_APP_B, ACT_CONNECT);
  put(&s, 0);
  op(&s, OP_DRAIN, 10);
  op(&s, OP_TIME, TIME_S(3));
  op(&s, OP_DRAIN, 10);
  op(&s, OP_APP_A, ACT_LISTEN_CLOSE);
  op(&s, OP_APP_A, ACT_LISTEN);
  write_seed(dir, n++, "nomem-listener", &s);

  /* B's segments with a byte flipped: a bad checksum and a fixed one. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_DRAIN, 2);
  op(&s, OP_APP_B, ACT_SEND8);
  put(&s, 10);
  put(&s, OP_MUTATE_A);
  put(&s, 13);
  put(&s, 0x80);
  put(&s, 0x01);
  put(&s, OP_MUTATE_A);
  put(&s, 4);
  put(&s, 0);
  put(&s, 0x40);
  op(&s, OP_DRAIN, 20);
  write_seed(dir, n++, "mutated", &s);

  /* Full-sized data from the peer, window scaling off. */
  s = (struct buf){.b = {0x04, 0}, .n = 2};
  seg(&s, MODE_MAIN, 0, 0, 0, F_ACK, 65535, 1460);
  seg(&s, MODE_MAIN | MODE_SEQ_PEER, 0, 0, 0, F_ACK | F_PSH, 65535, 1460);
  op(&s, OP_TIME, TIME_MS(40));
  write_seed(dir, n++, "full-segments", &s);

  /* Undecodable input: too short, a bad offset, a bad checksum. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  put(&s, OP_SEG);
  put(&s, 5);
  put(&s, 0);
  for (int i = 0; i < 5; i++)
    put(&s, 0xff);
  seg(&s, MODE_MAIN | MODE_BAD_CHKSUM, 0, 0, 0, F_ACK, 65535, 4);
  write_seed(dir, n++, "malformed", &s);

  /* Simultaneous open: A's SYN is answered by a SYN (SYN_RECEIVED),
   * then by the SYN|ACK that repeats it (ESTABLISHED). A's new flow is
   * the second one it knows (index 1). */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_APP_A, ACT_CONNECT);
  put(&s, 1);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 1, 7, 0, F_SYN, 65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 1, 7, 0, F_SYN | F_ACK, 65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, -1, 0, F_ACK | F_PSH, 65535, 10);
  write_seed(dir, n++, "simultaneous-open", &s);

  /* Simultaneous open ended by the application's close in SYN_RECEIVED
   * (a FIN right behind the SYN), and by a RST. */
  s = (struct buf){.b = {0x20, 0}, .n = 2};
  op(&s, OP_APP_A, ACT_CONNECT);
  put(&s, 1);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 1, 7, 0, F_SYN, 65535, 0);
  op(&s, OP_APP_A, 0x10 | ACT_CLOSE);
  op(&s, OP_APP_A, ACT_CONNECT);
  put(&s, 2);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 2, 9, 0, F_SYN, 65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_RAW, 2, 10, 0, F_RST, 0, 0);
  op(&s, OP_TIME, TIME_NEXT);
  write_seed(dir, n++, "simultaneous-open-close", &s);

  /* A SYN with every option the decoder knows: MSS, window scale,
   * SACK-permitted, timestamps (a 40-byte header). */
  s = (struct buf){.b = {0, 0}, .n = 2};
  {
    static const uint8_t syn[44] = {
        0x15, 0xb3, 0, 80, 0, 0, 0x10, 0, 0, 0, 0, 0, 11 << 4, F_SYN, 0xff,
        0xff, 0, 0, 0, 0,
        /* MSS 1000; NOP, window scale 7; NOP, NOP, SACK-permitted; NOP,
         * NOP, timestamps 1 and 0 */
        2, 4, 0x03, 0xe8, 1, 3, 3, 7, 1, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0,
        0, 0};
    put(&s, OP_SEG);
    put(&s, sizeof syn);
    put(&s, MODE_LISTENER | MODE_SEQ_RAW);
    for (size_t i = 0; i < sizeof syn; i++)
      put(&s, syn[i]);
  }
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, 0, 0, F_ACK, 65535, 0);
  seg(&s, MODE_FLOW | MODE_SEQ_PEER, 1, 0, 0, F_ACK | F_PSH, 10, 1200);
  write_seed(dir, n++, "syn-options", &s);

  /* Many clients at once through the real peer: the backlog fills, the
   * connection table and the timer heap grow. */
  s = (struct buf){.b = {0, 0}, .n = 2};
  op(&s, OP_APP_B, ACT_CONNECT);
  put(&s, 63);
  op(&s, OP_DRAIN, 200);
  op(&s, OP_APP_B, ACT_CONNECT);
  put(&s, 20);
  op(&s, OP_DRAIN, 200);
  write_seed(dir, n++, "many-clients", &s);

  printf("fuzz_seeds: %d seeds written to %s\n", n, dir);
  return 0;
}
