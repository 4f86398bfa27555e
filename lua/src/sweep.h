/*
 * tcplab sweep: parameter sweeps over `tcplab run`, one process per run,
 * results kept in SQLite.
 *
 *   sweep.c       the command: arguments, the plan (from tcplab.sweep in
 *                 Lua), backends (local, GNU parallel, Slurm), merging
 *   sweep-exec.c  running runs: processes, timeouts, signals, progress
 *   sweep-db.c    the SQLite store (DIR/sweep.db)
 *
 * A run is identified by its point (the parameter values, e.g.
 * "delay=20ms,loss=0.1") and its index 1..N; its seed is derived from the
 * sweep's seed, the point and the index (tcplab.sweep.seed).
 */
#ifndef TCPLAB_SWEEP_H
#define TCPLAB_SWEEP_H

#include <lua.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tcplab command's `sweep`: argv are the arguments after "sweep";
 * L has the module's paths set. Returns the exit status. */
int tcplab_sweep_main(lua_State *L, int argc, char **argv);

/* Calls require(module)[fn] with the nargs values on top of the stack,
 * under the command's message handler (a traceback); leaves nres results.
 * On an error, prints it after "who: " and returns false with the
 * arguments popped. Defined in tcplab-cmd.c. */
bool tcplab_call(lua_State *L, const char *who, const char *module,
                 const char *fn, int nargs, int nres);

/* ------------------------------------------------------------ runs */

enum sweep_status {
  SWEEP_PENDING = 0, /* never recorded: not a database value */
  SWEEP_DONE,
  SWEEP_FAILED,
  SWEEP_TIMEOUT,
};

const char *sweep_status_name(enum sweep_status s);
enum sweep_status sweep_status_parse(const char *s);

struct sweep_point {
  char *id;    /* "delay=20ms,loss=0.1", also the directory name */
  char **sets; /* "NAME=VALUE" for --set, in --param order */
  int nsets;
};

struct sweep_task {
  const struct sweep_point *point;
  int run;      /* 1..N */
  int64_t seed; /* in [0, 2^63) */
  enum sweep_status status;
  int number; /* 1-based place in the plan's task list */
};

/* One finished run, as recorded. */
struct sweep_result {
  const char *point;
  int run;
  int64_t seed;
  enum sweep_status status;
  double started, ended; /* Unix time, seconds */
  int exit_code;         /* exit status, or -N for signal N */
  bool has_exit;         /* false when the run never started */
  const char *error;     /* NULL or the stderr tail and what happened */
  const char *host;
  const char *dir; /* run directory, relative to the sweep's */
  const char **sets;
  int nsets;
  char **metric_names;
  char **metric_values;
  int nmetrics;
};

/* ------------------------------------------------------- the store */

struct sweep_db;

enum sweep_db_mode {
  SWEEP_DB_MAIN, /* DIR/sweep.db: WAL, one writer at a time per host */
  SWEEP_DB_TASK, /* DIR/tasks/K/sweep.db: rollback journal, one writer */
  SWEEP_DB_READ, /* read-only, through the log if there is one */
  SWEEP_DB_PEEK, /* read-only, no locks: a file no one writes now */
};

/* NULL and a message in err (capacity errcap) on failure. */
struct sweep_db *sweep_db_open(const char *path, enum sweep_db_mode mode,
                               char *err, size_t errcap);
void sweep_db_close(struct sweep_db *db);
const char *sweep_db_error(struct sweep_db *db);

/* meta: key -> value (both text). get returns a malloc'd copy or NULL. */
char *sweep_db_meta_get(struct sweep_db *db, const char *key);
int sweep_db_meta_set(struct sweep_db *db, const char *key, const char *value);

/* Calls fn for every recorded run; stops when fn returns nonzero. */
int sweep_db_each_status(struct sweep_db *db,
                         int (*fn)(void *ctx, const char *point, int run,
                                   int64_t seed, enum sweep_status status),
                         void *ctx);

/* One transaction: the run with its parameters and metrics, replacing an
 * earlier record of the same point and run. */
int sweep_db_record(struct sweep_db *db, const struct sweep_result *r);

/* Folds the runs of the database at src into db; a done run is never
 * replaced, a failed one by a done one or a later failure. dir_prefix,
 * when not NULL, is put before the runs' directories (runs of another
 * sweep directory). Sets *added to the number of runs taken. */
int sweep_db_merge(struct sweep_db *db, const char *src, const char *dir_prefix,
                   int *added);

/* Pushes the list of recorded runs as Lua tables (tcplab.sweep.aggregate
 * says which fields). */
int sweep_db_push_rows(struct sweep_db *db, lua_State *L);

/* ------------------------------------------------------ the runner */

struct sweep_progress;

struct sweep_exec {
  const char *exe;    /* the tcplab command */
  const char *script; /* as the runs get it */
  const char *dir;    /* the sweep's directory */
  double timeout;     /* seconds; 0 for none */
  int jobs;
  struct sweep_progress *progress;
  /* Called for every finished run; nonzero stops the sweep. */
  int (*record)(void *ctx, const struct sweep_result *r);
  void *ctx;
};

/* Runs the tasks, at most e->jobs at a time, each as `tcplab run` in
 * DIR/runs/<point>/<run>. Returns 0, or the signal number that
 * interrupted it (the runs still going are killed and not recorded), or
 * -1 when recording failed. */
int sweep_exec_run(const struct sweep_exec *e, struct sweep_task **tasks,
                   size_t n);

/* Signals: SIGINT, SIGTERM and SIGHUP set a flag and wake the loop;
 * SIGCHLD wakes it. sweep_signals_fd is the read end of the wake-up pipe;
 * sweep_signals_caught returns the first signal caught, or 0. */
int sweep_signals_install(void);
int sweep_signals_fd(void);
int sweep_signals_caught(void);
void sweep_signals_drain(void);

/* Progress on stderr: a bar on a terminal, lines otherwise. */
struct sweep_progress *sweep_progress_new(int total, int already_done,
                                          int quiet);
void sweep_progress_update(struct sweep_progress *p,
                           const struct sweep_result *r);
void sweep_progress_tick(struct sweep_progress *p);
void sweep_progress_end(struct sweep_progress *p);
void sweep_progress_free(struct sweep_progress *p);
int sweep_progress_failed(const struct sweep_progress *p);
int sweep_progress_done(const struct sweep_progress *p);

/* helpers shared by the three files */
double sweep_now(void);
int sweep_mkdirs(const char *path);
char *sweep_strdup(const char *s);
char *sweep_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file (at most max bytes, the tail when longer). */
char *sweep_read_file(const char *path, size_t max, bool tail);
/* Parses a metrics.csv (name,value); 0, or -1 with a message in err. */
int sweep_parse_metrics(const char *text, char ***names, char ***values, int *n,
                        char *err, size_t errcap);

#endif
