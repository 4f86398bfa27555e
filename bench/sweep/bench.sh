#!/bin/sh
# The sweep benchmark (bench/README.md, "tcplab sweep"): 200 runs of
# bench/sweep/short.lua, 10 loss rates x 20 runs,
#   1. `tcplab run` 200 times in a shell loop, one after the other: what
#      the runs cost without the sweep;
#   2. `tcplab sweep --jobs 1`: the same runs through the sweep, whose
#      excess over 1 is its machinery (fork and exec, waiting, reading
#      metrics.csv, one SQLite transaction per run, the progress lines,
#      summary.csv, runs.csv and the two plots);
#   3. `tcplab sweep --jobs 2`.
# Each is repeated REPEAT times (default 3); the best and the median wall
# times are printed.
#
#   sh bench/sweep/bench.sh BUILD_DIR [REPEAT]
set -eu
build=$(cd "$1" && pwd)
repeat=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
tcplab=$build/tcplab
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/short.lua" "$work/"
cd "$work"

now() { date +%s.%N; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# stats "t1 t2 ...": best and median
stats() {
  echo "$1" | tr ' ' '\n' | grep . | sort -n |
    awk '{ t[NR] = $1 } END { printf "best %.3f s, median %.3f s", t[1], t[int((NR + 1) / 2)] }'
}

loop=""
j1=""
j2=""
i=0
while [ "$i" -lt "$repeat" ]; do
  rm -rf loop s1 s2
  # The shell loop runs the same 200 runs with the same seeds the sweep
  # derives (its --list), each into its own directory.
  "$tcplab" sweep short.lua --param loss=0:0.9:0.1 --runs 20 --out s0 --list >tasks.txt
  t0=$(now)
  while IFS=$(printf '\t') read -r point run seed status; do
    loss=${point#loss=}
    "$tcplab" run short.lua --out "loop/$point/$run" --seed "$seed" --set "loss=$loss" >/dev/null
  done <tasks.txt
  t1=$(now)
  "$tcplab" sweep short.lua --param loss=0:0.9:0.1 --runs 20 --jobs 1 --out s1 --quiet
  t2=$(now)
  "$tcplab" sweep short.lua --param loss=0:0.9:0.1 --runs 20 --jobs 2 --out s2 --quiet
  t3=$(now)
  loop="$loop $(diff_s "$t0" "$t1")"
  j1="$j1 $(diff_s "$t1" "$t2")"
  j2="$j2 $(diff_s "$t2" "$t3")"
  i=$((i + 1))
done
[ "$(wc -l <tasks.txt)" -eq 200 ] || { echo "not 200 runs" >&2; exit 1; }
echo "200 runs of short.lua, wall time ($repeat repetitions):"
echo "  tcplab run in a shell loop:  $(stats "$loop")"
echo "  tcplab sweep --jobs 1:       $(stats "$j1")"
echo "  tcplab sweep --jobs 2:       $(stats "$j2")"
best() { echo "$1" | tr ' ' '\n' | grep . | sort -n | head -n 1; }
med() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
echo "  --jobs 2 / --jobs 1 (medians): $(calc %.3f "$(med "$j2") / $(med "$j1")")"
echo "  sweep machinery per run (medians, --jobs 1 minus the loop, / 200): $(calc %.2f "($(med "$j1") - $(med "$loop")) * 1000 / 200") ms"
echo "  (best against best: $(calc %.2f "($(best "$j1") - $(best "$loop")) * 1000 / 200") ms)"
