/*
 * A minimal in-memory network for the benchmarks: two tcplab stacks, a
 * FIFO of segments between them delivered with no delay, and a virtual
 * clock that jumps to the next timer when nothing is in flight.
 *
 * It is deliberately simpler than the tests' harness (no loss, no delay,
 * no records): what it costs is part of every figure, so it does as
 * little as a caller of the core possibly can. The stacks build their
 * segments in the queue's own buffers (tcplab_callbacks.tx_buffer), as
 * they would in a driver's packet buffers, so nothing is copied onto
 * this wire; the queue is needed because delivering in the output call
 * would re-enter the other stack in the middle of its own processing.
 */
#ifndef TCPLAB_BENCH_LOOP_H
#define TCPLAB_BENCH_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tcplab/core.h>

/* Live memory of one stack, counted through its tcplab_allocator. Sizes
 * are what the core asked for, without malloc's own overhead. */
struct mem_count {
  size_t live_bytes, live_blocks;
  size_t peak_bytes;
  uint64_t allocs, frees;
  /* Distinct block sizes allocated while `sizes_on` (first 16 seen). */
  bool sizes_on;
  size_t nsizes;
  struct {
    size_t size;
    uint64_t count;
  } sizes[16];
};

/* An allocator that counts into *count (count may be shared). */
struct tcplab_allocator mem_counting_allocator(struct mem_count *count);

/* A caching allocator, as an application with its own pools would give
 * the core: freed blocks are kept in a free list per size and handed out
 * again, so steady-state allocation never reaches malloc (nor the kernel).
 * Memory goes back to malloc only in mem_pool_release. */
struct mem_pool {
  size_t nlists;
  struct {
    size_t size;
    void *head;
  } lists[16];
};
struct tcplab_allocator mem_pool_allocator(struct mem_pool *pool);
void mem_pool_release(struct mem_pool *pool);

struct net;

/* Called after every segment delivery and timer run, so an application
 * can refill a send buffer (the core has no "writable" callback). */
typedef void (*net_pump_fn)(struct net *n, void *arg);

/* The user_data every callback of a stack receives. */
struct net_host {
  struct net *net;
  int index; /* 0 or 1 */
  void *app; /* as given to net_new */
};

/* Creates the two stacks (host 0 and host 1) with cfg[i] and allocator
 * alloc[i] (NULL: malloc), and the callbacks cb for both (output and
 * tx_buffer are replaced by the network's own). Returns NULL on failure. */
struct net *net_new(const struct tcplab_config cfg[2],
                    const struct tcplab_allocator *alloc[2],
                    const struct tcplab_callbacks *cb, void *app);
void net_free(struct net *n);

struct tcplab_stack *net_stack(struct net *n, int host);
tcplab_time_t net_now(const struct net *n);
void net_set_pump(struct net *n, net_pump_fn fn, void *arg);

/* Delivers queued segments in order until none is left; timers are not
 * run. Returns the number delivered. */
uint64_t net_flush(struct net *n);
/* Delivers segments and runs timers (moving the clock to each) until
 * nothing is in flight and no timer is set, or `stop` returns true. */
void net_run(struct net *n, bool (*stop)(void *arg), void *arg);

/* Segments delivered so far. */
uint64_t net_delivered(const struct net *n);

/* Sees every segment as it leaves host `from` (e.g. to count them). */
typedef void (*net_tap_fn)(void *arg, int from, const uint8_t *bytes,
                           size_t len);
void net_set_tap(struct net *n, net_tap_fn fn, void *arg);

#endif
