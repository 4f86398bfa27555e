-- `tcplab sweep --backend parallel`: the same runs through GNU parallel,
-- for real. The results must be those of the local backend, run for run
-- (same seeds, same metrics); failures and timeouts come back with their
-- errors; --sshloginfile is passed to parallel (here a login file naming
-- the local machine, ":", so that parallel's host machinery is used
-- without an ssh server); Ctrl-C stops parallel and its jobs; the same
-- command resumes.
--
--   lua5.4 parallel_test.lua TCPLAB_COMMAND OUT_DIR

local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
T.setup()
T.need("parallel", "parallel")
local tiny = T.experiment("tiny.lua")

local GRID = tiny .. " --param a=1,2,3 --param b=0,0.5 --runs 3 --jobs 2"

T.test("GNU parallel computes what the local backend computes", function()
  local code, _, err = T.sweep(GRID .. " --out local --quiet")
  T.eq(code, 0, "local: exit status " .. err)
  code, _, err = T.sweep(GRID .. " --out par --backend parallel")
  T.eq(code, 0, "parallel: exit status")
  T.contains(err, "18 runs; 0 done before, 18 to run on 2 jobs", "first line")
  T.contains(err, "sweep: 18/18 done, 0 failed", "progress")
  T.eq(T.count("par", "status = 'done' AND host <> '' AND exit_code = 0"), 18, "runs recorded")
  T.eq(T.runs_text("par"), T.runs_text("local"), "runs.csv of parallel and local")
  T.eq(T.read(T.out .. "/par/summary.csv"), T.read(T.out .. "/local/summary.csv"), "summary.csv")
  T.png("par/plots/v.png")
  -- The jobs parallel ran: one per run.
  local list = T.read(T.out .. "/par/parallel-tasks.txt") or ""
  local _, lines = list:gsub("\n", "")
  T.eq(lines, 18, "tasks handed to parallel")
end)

T.test("failures and timeouts through parallel", function()
  local code, _, err = T.sweep(tiny .. " --param mode=ok,exit,loop --timeout 1 --out fail --backend parallel")
  T.eq(code, 1, "exit status")
  T.contains(err, "mode=exit/1 failed: exit status 3: giving up on purpose", "failure line")
  local rows = T.sql("fail", [[SELECT point, status, exit_code, replace(error, char(10), ' ') FROM runs ORDER BY point]])
  T.eq(#rows, 3, "runs")
  T.eq(rows[1][1] .. " " .. rows[1][2] .. " " .. rows[1][3], "mode=exit failed 3", "exit")
  T.contains(rows[1][4], "giving up on purpose", "stderr tail")
  T.eq(rows[2][1] .. " " .. rows[2][2], "mode=loop timeout", "loop")
  T.eq(rows[3][1] .. " " .. rows[3][2], "mode=ok done", "ok")
end)

T.test("--sshloginfile reaches parallel", function()
  T.write(T.out .. "/hosts", "2/:\n")
  local code, _, err = T.sweep(GRID .. " --out ssh --backend parallel --sshloginfile hosts --quiet")
  T.eq(code, 0, "exit status " .. err)
  T.eq(T.runs_text("ssh"), T.runs_text("local"), "runs.csv")
  T.write(T.out .. "/nohosts", "")
  code, _, err = T.sweep(GRID .. " --out ssh2 --backend parallel --sshloginfile missing-file --quiet")
  T.check(code ~= 0, "a missing login file fails")
end)

T.test("Ctrl-C stops parallel and its jobs; the same command resumes", function()
  local args = tiny .. " --param a=1:6:1 --param sleep=0.3 --runs 2 --jobs 2 --backend parallel"
    .. " --out \"$PWD/int\""
  -- ":;" ends the "cd OUT &&" that T.sh puts first, which would take the
  -- sweep into a background subshell with it.
  local code, out = T.sh(":; " .. T.quote(T.tcplab) .. " sweep " .. args .. [[ 2>int.txt & p=$!
    i=0; while [ $i -lt 100 ]; do
      n=$(sqlite3 -cmd '.timeout 5000' int/sweep.db 'SELECT count(*) FROM runs' 2>/dev/null)
      [ "${n:-0}" -ge 3 ] 2>/dev/null && break
      sleep 0.1; i=$((i + 1)); done
    kill -INT $p; wait $p; echo "status $?"; sleep 0.3
    ps -eo args= | grep -F "$PWD/int/runs/" | grep -v grep | grep -c . ]])
  T.contains(out, "status 130\n0\n", "exit status 130, and no job left")
  T.contains(T.read(T.out .. "/int.txt") or "", "the same command resumes", "message")
  local n = T.count("int")
  T.check(n >= 3 and n < 12, "part of the runs recorded: " .. tostring(n))
  local c2, _, err = T.sweep(args)
  T.eq(c2, 0, "resumed: exit status")
  T.contains(err, n .. " done before, " .. (12 - n) .. " to run", "resumed")
  T.eq(T.count("int", "status = 'done' AND attempts = 1"), 12, "every run done once")
end)

T.finish()
