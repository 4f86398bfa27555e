#!/bin/sh
# `tcplab sweep --backend slurm`: the job-array script it writes, run two
# ways, and checked against the same sweep run by the local backend, run
# for run (point, index, seed, status, metrics).
#
# 1. Always: without a scheduler. --no-submit writes DIR/sweep.sbatch;
#    sh -n parses it; each array task is executed as Slurm executes it
#    (SLURM_ARRAY_TASK_ID=K sh sweep.sbatch), then the merge command the
#    script names; the same command again finds nothing to do.
# 2. When Slurm's daemons (Debian's slurmctld, slurmd, slurm-client) and
#    munge are installed and this runs as root: a real single-node
#    cluster, started here with a configuration, a munge key and ports of
#    its own in a temporary directory; the sweep submits the array and the
#    merge job after it with sbatch; the test waits for squeue to empty,
#    compares, and shuts the cluster down. Without them, part 2 is left
#    out (and said so), unless CI is set: there it must run.
#
#   sh slurm_test.sh TCPLAB_COMMAND OUT_DIR
set -u
. "$(dirname "$0")/support.sh"

# What a sweep computed, one line per run.
RUNS="SELECT r.point, r.run, r.seed, r.status, group_concat(m.name || '=' || m.value)
      FROM runs r JOIN metrics m ON m.run_id = r.id GROUP BY r.id ORDER BY r.point, r.run"

GRID="tiny.lua --param a=1,2,3 --param b=0:1:0.5 --runs 2"
"$tcplab" sweep $GRID --out ref --quiet || fail "the local sweep failed"
q ref "$RUNS" >ref.txt
[ "$(wc -l <ref.txt)" -eq 18 ] || fail "the local sweep has not 18 runs"

echo "== the job script, run without a scheduler"
"$tcplab" sweep $GRID --backend slurm --jobs 3 --out "$out/gen" --no-submit 2>gen.txt ||
  fail "writing the job script failed: $(cat gen.txt)"
grep -q "wrote $out/gen/sweep.sbatch (18 runs in 3 array tasks)" gen.txt || fail "message: $(cat gen.txt)"
script=gen/sweep.sbatch
sh -n "$script" || fail "sh -n: the job script does not parse"
grep -q '^#SBATCH --array=1-3$' "$script" || fail "no --array=1-3"
grep -q '^#SBATCH --output=' "$script" || fail "no --output"
grep -q -- '--task "$SLURM_ARRAY_TASK_ID" --of 3 ' "$script" || fail "the tasks do not take their slice"
# #SBATCH lines count only before the first command.
[ "$(awk '/^#SBATCH/ { last = NR } !/^#/ && NF && !first { first = NR } END { print (last < first) }' "$script")" = 1 ] ||
  fail "an #SBATCH line after the first command"
for k in 1 2 3; do
  SLURM_ARRAY_TASK_ID=$k sh "$script" 2>"task$k.txt" || fail "task $k failed: $(cat task$k.txt)"
  [ "$(q "gen/tasks/$k" "SELECT count(*) FROM runs WHERE status = 'done'")" -eq 6 ] ||
    fail "task $k did not run its 6 runs"
done
grep -q "18 runs (this task's share below); 0 done before, 6 to run" task1.txt || fail "task 1: $(cat task1.txt)"
# The merge command of the script's header, as the merge job runs it.
merge=$(sed -n "s/^#.*--wrap='\(.*\)'\$/\1/p" "$script")
[ -n "$merge" ] || fail "no merge command in the script's header"
sh -c "$merge" 2>merge.txt || fail "merging failed: $(cat merge.txt)"
q gen "$RUNS" >gen-runs.txt
cmp -s ref.txt gen-runs.txt || fail "the tasks computed other results than the local backend: $(diff ref.txt gen-runs.txt)"
[ -s gen/summary.csv ] && [ -s gen/plots/v.png ] || fail "no summary.csv or plot after merging"
cmp -s ref/summary.csv gen/summary.csv || fail "summary.csv differs from the local backend's"
"$tcplab" sweep $GRID --backend slurm --jobs 3 --out "$out/gen" --no-submit 2>again.txt ||
  fail "the same command again failed"
grep -q "18 done before, 0 to run" again.txt || fail "the same command again: $(cat again.txt)"
# A task run again (a requeued job) finds its runs done.
SLURM_ARRAY_TASK_ID=2 sh "$script" 2>task2b.txt || fail "task 2 again failed"
grep -q "6 done before, 0 to run" task2b.txt || fail "task 2 again: $(cat task2b.txt)"

# Starts a single-node cluster in a temporary directory and runs the
# sweep through it; a wrong result is a failure of its own. Returns 1
# when the cluster does not come up.
real_slurm() {
  cluster=$(mktemp -d /tmp/tcplab-slurm.XXXXXX)
  trap stop_cluster EXIT
  trap 'exit 1' INT TERM HUP
  # munged wants the directory of its socket open to all; the key is not.
  chmod 755 "$cluster"
  mkdir -p "$cluster/state" "$cluster/spool"
  dd if=/dev/urandom of="$cluster/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$cluster/munge.key"
  munged --key-file="$cluster/munge.key" --socket="$cluster/munge.sock" \
    --pid-file="$cluster/munged.pid" --log-file="$cluster/munged.log" \
    --seed-file="$cluster/munged.seed" || return 1
  # Ports of its own, so that another cluster on this host is no matter.
  port=$(awk 'BEGIN { srand(); print 20000 + 2 * int(rand() * 15000) }')
  {
    echo "ClusterName=tcplabtest"
    # Addresses given: nothing depends on resolving the host's name.
    echo "SlurmctldHost=$(hostname)(127.0.0.1)"
    echo "SlurmctldPort=$port"
    echo "SlurmdPort=$((port + 1))"
    echo "AuthType=auth/munge"
    echo "AuthInfo=socket=$cluster/munge.sock"
    echo "CredType=cred/munge"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "StateSaveLocation=$cluster/state"
    echo "SlurmdSpoolDir=$cluster/spool"
    echo "SlurmctldPidFile=$cluster/slurmctld.pid"
    echo "SlurmdPidFile=$cluster/slurmd.pid"
    echo "SlurmctldLogFile=$cluster/slurmctld.log"
    echo "SlurmdLogFile=$cluster/slurmd.log"
    # No cgroups or accounting: nothing beyond the two daemons to set up.
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "MpiDefault=none"
    echo "ReturnToService=2"
    echo "NodeName=$(hostname) NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN"
    echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$cluster/slurm.conf"
  SLURM_CONF="$cluster/slurm.conf"
  export SLURM_CONF
  slurmctld || return 1
  slurmd || return 1
  i=0
  until sinfo -h -o %t 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    if [ "$i" -gt 150 ]; then
      tail -n 5 "$cluster/slurmctld.log" "$cluster/slurmd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  start=$(date +%s)
  "$tcplab" sweep $GRID --backend slurm --jobs 3 --out "$out/real" 2>real.txt ||
    fail "submitting failed: $(cat real.txt)"
  grep -q "submitted job array [0-9]* (3 tasks, 18 runs) and merge job [0-9]*" real.txt ||
    fail "submitting: $(cat real.txt)"
  i=0
  while [ -n "$(squeue -h 2>/dev/null)" ] && [ "$i" -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  [ -z "$(squeue -h 2>/dev/null)" ] || fail "the jobs did not finish in 60 s: $(squeue)"
  echo "the cluster ran the sweep in $(($(date +%s) - start)) s"
  ls real/slurm/*.out >/dev/null 2>&1 || fail "no job logs in real/slurm"
  q real "$RUNS" >real-runs.txt
  cmp -s ref.txt real-runs.txt ||
    fail "Slurm computed other results than the local backend: $(diff ref.txt real-runs.txt; cat real/slurm/*.out)"
  cmp -s ref/summary.csv real/summary.csv || fail "summary.csv from Slurm differs"
  return 0
}

stop_cluster() {
  [ -n "${cluster:-}" ] || return 0
  # scontrol shutdown stops both daemons; the pid files catch a daemon
  # that never reached the controller, and munged.
  scontrol shutdown >/dev/null 2>&1
  sleep 0.5
  for f in slurmctld.pid slurmd.pid munged.pid; do
    [ -s "$cluster/$f" ] && kill "$(cat "$cluster/$f")" 2>/dev/null
  done
  sleep 0.3
  rm -rf "$cluster"
  cluster=
}

echo "== a real single-node Slurm"
have_slurm=yes
for p in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$p" >/dev/null 2>&1 || have_slurm=no
done
[ "$(id -u)" -eq 0 ] || have_slurm=no
if [ "$have_slurm" = no ]; then
  if [ -n "${CI:-}" ]; then
    fail "Slurm (slurmctld slurmd slurm-client munge) and root are needed under CI"
  else
    echo "no Slurm daemons or not root: the job script was tested without a scheduler only" >&2
  fi
else
  real_slurm || fail "the cluster did not come up"
  stop_cluster
fi

finish
