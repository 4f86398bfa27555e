/*
 * The tcplab command: runs a Lua experiment script with the tcplab module.
 *
 *   tcplab run SCRIPT [--out DIR] [--seed N] [--set NAME=VALUE]... [-- ARG...]
 *   tcplab sweep SCRIPT --param NAME=V1,V2,... [...]   (sweep.c)
 *   tcplab plot states|cwnd|metric ...
 *   tcplab --lua-path | --help | --version
 *
 * It embeds Lua 5.4 and finds the module next to itself: in the build
 * tree (<dir>/lua/tcplab/) or under the install prefix
 * (<prefix>/share/lua/5.4 and <prefix>/lib/lua/5.4). Exit status: 0, 1
 * when the script fails (the message names the file and line, with a
 * traceback for runtime errors), 2 for a usage error.
 */
#define _XOPEN_SOURCE 700

#include "msgh.h"
#include "sweep.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TCPLAB_VERSION
#define TCPLAB_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: tcplab run SCRIPT [--out DIR] [--seed N] [--set NAME=VALUE]... "
    "[-- ARG...]\n"
    "       tcplab sweep SCRIPT --param NAME=V1,V2,... [--param ...] "
    "[--runs N] [--jobs N]\n"
    "                    [--out DIR] (tcplab sweep --help for the rest)\n"
    "       tcplab plot states TIMELINE.csv OUT.png [--flow FLOW]\n"
    "       tcplab plot cwnd CWND.csv OUT.png [--flow FLOW] [--node NODE] "
    "[--segments MSS]\n"
    "       tcplab plot metric SUMMARY.csv --x PARAM --y METRIC "
    "[--group PARAM] OUT.svg\n"
    "       tcplab --lua-path | --help | --version\n";

static const char help_text[] =
    "\n"
    "run    runs SCRIPT, a Lua 5.4 experiment using require(\"tcplab\").\n"
    "       --out DIR         tcplab.out, created (default "
    "results/<script name>)\n"
    "       --seed N          tcplab.seed, the seed of tcplab.sim{} "
    "(default 1)\n"
    "       --set NAME=VALUE  tcplab.params.NAME: 3 and 0.5 become numbers,\n"
    "                         true/false booleans, anything else (20ms) a "
    "string\n"
    "       -- ARG...         the script's arg[1], arg[2], ...\n"
    "       A table of metrics returned by the script (name -> number, "
    "string\n"
    "       or boolean) is written to OUT/metrics.csv and printed.\n"
    "sweep  runs SCRIPT for every combination of the --param values "
    "(lists V1,V2\n"
    "       or ranges START:STOP:STEP), --runs times each, in parallel, "
    "each run\n"
    "       its own process and seed; results in DIR/sweep.db, "
    "summary.csv, plots/.\n"
    "       Run again, it resumes. (default DIR results/<script "
    "name>-sweep)\n"
    "plot   draws a state timeline, congestion windows (cwnd.csv) or a "
    "metric of\n"
    "       swept runs with gnuplot.\n"
    "--lua-path  prints LUA_PATH and LUA_CPATH for using the module from "
    "lua5.4.\n";

/* ----------------------------------------------------- finding the module */

struct paths {
  char lua[PATH_MAX + 64]; /* holds tcplab/init.lua */
  char c[PATH_MAX + 64];   /* holds tcplab/core.so */
  bool found;
};

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The build tree keeps the command beside lua/; an installed command is
 * in <prefix>/bin. */
static void find_paths(struct paths *p) {
  memset(p, 0, sizeof *p);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    return;
  }
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL) {
    return;
  }
  *slash = '\0';
  char probe[PATH_MAX + 64];
  snprintf(probe, sizeof probe, "%s/lua/tcplab/init.lua", exe);
  if (exists(probe)) {
    snprintf(p->lua, sizeof p->lua, "%s/lua", exe);
    snprintf(p->c, sizeof p->c, "%s/lua", exe);
    p->found = true;
    return;
  }
  snprintf(probe, sizeof probe, "%s/../share/lua/5.4/tcplab/init.lua", exe);
  if (exists(probe)) {
    char prefix[PATH_MAX + 8];
    snprintf(prefix, sizeof prefix, "%s/..", exe);
    char real[PATH_MAX];
    const char *base = realpath(prefix, real) ? real : prefix;
    snprintf(p->lua, sizeof p->lua, "%s/share/lua/5.4", base);
    snprintf(p->c, sizeof p->c, "%s/lib/lua/5.4", base);
    p->found = true;
  }
}

/* Puts our directories first in package.path and package.cpath, keeping
 * what LUA_PATH/LUA_CPATH or the defaults give after them. */
static void set_paths(lua_State *L, const struct paths *p) {
  if (!p->found) {
    return;
  }
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", p->lua, p->lua,
                  lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_getfield(L, -1, "cpath");
  lua_pushfstring(L, "%s/?.so;%s", p->c, lua_tostring(L, -1));
  lua_setfield(L, -3, "cpath");
  lua_pop(L, 2);
}

/* ------------------------------------------------------------- helpers */

/* mkdir -p */
static int make_dirs(const char *path) {
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        return -1;
      }
      *p = '/';
    }
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
    return -1;
  }
  return 0;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "tcplab: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", usage_text);
  return 2;
}

/* A decimal seed in [0, 2^63). */
static bool parse_seed(const char *s, long long *out) {
  if (*s == '\0') {
    return false;
  }
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') {
      return false;
    }
  }
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno != 0) {
    return false;
  }
  *out = v;
  return true;
}

static bool valid_name(const char *s, size_t len) {
  if (len == 0) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == '.' || c == '-' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool tcplab_call(lua_State *L, const char *who, const char *module,
                 const char *fn, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, tcplab_msgh);
  lua_insert(L, base + 1);
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  if (lua_pcall(L, 1, 1, base + 1) != LUA_OK) {
    fprintf(stderr, "%s: cannot load %s: %s\n", who, module,
            lua_tostring(L, -1));
    lua_settop(L, base);
    return false;
  }
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  lua_insert(L, base + 2);
  if (lua_pcall(L, nargs, nres, base + 1) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", who, lua_tostring(L, -1));
    lua_settop(L, base);
    return false;
  }
  lua_remove(L, base + 1);
  return true;
}

/* tcplab.cli[fn]: the command's own Lua side. */
static bool call_cli(lua_State *L, const char *fn, int nargs, int nres) {
  return tcplab_call(L, "tcplab", "tcplab.cli", fn, nargs, nres);
}

static lua_State *new_state(const struct paths *p) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "tcplab: cannot create a Lua state: out of memory\n");
    return NULL;
  }
  luaL_openlibs(L);
  set_paths(L, p);
  return L;
}

/* ----------------------------------------------------------------- run */

struct run_args {
  const char *script;
  const char *out;
  long long seed;
  const char **sets; /* NAME=VALUE */
  int nsets;
  char **rest; /* after -- */
  int nrest;
};

static int parse_run(int argc, char **argv, struct run_args *a) {
  memset(a, 0, sizeof *a);
  a->seed = 1;
  a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
  if (a->sets == NULL) {
    return usage_error("%s", "out of memory");
  }
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (strcmp(s, "--") == 0) {
      a->rest = argv + i + 1;
      a->nrest = argc - i - 1;
      break;
    }
    if (strcmp(s, "--out") == 0 || strcmp(s, "--seed") == 0 ||
        strcmp(s, "--set") == 0) {
      if (i + 1 >= argc) {
        return usage_error("%s needs a value", s);
      }
      const char *v = argv[++i];
      if (strcmp(s, "--out") == 0) {
        if (*v == '\0') {
          return usage_error("%s", "--out needs a directory");
        }
        a->out = v;
      } else if (strcmp(s, "--seed") == 0) {
        if (!parse_seed(v, &a->seed)) {
          return usage_error("--seed must be an integer in [0, 2^63), not '%s'",
                             v);
        }
      } else {
        const char *eq = strchr(v, '=');
        if (eq == NULL || !valid_name(v, (size_t)(eq - v))) {
          return usage_error("--set takes NAME=VALUE (NAME a word such as "
                             "loss or rtt_ms), not '%s'",
                             v);
        }
        a->sets[a->nsets++] = v;
      }
    } else if (s[0] == '-' && s[1] != '\0') {
      return usage_error("unknown option '%s'", s);
    } else if (a->script == NULL) {
      a->script = s;
    } else {
      return usage_error("one script at a time; '%s' is extra (arguments "
                         "for the script go after --)",
                         s);
    }
  }
  if (a->script == NULL) {
    return usage_error("%s", "run needs a SCRIPT");
  }
  return 0;
}

/* results/<script's base name without .lua> */
static void default_out(const char *script, char *buf, size_t cap) {
  const char *base = strrchr(script, '/');
  base = base ? base + 1 : script;
  size_t len = strlen(base);
  if (len > 4 && strcmp(base + len - 4, ".lua") == 0) {
    len -= 4;
  }
  snprintf(buf, cap, "results/%.*s", (int)len, base);
}

static int cmd_run(int argc, char **argv, const struct paths *p) {
  struct run_args a;
  int rc = parse_run(argc, argv, &a);
  if (rc != 0) {
    free(a.sets);
    return rc;
  }
  char outbuf[PATH_MAX];
  if (a.out == NULL) {
    default_out(a.script, outbuf, sizeof outbuf);
    a.out = outbuf;
  }
  if (!exists(a.script)) {
    fprintf(stderr, "tcplab: cannot open %s: %s\n", a.script, strerror(errno));
    free(a.sets);
    return 1;
  }
  if (make_dirs(a.out) != 0) {
    fprintf(stderr, "tcplab: cannot create %s: %s\n", a.out, strerror(errno));
    free(a.sets);
    return 1;
  }
  lua_State *L = new_state(p);
  if (L == NULL) {
    free(a.sets);
    return 1;
  }
  int status = 1;

  /* cli.prepare{ seed =, out =, sets = { {name, value}, ... } } */
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, a.seed);
  lua_setfield(L, -2, "seed");
  lua_pushstring(L, a.out);
  lua_setfield(L, -2, "out");
  lua_createtable(L, a.nsets, 0);
  for (int i = 0; i < a.nsets; i++) {
    const char *eq = strchr(a.sets[i], '=');
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, a.sets[i], (size_t)(eq - a.sets[i]));
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, eq + 1);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "sets");
  if (!call_cli(L, "prepare", 1, 0)) {
    goto done;
  }

  /* arg, as lua5.4 sets it: arg[0] the script, arg[1..] its arguments. */
  lua_createtable(L, a.nrest, 1);
  lua_pushstring(L, a.script);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < a.nrest; i++) {
    lua_pushstring(L, a.rest[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setglobal(L, "arg");

  lua_pushcfunction(L, tcplab_msgh);
  int h = lua_gettop(L);
  if (luaL_loadfile(L, a.script) != LUA_OK) {
    /* A syntax error: "script.lua:12: ... near ...", no traceback. */
    fprintf(stderr, "tcplab: %s\n", lua_tostring(L, -1));
    goto done;
  }
  for (int i = 0; i < a.nrest; i++) {
    lua_pushstring(L, a.rest[i]);
  }
  if (lua_pcall(L, a.nrest, 1, h) != LUA_OK) {
    fprintf(stderr, "tcplab: %s\n", lua_tostring(L, -1));
    goto done;
  }
  if (lua_istable(L, -1)) {
    lua_pushstring(L, a.out);
    if (!call_cli(L, "metrics", 2, 2)) {
      goto done;
    }
    if (lua_isnil(L, -2)) {
      fprintf(stderr, "tcplab: %s: %s\n", a.script, lua_tostring(L, -1));
      goto done;
    }
  } else if (!lua_isnil(L, -1)) {
    fprintf(stderr,
            "tcplab: %s returned a %s; a script returns nothing or a table "
            "of metrics\n",
            a.script, luaL_typename(L, -1));
    goto done;
  }
  status = 0;
done:
  lua_close(L);
  free(a.sets);
  return status;
}

/* ---------------------------------------------------------------- plot */

static int cmd_plot(int argc, char **argv, const struct paths *p) {
  lua_State *L = new_state(p);
  if (L == NULL) {
    return 1;
  }
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  int status = 1;
  if (call_cli(L, "plot", 1, 1)) {
    status = (int)lua_tointeger(L, -1);
  }
  lua_close(L);
  return status;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  struct paths p;
  find_paths(&p);
  if (argc < 2) {
    fputs(usage_text, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
      strcmp(cmd, "help") == 0) {
    printf("tcplab %s: a TCP laboratory\n\n%s%s", TCPLAB_VERSION, usage_text,
           help_text);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("tcplab %s (%s)\n", TCPLAB_VERSION, LUA_RELEASE);
    return 0;
  }
  if (strcmp(cmd, "--lua-path") == 0) {
    if (!p.found) {
      fprintf(stderr, "tcplab: the tcplab Lua module is not beside this "
                      "command\n");
      return 1;
    }
    /* ";;" keeps lua5.4's default paths after ours. */
    printf("export LUA_PATH='%s/?.lua;%s/?/init.lua;;'\n", p.lua, p.lua);
    printf("export LUA_CPATH='%s/?.so;;'\n", p.c);
    return 0;
  }
  if (strcmp(cmd, "run") == 0) {
    return cmd_run(argc - 2, argv + 2, &p);
  }
  if (strcmp(cmd, "plot") == 0) {
    return cmd_plot(argc - 2, argv + 2, &p);
  }
  if (strcmp(cmd, "sweep") == 0) {
    lua_State *L = new_state(&p);
    if (L == NULL) {
      return 1;
    }
    int status = tcplab_sweep_main(L, argc - 2, argv + 2);
    lua_close(L);
    return status;
  }
  return usage_error("unknown command '%s'", cmd);
}
