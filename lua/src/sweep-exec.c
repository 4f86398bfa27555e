/*
 * Running the runs of a sweep: each is `tcplab run SCRIPT --out
 * DIR/runs/<point>/<run> --seed S --set NAME=VALUE...` in a process of
 * its own (ns-3 keeps global state, so one simulation per process is the
 * only way to make runs independent), at most `jobs` at a time.
 *
 * One loop waits in poll() on a pipe that the signal handlers write to
 * (SIGCHLD when a run ends, SIGINT/SIGTERM/SIGHUP to stop), with a
 * timeout set by the nearest --timeout deadline and the progress display:
 * a run that ends is noticed at once, not at the next tick.
 *
 * Each run is its own process group, so that a timeout or an interrupt
 * kills what the script started too (gnuplot, a shell), and Ctrl-C at
 * the terminal reaches the sweep alone, which then stops its runs. Runs
 * also die with the sweep (PR_SET_PDEATHSIG): after a kill -9 of the
 * sweep no orphan keeps writing into a run directory that the resumed
 * sweep runs again.
 */
#define _GNU_SOURCE

#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers */

double sweep_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *sweep_strdup(const char *s) {
  if (s == NULL) {
    return NULL;
  }
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}

char *sweep_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (s == NULL) {
    return NULL;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

int sweep_mkdirs(const char *path) {
  char *buf = sweep_strdup(path);
  if (buf == NULL) {
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        free(buf);
        return -1;
      }
      *p = '/';
    }
  }
  int rc = mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
  free(buf);
  return rc;
}

char *sweep_read_file(const char *path, size_t max, bool tail) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  off_t from = 0;
  if (size > max) {
    from = tail ? (off_t)(size - max) : 0;
    size = max;
  }
  char *buf = malloc(size + 1);
  size_t got = 0;
  while (buf != NULL && got < size) {
    ssize_t n = pread(fd, buf + got, size - got, from + (off_t)got);
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  if (buf != NULL) {
    buf[got] = '\0';
  }
  return buf;
}

/* One CSV field at *p (RFC 4180: quoted fields may hold commas, doubled
 * quotes and line ends); *p moves past its delimiter. Returns the field,
 * malloc'd, or NULL on a malformed field. *eol is set at a record's end. */
static char *csv_field(const char **p, bool *eol) {
  const char *s = *p;
  size_t cap = strlen(s) + 1;
  char *out = malloc(cap);
  size_t n = 0;
  if (out == NULL) {
    return NULL;
  }
  if (*s == '"') {
    s++;
    for (;;) {
      if (*s == '\0') {
        free(out);
        return NULL;
      }
      if (*s == '"') {
        if (s[1] == '"') {
          out[n++] = '"';
          s += 2;
          continue;
        }
        s++;
        break;
      }
      out[n++] = *s++;
    }
  } else {
    while (*s && *s != ',' && *s != '\r' && *s != '\n') {
      out[n++] = *s++;
    }
  }
  out[n] = '\0';
  *eol = true;
  if (*s == ',') {
    *eol = false;
    s++;
  } else if (*s == '\r') {
    s += s[1] == '\n' ? 2 : 1;
  } else if (*s == '\n') {
    s++;
  } else if (*s != '\0') {
    free(out);
    return NULL;
  }
  *p = s;
  return out;
}

int sweep_parse_metrics(const char *text, char ***names, char ***values, int *n,
                        char *err, size_t errcap) {
  *names = NULL;
  *values = NULL;
  *n = 0;
  const char *p = text;
  int line = 0;
  int cap = 0;
  while (*p != '\0') {
    line++;
    bool eol = false;
    char *a = csv_field(&p, &eol);
    char *b = NULL;
    if (a != NULL && !eol) {
      b = csv_field(&p, &eol);
    }
    if (a == NULL || b == NULL || !eol) {
      free(a);
      free(b);
      snprintf(err, errcap, "metrics.csv line %d: not a name,value row", line);
      goto fail;
    }
    if (line == 1) {
      bool header = strcmp(a, "name") == 0 && strcmp(b, "value") == 0;
      free(a);
      free(b);
      if (!header) {
        snprintf(err, errcap, "metrics.csv: the header is not name,value");
        goto fail;
      }
      continue;
    }
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc(*names, (size_t)cap * sizeof *nn);
      if (nn != NULL) {
        *names = nn;
      }
      char **nv = realloc(*values, (size_t)cap * sizeof *nv);
      if (nv != NULL) {
        *values = nv;
      }
      if (nn == NULL || nv == NULL) {
        free(a);
        free(b);
        snprintf(err, errcap, "out of memory");
        goto fail;
      }
    }
    (*names)[*n] = a;
    (*values)[*n] = b;
    (*n)++;
  }
  return 0;
fail:
  for (int i = 0; i < *n; i++) {
    free((*names)[i]);
    free((*values)[i]);
  }
  free(*names);
  free(*values);
  *names = NULL;
  *values = NULL;
  *n = 0;
  return -1;
}

/* ------------------------------------------------------------ signals */

static int wake[2] = {-1, -1};
static volatile sig_atomic_t caught;

static void on_signal(int sig) {
  int saved = errno;
  if (sig != SIGCHLD && caught == 0) {
    caught = sig;
  }
  char c = 0;
  ssize_t rc = write(wake[1], &c, 1);
  (void)rc; /* a full pipe already holds a wake-up */
  errno = saved;
}

int sweep_signals_install(void) {
  if (wake[0] < 0 && pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return -1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  /* SA_RESTART: a write to the database or a terminal is not cut short. */
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old;
    /* A SIGHUP ignored by whoever started the sweep (nohup) stays
     * ignored: a long sweep is meant to outlive its terminal. SIGINT is
     * handled even when inherited as ignored, as a shell does for its
     * background jobs: stopping a sweep by it is always deliberate. */
    if (sigs[i] == SIGHUP && sigaction(SIGHUP, NULL, &old) == 0 &&
        old.sa_handler == SIG_IGN) {
      continue;
    }
    if (sigaction(sigs[i], &sa, NULL) != 0) {
      return -1;
    }
  }
  /* A progress line to a closed pipe is no reason to die. */
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

int sweep_signals_fd(void) {
  return wake[0];
}

int sweep_signals_caught(void) {
  return caught;
}

void sweep_signals_drain(void) {
  char buf[64];
  while (read(wake[0], buf, sizeof buf) > 0) {
  }
}

/* ----------------------------------------------------------- progress */

struct sweep_progress {
  int total;   /* runs of the sweep (or of this slice) */
  int already; /* done before this invocation */
  int done;    /* done now, counting those */
  int failed;  /* failed or timed out in this invocation */
  int finished;
  double t0;
  double last;
  int last_decile;
  bool tty;
  bool quiet;
  bool drawn;
};

static void draw(struct sweep_progress *p);

struct sweep_progress *sweep_progress_new(int total, int already_done,
                                          int quiet) {
  struct sweep_progress *p = calloc(1, sizeof *p);
  if (p == NULL) {
    return NULL;
  }
  p->total = total;
  p->already = already_done;
  p->done = already_done;
  p->t0 = mono_now();
  p->last = p->t0;
  p->tty = isatty(STDERR_FILENO) && getenv("TERM") != NULL &&
           strcmp(getenv("TERM"), "dumb") != 0;
  p->quiet = quiet != 0;
  if (p->tty && !p->quiet && total > already_done) {
    draw(p);
  }
  return p;
}

static void clock_text(char *buf, size_t cap, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) {
    snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
  }
}

/* "120/200 done, 3 failed, 0:42 elapsed, ETA 0:28" */
static void status_text(const struct sweep_progress *p, char *buf, size_t cap) {
  double elapsed = mono_now() - p->t0;
  char el[32], eta[32] = "?";
  clock_text(el, sizeof el, elapsed);
  int left = p->total - p->done - p->failed;
  if (left <= 0) {
    snprintf(eta, sizeof eta, "0:00");
  } else if (p->finished > 0) {
    clock_text(eta, sizeof eta, elapsed / p->finished * left);
  }
  snprintf(buf, cap, "%d/%d done, %d failed, %s elapsed, ETA %s", p->done,
           p->total, p->failed, el, eta);
}

static void draw(struct sweep_progress *p) {
  char text[160];
  status_text(p, text, sizeof text);
  if (p->tty) {
    /* One line that fits the terminal, or the redraw in place (\r) would
     * leave a trail of wrapped lines: the bar gives way first. */
    enum { WIDTH = 30 };
    int width = WIDTH;
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      int room = (int)ws.ws_col - (int)strlen(text) - 10;
      width = room < WIDTH ? room : WIDTH;
    }
    char bar[WIDTH + 3] = "";
    if (width >= 5) {
      int fill = p->total > 0
                     ? (int)((long)width * (p->done + p->failed) / p->total)
                     : width;
      bar[0] = '[';
      for (int i = 0; i < width; i++) {
        bar[i + 1] = i < fill ? '#' : '-';
      }
      bar[width + 1] = ']';
      bar[width + 2] = '\0';
    }
    fprintf(stderr, "\rsweep %s%s%s\033[K", bar, *bar ? " " : "", text);
    p->drawn = true;
  } else {
    fprintf(stderr, "sweep: %s\n", text);
  }
  fflush(stderr);
  p->last = mono_now();
}

void sweep_progress_update(struct sweep_progress *p,
                           const struct sweep_result *r) {
  if (p == NULL) {
    return;
  }
  p->finished++;
  if (r->status == SWEEP_DONE) {
    p->done++;
  } else {
    p->failed++;
    if (!p->quiet) {
      /* The first line of what went wrong, at once: a sweep that fails
       * everywhere is seen before it ends. */
      const char *e = r->error ? r->error : "";
      int len = (int)strcspn(e, "\n");
      /* and the first line the run wrote to stderr, most often the
       * script's error message */
      const char *why = e[len] == '\n' ? e + len + 1 : "";
      int wlen = (int)strcspn(why, "\n");
      if (p->tty && p->drawn) {
        fputs("\r\033[K", stderr);
      }
      fprintf(stderr, "sweep: %s/%d %s: %.*s%s%.*s\n", r->point, r->run,
              sweep_status_name(r->status), len, e, wlen > 0 ? ": " : "", wlen,
              why);
    }
  }
  if (p->quiet) {
    return;
  }
  if (p->tty) {
    draw(p);
    return;
  }
  /* Lines: one per tenth of the work, or every 10 s, and the last. */
  int todo = p->total - p->already;
  int decile = todo > 0 ? 10 * p->finished / todo : 10;
  if (decile > p->last_decile || mono_now() - p->last >= 10 ||
      p->done + p->failed >= p->total) {
    p->last_decile = decile;
    draw(p);
  }
}

void sweep_progress_tick(struct sweep_progress *p) {
  if (p == NULL || p->quiet) {
    return;
  }
  double since = mono_now() - p->last;
  if ((p->tty && since >= 1) || (!p->tty && since >= 10)) {
    draw(p);
  }
}

void sweep_progress_end(struct sweep_progress *p) {
  if (p == NULL || p->quiet) {
    return;
  }
  if (p->tty && p->drawn) {
    draw(p);
    fputc('\n', stderr);
    p->drawn = false;
  }
}

void sweep_progress_free(struct sweep_progress *p) {
  free(p);
}

int sweep_progress_failed(const struct sweep_progress *p) {
  return p ? p->failed : 0;
}

int sweep_progress_done(const struct sweep_progress *p) {
  return p ? p->done : 0;
}

/* --------------------------------------------------------------- runs */

struct slot {
  pid_t pid; /* 0: free */
  struct sweep_task *task;
  char *dir; /* relative to the sweep's */
  double started;
  double deadline; /* monotonic; 0 for none */
  bool timed_out;
};

static void reset_child_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* The sweep's handlers go; what its starter ignored (nohup's SIGHUP)
   * stays ignored. SIGPIPE the sweep ignores for itself only. */
  int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
      signal(sigs[i], SIG_DFL);
    }
  }
  signal(SIGPIPE, SIG_DFL);
}

/* Starts `tcplab run` for the task; 0 or -1 with errno. */
static int spawn(const struct sweep_exec *e, struct slot *s) {
  const struct sweep_task *t = s->task;
  char *abs = sweep_printf("%s/%s", e->dir, s->dir);
  char *out = sweep_printf("%s/stdout.txt", abs);
  char *err = sweep_printf("%s/stderr.txt", abs);
  char *metrics = sweep_printf("%s/metrics.csv", abs);
  char seed[32];
  snprintf(seed, sizeof seed, "%lld", (long long)t->seed);
  int argc = 7 + 2 * t->point->nsets;
  const char **argv = calloc((size_t)argc + 1, sizeof *argv);
  int rc = -1;
  if (abs == NULL || out == NULL || err == NULL || metrics == NULL ||
      argv == NULL || sweep_mkdirs(abs) != 0) {
    goto done;
  }
  /* What an earlier attempt left must not pass for this one's result. */
  unlink(metrics);
  int a = 0;
  argv[a++] = "tcplab";
  argv[a++] = "run";
  argv[a++] = e->script;
  argv[a++] = "--out";
  argv[a++] = abs;
  argv[a++] = "--seed";
  argv[a++] = seed;
  for (int i = 0; i < t->point->nsets; i++) {
    argv[a++] = "--set";
    argv[a++] = t->point->sets[i];
  }
  argv[a] = NULL;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    goto done;
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127); /* the sweep died before the line above */
    }
    reset_child_signals();
    int in = open("/dev/null", O_RDONLY);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int x = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (in < 0 || o < 0 || x < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
        dup2(x, 2) < 0) {
      _exit(126);
    }
    execv(e->exe, (char *const *)argv);
    dprintf(2, "tcplab sweep: cannot run %s: %s\n", e->exe, strerror(errno));
    _exit(127);
  }
  /* Also here: the group must exist before a kill(-pid) from this side. */
  setpgid(pid, pid);
  s->pid = pid;
  s->started = sweep_now();
  s->deadline = e->timeout > 0 ? mono_now() + e->timeout : 0;
  s->timed_out = false;
  rc = 0;
done:
  free(abs);
  free(out);
  free(err);
  free(metrics);
  free(argv);
  return rc;
}

/* The last lines of a run's stderr, for the error column. */
static char *stderr_tail(const char *dir, const char *rel) {
  char *path = sweep_printf("%s/%s/stderr.txt", dir, rel);
  char *t = path ? sweep_read_file(path, 2000, true) : NULL;
  free(path);
  if (t == NULL) {
    return sweep_strdup("");
  }
  /* A tail cut inside a line starts at the next one. */
  struct stat st;
  char *p2 = sweep_printf("%s/%s/stderr.txt", dir, rel);
  if (p2 != NULL && stat(p2, &st) == 0 && (size_t)st.st_size > strlen(t)) {
    char *nl = strchr(t, '\n');
    if (nl != NULL) {
      memmove(t, nl + 1, strlen(nl + 1) + 1);
    }
  }
  free(p2);
  size_t n = strlen(t);
  while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r')) {
    t[--n] = '\0';
  }
  return t;
}

static char host[256];

/* The run of slot s ended with wait status ws: fill and record it. */
static int finish(const struct sweep_exec *e, struct slot *s, int ws) {
  /* Whatever the run left behind in its group goes with it. */
  kill(-s->pid, SIGKILL);
  const struct sweep_task *t = s->task;
  struct sweep_result r;
  memset(&r, 0, sizeof r);
  r.point = t->point->id;
  r.run = t->run;
  r.seed = t->seed;
  r.started = s->started;
  r.ended = sweep_now();
  r.host = host;
  r.dir = s->dir;
  r.sets = (const char **)t->point->sets;
  r.nsets = t->point->nsets;
  r.has_exit = true;
  r.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -WTERMSIG(ws);
  char *error = NULL;
  if (s->timed_out) {
    char *tail = stderr_tail(e->dir, s->dir);
    r.status = SWEEP_TIMEOUT;
    error = sweep_printf("timed out after %g s%s%s", e->timeout,
                         tail && *tail ? "\n" : "", tail ? tail : "");
    free(tail);
  } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
    r.status = SWEEP_DONE;
    char *path = sweep_printf("%s/%s/metrics.csv", e->dir, s->dir);
    char *text = path ? sweep_read_file(path, 16 << 20, false) : NULL;
    char msg[200];
    if (text != NULL &&
        sweep_parse_metrics(text, &r.metric_names, &r.metric_values,
                            &r.nmetrics, msg, sizeof msg) != 0) {
      r.status = SWEEP_FAILED;
      error = sweep_strdup(msg);
    }
    free(text);
    free(path);
  } else {
    char *tail = stderr_tail(e->dir, s->dir);
    r.status = SWEEP_FAILED;
    if (WIFEXITED(ws)) {
      error = sweep_printf("exit status %d%s%s", WEXITSTATUS(ws),
                           tail && *tail ? "\n" : "", tail ? tail : "");
    } else {
      error = sweep_printf("killed by signal %d (%s)%s%s", WTERMSIG(ws),
                           strsignal(WTERMSIG(ws)), tail && *tail ? "\n" : "",
                           tail ? tail : "");
    }
    free(tail);
  }
  r.error = error;
  int rc = e->record(e->ctx, &r);
  sweep_progress_update(e->progress, &r);
  s->task->status = r.status;
  for (int i = 0; i < r.nmetrics; i++) {
    free(r.metric_names[i]);
    free(r.metric_values[i]);
  }
  free(r.metric_names);
  free(r.metric_values);
  free(error);
  free(s->dir);
  s->dir = NULL;
  s->pid = 0;
  return rc;
}

/* Kills every run going on and waits for them; they are not recorded. */
static void kill_all(struct slot *slots, int jobs) {
  for (int i = 0; i < jobs; i++) {
    if (slots[i].pid > 0) {
      kill(-slots[i].pid, SIGKILL);
    }
  }
  for (int i = 0; i < jobs; i++) {
    if (slots[i].pid > 0) {
      while (waitpid(slots[i].pid, NULL, 0) < 0 && errno == EINTR) {
      }
      free(slots[i].dir);
      slots[i].dir = NULL;
      slots[i].pid = 0;
    }
  }
}

int sweep_exec_run(const struct sweep_exec *e, struct sweep_task **tasks,
                   size_t n) {
  if (host[0] == '\0' && gethostname(host, sizeof host - 1) != 0) {
    strcpy(host, "?");
  }
  if (sweep_signals_install() != 0) {
    return -1;
  }
  int jobs = e->jobs > 0 ? e->jobs : 1;
  struct slot *slots = calloc((size_t)jobs, sizeof *slots);
  if (slots == NULL) {
    return -1;
  }
  size_t next = 0;
  int running = 0;
  int result = 0;
  bool stop = false;
  for (;;) {
    if (sweep_signals_caught() != 0) {
      kill_all(slots, jobs);
      result = sweep_signals_caught();
      break;
    }
    while (!stop && running < jobs && next < n) {
      struct slot *s = NULL;
      for (int i = 0; i < jobs && s == NULL; i++) {
        if (slots[i].pid == 0) {
          s = &slots[i];
        }
      }
      struct sweep_task *t = tasks[next++];
      s->task = t;
      s->dir = sweep_printf("runs/%s/%d", t->point->id, t->run);
      if (s->dir == NULL || spawn(e, s) != 0) {
        fprintf(stderr, "tcplab sweep: cannot start a run in %s/%s: %s\n",
                e->dir, s->dir ? s->dir : "runs", strerror(errno));
        free(s->dir);
        s->dir = NULL;
        stop = true;
        result = -1;
        break;
      }
      running++;
    }
    if (running == 0) {
      break;
    }

    /* At least once a second: the progress display, and a backstop
     * should a wake-up ever be missed. */
    int timeout = 1000;
    double now = mono_now();
    for (int i = 0; i < jobs; i++) {
      if (slots[i].pid > 0 && slots[i].deadline > 0 && !slots[i].timed_out) {
        int ms = (int)((slots[i].deadline - now) * 1000) + 1;
        if (ms < 0) {
          ms = 0;
        }
        if (ms < timeout) {
          timeout = ms;
        }
      }
    }
    struct pollfd pfd = {.fd = sweep_signals_fd(), .events = POLLIN};
    poll(&pfd, 1, timeout);
    sweep_signals_drain();

    now = mono_now();
    for (int i = 0; i < jobs; i++) {
      struct slot *s = &slots[i];
      if (s->pid <= 0) {
        continue;
      }
      int ws;
      pid_t got = waitpid(s->pid, &ws, WNOHANG);
      if (got == s->pid) {
        running--;
        if (finish(e, s, ws) != 0) {
          stop = true;
          result = -1;
        }
      } else if (s->deadline > 0 && !s->timed_out && now >= s->deadline) {
        s->timed_out = true;
        kill(-s->pid, SIGKILL);
      }
    }
    if (stop && result == -1) {
      kill_all(slots, jobs);
      break;
    }
    sweep_progress_tick(e->progress);
  }
  free(slots);
  return result;
}
