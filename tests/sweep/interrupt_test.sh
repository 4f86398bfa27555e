#!/bin/sh
# `tcplab sweep` interrupted, the ways a real sweep is: kill -9 of the
# sweep half way, Ctrl-C (SIGINT), kill -9 of one of its runs. Each time
# nothing already finished is lost or run again, no run outlives the
# sweep, the database is intact, and the same command resumes and
# completes the sweep.
#
#   sh interrupt_test.sh TCPLAB_COMMAND OUT_DIR
set -u
. "$(dirname "$0")/support.sh"

# Waits until DIR's database has at least N runs (20 s at most).
wait_runs() {
  i=0
  while [ "$i" -lt 200 ]; do
    n=$(q "$1" "SELECT count(*) FROM runs" 2>/dev/null)
    [ "${n:-0}" -ge "$2" ] 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Runs of DIR still going: processes whose arguments name its runs (the
# sweeps below get absolute directories, so that the names are unique).
leftover() {
  ps -eo args= | grep -F "$PWD/$1/runs/" | grep -v grep | grep -c . || true
}

# 16 runs of 0.2 s on 2 jobs: 1.6 s in all.
SWEEP="tiny.lua --param a=1:8:1 --param sleep=0.2 --runs 2 --jobs 2 --quiet"

echo "== kill -9 of the sweep half way, then the same command"
"$tcplab" sweep $SWEEP --out "$PWD/k9" &
pid=$!
wait_runs k9 6 || fail "kill -9: no runs recorded in time"
kill -9 "$pid"
wait "$pid"
[ $? -eq 137 ] || fail "kill -9: the sweep was not killed"
sleep 0.2
before=$(q k9 "SELECT count(*) FROM runs")
[ "$before" -ge 6 ] && [ "$before" -lt 16 ] || fail "kill -9: $before runs recorded, not part of 16"
[ "$(leftover k9)" -eq 0 ] || fail "kill -9: runs outlived the sweep"
[ "$(q k9 'PRAGMA integrity_check')" = ok ] || fail "kill -9: database damaged"
done_before=$(q k9 "SELECT group_concat(point || '/' || run || '@' || ended) FROM (SELECT * FROM runs ORDER BY id)")
"$tcplab" sweep $SWEEP --out "$PWD/k9" 2>err.txt || fail "kill -9: resuming failed: $(cat err.txt)"
[ "$(q k9 "SELECT count(*) FROM runs WHERE status = 'done' AND attempts = 1")" -eq 16 ] ||
  fail "kill -9: not 16 runs done once each after resuming"
after=$(q k9 "SELECT group_concat(point || '/' || run || '@' || ended) FROM (SELECT * FROM runs ORDER BY id LIMIT $before)")
[ "$after" = "$done_before" ] || fail "kill -9: runs finished before the kill were changed"
# Each done run's files are complete: its metrics match the database.
for d in $(q k9 "SELECT dir FROM runs"); do
  [ -s "k9/$d/metrics.csv" ] || fail "kill -9: $d/metrics.csv missing"
done
[ -s k9/summary.csv ] || fail "kill -9: no summary.csv after resuming"

echo "== Ctrl-C (SIGINT), then the same command"
"$tcplab" sweep $SWEEP --out "$PWD/int" 2>int-err.txt &
pid=$!
wait_runs int 4 || fail "SIGINT: no runs recorded in time"
kill -INT "$pid"
wait "$pid"
status=$?
[ "$status" -eq 130 ] || fail "SIGINT: exit status $status, not 130"
grep -q "interrupted (Interrupt) with .* of 16 runs done; the same command resumes" int-err.txt ||
  fail "SIGINT: no message: $(cat int-err.txt)"
sleep 0.2
[ "$(leftover int)" -eq 0 ] || fail "SIGINT: runs outlived the sweep"
n=$(q int "SELECT count(*) FROM runs WHERE status = 'done'")
[ "$n" -ge 4 ] && [ "$n" -lt 16 ] || fail "SIGINT: $n runs recorded"
[ "$(q int "SELECT count(*) FROM runs WHERE status <> 'done'")" -eq 0 ] ||
  fail "SIGINT: the runs it stopped were recorded as failures"
"$tcplab" sweep $SWEEP --out "$PWD/int" 2>err.txt || fail "SIGINT: resuming failed: $(cat err.txt)"
[ "$(q int "SELECT count(*) FROM runs WHERE status = 'done' AND attempts = 1")" -eq 16 ] ||
  fail "SIGINT: not 16 runs done once each after resuming"

echo "== kill -9 of one run"
"$tcplab" sweep tiny.lua --param a=1,2 --param sleep=1 --jobs 2 --out "$PWD/one" 2>one-err.txt &
pid=$!
victim=""
i=0
while [ -z "$victim" ] && [ "$i" -lt 100 ]; do
  victim=$(ps -eo pid=,args= | grep -F "$PWD/one/runs/a=1,sleep=1/1 " | grep -v grep | awk '{print $1}' | head -n 1)
  [ -z "$victim" ] && sleep 0.1
  i=$((i + 1))
done
if [ -z "$victim" ]; then
  fail "one run: the run a=1 never started"
else
  kill -9 "$victim"
fi
wait "$pid"
status=$?
[ "$status" -eq 1 ] || fail "one run: exit status $status, not 1 (a run failed)"
[ "$(q one "SELECT status || ' ' || exit_code FROM runs WHERE point = 'a=1,sleep=1' AND error LIKE 'killed by signal 9 %'")" = "failed -9" ] ||
  fail "one run: the killed run is not recorded as killed: $(q one 'SELECT * FROM runs')"
[ "$(q one "SELECT status FROM runs WHERE point = 'a=2,sleep=1'")" = done ] ||
  fail "one run: the other run did not finish"
grep -q "a=1,sleep=1/1 failed: killed by signal 9" one-err.txt || fail "one run: no message: $(cat one-err.txt)"
"$tcplab" sweep tiny.lua --param a=1,2 --param sleep=1 --jobs 2 --out "$PWD/one" 2>err.txt ||
  fail "one run: resuming failed: $(cat err.txt)"
grep -q "1 done before, 1 to run" err.txt || fail "one run: resuming ran more than the killed run: $(cat err.txt)"
[ "$(q one "SELECT status || ' ' || attempts FROM runs WHERE point = 'a=1,sleep=1'")" = "done 2" ] ||
  fail "one run: the killed run is not done after resuming"

finish
