/*
 * tcplab.core: the C half of the tcplab Lua module, a thin layer over
 * sim.h. It converts and checks what C needs (integers in range, handles
 * of the right kind) and runs the simulation's callbacks in protected
 * calls. Everything a user touches directly -- time and rate strings,
 * option names, messages that point at the script's line -- is in
 * lua/tcplab/init.lua, which is the only caller of these functions.
 *
 * Conventions of this file:
 * - Times cross in integer nanoseconds; nil means "now" for an action
 *   time and "never" for a run's end.
 * - Failures reported by sim.h come back as nil, message, code so that
 *   the Lua side can raise them at the script's line (an error raised
 *   here would point into init.lua).
 * - Lua errors are longjmps: nothing here raises one while sim.h is on
 *   the stack. Callbacks run the Lua side inside lua_pcall, record an
 *   error in the simulation's user value, and stop the run; sim:run
 *   reports it once tcplab_sim_run has returned.
 *
 * The module must not link liblua: the interpreter that loads it (the
 * stock lua5.4 or the tcplab command) provides the Lua API.
 */
#include <lauxlib.h>
#include <lua.h>

#include <tcplab/core.h>
#include <tcplab/sim.h>

#include "msgh.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TCPLAB_VERSION
#define TCPLAB_VERSION "unknown"
#endif

#define SIM_MT  "tcplab.sim"
#define NODE_MT "tcplab.node"
#define LINK_MT "tcplab.link"
#define CONN_MT "tcplab.conn"

#if LUA_VERSION_NUM != 504
#error "tcplab.core is a Lua 5.4 module"
#endif

/* The Lua function that receives every callback (set by init.lua);
 * its registry key is this variable's address, so looking it up inside
 * a callback allocates nothing. */
static const char dispatcher_key = 'd';

/* What a callback tells the dispatcher; init.lua has the same numbers. */
enum {
  EV_ACCEPT = 1,
  EV_CONNECTED = 2,
  EV_DATA = 3,
  EV_PEER_CLOSED = 4,
  EV_ENDED = 5,
  EV_TIMER = 6,
  EV_URGENT = 7,
};

/* The simulation's user values: the error of a failed callback, and the
 * tables init.lua keeps the callbacks and handles of connections in
 * (shared so that connection events reach the user's functions without
 * a detour through Lua code). */
enum { UV_ERROR = 1, UV_HANDLERS = 2, UV_CONNS = 3, UV_COUNT = 3 };

struct lsim {
  tcplab_sim *sim; /* NULL until opened, and again once closed */
  uint64_t seed;
  lua_State *L; /* the thread running sim:run, during the run */
  int self;     /* this userdata's stack index in that thread */
  bool running;
  bool failed;         /* a callback raised an error; the run is stopping */
  const char *current; /* the callback running, for the error message */
};

/* ------------------------------------------------------------ helpers */

/* The module's functions carry the simulation's metatable as upvalue 1:
 * comparing with it saves looking its name up in the registry on every
 * call (they run for every connection of an experiment). Metamethods
 * have no upvalue and take the general check. */
static struct lsim *to_sim(lua_State *L, int i) {
  void *p = lua_touserdata(L, i);
  if (p != NULL && lua_getmetatable(L, i)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) {
      return p;
    }
  }
  return luaL_checkudata(L, i, SIM_MT);
}

/* An open simulation; methods on a closed one are a programmer's
 * mistake, as for Lua's files. */
static struct lsim *check_sim(lua_State *L, int i) {
  struct lsim *s = to_sim(L, i);
  if (s->sim == NULL) {
    luaL_error(L, "attempt to use a closed simulation");
  }
  return s;
}

static int check_id(lua_State *L, int i) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= 0 && v <= INT32_MAX, i, "id out of range");
  return (int)v;
}

static uint64_t check_u64(lua_State *L, int i) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= 0, i, "must be >= 0");
  return (uint64_t)v;
}

static unsigned long long check_range(lua_State *L, int i, lua_Integer max) {
  lua_Integer v = luaL_checkinteger(L, i);
  luaL_argcheck(L, v >= 0 && v <= max, i, "out of range");
  return (unsigned long long)v;
}

/* An action time: nil is "now". */
static tcplab_time_t opt_at(lua_State *L, int i) {
  if (lua_isnoneornil(L, i)) {
    return TCPLAB_SIM_NOW;
  }
  return check_u64(L, i);
}

/* sim.h failed: nil, what it said, and the code's name. */
static int push_fail(lua_State *L, int code) {
  lua_pushnil(L);
  const char *msg = tcplab_sim_last_error();
  lua_pushstring(L, msg[0] ? msg : tcplab_sim_strerror(code));
  lua_pushstring(L, tcplab_sim_strerror(code));
  return 3;
}

static int push_result(lua_State *L, int rc) {
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_pushinteger(L, rc);
  return 1;
}

static void push_seconds(lua_State *L, tcplab_time_t t) {
  if (t == TCPLAB_TIME_NEVER) {
    lua_pushnil(L);
  } else {
    /* A correctly rounded division gives the same double as reading the
     * CSV's nine decimals back. */
    lua_pushnumber(L, (lua_Number)t / 1e9);
  }
}

static void push_endpoint(lua_State *L, struct tcplab_endpoint e) {
  lua_pushfstring(L, "%d.%d.%d.%d:%d", (int)(e.addr >> 24),
                  (int)((e.addr >> 16) & 255), (int)((e.addr >> 8) & 255),
                  (int)(e.addr & 255), (int)e.port);
}

/* ----------------------------------------------------- configuration */

enum kind { K_TIME, K_TIME_NEVER, K_UINT, K_U16, K_U32, K_U64, K_BOOL };

/* Every field of struct tcplab_config, by the name users give it. */
static const struct field {
  const char *name;
  enum kind kind;
  size_t off;
} fields[] = {
#define F(name, kind)                                                          \
  { #name, kind, offsetof(struct tcplab_config, name) }
    F(msl, K_TIME),
    F(rto_initial, K_TIME),
    F(rto_min, K_TIME),
    F(rto_max, K_TIME),
    F(syn_retries, K_UINT),
    F(synack_retries, K_UINT),
    F(retries, K_UINT),
    F(fin_wait_2_timeout, K_TIME_NEVER),
    F(mss, K_U16),
    F(snd_buf, K_U32),
    F(rcv_buf, K_U32),
    F(delayed_ack, K_TIME),
    F(nagle, K_BOOL),
    F(window_scale, K_BOOL),
    F(initial_window, K_UINT),
    F(slow_start_after_idle, K_BOOL),
    F(two_way_handshake, K_BOOL),
    F(rfc1337, K_BOOL),
    F(rfc5961, K_BOOL),
    F(challenge_ack_limit, K_UINT),
    F(challenge_ack_interval, K_TIME),
    F(rst_on_data_loss, K_BOOL),
    F(seed, K_U64),
    F(ephemeral_min, K_U16),
    F(ephemeral_max, K_U16),
#undef F
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const kind_names[] = {
    "time", "time_or_never", "count", "u16", "u32", "u64", "boolean"};

static void push_field(lua_State *L, const struct tcplab_config *c,
                       const struct field *f) {
  const char *p = (const char *)c + f->off;
  switch (f->kind) {
  case K_TIME:
  case K_TIME_NEVER: {
    tcplab_time_t t;
    memcpy(&t, p, sizeof t);
    if (t == TCPLAB_TIME_NEVER) {
      lua_pushboolean(L, 0);
    } else {
      lua_pushinteger(L, (lua_Integer)t);
    }
    break;
  }
  case K_UINT: lua_pushinteger(L, *(const unsigned *)(const void *)p); break;
  case K_U16: lua_pushinteger(L, *(const uint16_t *)(const void *)p); break;
  case K_U32: lua_pushinteger(L, *(const uint32_t *)(const void *)p); break;
  case K_U64:
    lua_pushinteger(L, (lua_Integer) * (const uint64_t *)(const void *)p);
    break;
  case K_BOOL: lua_pushboolean(L, *(const bool *)(const void *)p); break;
  }
}

/* Stores the value on top of the stack into the field; returns NULL or
 * what is wrong with it. */
static const char *set_field(lua_State *L, struct tcplab_config *c,
                             const struct field *f) {
  char *p = (char *)c + f->off;
  if (f->kind == K_BOOL) {
    if (!lua_isboolean(L, -1)) {
      return "must be a boolean";
    }
    *(bool *)(void *)p = lua_toboolean(L, -1);
    return NULL;
  }
  if (f->kind == K_TIME_NEVER && lua_isboolean(L, -1) &&
      !lua_toboolean(L, -1)) {
    tcplab_time_t never = TCPLAB_TIME_NEVER;
    memcpy(p, &never, sizeof never);
    return NULL;
  }
  int isint = 0;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < 0) {
    return "must be an integer >= 0";
  }
  switch (f->kind) {
  case K_TIME:
  case K_TIME_NEVER:
  case K_U64: {
    uint64_t u = (uint64_t)v;
    memcpy(p, &u, sizeof u);
    break;
  }
  case K_UINT:
    if (v > (lua_Integer)UINT32_MAX) {
      return "is too large";
    }
    *(unsigned *)(void *)p = (unsigned)v;
    break;
  case K_U16:
    if (v > UINT16_MAX) {
      return "must be <= 65535";
    }
    *(uint16_t *)(void *)p = (uint16_t)v;
    break;
  case K_U32:
    if (v > (lua_Integer)UINT32_MAX) {
      return "must be < 2^32";
    }
    *(uint32_t *)(void *)p = (uint32_t)v;
    break;
  case K_BOOL: break;
  }
  return NULL;
}

/* core.config_fields() -> { {name=, kind=, default=}, ... } in the order
 * of struct tcplab_config. */
static int l_config_fields(lua_State *L) {
  struct tcplab_config c;
  tcplab_config_default(&c);
  lua_createtable(L, (int)NFIELDS, 0);
  for (size_t i = 0; i < NFIELDS; i++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, fields[i].name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, kind_names[fields[i].kind]);
    lua_setfield(L, -2, "kind");
    push_field(L, &c, &fields[i]);
    lua_setfield(L, -2, "default");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* Fills c from the defaults and the table at index i (keys are field
 * names). Returns NULL or a message naming the field. */
static const char *read_config(lua_State *L, int i, struct tcplab_config *c,
                               char *buf, size_t cap) {
  tcplab_config_default(c);
  for (size_t k = 0; k < NFIELDS; k++) {
    lua_getfield(L, i, fields[k].name);
    if (!lua_isnil(L, -1)) {
      const char *why = set_field(L, c, &fields[k]);
      if (why != NULL) {
        lua_pop(L, 1);
        snprintf(buf, cap, "%s %s", fields[k].name, why);
        return buf;
      }
    }
    lua_pop(L, 1);
  }
  const char *why = NULL;
  if (tcplab_config_check(c, &why) != TCPLAB_OK) {
    return why;
  }
  return NULL;
}

/* core.config_check{ name = value, ... } -> nil, or what the core says is
 * wrong with those settings (the others at their defaults). */
static int l_config_check(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  struct tcplab_config c;
  char buf[160];
  const char *why = read_config(L, 1, &c, buf, sizeof buf);
  if (why == NULL) {
    return 0;
  }
  lua_pushstring(L, why);
  return 1;
}

/* ---------------------------------------------------------- callbacks */

/* The user's function for a connection event, by the callback's name. */
static const char *const event_fields[] = {
    NULL,       "on_accept", "on_connect", "on_data",
    "on_close", "on_end",    NULL,         "on_urgent",
};

static void push_conn_of(lua_State *L, int sim_index, struct lsim *s, int id);
static void push_conn(lua_State *L, int sim_index, int id, int node,
                      bool listener);

/* In a protected call: (sim userdata, ev, a, b). Connection events go
 * straight to the function in the connection's callback table (set by
 * init.lua) with the connection's handle; an accepted connection gets
 * its handle and its listener's callbacks here. Only sim:at functions go
 * through init.lua's dispatcher. */
static int protected_event(lua_State *L) {
  struct lsim *s = lua_touserdata(L, 1);
  int ev = (int)lua_tointeger(L, 2);
  lua_Integer a = lua_tointeger(L, 3), b = lua_tointeger(L, 4);
  lua_settop(L, 4);
  if (ev == EV_TIMER) {
    s->current = "sim:at";
    lua_rawgetp(L, LUA_REGISTRYINDEX, &dispatcher_key);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, ev);
    lua_pushinteger(L, a);
    lua_pushinteger(L, b);
    lua_call(L, 4, 0);
    return 0;
  }
  lua_getiuservalue(L, 1, UV_HANDLERS); /* 5 */
  lua_getiuservalue(L, 1, UV_CONNS);    /* 6 */
  if (ev == EV_ACCEPT) {
    int ht = lua_rawgeti(L, 5, a); /* 7: the listener's callbacks */
    struct tcplab_sim_conn_info ci;
    if (tcplab_sim_conn_info(s->sim, (int)b, &ci) < 0) {
      return 0;
    }
    push_conn(L, 1, (int)b, ci.node, false); /* 8 */
    if (ht == LUA_TTABLE) {
      lua_pushvalue(L, 7);
    } else {
      lua_pushboolean(L, 0);
    }
    lua_rawseti(L, 5, b);
    if (ht == LUA_TTABLE && lua_getfield(L, 7, "on_accept") != LUA_TNIL) {
      s->current = "on_accept";
      lua_pushvalue(L, 8);
      lua_call(L, 1, 0);
    }
    return 0;
  }
  int ht = lua_rawgeti(L, 5, a); /* 7: callbacks, or false */
  if (ht == LUA_TTABLE && lua_rawgeti(L, 6, a) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    push_conn_of(L, 1, s, (int)a); /* 8: the handle */
  }
  if (ev == EV_ENDED) {
    /* Nothing more will come: let the callbacks and the handle go.
     * false rather than nil keeps both tables' ids dense, in the
     * tables' array parts. */
    lua_pushboolean(L, 0);
    lua_rawseti(L, 5, a);
    lua_pushboolean(L, 0);
    lua_rawseti(L, 6, a);
  }
  if (ht != LUA_TTABLE) {
    return 0; /* no callbacks for this connection */
  }
  const char *name = event_fields[ev];
  if (lua_getfield(L, 7, name) == LUA_TNIL) {
    return 0;
  }
  s->current = name;
  lua_pushvalue(L, 8);
  if (ev == EV_DATA || ev == EV_URGENT) {
    lua_pushinteger(L, b);
  } else if (ev == EV_ENDED) {
    if (b == 0) {
      lua_pushnil(L);
    } else {
      lua_pushstring(L, tcplab_error_name((int)b));
    }
  }
  lua_call(L, ev == EV_DATA || ev == EV_ENDED || ev == EV_URGENT ? 2 : 1, 0);
  return 0;
}

/* Runs one callback. Nothing before lua_pcall may raise an error: C++
 * frames of the simulator are below us. */
static void dispatch(struct lsim *s, int ev, lua_Integer a, lua_Integer b) {
  if (s->failed || s->L == NULL) {
    return; /* the run is stopping because of an earlier error */
  }
  lua_State *L = s->L;
  if (!lua_checkstack(L, 12)) {
    s->failed = true;
    tcplab_sim_stop(s->sim);
    return;
  }
  int top = lua_gettop(L);
  lua_pushcfunction(L, tcplab_msgh);
  lua_pushcfunction(L, protected_event);
  lua_pushvalue(L, s->self);
  lua_pushinteger(L, ev);
  lua_pushinteger(L, a);
  lua_pushinteger(L, b);
  if (lua_pcall(L, 4, 0, top + 1) != LUA_OK) {
    /* Keep the error where sim:run finds it; setting a user value does
     * not allocate, so this cannot raise. */
    lua_setiuservalue(L, s->self, UV_ERROR);
    s->failed = true;
    tcplab_sim_stop(s->sim);
  }
  lua_settop(L, top);
}

static void cb_accept(void *u, tcplab_sim *sim, int listener, int conn) {
  (void)sim;
  dispatch(u, EV_ACCEPT, listener, conn);
}

static void cb_connected(void *u, tcplab_sim *sim, int conn) {
  (void)sim;
  dispatch(u, EV_CONNECTED, conn, 0);
}

static void cb_data(void *u, tcplab_sim *sim, int conn, size_t nbytes) {
  (void)sim;
  dispatch(u, EV_DATA, conn, (lua_Integer)nbytes);
}

static void cb_peer_closed(void *u, tcplab_sim *sim, int conn) {
  (void)sim;
  dispatch(u, EV_PEER_CLOSED, conn, 0);
}

static void cb_urgent(void *u, tcplab_sim *sim, int conn, size_t pending) {
  (void)sim;
  dispatch(u, EV_URGENT, conn, (lua_Integer)pending);
}

static void cb_ended(void *u, tcplab_sim *sim, int conn, int error) {
  (void)sim;
  dispatch(u, EV_ENDED, conn, error);
}

static void cb_timer(void *u, tcplab_sim *sim, void *arg) {
  (void)sim;
  dispatch(u, EV_TIMER, (lua_Integer)(intptr_t)arg, 0);
}

static const struct tcplab_sim_callbacks callbacks = {
    .accept = cb_accept,
    .connected = cb_connected,
    .data = cb_data,
    .peer_closed = cb_peer_closed,
    .urgent = cb_urgent,
    .ended = cb_ended,
    .timer = cb_timer,
};

/* core.set_dispatcher(fn) */
static int l_set_dispatcher(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatcher_key);
  return 0;
}

/* ------------------------------------------------------- simulation */

/* core.new(seed) -> sim | nil, message, code */
static int l_new(lua_State *L) {
  uint64_t seed = check_u64(L, 1);
  /* Created closed, then opened: a failure leaves a harmless object. */
  struct lsim *s = lua_newuserdatauv(L, sizeof *s, UV_COUNT);
  memset(s, 0, sizeof *s);
  s->seed = seed;
  luaL_setmetatable(L, SIM_MT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_HANDLERS);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_CONNS);
  int rc = tcplab_sim_create(seed, &s->sim);
  if (rc == TCPLAB_SIM_ERR_EXISTS) {
    /* The other one may be garbage that was not collected yet. */
    lua_gc(L, LUA_GCCOLLECT);
    rc = tcplab_sim_create(seed, &s->sim);
  }
  if (rc < 0) {
    s->sim = NULL;
    return push_fail(L, rc);
  }
  tcplab_sim_set_callbacks(s->sim, &callbacks, s);
  return 1;
}

/* __gc, __close and core.close(sim) -> true | nil, message. Destroying
 * twice is a no-op. */
static int l_close(lua_State *L) {
  struct lsim *s = to_sim(L, 1);
  if (s->sim == NULL) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (s->running) {
    lua_pushnil(L);
    lua_pushliteral(L, "not allowed while the simulation runs");
    return 2;
  }
  int rc = tcplab_sim_destroy(s->sim);
  if (rc < 0) {
    return push_fail(L, rc);
  }
  s->sim = NULL;
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc ignores what __close would report. */
static int l_gc(lua_State *L) {
  struct lsim *s = to_sim(L, 1);
  if (s->sim != NULL && !s->running) {
    tcplab_sim_destroy(s->sim);
    s->sim = NULL;
  }
  return 0;
}

/* __close raises: leaving a scope must not silently keep a simulation
 * (only possible from inside one of its own callbacks). */
static int l_close_meta(lua_State *L) {
  struct lsim *s = to_sim(L, 1);
  if (s->running) {
    return luaL_error(L, "cannot close a simulation while it runs");
  }
  return l_gc(L);
}

/* core.is_open(sim) -> boolean, running */
static int l_is_open(lua_State *L) {
  struct lsim *s = to_sim(L, 1);
  lua_pushboolean(L, s->sim != NULL);
  lua_pushboolean(L, s->running);
  return 2;
}

/* core.tables(sim) -> handlers, conns: by connection id, the table of
 * callbacks and the handle; filled by init.lua, read by callbacks. */
static int l_tables(lua_State *L) {
  to_sim(L, 1);
  lua_getiuservalue(L, 1, UV_HANDLERS);
  lua_getiuservalue(L, 1, UV_CONNS);
  return 2;
}

/* core.seed(sim) -> seed */
static int l_seed(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)to_sim(L, 1)->seed);
  return 1;
}

/* core.node(sim, name, native, config) -> id | nil, message, code */
static int l_node(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  const char *name = luaL_checkstring(L, 2);
  bool native = lua_toboolean(L, 3);
  struct tcplab_sim_node_opts o = {.tcp = native ? TCPLAB_SIM_TCP_NS3
                                                 : TCPLAB_SIM_TCP_TCPLAB};
  struct tcplab_config c;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    char buf[160];
    const char *why = read_config(L, 4, &c, buf, sizeof buf);
    if (why != NULL) {
      lua_pushnil(L);
      lua_pushstring(L, why);
      lua_pushstring(L, tcplab_sim_strerror(TCPLAB_SIM_ERR_INVAL));
      return 3;
    }
    o.config = &c;
  }
  return push_result(L, tcplab_sim_node(s->sim, name, &o));
}

/* core.router(sim, name) -> id | nil, message, code */
static int l_router(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  return push_result(L, tcplab_sim_router(s->sim, luaL_checkstring(L, 2)));
}

/* core.link_name(sim, link) -> name | nil */
static int l_link_name(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  lua_pushstring(L, tcplab_sim_link_name(s->sim, check_id(L, 2)));
  return 1;
}

/* core.node_addr(sim, node) -> "10.0.0.1" | nil (no link yet) */
static int l_node_addr(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  uint32_t a;
  if (tcplab_sim_node_addr(s->sim, check_id(L, 2), &a) < 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushfstring(L, "%d.%d.%d.%d", (int)(a >> 24), (int)((a >> 16) & 255),
                  (int)((a >> 8) & 255), (int)(a & 255));
  return 1;
}

/* Link options from the table at index i: rate (bit/s), delay (ns),
 * queue (packets), loss; the name is the caller's. */
static void read_link_opts(lua_State *L, int i,
                           struct tcplab_sim_link_opts *o) {
  memset(o, 0, sizeof *o);
  if (lua_isnoneornil(L, i)) {
    return;
  }
  luaL_checktype(L, i, LUA_TTABLE);
  lua_getfield(L, i, "rate");
  o->rate_bps = (uint64_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, i, "delay");
  o->delay = (tcplab_time_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, i, "queue");
  o->queue_packets = (uint32_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, i, "loss");
  o->loss = luaL_optnumber(L, -1, 0);
  lua_pop(L, 4);
}

/* core.link(sim, a, b, {rate, delay, queue, loss, name}) -> id | nil, ... */
static int l_link(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int a = check_id(L, 2), b = check_id(L, 3);
  struct tcplab_sim_link_opts o;
  read_link_opts(L, 4, &o);
  if (!lua_isnoneornil(L, 4)) {
    lua_getfield(L, 4, "name");
    o.name = luaL_optstring(L, -1, NULL);
  }
  return push_result(L, tcplab_sim_link(s->sim, a, b, &o));
}

/* core.link_direction(sim, link, from, rate, queue) -> 0 | nil, ... */
static int l_link_direction(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  return push_result(
      L, tcplab_sim_link_direction(s->sim, check_id(L, 2), check_id(L, 3),
                                   check_u64(L, 4),
                                   (uint32_t)check_range(L, 5, UINT32_MAX)));
}

/* Node options of one side of a dumbbell: {native=, config=}. */
static const char *read_side(lua_State *L, int i, const char *side,
                             struct tcplab_sim_node_opts *o,
                             struct tcplab_config *c, char *buf, size_t cap) {
  memset(o, 0, sizeof *o);
  lua_getfield(L, i, side);
  if (lua_istable(L, -1)) {
    int t = lua_gettop(L);
    lua_getfield(L, t, "native");
    o->tcp = lua_toboolean(L, -1) ? TCPLAB_SIM_TCP_NS3 : TCPLAB_SIM_TCP_TCPLAB;
    lua_getfield(L, t, "config");
    if (lua_istable(L, -1)) {
      const char *why = read_config(L, lua_gettop(L), c, buf, cap);
      if (why != NULL) {
        return why;
      }
      o->config = c;
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return NULL;
}

/* core.dumbbell(sim, {n, prefix, client, server, access, bottleneck})
 * -> bottleneck, {client ids}, {server ids} | nil, message, code */
static int l_dumbbell(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  struct tcplab_sim_dumbbell d;
  memset(&d, 0, sizeof d);
  lua_getfield(L, 2, "n");
  d.n = (int)check_range(L, -1, 20000);
  lua_getfield(L, 2, "prefix");
  d.prefix = luaL_optstring(L, -1, NULL);
  struct tcplab_config cc, sc;
  char buf[160];
  const char *why = read_side(L, 2, "client", &d.client, &cc, buf, sizeof buf);
  if (why == NULL) {
    why = read_side(L, 2, "server", &d.server, &sc, buf, sizeof buf);
  }
  if (why != NULL) {
    lua_pushnil(L);
    lua_pushstring(L, why);
    lua_pushstring(L, tcplab_sim_strerror(TCPLAB_SIM_ERR_INVAL));
    return 3;
  }
  lua_getfield(L, 2, "access");
  read_link_opts(L, lua_gettop(L), &d.access);
  lua_getfield(L, 2, "bottleneck");
  read_link_opts(L, lua_gettop(L), &d.bottleneck);
  int *ids =
      lua_newuserdatauv(L, 2 * (size_t)(d.n > 0 ? d.n : 1) * sizeof *ids, 0);
  int rc = tcplab_sim_dumbbell(s->sim, &d, ids, ids + d.n);
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_pushinteger(L, rc);
  for (int side = 0; side < 2; side++) {
    lua_createtable(L, d.n, 0);
    for (int k = 0; k < d.n; k++) {
      lua_pushinteger(L, ids[side * d.n + k]);
      lua_rawseti(L, -2, k + 1);
    }
  }
  return 3;
}

/* core.loss(sim, link, from, p) -- from < 0: both directions */
static int l_loss(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int from = (int)luaL_checkinteger(L, 3);
  return push_result(L, tcplab_sim_link_loss(s->sim, check_id(L, 2), from,
                                             luaL_checknumber(L, 4)));
}

/* core.gilbert(sim, link, from, p, r, h, k) */
static int l_gilbert(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int from = (int)luaL_checkinteger(L, 3);
  return push_result(L, tcplab_sim_link_gilbert(
                            s->sim, check_id(L, 2), from,
                            luaL_checknumber(L, 4), luaL_checknumber(L, 5),
                            luaL_checknumber(L, 6), luaL_checknumber(L, 7)));
}

/* core.rule(sim, link, by, {from, flags, exact, nth, every, after, before,
 * len}) -> id: a drop rule when by is nil, else a delay rule. */
static int l_rule(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int link = check_id(L, 2);
  luaL_checktype(L, 4, LUA_TTABLE);
  struct tcplab_sim_match m;
  memset(&m, 0, sizeof m);
  lua_getfield(L, 4, "from");
  m.from = check_id(L, -1);
  lua_getfield(L, 4, "flags");
  m.flags = (int)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 4, "exact");
  m.exact = lua_toboolean(L, -1);
  lua_getfield(L, 4, "nth");
  m.nth = (uint32_t)luaL_optinteger(L, -1, 1);
  lua_getfield(L, 4, "every");
  m.every = lua_toboolean(L, -1);
  lua_getfield(L, 4, "after");
  m.after = (tcplab_time_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 4, "before");
  m.before = (tcplab_time_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 4, "len");
  m.len = (int64_t)luaL_optinteger(L, -1, -1);
  if (lua_isnoneornil(L, 3)) {
    return push_result(L, tcplab_sim_link_drop(s->sim, link, &m));
  }
  return push_result(L,
                     tcplab_sim_link_delay(s->sim, link, &m, check_u64(L, 3)));
}

/* core.inject(sim, link, {at, from, conn, sport, dport, flags, seq, ack,
 * seq_absolute, ack_absolute, window, corrupt_checksum, payload}) */
static int l_inject(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int link = check_id(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  struct tcplab_sim_inject in;
  memset(&in, 0, sizeof in);
  lua_getfield(L, 3, "at");
  in.at = opt_at(L, -1);
  lua_getfield(L, 3, "from");
  in.from = check_id(L, -1);
  lua_getfield(L, 3, "conn");
  in.conn = (int)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "sport");
  in.sport = (uint16_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "dport");
  in.dport = (uint16_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "flags");
  in.flags = (int)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "seq");
  in.seq = (uint32_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "ack");
  in.ack = (uint32_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "seq_absolute");
  in.seq_absolute = lua_toboolean(L, -1);
  lua_getfield(L, 3, "ack_absolute");
  in.ack_absolute = lua_toboolean(L, -1);
  lua_getfield(L, 3, "window");
  in.window = (uint16_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 3, "corrupt_checksum");
  in.corrupt_checksum = lua_toboolean(L, -1);
  lua_getfield(L, 3, "payload");
  size_t len = 0;
  in.payload = luaL_optlstring(L, -1, "", &len);
  in.len = len;
  int rc = tcplab_sim_link_inject(s->sim, link, &in);
  return push_result(L, rc);
}

/* core.pcap(sim, link, prefix) */
static int l_pcap(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  return push_result(
      L, tcplab_sim_link_pcap(s->sim, check_id(L, 2), luaL_checkstring(L, 3)));
}

/* ------------------------------------------------------ applications */

/* A connection's handle: its id and node, and its simulation as user
 * value. There is one per connection of an experiment, so what the
 * actions need is here rather than in a Lua table. */
struct lconn {
  int id, node;
  bool listener;
};

/* Registry keys of the connection metatable and of init.lua's helper
 * that turns an action's { at = | after = } into nanoseconds. */
static const char conn_mt_key = 'c';
static const char action_time_key = 'a';

/* A value as error messages show it: strings quoted, handles by their
 * __tostring, other values by type or text. */
static const char *show_value(lua_State *L, int i) {
  i = lua_absindex(L, i);
  if (lua_type(L, i) == LUA_TSTRING) {
    return lua_pushfstring(L, "\"%s\"", lua_tostring(L, i));
  }
  if (lua_type(L, i) == LUA_TTABLE || lua_type(L, i) == LUA_TFUNCTION) {
    return lua_pushstring(L, luaL_typename(L, i));
  }
  return luaL_tolstring(L, i, NULL);
}

/* Makes the handle of connection id of the simulation at sim_index and
 * records it in the simulation's table of handles; leaves it on top. */
static void push_conn(lua_State *L, int sim_index, int id, int node,
                      bool listener) {
  sim_index = lua_absindex(L, sim_index);
  struct lconn *c = lua_newuserdatauv(L, sizeof *c, 1);
  c->id = id;
  c->node = node;
  c->listener = listener;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &conn_mt_key);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, sim_index);
  lua_setiuservalue(L, -2, 1);
  lua_getiuservalue(L, sim_index, UV_CONNS);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, id);
  lua_pop(L, 1);
}

/* The handle of connection id (made if there is none yet), or nil. */
static void push_conn_of(lua_State *L, int sim_index, struct lsim *s, int id) {
  sim_index = lua_absindex(L, sim_index);
  lua_getiuservalue(L, sim_index, UV_CONNS);
  if (lua_rawgeti(L, -1, id) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 2);
  struct tcplab_sim_conn_info ci;
  if (tcplab_sim_conn_info(s->sim, id, &ci) < 0) {
    lua_pushnil(L);
    return;
  }
  push_conn(L, sim_index, id, ci.node, ci.is_listener);
}

/* core.conn_handle(sim, id) -> the handle of connection id, or nil */
static int l_conn_handle(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  push_conn_of(L, 1, s, check_id(L, 2));
  return 1;
}

/* core.conn_of(value) -> sim, id, node, is_listener for a connection's
 * handle; nothing for any other value. */
static int l_conn_of(lua_State *L) {
  struct lconn *c = lua_touserdata(L, 1);
  if (c == NULL || !lua_getmetatable(L, 1)) {
    return 0;
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &conn_mt_key);
  if (!lua_rawequal(L, -1, -2)) {
    return 0;
  }
  lua_getiuservalue(L, 1, 1);
  lua_pushinteger(L, c->id);
  lua_pushinteger(L, c->node);
  lua_pushboolean(L, c->listener);
  return 4;
}

/* core.set_action_time(fn): fn(fname, argn, opts, sim) -> ns | nil */
static int l_set_action_time(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &action_time_key);
  return 0;
}

/* core.listen(sim, node, port, backlog) -> id, handle | nil, msg, code */
static int l_listen(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int node = check_id(L, 2);
  int id =
      tcplab_sim_listen(s->sim, node, (uint16_t)check_range(L, 3, UINT16_MAX),
                        (unsigned)check_range(L, 4, UINT32_MAX));
  if (id < 0) {
    return push_fail(L, id);
  }
  lua_pushinteger(L, id);
  push_conn(L, 1, id, node, true);
  return 2;
}

/* core.connect(sim, node, peer, port, at, local_port) -> id, handle |
 * nil, message, code */
static int l_connect(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int node = check_id(L, 2);
  int id = tcplab_sim_connect(
      s->sim, node, check_id(L, 3), (uint16_t)check_range(L, 4, UINT16_MAX),
      opt_at(L, 5), (uint16_t)check_range(L, 6, UINT16_MAX));
  if (id < 0) {
    return push_fail(L, id);
  }
  lua_pushinteger(L, id);
  push_conn(L, 1, id, node, false);
  return 2;
}

/* core.set_retries(sim, id, retries) -> true | nil, message, code
 * (retries: 0..255, or 2^32 - 1 for never) */
static int l_set_retries(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int rc = tcplab_sim_set_retries(s->sim, check_id(L, 2),
                                  (uint32_t)check_range(L, 3, UINT32_MAX));
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.node_stats(sim, node) -> table | nil, message, code: the stack's
 * counters, malformed segments by reason in a table of their own. */
static int l_node_stats(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  struct tcplab_stack_stats st;
  int rc = tcplab_sim_node_stats(s->sim, check_id(L, 2), &st);
  if (rc < 0) {
    return push_fail(L, rc);
  }
  static const struct {
    const char *name;
    size_t off;
  } fields[] = {
#define S(f) {#f, offsetof(struct tcplab_stack_stats, f)}
      S(segs_in),        S(segs_out),       S(rst_sent),
      S(backlog_drops),  S(challenge_acks), S(challenge_acks_limited),
      S(wscale_clamped), S(conns_active),   S(conns_total),
      S(tx_no_buffer),
#undef S
  };
  lua_createtable(L, 0, (int)(sizeof fields / sizeof fields[0]) + 1);
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    uint64_t v;
    memcpy(&v, (const char *)&st + fields[i].off, sizeof v);
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, fields[i].name);
  }
  lua_createtable(L, 0, TCPLAB_MALFORMED_COUNT - 1);
  for (int r = 1; r < TCPLAB_MALFORMED_COUNT; r++) {
    lua_pushinteger(L, (lua_Integer)st.malformed[r]);
    lua_setfield(L, -2, tcplab_malformed_name((enum tcplab_malformed)r));
  }
  lua_setfield(L, -2, "malformed");
  return 1;
}

/* The methods below are called by scripts directly (they run for every
 * connection of an experiment): their errors name the method, and
 * luaL_error puts them at the script's line. */

/* The handle a method is called on and its open simulation. */
static struct lconn *method_self(lua_State *L, const char *fname,
                                 struct lsim **out) {
  struct lconn *c = NULL;
  if (lua_getmetatable(L, 1)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &conn_mt_key);
    if (lua_rawequal(L, -1, -2)) {
      c = lua_touserdata(L, 1);
    }
    lua_pop(L, 2);
  }
  if (c == NULL) {
    luaL_error(L,
               "calling '%s' on bad self (tcplab.conn expected, got %s; call "
               "it as %s(...))",
               fname, show_value(L, 1), fname);
  }
  lua_getiuservalue(L, 1, 1);
  struct lsim *s = lua_touserdata(L, -1);
  lua_pop(L, 1); /* the handle, argument 1, keeps it alive */
  if (s->sim == NULL) {
    luaL_error(L, "%s: attempt to use a closed simulation", fname);
  }
  *out = s;
  return c;
}

/* An action's time from its options at index i (argument argn): none is
 * now; a table goes to init.lua's helper, which checks it. */
static tcplab_time_t action_at(lua_State *L, int i, const char *fname,
                               int argn) {
  if (lua_isnoneornil(L, i)) {
    return TCPLAB_SIM_NOW;
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &action_time_key);
  lua_pushstring(L, fname);
  lua_pushinteger(L, argn);
  lua_pushvalue(L, i);
  lua_getiuservalue(L, 1, 1);
  lua_call(L, 4, 1);
  tcplab_time_t at =
      lua_isnil(L, -1) ? TCPLAB_SIM_NOW : (tcplab_time_t)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return at;
}

/* A connection that has ended (reached CLOSED) takes no more actions. */
static void check_live(lua_State *L, struct lsim *s, struct lconn *c,
                       const char *fname) {
  struct tcplab_sim_conn_info ci;
  if (c->listener || tcplab_sim_conn_info(s->sim, c->id, &ci) < 0 ||
      ci.closed == TCPLAB_TIME_NEVER) {
    return;
  }
  char msg[200];
  snprintf(msg, sizeof msg,
           "%s: attempt to use a closed connection (#%d ended at "
           "%llu.%09llu s%s%s)",
           fname, c->id, (unsigned long long)(ci.closed / 1000000000u),
           (unsigned long long)(ci.closed % 1000000000u), ci.error ? ": " : "",
           ci.error ? tcplab_error_name(ci.error) : "");
  luaL_error(L, "%s", msg);
}

static void action_failed(lua_State *L, const char *fname, int rc) {
  const char *msg = tcplab_sim_last_error();
  luaL_error(L, "%s: %s", fname, msg[0] ? msg : tcplab_sim_strerror(rc));
}

/* conn:send(n_or_string [, { at = t | after = d }]) -> conn: a string's
 * bytes, or n generated bytes (byte k of the stream is k % 251). */
static int m_send(lua_State *L) {
  static const char F[] = "conn:send";
  struct lsim *s;
  struct lconn *c = method_self(L, F, &s);
  if (c->listener) {
    luaL_error(L,
               "%s: a listener sends nothing; use the connections it "
               "accepts",
               F);
  }
  int t = lua_type(L, 2);
  lua_Integer count = 0;
  if (t == LUA_TNUMBER) {
    int isint = 0;
    count = lua_tointegerx(L, 2, &isint);
    if (!isint) {
      t = LUA_TNONE; /* a fraction: not a count */
    } else if (count < 0) {
      luaL_error(L,
                 "bad argument #1 to '%s' (a byte count must be an integer "
                 ">= 0, got %s)",
                 F, show_value(L, 2));
    }
  }
  if (t != LUA_TNUMBER && t != LUA_TSTRING) {
    luaL_error(L,
               "bad argument #1 to '%s' (string of bytes or a byte count "
               "expected, got %s)",
               F, show_value(L, 2));
  }
  tcplab_time_t at = action_at(L, 3, F, 2); /* checks the options too */
  bool urgent = lua_istable(L, 3) && lua_getfield(L, 3, "urgent") != LUA_TNIL &&
                lua_toboolean(L, -1);
  check_live(L, s, c, F);
  int rc;
  size_t len = 0;
  const char *data = t == LUA_TSTRING ? lua_tolstring(L, 2, &len) : NULL;
  if (urgent) {
    rc = tcplab_sim_send_urgent(s->sim, c->id, data, len, (uint64_t)count, at);
  } else if (data) {
    rc = tcplab_sim_send(s->sim, c->id, data, len, at);
  } else {
    rc = tcplab_sim_send_generated(s->sim, c->id, (uint64_t)count, at);
  }
  if (rc < 0) {
    action_failed(L, F, rc);
  }
  lua_settop(L, 1);
  return 1;
}

typedef int (*conn_action)(tcplab_sim *, int, tcplab_time_t);

/* conn:shutdown / conn:close / conn:abort ([{ at = t | after = d }]) */
static int act(lua_State *L, const char *fname, conn_action f,
               const char *on_listener) {
  struct lsim *s;
  struct lconn *c = method_self(L, fname, &s);
  if (c->listener && on_listener != NULL) {
    luaL_error(L, "%s: %s", fname, on_listener);
  }
  tcplab_time_t at = action_at(L, 2, fname, 1);
  check_live(L, s, c, fname);
  int rc = f(s->sim, c->id, at);
  if (rc < 0) {
    action_failed(L, fname, rc);
  }
  lua_settop(L, 1);
  return 1;
}

/* FIN after the queued data, keep receiving. */
static int m_shutdown(lua_State *L) {
  return act(L, "conn:shutdown", tcplab_sim_shutdown,
             "a listener cannot shut down; use listener:close()");
}

/* The application stops reading, or reads again (everything waiting at
 * once). */
static int m_stop_reading(lua_State *L) {
  return act(L, "conn:stop_reading", tcplab_sim_stop_reading,
             "a listener reads nothing; use the connections it accepts");
}

static int m_start_reading(lua_State *L) {
  return act(L, "conn:start_reading", tcplab_sim_start_reading,
             "a listener reads nothing; use the connections it accepts");
}

/* Close after the queued data (FIN); on a listener, stop listening. */
static int m_close(lua_State *L) {
  return act(L, "conn:close", tcplab_sim_close, NULL);
}

/* RST, queued data discarded. */
static int m_abort(lua_State *L) {
  return act(L, "conn:abort", tcplab_sim_abort,
             "a listener cannot be aborted; use listener:close()");
}

/* conn:read() -> the bytes received and not read yet ("" if none) */
static int m_read(lua_State *L) {
  struct lsim *s;
  struct lconn *c = method_self(L, "conn:read", &s);
  /* Most reads fit one buffer: no luaL_Buffer (and its allocation). */
  char first[16384];
  int64_t n = tcplab_sim_recv(s->sim, c->id, first, sizeof first);
  if (n < 0) {
    action_failed(L, "conn:read", (int)n);
  }
  if ((size_t)n < sizeof first) {
    lua_pushlstring(L, first, (size_t)n);
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, first, (size_t)n);
  while ((n = tcplab_sim_recv(s->sim, c->id, luaL_prepbuffer(&b),
                              LUAL_BUFFERSIZE)) > 0) {
    luaL_addsize(&b, (size_t)n);
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg conn_methods[] = {
    {"send", m_send},
    {"shutdown", m_shutdown},
    {"close", m_close},
    {"abort", m_abort},
    {"read", m_read},
    {"stop_reading", m_stop_reading},
    {"start_reading", m_start_reading},
    {NULL, NULL},
};

/* core.at(sim, at, key): the timer callback gets key back. */
static int l_at(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  tcplab_time_t at = opt_at(L, 2);
  lua_Integer key = luaL_checkinteger(L, 3);
  return push_result(L, tcplab_sim_at(s->sim, at, (void *)(intptr_t)key));
}

static void set_integer(lua_State *L, const char *name, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, name);
}

/* The core's counters of a tcplab connection into the table on top;
 * ssthresh only once a loss set it, srtt_s only once a round trip was
 * timed. */
static void push_counters(lua_State *L, const struct tcplab_conn_stats *st) {
  set_integer(L, "segs_sent", (lua_Integer)st->segs_sent);
  set_integer(L, "segs_received", (lua_Integer)st->segs_received);
  set_integer(L, "timeouts", st->timeouts);
  set_integer(L, "fast_retransmits", st->fast_retransmits);
  set_integer(L, "dup_acks", st->dup_acks);
  set_integer(L, "ooo_segments", st->ooo_segments);
  set_integer(L, "zero_window_probes", st->zero_window_probes);
  set_integer(L, "cwnd", st->cwnd);
  if (st->ssthresh != TCPLAB_WINDOW_MAX) {
    set_integer(L, "ssthresh", st->ssthresh);
  }
  if (st->srtt > 0) {
    push_seconds(L, st->srtt);
    lua_setfield(L, -2, "srtt_s");
  }
}

/* core.info(sim, conn) -> table of the connection's fields */
static int l_info(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  struct tcplab_sim_conn_info ci;
  int rc = tcplab_sim_conn_info(s->sim, check_id(L, 2), &ci);
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_createtable(L, 0, 20);
  lua_pushinteger(L, ci.id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, ci.node);
  lua_setfield(L, -2, "node");
  lua_pushinteger(L, ci.listener);
  lua_setfield(L, -2, "listener");
  lua_pushboolean(L, ci.is_listener);
  lua_setfield(L, -2, "is_listener");
  lua_pushboolean(L, ci.native);
  lua_setfield(L, -2, "native");
  lua_pushstring(L, ci.role == TCPLAB_ROLE_ACTIVE ? "active" : "passive");
  lua_setfield(L, -2, "role");
  lua_pushstring(L, tcplab_state_name(ci.state));
  lua_setfield(L, -2, "state");
  if (ci.flow != NULL && ci.flow[0] != '\0') {
    lua_pushstring(L, ci.flow);
    lua_setfield(L, -2, "flow");
  }
  push_endpoint(L, ci.local);
  lua_setfield(L, -2, "local");
  push_endpoint(L, ci.remote);
  lua_setfield(L, -2, "remote");
  push_seconds(L, ci.open);
  lua_setfield(L, -2, "open_s");
  push_seconds(L, ci.established);
  lua_setfield(L, -2, "established_s");
  push_seconds(L, ci.handshake);
  lua_setfield(L, -2, "handshake_s");
  push_seconds(L, ci.close);
  lua_setfield(L, -2, "close_s");
  push_seconds(L, ci.closed);
  lua_setfield(L, -2, "closed_s");
  lua_pushinteger(L, ci.syn_tx);
  lua_setfield(L, -2, "syn_tx");
  lua_pushinteger(L, ci.retransmissions);
  lua_setfield(L, -2, "retransmissions");
  lua_pushinteger(L, (lua_Integer)ci.bytes_sent);
  lua_setfield(L, -2, "bytes_sent");
  lua_pushinteger(L, (lua_Integer)ci.bytes_received);
  lua_setfield(L, -2, "bytes_received");
  if (ci.error != 0) {
    lua_pushstring(L, tcplab_error_name(ci.error));
    lua_setfield(L, -2, "error");
  }
  if (!ci.native && !ci.is_listener) {
    push_counters(L, &ci.counters);
  }
  return 1;
}

/* core.conn_count(sim) */
static int l_conn_count(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  return push_result(L, tcplab_sim_conn_count(s->sim));
}

/* ---------------------------------------------------------------- run */

/* core.run(sim, until) -> true | false, error of a callback, its name |
 * nil, message, code */
static int l_run(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  tcplab_time_t until =
      lua_isnoneornil(L, 2) ? TCPLAB_TIME_NEVER : check_u64(L, 2);
  if (s->running) {
    lua_pushnil(L);
    lua_pushliteral(L, "not allowed inside a callback of the same run");
    return 2;
  }
  s->L = L;
  s->self = 1;
  s->failed = false;
  s->current = NULL;
  s->running = true;
  int rc = tcplab_sim_run(s->sim, until);
  s->running = false;
  s->L = NULL;
  if (s->failed) {
    lua_pushboolean(L, 0);
    lua_getiuservalue(L, 1, UV_ERROR);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, UV_ERROR);
    lua_pushstring(L, s->current);
    s->failed = false;
    return 3;
  }
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.now(sim) -> nanoseconds */
static int l_now(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  lua_pushinteger(L, (lua_Integer)tcplab_sim_now(s->sim));
  return 1;
}

/* core.events(sim) -> ns-3 events executed so far */
static int l_events(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  lua_pushinteger(L, (lua_Integer)tcplab_sim_events(s->sim));
  return 1;
}

/* ------------------------------------------------------------- tables */

static const char *const table_names[] = {"timeline", "segments", "connections",
                                          "cwnd", NULL};

/* How a column's text becomes a Lua value, as tcplab.csv reads files:
 * times (*_s) as floats, counts as integers, the rest as strings; an
 * empty cell is no value. */
enum col_kind { COL_STRING, COL_INT, COL_FLOAT };

static enum col_kind column_kind(const char *name) {
  static const char *const ints[] = {"conn",
                                     "seq",
                                     "ack",
                                     "rel_seq",
                                     "rel_ack",
                                     "len",
                                     "win",
                                     "syn_tx",
                                     "bytes_sent",
                                     "bytes_received",
                                     "retransmissions",
                                     "cwnd",
                                     "ssthresh"};
  size_t n = strlen(name);
  if (n > 2 && strcmp(name + n - 2, "_s") == 0) {
    return COL_FLOAT;
  }
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    if (strcmp(name, ints[i]) == 0) {
      return COL_INT;
    }
  }
  return COL_STRING;
}

/* core.columns(table) -> { names in CSV order } */
static int l_columns(lua_State *L) {
  enum tcplab_sim_table t = luaL_checkoption(L, 1, NULL, table_names);
  int n = tcplab_sim_columns(t);
  lua_createtable(L, n, 0);
  for (int c = 0; c < n; c++) {
    lua_pushstring(L, tcplab_sim_column_name(t, c));
    lua_rawseti(L, -2, c + 1);
  }
  return 1;
}

/* Whether row r of table t (timeline or cwnd) is connection conn's. */
static bool row_of_conn(tcplab_sim *sim, enum tcplab_sim_table t, int64_t r,
                        int conn) {
  if (t == TCPLAB_SIM_CWND) {
    struct tcplab_sim_cwnd_row cr;
    return tcplab_sim_cwnd_row(sim, r, &cr) == 0 && cr.conn == conn;
  }
  struct tcplab_sim_timeline_row tr;
  return tcplab_sim_timeline_row(sim, r, &tr) == 0 && tr.conn == conn;
}

/* core.rows(sim, table [, conn]) -> array of rows, each keyed by column
 * name; with conn, only that connection's timeline or cwnd rows. */
static int l_rows(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  enum tcplab_sim_table t = luaL_checkoption(L, 2, NULL, table_names);
  int only = lua_isnoneornil(L, 3) ? -1 : check_id(L, 3);
  luaL_argcheck(L, only < 0 || t == TCPLAB_SIM_TIMELINE || t == TCPLAB_SIM_CWND,
                3, "only the timeline and cwnd are filtered by connection");
  int64_t total = tcplab_sim_rows(s->sim, t);
  int ncol = tcplab_sim_columns(t);
  enum col_kind kinds[32];
  luaL_argcheck(L, ncol > 0 && ncol <= 32, 2, "unexpected table layout");
  lua_settop(L, 2);
  int names = 3; /* column names, pushed once and reused as keys */
  luaL_checkstack(L, ncol + 4, "too many columns");
  for (int c = 0; c < ncol; c++) {
    const char *name = tcplab_sim_column_name(t, c);
    kinds[c] = column_kind(name);
    lua_pushstring(L, name);
  }
  lua_createtable(L, only < 0 && total < INT32_MAX ? (int)total : 0, 0);
  lua_Integer n = 0;
  for (int64_t r = 0; r < total; r++) {
    if (only >= 0 && !row_of_conn(s->sim, t, r, only)) {
      continue;
    }
    lua_createtable(L, 0, ncol);
    for (int c = 0; c < ncol; c++) {
      const char *text = tcplab_sim_cell(s->sim, t, r, c);
      if (text == NULL || text[0] == '\0') {
        continue;
      }
      lua_pushvalue(L, names + c);
      switch (kinds[c]) {
      case COL_STRING: lua_pushstring(L, text); break;
      case COL_INT:
        lua_pushinteger(L, (lua_Integer)strtoll(text, NULL, 10));
        break;
      case COL_FLOAT: lua_pushnumber(L, strtod(text, NULL)); break;
      }
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* core.row_count(sim, table) */
static int l_row_count(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  enum tcplab_sim_table t = luaL_checkoption(L, 2, NULL, table_names);
  lua_pushinteger(L, (lua_Integer)tcplab_sim_rows(s->sim, t));
  return 1;
}

/* core.write_csv(sim, dir) -> true | nil, message, code */
static int l_write_csv(lua_State *L) {
  struct lsim *s = check_sim(L, 1);
  int rc = tcplab_sim_write_csv(s->sim, luaL_checkstring(L, 2));
  if (rc < 0) {
    return push_fail(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ------------------------------------------------------------- names */

/* core.flags(text) -> bits | nil for an unknown name */
static int l_flags(lua_State *L) {
  int f = tcplab_flags_parse(luaL_checkstring(L, 1));
  if (f < 0) {
    lua_pushnil(L);
  } else {
    lua_pushinteger(L, f);
  }
  return 1;
}

/* core.error_name(code) -> "timed_out" | nil for 0 */
static int l_error_name(lua_State *L) {
  int code = (int)luaL_checkinteger(L, 1);
  if (code == 0) {
    lua_pushnil(L);
  } else {
    lua_pushstring(L, tcplab_error_name(code));
  }
  return 1;
}

/* core.new_handle(kind) -> an empty userdata of kind 1 (node) or 2
 * (link); the Lua side keeps what it refers to. */
static int l_new_handle(lua_State *L) {
  static const char *const mts[] = {NODE_MT, LINK_MT};
  lua_Integer k = luaL_checkinteger(L, 1);
  luaL_argcheck(L, k >= 1 && k <= 2, 1, "kind must be 1 or 2");
  lua_newuserdatauv(L, 0, 0);
  luaL_setmetatable(L, mts[k - 1]);
  return 1;
}

/* An __index for handles: (handle, key) -> methods[key], or else
 * fields(handle, key). In C because every method call goes through it. */
static int index_handle(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) {
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 1);
  return 1;
}

/* core.index(methods, fields) -> an __index function */
static int l_index(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_pushcclosure(L, index_handle, 2);
  return 1;
}

/* -------------------------------------------------------------- module */

static const luaL_Reg sim_meta[] = {
    {"__gc", l_gc},
    {"__close", l_close_meta},
    {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"new", l_new},
    {"close", l_close},
    {"is_open", l_is_open},
    {"seed", l_seed},
    {"tables", l_tables},
    {"node", l_node},
    {"router", l_router},
    {"node_addr", l_node_addr},
    {"link", l_link},
    {"link_name", l_link_name},
    {"link_direction", l_link_direction},
    {"dumbbell", l_dumbbell},
    {"loss", l_loss},
    {"gilbert", l_gilbert},
    {"rule", l_rule},
    {"inject", l_inject},
    {"pcap", l_pcap},
    {"listen", l_listen},
    {"connect", l_connect},
    {"set_retries", l_set_retries},
    {"conn_handle", l_conn_handle},
    {"conn_of", l_conn_of},
    {"set_action_time", l_set_action_time},
    {"at", l_at},
    {"info", l_info},
    {"node_stats", l_node_stats},
    {"conn_count", l_conn_count},
    {"run", l_run},
    {"now", l_now},
    {"events", l_events},
    {"columns", l_columns},
    {"rows", l_rows},
    {"row_count", l_row_count},
    {"write_csv", l_write_csv},
    {"flags", l_flags},
    {"error_name", l_error_name},
    {"config_fields", l_config_fields},
    {"config_check", l_config_check},
    {"set_dispatcher", l_set_dispatcher},
    {"new_handle", l_new_handle},
    {"index", l_index},
    {NULL, NULL},
};

/* The one symbol the module exports (the rest is hidden). */
__attribute__((visibility("default"))) int luaopen_tcplab_core(lua_State *L);

int luaopen_tcplab_core(lua_State *L) {
  luaL_newlibtable(L, functions);
  luaL_newmetatable(L, SIM_MT);
  luaL_setfuncs(L, sim_meta, 0);
  luaL_setfuncs(L, functions, 1); /* the metatable is their upvalue */
  /* The metatables, for init.lua to give them methods and __tostring. */
  lua_createtable(L, 0, 4);
  luaL_getmetatable(L, SIM_MT);
  lua_setfield(L, -2, "sim");
  luaL_newmetatable(L, NODE_MT);
  lua_setfield(L, -2, "node");
  luaL_newmetatable(L, LINK_MT);
  lua_setfield(L, -2, "link");
  luaL_newmetatable(L, CONN_MT);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &conn_mt_key);
  lua_setfield(L, -2, "conn");
  lua_setfield(L, -2, "metatables");
  /* The connection methods in C, for init.lua's method table. */
  luaL_newlib(L, conn_methods);
  lua_setfield(L, -2, "conn_methods");
  lua_pushstring(L, TCPLAB_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, TCPLAB_SIM_ERR_EXISTS);
  lua_setfield(L, -2, "ERR_EXISTS");
  lua_pushstring(L, "SYN, FIN, RST, PSH, ACK, URG");
  lua_setfield(L, -2, "flag_names");
  lua_createtable(L, TCPLAB_STATE_COUNT, 0);
  for (int i = 0; i < TCPLAB_STATE_COUNT; i++) {
    lua_pushstring(L, tcplab_state_name((enum tcplab_state)i));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "states");
  lua_createtable(L, TCPLAB_EVENT_COUNT, 0);
  for (int i = 0; i < TCPLAB_EVENT_COUNT; i++) {
    lua_pushstring(L, tcplab_event_name((enum tcplab_event)i));
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "event_names");
  return 1;
}
