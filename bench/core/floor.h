/* The scale benchmark's floor: a bare hash table of connection-sized
 * records making the lookups, inserts and removals of the same
 * connections, with no TCP (floor.c says exactly which). */
#ifndef TCPLAB_BENCH_FLOOR_H
#define TCPLAB_BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>

struct floor_times {
  double open_us, close_us; /* CPU time per connection */
};

/* Opens and closes n connections' records of rec_bytes each, clients
 * numbered from client_addr as in the stacks' run. */
struct floor_times floor_run(size_t n, size_t rec_bytes, uint32_t client_addr);

#endif
