/* The scale benchmark's floor: a bare hash table of connection-sized
 * records making the lookups, inserts and removals of the same
 * connections, with no TCP (floor.c says exactly which). */
#ifndef TCPLAB_BENCH_FLOOR_H
#define TCPLAB_BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>

struct floor;

/* Records of rec_bytes each for n connections, clients numbered from
 * client_addr as in the stacks' run. */
struct floor *floor_new(size_t n, size_t rec_bytes, uint32_t client_addr);
/* Opens, then closes, all n connections; each is timed by the caller. */
void floor_open(struct floor *f);
void floor_close(struct floor *f);
void floor_free(struct floor *f);

#endif
