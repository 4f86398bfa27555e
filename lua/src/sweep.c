/*
 * tcplab sweep: a grid of parameter values times N runs, each run
 * `tcplab run` in its own process, results in DIR/sweep.db (see
 * sweep-db.c), then DIR/summary.csv, DIR/runs.csv and DIR/plots/.
 *
 *   tcplab sweep SCRIPT --param NAME=V1,V2,... [--param NAME=A:B:STEP]...
 *                [--runs N] [--jobs N] [--out DIR] [--seed N]
 *                [--timeout SECONDS] [--backend local|parallel|slurm]
 *                [--sshloginfile FILE] [--no-retry] [--no-plots] [--quiet]
 *                [--list] [--no-submit] [--task K --of M]
 *   tcplab sweep --merge DIR... [--out DEST]
 *
 * The same command resumes: runs already done (in the database) are
 * skipped, failed and timed-out ones run again unless --no-retry.
 *
 * Backends. local runs the runs itself. parallel hands the same runs to
 * GNU parallel, one job per run (`tcplab sweep ... --exec-task K`, which
 * prints its result as one line); this command reads the lines and
 * records them, so that only this process writes the database, also when
 * parallel spreads the jobs over hosts (--sshloginfile). slurm writes a
 * job-array script whose task K runs `tcplab sweep ... --task K --of M`:
 * every M-th run into a database of its own, DIR/tasks/K/sweep.db, and a
 * job after the array folds them together (`tcplab sweep --merge DIR`).
 * One database per task rather than one shared by all: SQLite's locking
 * is unreliable on the network file systems that cluster nodes share,
 * and its write-ahead log does not work across hosts at all.
 */
#define _GNU_SOURCE

#include "sweep.h"

#include <lauxlib.h>
#include <lualib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TCPLAB_VERSION
#define TCPLAB_VERSION "unknown"
#endif

static const char sweep_usage[] =
    "usage: tcplab sweep SCRIPT --param NAME=V1,V2,... [--param "
    "NAME=START:STOP:STEP]...\n"
    "                    [--runs N] [--jobs N] [--out DIR] [--seed N] "
    "[--timeout SECONDS]\n"
    "                    [--backend local|parallel|slurm] [--sshloginfile "
    "FILE]\n"
    "                    [--no-retry] [--no-plots] [--quiet] [--list] "
    "[--no-submit]\n"
    "                    [--task K --of M]\n"
    "       tcplab sweep --merge DIR... [--out DEST]\n";

enum backend { LOCAL, PARALLEL, SLURM };

struct args {
  const char *script;
  const char **params;
  int nparams;
  int runs;
  int jobs; /* 0: not given */
  const char *out;
  long long seed;
  double timeout;
  const char *timeout_text;
  enum backend backend;
  const char *sshloginfile;
  bool no_retry, no_plots, quiet, list, no_submit, merge;
  int task, of;      /* a slice: runs number % of == task - 1 */
  int exec_task;     /* one run, its result printed (GNU parallel's job) */
  const char **dirs; /* --merge */
  int ndirs;
  char outbuf[PATH_MAX];
};

struct plan {
  char **names;
  int nnames;
  struct sweep_point *points;
  int npoints;
  struct sweep_task *tasks;
  int ntasks;
};

static int usage_error(const char *msg) {
  fprintf(stderr, "tcplab sweep: %s\n%s", msg, sweep_usage);
  return 2;
}

/* ----------------------------------------------------------- arguments */

static bool parse_int(const char *s, long long lo, long long hi,
                      long long *out) {
  if (*s == '\0' || strspn(s, "0123456789") != strlen(s)) {
    return false;
  }
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno != 0 || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

static int parse_args(int argc, char **argv, struct args *a) {
  a->runs = 1;
  a->seed = 1;
  a->params = calloc((size_t)argc + 1, sizeof *a->params);
  a->dirs = calloc((size_t)argc + 1, sizeof *a->dirs);
  if (a->params == NULL || a->dirs == NULL) {
    return usage_error("out of memory");
  }
  char msg[PATH_MAX + 100];
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    long long v;
    if (strcmp(s, "--no-retry") == 0) {
      a->no_retry = true;
    } else if (strcmp(s, "--no-plots") == 0) {
      a->no_plots = true;
    } else if (strcmp(s, "--quiet") == 0) {
      a->quiet = true;
    } else if (strcmp(s, "--list") == 0) {
      a->list = true;
    } else if (strcmp(s, "--no-submit") == 0) {
      a->no_submit = true;
    } else if (strcmp(s, "--merge") == 0) {
      a->merge = true;
    } else if (s[0] == '-' && s[1] == '-') {
      static const char *const valued[] = {
          "--param", "--runs",    "--jobs",      "--out",
          "--seed",  "--timeout", "--backend",   "--sshloginfile",
          "--task",  "--of",      "--exec-task",
      };
      bool known = false;
      for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) {
        known = known || strcmp(s, valued[k]) == 0;
      }
      if (!known) {
        snprintf(msg, sizeof msg, "unknown option '%s'", s);
        return usage_error(msg);
      }
      if (i + 1 >= argc) {
        snprintf(msg, sizeof msg, "%s needs a value", s);
        return usage_error(msg);
      }
      const char *val = argv[++i];
      bool ok = true;
      if (strcmp(s, "--param") == 0) {
        a->params[a->nparams++] = val;
      } else if (strcmp(s, "--runs") == 0) {
        ok = parse_int(val, 1, 1000000, &v);
        a->runs = (int)v;
      } else if (strcmp(s, "--jobs") == 0) {
        ok = parse_int(val, 1, 4096, &v);
        a->jobs = (int)v;
      } else if (strcmp(s, "--out") == 0) {
        ok = *val != '\0';
        a->out = val;
      } else if (strcmp(s, "--seed") == 0) {
        ok = parse_int(val, 0, LLONG_MAX, &a->seed);
      } else if (strcmp(s, "--timeout") == 0) {
        char *end;
        errno = 0;
        a->timeout = strtod(val, &end);
        if (*end == 's' && end[1] == '\0') {
          end++;
        }
        ok = errno == 0 && end != val && *end == '\0' && a->timeout > 0 &&
             a->timeout < 1e7;
        a->timeout_text = val;
      } else if (strcmp(s, "--backend") == 0) {
        if (strcmp(val, "local") == 0) {
          a->backend = LOCAL;
        } else if (strcmp(val, "parallel") == 0) {
          a->backend = PARALLEL;
        } else if (strcmp(val, "slurm") == 0) {
          a->backend = SLURM;
        } else {
          ok = false;
        }
      } else if (strcmp(s, "--sshloginfile") == 0) {
        a->sshloginfile = val;
      } else if (strcmp(s, "--task") == 0) {
        ok = parse_int(val, 1, 1000000, &v);
        a->task = (int)v;
      } else if (strcmp(s, "--of") == 0) {
        ok = parse_int(val, 1, 1000000, &v);
        a->of = (int)v;
      } else if (strcmp(s, "--exec-task") == 0) {
        ok = parse_int(val, 1, INT_MAX, &v);
        a->exec_task = (int)v;
      }
      if (!ok) {
        snprintf(msg, sizeof msg, "bad value '%s' for %s", val, s);
        return usage_error(msg);
      }
    } else if (a->merge) {
      a->dirs[a->ndirs++] = s;
    } else if (a->script == NULL) {
      a->script = s;
    } else {
      snprintf(msg, sizeof msg, "one script at a time; '%s' is extra", s);
      return usage_error(msg);
    }
  }
  if (a->merge) {
    if (a->ndirs == 0) {
      return usage_error("--merge needs at least one sweep directory");
    }
    return 0;
  }
  if (a->script == NULL) {
    return usage_error("sweep needs a SCRIPT");
  }
  if (a->nparams == 0) {
    return usage_error("sweep needs at least one --param NAME=V1,V2,...");
  }
  if ((a->task != 0) != (a->of != 0) || a->task > a->of) {
    return usage_error("--task K and --of M go together, 1 <= K <= M");
  }
  if (a->sshloginfile != NULL && a->backend != PARALLEL) {
    return usage_error("--sshloginfile is for --backend parallel");
  }
  if (a->out == NULL) {
    const char *base = strrchr(a->script, '/');
    base = base ? base + 1 : a->script;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".lua") == 0) {
      len -= 4;
    }
    snprintf(a->outbuf, sizeof a->outbuf, "results/%.*s-sweep", (int)len, base);
    a->out = a->outbuf;
  }
  return 0;
}

static void free_args(struct args *a) {
  free(a->params);
  free(a->dirs);
}

static int cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) {
      return n;
    }
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* ----------------------------------------------------------------- Lua */

/* tcplab.sweep[fn]: the plan, the aggregates and the Slurm script. */
static bool call_sweep(lua_State *L, const char *fn, int nargs, int nres) {
  return tcplab_call(L, "tcplab sweep", "tcplab.sweep", fn, nargs, nres);
}

static char *field_string(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  char *s = sweep_strdup(lua_tostring(L, -1));
  lua_pop(L, 1);
  return s;
}

static lua_Integer field_int(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

static void free_plan(struct plan *p) {
  for (int i = 0; i < p->nnames; i++) {
    free(p->names[i]);
  }
  free(p->names);
  for (int i = 0; i < p->npoints; i++) {
    free(p->points[i].id);
    for (int k = 0; k < p->points[i].nsets; k++) {
      free(p->points[i].sets[k]);
    }
    free(p->points[i].sets);
  }
  free(p->points);
  free(p->tasks);
  memset(p, 0, sizeof *p);
}

/* The grid, from tcplab.sweep.plan. */
static int make_plan(lua_State *L, const struct args *a, struct plan *p) {
  memset(p, 0, sizeof *p);
  lua_createtable(L, 0, 3);
  lua_createtable(L, a->nparams, 0);
  for (int i = 0; i < a->nparams; i++) {
    lua_pushstring(L, a->params[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "params");
  lua_pushinteger(L, a->runs);
  lua_setfield(L, -2, "runs");
  lua_pushinteger(L, a->seed);
  lua_setfield(L, -2, "seed");
  if (!call_sweep(L, "plan", 1, 2)) {
    return 1;
  }
  if (lua_isnil(L, -2)) {
    fprintf(stderr, "tcplab sweep: %s\n%s", lua_tostring(L, -1), sweep_usage);
    lua_pop(L, 2);
    return 2;
  }
  lua_pop(L, 1);
  int t = lua_gettop(L);

  lua_getfield(L, t, "names");
  p->nnames = (int)luaL_len(L, -1);
  p->names = calloc((size_t)p->nnames, sizeof *p->names);
  for (int i = 0; p->names && i < p->nnames; i++) {
    lua_rawgeti(L, -1, i + 1);
    p->names[i] = sweep_strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);

  lua_getfield(L, t, "points");
  p->npoints = (int)luaL_len(L, -1);
  p->points = calloc((size_t)p->npoints, sizeof *p->points);
  for (int i = 0; p->points && i < p->npoints; i++) {
    struct sweep_point *pt = &p->points[i];
    lua_rawgeti(L, -1, i + 1);
    pt->id = field_string(L, -1, "id");
    lua_getfield(L, -1, "sets");
    pt->nsets = (int)luaL_len(L, -1);
    pt->sets = calloc((size_t)pt->nsets, sizeof *pt->sets);
    for (int k = 0; pt->sets && k < pt->nsets; k++) {
      lua_rawgeti(L, -1, k + 1);
      pt->sets[k] = sweep_strdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);

  lua_getfield(L, t, "tasks");
  p->ntasks = (int)luaL_len(L, -1);
  p->tasks = calloc((size_t)p->ntasks, sizeof *p->tasks);
  for (int i = 0; p->tasks && i < p->ntasks; i++) {
    lua_rawgeti(L, -1, i + 1);
    struct sweep_task *task = &p->tasks[i];
    lua_Integer pi = field_int(L, -1, "point");
    task->point = p->points ? &p->points[pi - 1] : NULL;
    task->run = (int)field_int(L, -1, "run");
    task->seed = (int64_t)field_int(L, -1, "seed");
    task->number = i + 1;
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  if (p->names == NULL || p->points == NULL || p->tasks == NULL) {
    fprintf(stderr, "tcplab sweep: out of memory\n");
    free_plan(p);
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------ statuses */

/* Tasks by (point, run): an open-addressing table over the plan. */
struct index {
  struct sweep_task **slots;
  size_t cap;
};

static uint64_t hash_key(const char *point, int run) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)point; *p; p++) {
    h = (h ^ *p) * 1099511628211ULL;
  }
  return (h ^ (uint64_t)run) * 1099511628211ULL;
}

static int index_build(struct index *x, struct plan *p) {
  x->cap = 16;
  while (x->cap < 2 * (size_t)p->ntasks) {
    x->cap *= 2;
  }
  x->slots = calloc(x->cap, sizeof *x->slots);
  if (x->slots == NULL) {
    return -1;
  }
  for (int i = 0; i < p->ntasks; i++) {
    struct sweep_task *t = &p->tasks[i];
    size_t k = hash_key(t->point->id, t->run) & (x->cap - 1);
    while (x->slots[k] != NULL) {
      k = (k + 1) & (x->cap - 1);
    }
    x->slots[k] = t;
  }
  return 0;
}

static struct sweep_task *index_find(const struct index *x, const char *point,
                                     int run) {
  size_t k = hash_key(point, run) & (x->cap - 1);
  while (x->slots[k] != NULL) {
    struct sweep_task *t = x->slots[k];
    if (t->run == run && strcmp(t->point->id, point) == 0) {
      return t;
    }
    k = (k + 1) & (x->cap - 1);
  }
  return NULL;
}

/* A recorded run counts for the task with the same point, run and seed;
 * a done one is never lowered to failed by a second source. */
static int mark_status(void *ctx, const char *point, int run, int64_t seed,
                       enum sweep_status status) {
  struct sweep_task *t = index_find(ctx, point, run);
  if (t != NULL && t->seed == seed && t->status != SWEEP_DONE) {
    t->status = status;
  }
  return 0;
}

static int load_statuses(struct sweep_db *db, struct index *x) {
  return sweep_db_each_status(db, mark_status, x);
}

/* ----------------------------------------------------------- the store */

/* Holds DIR/name locked while the process lives: one coordinator per
 * directory. The lock goes with the process, however it dies. */
static int lock_dir(const char *dir, const char *name) {
  char *path = sweep_printf("%s/%s", dir, name);
  int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666) : -1;
  if (fd < 0) {
    fprintf(stderr, "tcplab sweep: cannot create %s: %s\n", path ? path : dir,
            strerror(errno));
    free(path);
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf(stderr,
            "tcplab sweep: another tcplab sweep is working in %s (%s is "
            "locked)\n",
            dir, path);
    close(fd);
    free(path);
    return -1;
  }
  free(path);
  return fd;
}

static struct sweep_db *open_db(const char *path, enum sweep_db_mode mode) {
  char err[PATH_MAX + 200];
  struct sweep_db *db = sweep_db_open(path, mode, err, sizeof err);
  if (db == NULL) {
    fprintf(stderr, "tcplab sweep: %s\n", err);
  }
  return db;
}

/* The database's sweep must be this one: same seed (else every run's
 * seed differs) and same script. Then records this sweep's definition. */
static int check_meta(struct sweep_db *db, const char *where,
                      const struct args *a, const struct plan *p, bool write) {
  int rc = 0;
  char *seed = sweep_db_meta_get(db, "seed");
  char *name = sweep_db_meta_get(db, "script_name");
  char want[32];
  snprintf(want, sizeof want, "%lld", a->seed);
  if (seed != NULL && strcmp(seed, want) != 0) {
    fprintf(stderr,
            "tcplab sweep: %s holds a sweep with --seed %s, not %s: resume "
            "it with its seed, or give another --out\n",
            where, seed, want);
    rc = 1;
  } else if (name != NULL && strcmp(name, base_name(a->script)) != 0) {
    fprintf(stderr,
            "tcplab sweep: %s holds a sweep of %s, not %s: give another "
            "--out\n",
            where, name, base_name(a->script));
    rc = 1;
  }
  free(seed);
  free(name);
  if (rc != 0 || !write) {
    return rc;
  }
  size_t len = 1;
  for (int i = 0; i < p->nnames; i++) {
    len += strlen(p->names[i]) + 1;
  }
  char *names = calloc(len, 1);
  for (int i = 0; names && i < p->nnames; i++) {
    if (i > 0) {
      strcat(names, ",");
    }
    strcat(names, p->names[i]);
  }
  char runs[32];
  snprintf(runs, sizeof runs, "%d", a->runs);
  if (names == NULL || sweep_db_meta_set(db, "seed", want) != 0 ||
      sweep_db_meta_set(db, "script", a->script) != 0 ||
      sweep_db_meta_set(db, "script_name", base_name(a->script)) != 0 ||
      sweep_db_meta_set(db, "params", names) != 0 ||
      sweep_db_meta_set(db, "runs", runs) != 0 ||
      sweep_db_meta_set(db, "tcplab_version", TCPLAB_VERSION) != 0) {
    fprintf(stderr, "tcplab sweep: cannot write to %s: %s\n", where,
            sweep_db_error(db));
    rc = 1;
  }
  free(names);
  return rc;
}

static int record_db(void *ctx, const struct sweep_result *r) {
  struct sweep_db *db = ctx;
  if (sweep_db_record(db, r) != 0) {
    fprintf(stderr, "\ntcplab sweep: cannot record run %s/%d: %s\n", r->point,
            r->run, sweep_db_error(db));
    return -1;
  }
  return 0;
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Folds the database at path into db. Its sweep must match (seed,
 * script); an empty destination takes its definition. */
static int fold(struct sweep_db *db, const char *dest, const char *path,
                const char *prefix, bool quiet) {
  struct sweep_db *src = open_db(path, SWEEP_DB_READ);
  if (src == NULL) {
    return 1;
  }
  static const char *const keys[] = {"seed", "script_name", "script", "params",
                                     "runs"};
  char *mine[5], *theirs[5];
  for (int i = 0; i < 5; i++) {
    mine[i] = sweep_db_meta_get(db, keys[i]);
    theirs[i] = sweep_db_meta_get(src, keys[i]);
  }
  sweep_db_close(src);
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++) {
    if (mine[i] && theirs[i] && strcmp(mine[i], theirs[i]) != 0) {
      fprintf(stderr,
              "tcplab sweep: cannot merge %s into %s: its %s is %s, not %s\n",
              path, dest, keys[i], theirs[i], mine[i]);
      rc = 1;
    }
  }
  for (int i = 0; i < 5 && rc == 0; i++) {
    if (mine[i] == NULL && theirs[i] != NULL) {
      sweep_db_meta_set(db, keys[i], theirs[i]);
    }
  }
  /* Parameters of the source that the destination lacks are appended. */
  if (rc == 0 && mine[3] != NULL && theirs[3] != NULL) {
    char *list = sweep_printf("%s", mine[3]);
    char *copy = sweep_strdup(theirs[3]);
    char *save = NULL;
    for (char *n = copy ? strtok_r(copy, ",", &save) : NULL;
         n != NULL && list != NULL; n = strtok_r(NULL, ",", &save)) {
      char *probe = sweep_printf(",%s,", list);
      char *needle = sweep_printf(",%s,", n);
      if (probe && needle && strstr(probe, needle) == NULL) {
        char *longer = sweep_printf("%s,%s", list, n);
        free(list);
        list = longer;
      }
      free(probe);
      free(needle);
    }
    if (list != NULL) {
      sweep_db_meta_set(db, "params", list);
    }
    free(list);
    free(copy);
  }
  for (int i = 0; i < 5; i++) {
    free(mine[i]);
    free(theirs[i]);
  }
  if (rc != 0) {
    return rc;
  }
  int added = 0;
  if (sweep_db_merge(db, path, prefix, &added) != 0) {
    fprintf(stderr, "tcplab sweep: cannot merge %s into %s: %s\n", path, dest,
            sweep_db_error(db));
    return 1;
  }
  if (!quiet) {
    fprintf(stderr, "sweep: %s: %d run%s taken\n", path, added,
            added == 1 ? "" : "s");
  }
  return 0;
}

/* Folds DIR/tasks/K/sweep.db, what the tasks of a cluster sweep wrote,
 * into dest's database (prefix as for fold). */
static int fold_tasks(struct sweep_db *db, const char *dest, const char *dir,
                      const char *prefix, bool quiet) {
  char *tasks = sweep_printf("%s/tasks", dir);
  DIR *d = tasks ? opendir(tasks) : NULL;
  if (d == NULL) {
    free(tasks);
    return 0;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      char **more = realloc(names, cap * sizeof *more);
      if (more == NULL) {
        break;
      }
      names = more;
    }
    names[n++] = sweep_strdup(e->d_name);
  }
  closedir(d);
  if (names != NULL) {
    qsort(names, n, sizeof *names, name_cmp);
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char *path = sweep_printf("%s/%s/sweep.db", tasks, names[i]);
    if (rc == 0 && path && is_file(path)) {
      rc = fold(db, dest, path, prefix, quiet);
    }
    free(path);
    free(names[i]);
  }
  free(names);
  free(tasks);
  return rc;
}

/* Writes DIR/summary.csv, runs.csv and plots from the database. */
static int aggregate(lua_State *L, struct sweep_db *db, const char *dir,
                     bool plots, bool quiet) {
  char *names = sweep_db_meta_get(db, "params");
  lua_createtable(L, 0, 4);
  lua_pushstring(L, dir);
  lua_setfield(L, -2, "dir");
  lua_newtable(L);
  int k = 0;
  char *save = NULL;
  for (char *n = names ? strtok_r(names, ",", &save) : NULL; n != NULL;
       n = strtok_r(NULL, ",", &save)) {
    lua_pushstring(L, n);
    lua_rawseti(L, -2, ++k);
  }
  free(names);
  lua_setfield(L, -2, "names");
  lua_pushboolean(L, plots);
  lua_setfield(L, -2, "plots");
  if (sweep_db_push_rows(db, L) != 0) {
    fprintf(stderr, "tcplab sweep: cannot read %s/sweep.db: %s\n", dir,
            sweep_db_error(db));
    lua_pop(L, 1);
    return 1;
  }
  lua_setfield(L, -2, "rows");
  if (!call_sweep(L, "aggregate", 1, 2)) {
    return 1;
  }
  int nfiles = (int)luaL_len(L, -2);
  int nwarn = (int)luaL_len(L, -1);
  for (int i = 1; i <= nwarn; i++) {
    lua_rawgeti(L, -1, i);
    fprintf(stderr, "tcplab sweep: warning: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (!quiet) {
    int npng = 0;
    for (int i = 1; i <= nfiles; i++) {
      lua_rawgeti(L, -2, i);
      const char *f = lua_tostring(L, -1);
      size_t len = f ? strlen(f) : 0;
      if (len > 4 && strcmp(f + len - 4, ".png") == 0) {
        npng++;
      }
      lua_pop(L, 1);
    }
    fprintf(stderr, "sweep: wrote %s/summary.csv, %s/runs.csv", dir, dir);
    if (npng > 0) {
      fprintf(stderr, " and %d plot%s in %s/plots", npng, npng == 1 ? "" : "s",
              dir);
    }
    fputc('\n', stderr);
  }
  lua_pop(L, 2);
  return 0;
}

/* ------------------------------------------------------------- results
 * A GNU parallel job prints its run's result as one line, fields
 * separated by tabs, with \\, \t, \n and \r escaped:
 *   @tcplab-sweep-result NUMBER POINT RUN SEED STATUS STARTED ENDED
 *   EXIT_CODE HOST DIR ERROR NMETRICS (NAME VALUE)...
 */

static const char result_tag[] = "@tcplab-sweep-result";

static void put_escaped(FILE *f, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '\\': fputs("\\\\", f); break;
    case '\t': fputs("\\t", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    default: fputc(*s, f);
    }
  }
}

struct exec_ctx {
  int number;
};

static int print_result(void *ctx, const struct sweep_result *r) {
  const struct exec_ctx *x = ctx;
  FILE *f = stdout;
  fprintf(f, "%s\t%d\t", result_tag, x->number);
  put_escaped(f, r->point);
  fprintf(f, "\t%d\t%lld\t%s\t%.6f\t%.6f\t", r->run, (long long)r->seed,
          sweep_status_name(r->status), r->started, r->ended);
  if (r->has_exit) {
    fprintf(f, "%d", r->exit_code);
  }
  fputc('\t', f);
  put_escaped(f, r->host);
  fputc('\t', f);
  put_escaped(f, r->dir);
  fputc('\t', f);
  put_escaped(f, r->error);
  fprintf(f, "\t%d", r->nmetrics);
  for (int i = 0; i < r->nmetrics; i++) {
    fputc('\t', f);
    put_escaped(f, r->metric_names[i]);
    fputc('\t', f);
    put_escaped(f, r->metric_values[i]);
  }
  fputc('\n', f);
  return fflush(f) == 0 ? 0 : -1;
}

/* Splits a result line in place into fields, unescaping them. */
static int split_fields(char *line, char **fields, int max) {
  int n = 0;
  char *w = line;
  fields[n++] = w;
  for (char *r = line; *r; r++) {
    if (*r == '\t') {
      *w++ = '\0';
      if (n == max) {
        return -1;
      }
      fields[n++] = w;
    } else if (*r == '\\' && r[1] != '\0') {
      r++;
      *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
  return n;
}

struct collect {
  struct plan *plan;
  struct sweep_db *db;
  struct sweep_progress *progress;
  int recorded;
  bool failed;
};

static void take_result(struct collect *c, char *line) {
  size_t tag = sizeof result_tag - 1;
  if (strncmp(line, result_tag, tag) != 0 || line[tag] != '\t') {
    if (*line != '\0') {
      fprintf(stderr, "%s\n", line); /* a job's own output: pass it on */
    }
    return;
  }
  enum { MAX_FIELDS = 12 + 2 * 4096 };
  char **f = malloc(MAX_FIELDS * sizeof *f);
  int n = f ? split_fields(line + tag + 1, f, MAX_FIELDS) : -1;
  long long number = n >= 11 ? atoll(f[0]) : 0;
  struct sweep_task *t = number >= 1 && number <= c->plan->ntasks
                             ? &c->plan->tasks[number - 1]
                             : NULL;
  int nm = n >= 12 ? atoi(f[11]) : -1;
  if (t == NULL || nm < 0 || n != 12 + 2 * nm ||
      strcmp(f[1], t->point->id) != 0 || atoi(f[2]) != t->run) {
    fprintf(stderr, "tcplab sweep: a malformed result from a job: %.200s\n",
            line);
    free(f);
    return;
  }
  struct sweep_result r;
  memset(&r, 0, sizeof r);
  r.point = t->point->id;
  r.run = t->run;
  r.seed = t->seed;
  r.status = sweep_status_parse(f[4]);
  r.started = atof(f[5]);
  r.ended = atof(f[6]);
  r.has_exit = f[7][0] != '\0';
  r.exit_code = atoi(f[7]);
  r.host = f[8];
  r.dir = f[9];
  r.error = f[10][0] ? f[10] : NULL;
  r.sets = (const char **)t->point->sets;
  r.nsets = t->point->nsets;
  r.nmetrics = nm;
  char **names = calloc((size_t)nm + 1, sizeof *names);
  char **values = calloc((size_t)nm + 1, sizeof *values);
  for (int i = 0; names && values && i < nm; i++) {
    names[i] = f[12 + 2 * i];
    values[i] = f[13 + 2 * i];
  }
  r.metric_names = names;
  r.metric_values = values;
  if (r.status == SWEEP_PENDING || names == NULL || values == NULL) {
    fprintf(stderr, "tcplab sweep: a malformed result from a job\n");
  } else if (record_db(c->db, &r) != 0) {
    c->failed = true;
  } else {
    t->status = r.status;
    c->recorded++;
    sweep_progress_update(c->progress, &r);
  }
  free(names);
  free(values);
  free(f);
}

/* ------------------------------------------------------------ backends */

/* The arguments that make another `tcplab sweep` the same sweep: for a
 * GNU parallel job or a Slurm task. Paths absolute: those run elsewhere. */
static const char **worker_argv(const struct args *a, const char *exe,
                                const char *script, const char *out, int extra,
                                int *argc) {
  const char **v = calloc((size_t)(16 + 2 * a->nparams + extra), sizeof *v);
  static char runs[32], seed[32];
  snprintf(runs, sizeof runs, "%d", a->runs);
  snprintf(seed, sizeof seed, "%lld", a->seed);
  int n = 0;
  if (v == NULL) {
    return NULL;
  }
  v[n++] = exe;
  v[n++] = "sweep";
  v[n++] = script;
  for (int i = 0; i < a->nparams; i++) {
    v[n++] = "--param";
    v[n++] = a->params[i];
  }
  v[n++] = "--runs";
  v[n++] = runs;
  v[n++] = "--seed";
  v[n++] = seed;
  v[n++] = "--out";
  v[n++] = out;
  if (a->timeout_text != NULL) {
    v[n++] = "--timeout";
    v[n++] = a->timeout_text;
  }
  if (a->no_retry) {
    v[n++] = "--no-retry";
  }
  *argc = n;
  return v;
}

static bool in_path(const char *prog) {
  const char *path = getenv("PATH");
  char *copy = sweep_strdup(path ? path : "/usr/bin:/bin");
  char *save = NULL;
  bool found = false;
  for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char *p = sweep_printf("%s/%s", d, prog);
    found = p && access(p, X_OK) == 0;
    free(p);
  }
  free(copy);
  return found;
}

/* GNU parallel runs the pending tasks, one job each; their results come
 * back on parallel's standard output. Returns 0, a signal number, or -1. */
static int run_parallel(const struct args *a, struct plan *p,
                        struct sweep_task **todo, size_t n, const char *exe,
                        const char *script, const char *out,
                        struct sweep_db *db, struct sweep_progress *progress) {
  if (!in_path("parallel")) {
    fprintf(stderr, "tcplab sweep: GNU parallel is not installed "
                    "(Debian: apt-get install parallel)\n");
    return -1;
  }
  char *list = sweep_printf("%s/parallel-tasks.txt", out);
  FILE *lf = list ? fopen(list, "w") : NULL;
  if (lf == NULL) {
    fprintf(stderr, "tcplab sweep: cannot write %s\n", list ? list : out);
    free(list);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    fprintf(lf, "%d\n", todo[i]->number);
  }
  fclose(lf);

  int wargc;
  const char **w = worker_argv(a, exe, script, out, 2, &wargc);
  char jobs[32];
  snprintf(jobs, sizeof jobs, "%d", a->jobs > 0 ? a->jobs : cpu_count());
  const char **argv = calloc((size_t)wargc + 16, sizeof *argv);
  if (w == NULL || argv == NULL) {
    free(w);
    free(argv);
    free(list);
    return -1;
  }
  int k = 0;
  argv[k++] = "parallel";
  argv[k++] = "--will-cite";
  /* -q quotes the command's words for the shell (local or over ssh), so
   * that parameter values reach tcplab as they are. */
  argv[k++] = "-q";
  argv[k++] = "--jobs";
  argv[k++] = jobs;
  if (a->sshloginfile != NULL) {
    argv[k++] = "--sshloginfile";
    argv[k++] = a->sshloginfile;
  }
  argv[k++] = "--arg-file";
  argv[k++] = list;
  for (int i = 0; i < wargc; i++) {
    argv[k++] = w[i];
  }
  argv[k++] = "--exec-task";
  argv[k++] = "{}";
  argv[k] = NULL;

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    free(w);
    free(argv);
    free(list);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* Its own process group: Ctrl-C reaches this command, which then
     * stops parallel and its jobs together. It dies with this command
     * (kill -9), and its jobs with it (cmd_exec_task). */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0) {
      _exit(126);
    }
    execvp("parallel", (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  free(w);
  free(argv);
  free(list);
  if (pid < 0) {
    close(pipefd[0]);
    return -1;
  }
  setpgid(pid, pid);

  struct collect c = {.plan = p, .db = db, .progress = progress};
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int result = 0;
  bool eof = false;
  while (!eof) {
    if (sweep_signals_caught() != 0) {
      result = sweep_signals_caught();
      break;
    }
    struct pollfd pfd[2] = {{.fd = pipefd[0], .events = POLLIN},
                            {.fd = sweep_signals_fd(), .events = POLLIN}};
    poll(pfd, 2, 1000);
    sweep_signals_drain();
    if (pfd[0].revents != 0) {
      if (cap - len < 65536) {
        cap = cap ? 2 * cap : 131072;
        char *more = realloc(buf, cap);
        if (more == NULL) {
          result = -1;
          break;
        }
        buf = more;
      }
      ssize_t got = read(pipefd[0], buf + len, cap - len - 1);
      if (got <= 0) {
        eof = got == 0 || errno != EINTR;
      } else {
        len += (size_t)got;
      }
      char *start = buf;
      char *nl;
      while (buf != NULL &&
             (nl = memchr(start, '\n', len - (size_t)(start - buf))) != NULL) {
        *nl = '\0';
        take_result(&c, start);
        start = nl + 1;
      }
      if (buf != NULL) {
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
      }
      if (c.failed) {
        result = -1;
        break;
      }
    }
    sweep_progress_tick(progress);
  }
  free(buf);
  close(pipefd[0]);
  if (result != 0) {
    /* parallel and the jobs on this host; a job's runs die with it. */
    kill(-pid, SIGTERM);
    kill(-pid, SIGTERM);
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (result == 0 && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) &&
      c.recorded < (int)n) {
    fprintf(stderr, "tcplab sweep: parallel ended with status %d\n",
            WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
  }
  if (result == 0 && c.recorded < (int)n) {
    fprintf(stderr, "tcplab sweep: %d of %zu runs gave no result\n",
            (int)n - c.recorded, n);
  }
  return result;
}

/* Runs `cmd` and returns the first line it prints, or NULL. */
static char *run_capture(const char *const *argv) {
  int fd[2];
  if (pipe2(fd, O_CLOEXEC) != 0) {
    return NULL;
  }
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGCHLD, SIG_DFL);
    if (dup2(fd[1], 1) < 0) {
      _exit(126);
    }
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(fd[1]);
  char buf[512];
  size_t len = 0;
  ssize_t got;
  while (pid > 0 && len < sizeof buf - 1 &&
         (got = read(fd[0], buf + len, sizeof buf - 1 - len)) != 0) {
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    len += (size_t)got;
  }
  close(fd[0]);
  int ws = 0;
  while (pid > 0 && waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  buf[len] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (pid <= 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0 || buf[0] == '\0') {
    return NULL;
  }
  return sweep_strdup(buf);
}

/* Writes DIR/sweep.sbatch and submits it with a merge job after it. */
static int slurm(lua_State *L, const struct args *a, int pending,
                 const char *exe, const char *script, const char *out) {
  int tasks = a->jobs > 0 ? a->jobs : (pending < 100 ? pending : 100);
  int wargc;
  const char **w = worker_argv(a, exe, script, out, 0, &wargc);
  char *logs = sweep_printf("%s/slurm", out);
  char *path = sweep_printf("%s/sweep.sbatch", out);
  if (w == NULL || logs == NULL || path == NULL || sweep_mkdirs(logs) != 0) {
    fprintf(stderr, "tcplab sweep: cannot create %s\n", logs ? logs : out);
    free(w);
    free(logs);
    free(path);
    return 1;
  }
  const char *merge[] = {exe, "sweep", "--merge", out};
  lua_createtable(L, 0, 6);
  lua_createtable(L, wargc, 0);
  for (int i = 0; i < wargc; i++) {
    lua_pushstring(L, w[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "command");
  lua_createtable(L, 4, 0);
  for (int i = 0; i < 4; i++) {
    lua_pushstring(L, merge[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "merge");
  lua_pushstring(L, out);
  lua_setfield(L, -2, "dir");
  lua_pushinteger(L, tasks);
  lua_setfield(L, -2, "tasks");
  lua_pushinteger(L, pending);
  lua_setfield(L, -2, "runs");
  lua_pushstring(L, base_name(script));
  lua_setfield(L, -2, "name");
  free(w);
  int rc = 1;
  if (!call_sweep(L, "sbatch", 1, 1)) {
    goto done;
  }
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(lua_tostring(L, -1), f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "tcplab sweep: cannot write %s: %s\n", path,
            strerror(errno));
    lua_pop(L, 1);
    goto done;
  }
  lua_pop(L, 1);
  chmod(path, 0755);
  if (a->no_submit || !in_path("sbatch")) {
    fprintf(stderr,
            "sweep: wrote %s (%d runs in %d array tasks)%s; submit it with\n"
            "  id=$(sbatch --parsable %s) && sbatch --dependency=afterany:$id "
            "--wrap='%s sweep --merge %s'\n",
            path, pending, tasks, a->no_submit ? "" : "; sbatch is not here",
            path, exe, out);
    rc = 0;
    goto done;
  }
  const char *submit[] = {"sbatch", "--parsable", path, NULL};
  char *id = run_capture(submit);
  if (id == NULL) {
    fprintf(stderr, "tcplab sweep: sbatch %s failed\n", path);
    goto done;
  }
  id[strcspn(id, ";")] = '\0'; /* "123;cluster" on a federation */
  char *dep = sweep_printf("--dependency=afterany:%s", id);
  char *logopt = sweep_printf("--output=%s/merge-%%j.out", logs);
  char *wrap = sweep_printf("--wrap='%s' sweep --merge '%s'", exe, out);
  char *name = sweep_printf("--job-name=tcplab-merge-%s", base_name(script));
  const char *after[] = {"sbatch", "--parsable", dep, logopt, name, wrap, NULL};
  char *mid = dep && logopt && wrap && name ? run_capture(after) : NULL;
  if (mid == NULL) {
    fprintf(stderr, "tcplab sweep: submitting the merge job failed\n");
  } else {
    fprintf(stderr,
            "sweep: submitted job array %s (%d tasks, %d runs) and merge job "
            "%s; results in %s when they end\n",
            id, tasks, pending, mid, out);
    rc = 0;
  }
  free(dep);
  free(logopt);
  free(wrap);
  free(name);
  free(mid);
  free(id);
done:
  free(logs);
  free(path);
  return rc;
}

/* ------------------------------------------------------------ commands */

static int cmd_merge(lua_State *L, const struct args *a) {
  const char *dest = a->out != NULL ? a->out : a->dirs[0];
  if (sweep_mkdirs(dest) != 0) {
    fprintf(stderr, "tcplab sweep: cannot create %s: %s\n", dest,
            strerror(errno));
    return 1;
  }
  int lock = lock_dir(dest, "sweep.lock");
  if (lock < 0) {
    return 1;
  }
  char *dbpath = sweep_printf("%s/sweep.db", dest);
  struct sweep_db *db = dbpath ? open_db(dbpath, SWEEP_DB_MAIN) : NULL;
  char real_dest[PATH_MAX];
  int rc = db == NULL || realpath(dest, real_dest) == NULL;
  for (int i = 0; rc == 0 && i < a->ndirs; i++) {
    char real[PATH_MAX];
    char *src = sweep_printf("%s/sweep.db", a->dirs[i]);
    char *tasks = sweep_printf("%s/tasks", a->dirs[i]);
    struct stat st;
    if (realpath(a->dirs[i], real) == NULL || src == NULL || tasks == NULL ||
        (!is_file(src) && stat(tasks, &st) != 0)) {
      fprintf(stderr, "tcplab sweep: %s is no sweep directory (no sweep.db)\n",
              a->dirs[i]);
      rc = 1;
    } else if (strcmp(real, real_dest) != 0) {
      /* Runs of another directory keep their files there. */
      char *prefix = sweep_printf("%s/", real);
      rc = prefix == NULL;
      if (rc == 0 && is_file(src)) {
        rc = fold(db, dest, src, prefix, a->quiet);
      }
      if (rc == 0) {
        rc = fold_tasks(db, dest, a->dirs[i], prefix, a->quiet);
      }
      free(prefix);
    }
    free(src);
    free(tasks);
  }
  if (rc == 0) {
    rc = fold_tasks(db, dest, dest, NULL, a->quiet);
  }
  if (rc == 0) {
    rc = aggregate(L, db, dest, !a->no_plots, a->quiet);
  }
  sweep_db_close(db);
  free(dbpath);
  close(lock);
  return rc;
}

/* One run of the sweep for GNU parallel: its result on stdout. */
static int cmd_exec_task(const struct args *a, struct plan *p,
                         const char *exe) {
  if (a->exec_task > p->ntasks) {
    fprintf(stderr, "tcplab sweep: --exec-task %d: the sweep has %d runs\n",
            a->exec_task, p->ntasks);
    return 2;
  }
  /* A job of GNU parallel ends when parallel does, whatever killed it:
   * no run goes on unseen after its sweep was stopped. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) {
    return 1;
  }
  struct sweep_task *t = &p->tasks[a->exec_task - 1];
  struct exec_ctx x = {.number = t->number};
  struct sweep_exec e = {.exe = exe,
                         .script = a->script,
                         .dir = a->out,
                         .timeout = a->timeout,
                         .jobs = 1,
                         .record = print_result,
                         .ctx = &x};
  int rc = sweep_exec_run(&e, &t, 1);
  return rc == 0 ? 0 : rc > 0 ? 128 + rc : 1;
}

static void print_list(const struct plan *p) {
  for (int i = 0; i < p->ntasks; i++) {
    const struct sweep_task *t = &p->tasks[i];
    printf("%s\t%d\t%lld\t%s\n", t->point->id, t->run, (long long)t->seed,
           sweep_status_name(t->status));
  }
}

static int cmd_sweep(lua_State *L, struct args *a) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "tcplab sweep: cannot find the tcplab command itself\n");
    return 1;
  }
  exe[n] = '\0';
  /* From the start: a Ctrl-C while the database opens is not lost. */
  if (sweep_signals_install() != 0) {
    fprintf(stderr, "tcplab sweep: cannot set up signals: %s\n",
            strerror(errno));
    return 1;
  }
  if (access(a->script, R_OK) != 0) {
    fprintf(stderr, "tcplab sweep: cannot open %s: %s\n", a->script,
            strerror(errno));
    return 1;
  }
  struct plan p;
  int rc = make_plan(L, a, &p);
  if (rc != 0) {
    return rc;
  }
  if (a->exec_task > 0) {
    rc = cmd_exec_task(a, &p, exe);
    free_plan(&p);
    return rc;
  }

  int lock = -1;
  struct sweep_db *db = NULL, *peek = NULL;
  char *dbpath = NULL, *taskdir = NULL, *mainpath = NULL;
  struct sweep_task **todo = NULL;
  struct sweep_progress *progress = NULL;
  struct index x = {0};
  char script_abs[PATH_MAX], out_abs[PATH_MAX];
  rc = 1;
  if (index_build(&x, &p) != 0) {
    goto done;
  }
  mainpath = sweep_printf("%s/sweep.db", a->out);
  if (mainpath == NULL) {
    goto done;
  }
  if (a->list) {
    /* Only looks: creates nothing. */
    if (is_file(mainpath)) {
      db = open_db(mainpath, SWEEP_DB_READ);
      if (db == NULL || check_meta(db, a->out, a, &p, false) != 0 ||
          load_statuses(db, &x) != 0) {
        goto done;
      }
    }
    print_list(&p);
    rc = 0;
    goto done;
  }
  if (sweep_mkdirs(a->out) != 0) {
    fprintf(stderr, "tcplab sweep: cannot create %s: %s\n", a->out,
            strerror(errno));
    goto done;
  }
  if (realpath(a->script, script_abs) == NULL ||
      realpath(a->out, out_abs) == NULL) {
    fprintf(stderr, "tcplab sweep: %s: %s\n", a->script, strerror(errno));
    goto done;
  }

  if (a->task > 0) {
    /* A slice, on a cluster node: its own database, and what the main one
     * had when the job was submitted, read without locks. */
    taskdir = sweep_printf("%s/tasks/%d", a->out, a->task);
    dbpath = taskdir ? sweep_printf("%s/sweep.db", taskdir) : NULL;
    if (dbpath == NULL || sweep_mkdirs(taskdir) != 0) {
      fprintf(stderr, "tcplab sweep: cannot create %s/tasks\n", a->out);
      goto done;
    }
    lock = lock_dir(taskdir, "lock");
    if (lock < 0) {
      goto done;
    }
    db = open_db(dbpath, SWEEP_DB_TASK);
    if (is_file(mainpath)) {
      peek = open_db(mainpath, SWEEP_DB_PEEK);
      if (peek == NULL || check_meta(peek, a->out, a, &p, false) != 0 ||
          load_statuses(peek, &x) != 0) {
        goto done;
      }
    }
  } else {
    lock = lock_dir(a->out, "sweep.lock");
    if (lock < 0) {
      goto done;
    }
    db = open_db(mainpath, SWEEP_DB_MAIN);
  }
  if (db == NULL || check_meta(db, a->out, a, &p, true) != 0) {
    goto done;
  }
  if (a->task == 0 && fold_tasks(db, a->out, a->out, NULL, true) != 0) {
    goto done;
  }
  if (load_statuses(db, &x) != 0) {
    fprintf(stderr, "tcplab sweep: cannot read %s: %s\n", mainpath,
            sweep_db_error(db));
    goto done;
  }

  /* What is left to do, in plan order. */
  todo = calloc((size_t)p.ntasks + 1, sizeof *todo);
  if (todo == NULL) {
    goto done;
  }
  int ntodo = 0, total = 0, already = 0;
  for (int i = 0; i < p.ntasks; i++) {
    struct sweep_task *t = &p.tasks[i];
    if (a->task > 0 && (t->number - 1) % a->of != a->task - 1) {
      continue;
    }
    total++;
    if (t->status == SWEEP_DONE) {
      already++;
    } else if (t->status == SWEEP_PENDING || !a->no_retry) {
      todo[ntodo++] = t;
    }
  }
  int jobs = a->jobs > 0 ? a->jobs : cpu_count();
  if (!a->quiet) {
    fprintf(stderr,
            "sweep: %s: %d point%s x %d run%s = %d runs%s; %d done before, "
            "%d to run",
            a->script, p.npoints, p.npoints == 1 ? "" : "s", a->runs,
            a->runs == 1 ? "" : "s", p.ntasks,
            a->task > 0 ? " (this task's share below)" : "", already, ntodo);
    if (ntodo > 0 && a->backend != SLURM) {
      fprintf(stderr, " on %d job%s", jobs, jobs == 1 ? "" : "s");
    }
    fputc('\n', stderr);
  }

  if (a->backend == SLURM && a->task == 0) {
    if (ntodo == 0) {
      rc = aggregate(L, db, a->out, !a->no_plots, a->quiet);
      goto done;
    }
    /* Everything recorded so far into the file itself: the tasks read it
     * without the log (see SWEEP_DB_PEEK). */
    sweep_db_close(db);
    db = NULL;
    rc = slurm(L, a, ntodo, exe, script_abs, out_abs);
    goto done;
  }

  progress = sweep_progress_new(total, already, a->quiet);
  int result;
  if (a->backend == PARALLEL && a->task == 0) {
    result = ntodo > 0 ? run_parallel(a, &p, todo, (size_t)ntodo, exe,
                                      script_abs, out_abs, db, progress)
                       : 0;
  } else {
    struct sweep_exec e = {.exe = exe,
                           .script = a->script,
                           .dir = a->out,
                           .timeout = a->timeout,
                           .jobs = jobs,
                           .progress = progress,
                           .record = record_db,
                           .ctx = db};
    result = sweep_exec_run(&e, todo, (size_t)ntodo);
  }
  sweep_progress_end(progress);
  if (result > 0) {
    fprintf(stderr,
            "sweep: interrupted (%s) with %d of %d runs done; the same "
            "command resumes\n",
            strsignal(result), sweep_progress_done(progress), total);
    rc = 128 + result;
    goto done;
  }
  if (result < 0) {
    goto done;
  }
  int failed = 0;
  for (int i = 0; i < ntodo; i++) {
    failed +=
        todo[i]->status == SWEEP_FAILED || todo[i]->status == SWEEP_TIMEOUT;
  }
  int missing = 0;
  for (int i = 0; i < ntodo; i++) {
    missing += todo[i]->status == SWEEP_PENDING;
  }
  rc = 0;
  if (a->task == 0) {
    rc = aggregate(L, db, a->out, !a->no_plots, a->quiet);
  }
  if (!a->quiet) {
    fprintf(stderr, "sweep: %d of %d runs done", sweep_progress_done(progress),
            total);
    if (failed > 0) {
      fprintf(stderr,
              ", %d failed or timed out (their errors: runs.csv, or "
              "the runs table of sweep.db)",
              failed);
    }
    fputc('\n', stderr);
  }
  if (rc == 0 && (failed > 0 || missing > 0)) {
    rc = 1;
  }
done:
  sweep_progress_free(progress);
  sweep_db_close(db);
  sweep_db_close(peek);
  if (lock >= 0) {
    close(lock);
  }
  free(todo);
  free(x.slots);
  free(dbpath);
  free(taskdir);
  free(mainpath);
  free_plan(&p);
  return rc;
}

int tcplab_sweep_main(lua_State *L, int argc, char **argv) {
  if (argc >= 1 &&
      (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
    fputs(sweep_usage, stdout);
    return 0;
  }
  struct args a;
  memset(&a, 0, sizeof a);
  int rc = parse_args(argc, argv, &a);
  if (rc == 0) {
    rc = a.merge ? cmd_merge(L, &a) : cmd_sweep(L, &a);
  }
  free_args(&a);
  return rc;
}
