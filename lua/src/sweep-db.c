/*
 * The store of a sweep: DIR/sweep.db, SQLite.
 *
 *   meta(key, value)            the sweep's definition: format, script,
 *                               seed, params (names in order), runs
 *   runs(id, point, run, seed, status, started, ended, exit_code, error,
 *        dir, host, attempts)   one row per run that finished, however
 *   params(run_id, name, value) the run's parameter values
 *   metrics(run_id, name, value) what the run's script returned
 *
 * Values are stored typed: a decimal number as an INTEGER or REAL, true,
 * false and any other text as TEXT, so that SQL compares numbers as
 * numbers (WHERE value > 0.1).
 *
 * A run is written once, when it has finished and its files are
 * complete, in one transaction with its parameters and metrics: a sweep
 * killed at any moment leaves every earlier run whole and no later one
 * at all. There is no row for a run that is going on.
 *
 * The main database uses write-ahead logging: readers never block the
 * writer, and a commit is one append to the log. synchronous=NORMAL
 * loses no commit when a process dies (the log is in the page cache);
 * only a crash of the machine can undo the last few, which then simply
 * run again. A task's database on a cluster (DIR/tasks/K/sweep.db) uses
 * a rollback journal instead: write-ahead logging needs shared memory
 * between all its users, which a network file system does not give.
 */
#define _XOPEN_SOURCE 700

#include "sweep.h"

#include <lauxlib.h>
#include <sqlite3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sweep_db {
  sqlite3 *db;
  sqlite3_stmt *upsert;
  sqlite3_stmt *del_params;
  sqlite3_stmt *del_metrics;
  sqlite3_stmt *add_param;
  sqlite3_stmt *add_metric;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS runs(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  point TEXT NOT NULL,\n"
    "  run INTEGER NOT NULL,\n"
    "  seed INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('done', 'failed', "
    "'timeout')),\n"
    "  started REAL NOT NULL,\n"
    "  ended REAL NOT NULL,\n"
    "  exit_code INTEGER,\n"
    "  error TEXT,\n"
    "  dir TEXT NOT NULL,\n"
    "  host TEXT,\n"
    "  attempts INTEGER NOT NULL DEFAULT 1,\n"
    "  UNIQUE (point, run));\n"
    "CREATE TABLE IF NOT EXISTS params(\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  name TEXT NOT NULL,\n"
    "  value,\n"
    "  PRIMARY KEY (run_id, name)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS metrics(\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  name TEXT NOT NULL,\n"
    "  value,\n"
    "  PRIMARY KEY (run_id, name)) WITHOUT ROWID;\n"
    "INSERT OR IGNORE INTO meta(key, value) VALUES ('format', '1');\n";

const char *sweep_db_error(struct sweep_db *db) {
  return sqlite3_errmsg(db->db);
}

static int prepare(struct sweep_db *db, const char *sql, sqlite3_stmt **st) {
  return sqlite3_prepare_v2(db->db, sql, -1, st, NULL);
}

struct sweep_db *sweep_db_open(const char *path, enum sweep_db_mode mode,
                               char *err, size_t errcap) {
  struct sweep_db *db = calloc(1, sizeof *db);
  if (db == NULL) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  int flags = SQLITE_OPEN_URI;
  char *uri = NULL;
  if (mode == SWEEP_DB_PEEK) {
    /* immutable: no locks and no shared memory, which is what reading a
     * file on another host's file system needs; it sees only what was
     * checkpointed into the file (sweep.c checkpoints before Slurm's
     * tasks start). */
    char *q = sqlite3_mprintf("%s", path);
    uri = sqlite3_mprintf("file:%s?immutable=1", q);
    sqlite3_free(q);
    flags |= SQLITE_OPEN_READONLY;
  } else if (mode == SWEEP_DB_READ) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  }
  int rc = sqlite3_open_v2(uri ? uri : path, &db->db, flags, NULL);
  sqlite3_free(uri);
  if (rc != SQLITE_OK) {
    snprintf(err, errcap, "cannot open %s: %s", path,
             db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
    sweep_db_close(db);
    return NULL;
  }
  /* Other processes of the same sweep (Slurm tasks on this host, a merge)
   * may hold the write lock for a moment: wait for it rather than fail. */
  sqlite3_busy_timeout(db->db, 60000);
  if (mode == SWEEP_DB_PEEK || mode == SWEEP_DB_READ) {
    return db;
  }
  const char *setup =
      mode == SWEEP_DB_MAIN
          ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
          : "PRAGMA journal_mode=DELETE; PRAGMA "
            "synchronous=FULL;";
  char *msg = NULL;
  if (sqlite3_exec(db->db, setup, NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(db->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errcap, "cannot set up %s: %s", path,
             msg ? msg : sqlite3_errmsg(db->db));
    sqlite3_free(msg);
    sweep_db_close(db);
    return NULL;
  }
  if (prepare(db,
              "INSERT INTO runs(point, run, seed, status, started, ended, "
              "exit_code, error, dir, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
              "?7, ?8, ?9, ?10) ON CONFLICT (point, run) DO UPDATE SET "
              "seed = excluded.seed, status = excluded.status, started = "
              "excluded.started, ended = excluded.ended, exit_code = "
              "excluded.exit_code, error = excluded.error, dir = "
              "excluded.dir, host = excluded.host, attempts = attempts + 1 "
              "RETURNING id",
              &db->upsert) != SQLITE_OK ||
      prepare(db, "DELETE FROM params WHERE run_id = ?1", &db->del_params) !=
          SQLITE_OK ||
      prepare(db, "DELETE FROM metrics WHERE run_id = ?1", &db->del_metrics) !=
          SQLITE_OK ||
      prepare(db, "INSERT INTO params(run_id, name, value) VALUES (?1, ?2, ?3)",
              &db->add_param) != SQLITE_OK ||
      prepare(db,
              "INSERT OR REPLACE INTO metrics(run_id, name, value) VALUES "
              "(?1, ?2, ?3)",
              &db->add_metric) != SQLITE_OK) {
    snprintf(err, errcap, "%s: %s", path, sqlite3_errmsg(db->db));
    sweep_db_close(db);
    return NULL;
  }
  return db;
}

void sweep_db_close(struct sweep_db *db) {
  if (db == NULL) {
    return;
  }
  sqlite3_finalize(db->upsert);
  sqlite3_finalize(db->del_params);
  sqlite3_finalize(db->del_metrics);
  sqlite3_finalize(db->add_param);
  sqlite3_finalize(db->add_metric);
  if (db->db != NULL && db->upsert != NULL) {
    /* Fold the log into the file, so that a reader that cannot use it
     * (sweep.c's immutable peek from a cluster node) sees every run. */
    sqlite3_exec(db->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  }
  sqlite3_close_v2(db->db);
  free(db);
}

/* ---------------------------------------------------------------- meta */

char *sweep_db_meta_get(struct sweep_db *db, const char *key) {
  sqlite3_stmt *st;
  if (prepare(db, "SELECT value FROM meta WHERE key = ?1", &st) != SQLITE_OK) {
    return NULL;
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  char *v = NULL;
  if (sqlite3_step(st) == SQLITE_ROW) {
    v = sweep_strdup((const char *)sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return v;
}

int sweep_db_meta_set(struct sweep_db *db, const char *key, const char *value) {
  sqlite3_stmt *st;
  if (prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
              &st) != SQLITE_OK) {
    return -1;
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
  sqlite3_finalize(st);
  return rc;
}

/* ---------------------------------------------------------------- runs */

const char *sweep_status_name(enum sweep_status s) {
  switch (s) {
  case SWEEP_DONE: return "done";
  case SWEEP_FAILED: return "failed";
  case SWEEP_TIMEOUT: return "timeout";
  case SWEEP_PENDING: break;
  }
  return "pending";
}

enum sweep_status sweep_status_parse(const char *s) {
  if (s == NULL) {
    return SWEEP_PENDING;
  }
  if (strcmp(s, "done") == 0) {
    return SWEEP_DONE;
  }
  if (strcmp(s, "failed") == 0) {
    return SWEEP_FAILED;
  }
  if (strcmp(s, "timeout") == 0) {
    return SWEEP_TIMEOUT;
  }
  return SWEEP_PENDING;
}

int sweep_db_each_status(struct sweep_db *db,
                         int (*fn)(void *ctx, const char *point, int run,
                                   int64_t seed, enum sweep_status status),
                         void *ctx) {
  sqlite3_stmt *st;
  if (prepare(db, "SELECT point, run, seed, status FROM runs", &st) !=
      SQLITE_OK) {
    return -1;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (fn(ctx, (const char *)sqlite3_column_text(st, 0),
           sqlite3_column_int(st, 1), sqlite3_column_int64(st, 2),
           sweep_status_parse((const char *)sqlite3_column_text(st, 3))) != 0) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* Binds text as the number it spells, as tcplab.value types a --set
 * value and tcplab.csv a cell: "3" an INTEGER, "0.5" or "1e-3" a REAL,
 * anything else TEXT. */
static void bind_typed(sqlite3_stmt *st, int i, const char *s) {
  const char *p = s;
  if (*p == '+' || *p == '-') {
    p++;
  }
  size_t digits = strspn(p, "0123456789");
  if (digits > 0 && p[digits] == '\0') {
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0') {
      sqlite3_bind_int64(st, i, v);
      return;
    }
  }
  /* [digits][.digits][e[+-]digits] with at least one digit before the
   * exponent, and a '.' or an exponent (else it was an integer). */
  const char *q = p;
  size_t mant = strspn(q, "0123456789");
  q += mant;
  bool point = false;
  if (*q == '.') {
    point = true;
    q++;
    size_t frac = strspn(q, "0123456789");
    mant += frac;
    q += frac;
  }
  bool expo = false;
  if (mant > 0 && (*q == 'e' || *q == 'E')) {
    const char *e = q + 1;
    if (*e == '+' || *e == '-') {
      e++;
    }
    size_t ed = strspn(e, "0123456789");
    if (ed > 0) {
      expo = true;
      q = e + ed;
    }
  }
  if (mant > 0 && (point || expo) && *q == '\0') {
    char *end;
    double v = strtod(s, &end);
    if (*end == '\0') {
      sqlite3_bind_double(st, i, v);
      return;
    }
  }
  sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static int step_done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

int sweep_db_record(struct sweep_db *db, const struct sweep_result *r) {
  if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    return -1;
  }
  sqlite3_stmt *st = db->upsert;
  sqlite3_bind_text(st, 1, r->point, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, r->run);
  sqlite3_bind_int64(st, 3, r->seed);
  sqlite3_bind_text(st, 4, sweep_status_name(r->status), -1, SQLITE_STATIC);
  sqlite3_bind_double(st, 5, r->started);
  sqlite3_bind_double(st, 6, r->ended);
  if (r->has_exit) {
    sqlite3_bind_int(st, 7, r->exit_code);
  } else {
    sqlite3_bind_null(st, 7);
  }
  if (r->error != NULL) {
    sqlite3_bind_text(st, 8, r->error, -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 8);
  }
  sqlite3_bind_text(st, 9, r->dir, -1, SQLITE_STATIC);
  if (r->host != NULL) {
    sqlite3_bind_text(st, 10, r->host, -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(st, 10);
  }
  int rc = sqlite3_step(st);
  sqlite3_int64 id = sqlite3_column_int64(st, 0);
  bool ok = rc == SQLITE_ROW && sqlite3_step(st) == SQLITE_DONE;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);

  sqlite3_stmt *dels[] = {db->del_params, db->del_metrics};
  for (size_t i = 0; ok && i < 2; i++) {
    sqlite3_bind_int64(dels[i], 1, id);
    ok = step_done(dels[i]) == 0;
  }
  for (int i = 0; ok && i < r->nsets; i++) {
    const char *eq = strchr(r->sets[i], '=');
    if (eq == NULL) {
      continue;
    }
    sqlite3_stmt *a = db->add_param;
    sqlite3_bind_int64(a, 1, id);
    sqlite3_bind_text(a, 2, r->sets[i], (int)(eq - r->sets[i]), SQLITE_STATIC);
    bind_typed(a, 3, eq + 1);
    ok = step_done(a) == 0;
  }
  for (int i = 0; ok && i < r->nmetrics; i++) {
    sqlite3_stmt *a = db->add_metric;
    sqlite3_bind_int64(a, 1, id);
    sqlite3_bind_text(a, 2, r->metric_names[i], -1, SQLITE_STATIC);
    bind_typed(a, 3, r->metric_values[i]);
    ok = step_done(a) == 0;
  }
  if (!ok) {
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
  }
  return sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* --------------------------------------------------------------- merge */

int sweep_db_merge(struct sweep_db *db, const char *src, const char *dir_prefix,
                   int *added) {
  *added = 0;
  sqlite3_stmt *st;
  /* Read-only, through the log if the source has one (a sweep killed
   * before it could fold its log into the file). */
  char *uri = sqlite3_mprintf("file:%s?mode=ro", src);
  if (prepare(db, "ATTACH DATABASE ?1 AS src", &st) != SQLITE_OK) {
    sqlite3_free(uri);
    return -1;
  }
  sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  sqlite3_free(uri);
  if (rc != SQLITE_DONE) {
    return -1;
  }
  /* A run of the source is taken when the destination has none for its
   * point and index, or has only a failure and the source a success or a
   * later failure: merging again takes nothing, and no success is ever
   * replaced. */
  static const char pick[] =
      "CREATE TEMP TABLE IF NOT EXISTS pick(src_id INTEGER PRIMARY KEY, "
      "dst_id INTEGER);"
      "DELETE FROM temp.pick;"
      "INSERT INTO temp.pick(src_id, dst_id) SELECT s.id, d.id FROM src.runs "
      "s LEFT JOIN main.runs d ON d.point = s.point AND d.run = s.run "
      "WHERE d.id IS NULL OR (d.status <> 'done' AND (s.status = 'done' OR "
      "s.ended > d.ended));"
      "DELETE FROM main.params WHERE run_id IN (SELECT dst_id FROM temp.pick);"
      "DELETE FROM main.metrics WHERE run_id IN (SELECT dst_id FROM "
      "temp.pick);"
      "DELETE FROM main.runs WHERE id IN (SELECT dst_id FROM temp.pick);";
  static const char copy_runs[] =
      "INSERT INTO main.runs(point, run, seed, status, started, ended, "
      "exit_code, error, dir, host, attempts) SELECT s.point, s.run, s.seed, "
      "s.status, s.started, s.ended, s.exit_code, s.error, ?1 || s.dir, "
      "s.host, s.attempts FROM temp.pick p JOIN src.runs s ON s.id = p.src_id";
  static const char copy_values[] =
      "INSERT INTO main.params(run_id, name, value) SELECT d.id, v.name, "
      "v.value FROM temp.pick p JOIN src.runs s ON s.id = p.src_id JOIN "
      "main.runs d ON d.point = s.point AND d.run = s.run JOIN src.params v "
      "ON v.run_id = s.id;"
      "INSERT INTO main.metrics(run_id, name, value) SELECT d.id, v.name, "
      "v.value FROM temp.pick p JOIN src.runs s ON s.id = p.src_id JOIN "
      "main.runs d ON d.point = s.point AND d.run = s.run JOIN src.metrics v "
      "ON v.run_id = s.id;";
  bool ok =
      sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
  bool began = ok;
  ok = ok && sqlite3_exec(db->db, pick, NULL, NULL, NULL) == SQLITE_OK;
  if (ok && prepare(db, copy_runs, &st) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, dir_prefix ? dir_prefix : "", -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    *added = sqlite3_changes(db->db);
    sqlite3_finalize(st);
  } else {
    ok = false;
  }
  ok = ok && sqlite3_exec(db->db, copy_values, NULL, NULL, NULL) == SQLITE_OK;
  if (began) {
    ok = sqlite3_exec(db->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) ==
             SQLITE_OK &&
         ok;
  }
  if (!ok) {
    *added = 0;
  }
  sqlite3_exec(db->db, "DETACH DATABASE src", NULL, NULL, NULL);
  return ok ? 0 : -1;
}

/* ----------------------------------------------------------- to Lua */

static void push_value(lua_State *L, sqlite3_stmt *st, int col) {
  switch (sqlite3_column_type(st, col)) {
  case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(st, col)); break;
  case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(st, col)); break;
  case SQLITE_NULL: lua_pushnil(L); break;
  default:
    lua_pushlstring(L, (const char *)sqlite3_column_text(st, col),
                    (size_t)sqlite3_column_bytes(st, col));
  }
}

/* Sets rows_by_id[run_id][field][name] = value for every row of sql. */
static int push_values(struct sweep_db *db, lua_State *L, int byid,
                       const char *sql, const char *field) {
  sqlite3_stmt *st;
  if (prepare(db, sql, &st) != SQLITE_OK) {
    return -1;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (lua_rawgeti(L, byid, sqlite3_column_int64(st, 0)) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    lua_getfield(L, -1, field);
    lua_pushstring(L, (const char *)sqlite3_column_text(st, 1));
    push_value(L, st, 2);
    lua_rawset(L, -3);
    lua_pop(L, 2);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

int sweep_db_push_rows(struct sweep_db *db, lua_State *L) {
  luaL_checkstack(L, 8, "sweep rows");
  sqlite3_stmt *st;
  if (prepare(db,
              "SELECT id, point, run, seed, status, started, ended, "
              "exit_code, error, dir, host FROM runs ORDER BY id",
              &st) != SQLITE_OK) {
    return -1;
  }
  static const char *const names[] = {
      NULL,    "point",     "run",   "seed", "status", "started",
      "ended", "exit_code", "error", "dir",  "host",
  };
  lua_newtable(L); /* rows */
  lua_newtable(L); /* by id */
  int byid = lua_gettop(L);
  int n = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    lua_createtable(L, 0, 12);
    for (int c = 1; c < 11; c++) {
      push_value(L, st, c);
      lua_setfield(L, -2, names[c]);
    }
    lua_newtable(L);
    lua_setfield(L, -2, "params");
    lua_newtable(L);
    lua_setfield(L, -2, "metrics");
    lua_pushvalue(L, -1);
    lua_rawseti(L, byid, sqlite3_column_int64(st, 0));
    lua_rawseti(L, byid - 1, ++n);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE ||
      push_values(db, L, byid, "SELECT run_id, name, value FROM params",
                  "params") != 0 ||
      push_values(db, L, byid, "SELECT run_id, name, value FROM metrics",
                  "metrics") != 0) {
    lua_pop(L, 2);
    return -1;
  }
  lua_pop(L, 1);
  return 0;
}
