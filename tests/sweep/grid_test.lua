-- `tcplab sweep` on one machine, as a user runs it: the grid of --param
-- values and ranges times --runs, one seed per run that depends on the
-- point's values (so a point added later changes nothing else), the
-- database, summary.csv against statistics computed here, runs.csv, the
-- plots, the progress display, failures and timeouts, resuming, --list,
-- --merge and usage errors.
--
--   lua5.4 grid_test.lua TCPLAB_COMMAND OUT_DIR

local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
T.setup()
local tiny = T.experiment("tiny.lua")

local GRID = tiny .. " --param a=1,2 --param b=0:0.2:0.1 --runs 3 --jobs 2"

T.test("a grid of 2 x 3 points x 3 runs", function()
  local code, _, err = T.sweep(GRID .. " --out g")
  T.eq(code, 0, "exit status")
  T.contains(err, "6 points x 3 runs = 18 runs; 0 done before, 18 to run on 2 jobs", "first line")
  -- Plain lines when stderr is no terminal.
  T.contains(err, "sweep: 18/18 done, 0 failed, ", "last progress line")
  T.contains(err, " elapsed, ETA ", "progress line")
  T.check(not err:find("\r", 1, true), "no carriage returns off a terminal")

  T.eq(T.count("g"), 18, "runs in sweep.db")
  T.eq(T.count("g", "status = 'done'"), 18, "done runs")
  -- Every run in its own directory, with its metrics.csv.
  for _, r in ipairs(T.sql("g", "SELECT dir FROM runs")) do
    T.check(T.read(T.out .. "/g/" .. r[1] .. "/metrics.csv") ~= nil, r[1] .. "/metrics.csv")
  end
  -- The run was given its point's values: a2 is twice a, typed.
  local bad = T.sql("g", [[SELECT r.point FROM runs r JOIN params p ON p.run_id = r.id AND p.name = 'a'
    JOIN metrics m ON m.run_id = r.id AND m.name = 'a2' WHERE m.value <> 2 * p.value
    OR typeof(p.value) <> 'integer']])
  T.eq(#bad, 0, "runs whose a2 is not 2a")
  T.eq(T.sql("g", "SELECT group_concat(value) FROM (SELECT DISTINCT value FROM params WHERE name = 'b' ORDER BY value)")[1][1],
    "0,0.1,0.2", "the range 0:0.2:0.1")
  -- ... and its seed: the one recorded, all 18 different.
  local seeds = T.sql("g", [[SELECT r.seed, m.value FROM runs r JOIN metrics m ON m.run_id = r.id
    AND m.name = 'seed_mod']])
  local distinct = {}
  for _, s in ipairs(seeds) do
    T.eq(tonumber(s[2]), math.tointeger(tonumber(s[1])) % 1000, "seed seen by the run")
    distinct[s[1]] = true
  end
  local n = 0
  for _ in pairs(distinct) do n = n + 1 end
  T.eq(n, 18, "distinct seeds")
  -- Start, end, host, no error.
  T.eq(T.count("g", "ended >= started AND started > 1.6e9 AND host <> '' AND error IS NULL AND exit_code = 0"), 18,
    "times, host, error and exit code")
end)

T.test("summary.csv: count, mean, sd and 95 % CI per point and metric", function()
  local runs = T.csv("g/runs.csv")
  T.eq(#runs, 18, "rows in runs.csv")
  local by = {}
  for _, r in ipairs(runs) do
    local k = r.a .. "/" .. r.b
    by[k] = by[k] or {}
    table.insert(by[k], r)
  end
  local summary = T.csv("g/summary.csv")
  -- a2, even, seed_mod, v (label is text: no statistics) for 6 points
  T.eq(#summary, 24, "rows in summary.csv")
  local metrics = {}
  for _, s in ipairs(summary) do
    metrics[s.metric] = true
    local list = by[s.a .. "/" .. s.b]
    T.eq(s.count, 3, "count")
    local xs = {}
    for i, r in ipairs(list) do
      local v = r[s.metric]
      if v == true or v == "true" then v = 1 elseif v == false or v == "false" then v = 0 end
      xs[i] = v
    end
    local mean = (xs[1] + xs[2] + xs[3]) / 3
    local sd = math.sqrt(((xs[1] - mean) ^ 2 + (xs[2] - mean) ^ 2 + (xs[3] - mean) ^ 2) / 2)
    local ci = 4.303 * sd / math.sqrt(3) -- Student's t, 2 degrees of freedom
    T.near(s.mean, mean, s.metric .. " mean", 1e-9)
    T.near(s.sd, sd, s.metric .. " sd", 1e-9)
    T.near(s.ci95, ci, s.metric .. " ci95", 1e-9)
    T.near(s.ci95_low, mean - ci, s.metric .. " ci95_low", 1e-9)
    T.near(s.ci95_high, mean + ci, s.metric .. " ci95_high", 1e-9)
  end
  T.check(metrics.a2 and metrics.v and metrics.seed_mod and metrics.even and not metrics.label,
    "numeric and boolean metrics summarised, text not")
  T.eq(T.read(T.out .. "/g/summary.csv"):match("^[^\r\n]*"),
    "a,b,metric,count,mean,sd,ci95,ci95_low,ci95_high", "summary.csv header")
end)

T.test("a plot per numeric metric against the first parameter, a line per value of the second", function()
  for _, m in ipairs { "a2", "v", "seed_mod", "even" } do
    T.png("g/plots/" .. m .. ".png")
  end
  T.check(T.read(T.out .. "/g/plots/label.png") == nil, "no plot of a text metric")
  local gp = T.read(T.out .. "/g/plots/v.gp") or ""
  T.contains(gp, "set xlabel 'a'", "x axis")
  T.contains(gp, "title 'b=0'", "a line for b=0")
  T.contains(gp, "title 'b=0.2'", "a line for b=0.2")
  T.contains(gp, "yerrorlines", "error bars")
end)

T.test("the same command again runs nothing", function()
  local before = T.sql("g", "SELECT group_concat(ended) FROM runs")[1][1]
  local code, _, err = T.sweep(GRID .. " --out g")
  T.eq(code, 0, "exit status")
  T.contains(err, "18 done before, 0 to run", "nothing to run")
  T.eq(T.sql("g", "SELECT group_concat(ended) FROM runs")[1][1], before, "runs untouched")
end)

T.test("a point added changes no other point's seeds or results", function()
  local RUNS = [[SELECT r.point, r.run, r.seed, r.ended, group_concat(m.name || '=' || m.value)
    FROM runs r JOIN metrics m ON m.run_id = r.id GROUP BY r.id ORDER BY r.point, r.run]]
  local function text(rows)
    local lines = {}
    for i, r in ipairs(rows) do lines[i] = table.concat(r, " ") end
    return table.concat(lines, "\n")
  end
  local old = text(T.sql("g", RUNS))
  -- A third value of a; --param order changed too: the points are their
  -- values, not their places.
  local code, _, err = T.sweep(tiny .. " --param b=0:0.2:0.1 --param a=0,1,2 --runs 3 --out g")
  T.eq(code, 0, "exit status")
  T.contains(err, "9 points x 3 runs = 27 runs; 18 done before, 9 to run", "only the new point runs")
  local new = T.sql("g", RUNS .. "")
  local kept = {}
  for _, r in ipairs(new) do
    if not r[1]:match("^a=0,") then kept[#kept + 1] = r end
  end
  T.eq(text(kept), old, "the old points' runs, seeds and metrics")
  T.eq(#new, 27, "runs")
  -- The point a=2 alone, in a sweep of its own, gets the same seeds.
  local c2 = T.sweep(tiny .. " --param a=2 --param b=0:0.2:0.1 --runs 3 --out alone --quiet")
  T.eq(c2, 0, "exit status of the one-point sweep")
  local a = T.sql("g", "SELECT point, run, seed FROM runs WHERE point LIKE 'a=2,%' ORDER BY 1, 2")
  local b = T.sql("alone", "SELECT point, run, seed FROM runs ORDER BY 1, 2")
  T.eq(#b, 9, "runs of the one-point sweep")
  for i = 1, #b do
    T.eq(table.concat(b[i], " "), a[i] and table.concat(a[i], " "), "point, run and seed")
  end
  -- --list says the same without running anything.
  local lc, list = T.sweep(tiny .. " --param a=2,3 --param b=0 --runs 2 --out g --list")
  T.eq(lc, 0, "--list exit status")
  T.contains(list, "a=2,b=0\t1\t" .. a[1][3] .. "\tdone\n", "--list: a done run and its seed")
  T.contains(list, "a=3,b=0\t2\t", "--list: a new point")
  T.contains(list, "\tpending\n", "--list: pending")
end)

T.test("values and ranges: numbers in their shortest form, times in their unit", function()
  local code, list, err = T.sweep(tiny .. " --param d=20ms:60ms:20ms --param x=0.10,2e-1,3"
    .. " --param t=0.5s:2s:500ms --param n=1:10:3 --out listed --list")
  T.eq(code, 0, "exit status " .. err)
  local points = {}
  for p in list:gmatch("([^\t\n]+)\t1\t") do points[#points + 1] = p end
  T.eq(#points, 3 * 3 * 4 * 4, "points")
  T.eq(points[1], "d=20ms,n=1,t=0.5s,x=0.1", "first point")
  T.eq(points[#points], "d=60ms,n=10,t=2s,x=3", "last point")
  T.contains(list, "d=40ms,n=4,t=1.5s,x=0.2\t1\t", "a point inside")
  T.check(io.open(T.out .. "/listed") == nil, "--list creates nothing")
  code, _, err = T.sweep(tiny .. " --param x=0.10,1e-1 --list")
  T.eq(code, 2, "the same value twice")
  T.contains(err, "--param x: value 0.1 appears twice", "message")
end)

T.test("another --seed or script in the same directory is refused", function()
  local code, _, err = T.sweep(GRID .. " --out g --seed 2")
  T.eq(code, 1, "exit status")
  T.contains(err, "holds a sweep with --seed 1, not 2", "message")
  T.write(T.out .. "/other.lua", "return { x = 1 }\n")
  code, _, err = T.sweep("other.lua --param a=1 --out g")
  T.eq(code, 1, "exit status")
  T.contains(err, "holds a sweep of tiny.lua, not other.lua", "message")
end)

T.test("failed, crashed and looping runs are recorded and stop nothing", function()
  local t0 = os.time()
  local code, _, err = T.sweep(tiny .. " --param mode=ok,exit,error,loop,none --runs 2 --timeout 1 --out f")
  T.eq(code, 1, "exit status when runs failed")
  T.check(os.time() - t0 < 15, "the looping runs were stopped")
  T.contains(err, "sweep: mode=exit/1 failed: exit status 3: giving up on purpose", "failure line")
  T.contains(err, "mode=loop/1 timeout: timed out after 1 s", "timeout line")
  T.contains(err, "4 of 10 runs done, 6 failed or timed out", "last line")
  local rows = T.sql("f", [[SELECT point, status, exit_code, replace(error, char(10), ' ') FROM runs
    WHERE run = 1 ORDER BY point]])
  local by = {}
  for _, r in ipairs(rows) do by[r[1]] = r end
  T.eq(by["mode=ok"][2], "done", "ok")
  T.eq(by["mode=none"][2], "done", "no metrics is done too")
  T.eq(by["mode=exit"][2] .. " " .. by["mode=exit"][3], "failed 3", "os.exit(3)")
  T.contains(by["mode=exit"][4], "giving up on purpose", "the stderr tail")
  T.eq(by["mode=error"][2], "failed", "error()")
  T.contains(by["mode=error"][4], "tiny.lua:16: an error on purpose", "error with file and line")
  T.eq(by["mode=loop"][2], "timeout", "loop")
  T.contains(by["mode=loop"][4], "timed out after 1 s", "timeout message")
  T.eq(T.count("f", "point = 'mode=none' AND id IN (SELECT run_id FROM metrics)"), 0, "no metrics")
  -- summary.csv has what the done runs returned.
  local summary = T.csv("f/summary.csv")
  T.check(#summary > 0 and summary[1].mode == "ok", "summary of the done runs")

  -- Resuming: --no-retry leaves failures as they are...
  code, _, err = T.sweep(tiny .. " --param mode=ok,exit,error,loop,none --runs 2 --timeout 1 --out f --no-retry")
  T.eq(code, 0, "exit status")
  T.contains(err, "4 done before, 0 to run", "--no-retry")
  -- ... the same command runs them again (the loop only once more).
  code, _, err = T.sweep(tiny .. " --param mode=ok,exit,error --runs 2 --timeout 1 --out f")
  T.eq(code, 1, "exit status")
  T.contains(err, "2 done before, 4 to run", "failures run again")
  T.eq(T.count("f", "point = 'mode=exit' AND attempts = 2"), 2, "attempts counted")
end)

T.test("a progress bar on a terminal", function()
  if not T.have("script") then
    io.stderr:write("no script(1): the terminal case is not tested\n")
    return
  end
  local code, out = T.sh("script -qec " .. T.quote(T.quote(T.tcplab) .. " sweep " .. tiny
    .. " --param a=1,2 --param sleep=0.1 --runs 3 --jobs 2 --out tty") .. " /dev/null")
  T.eq(code, 0, "exit status")
  T.contains(out, "\rsweep [", "a bar redrawn in place")
  T.contains(out, "#] 6/6 done, 0 failed, ", "full bar")
  T.contains(out, "-] 0/6 done, 0 failed, ", "empty bar first")
  T.contains(out, "ETA ", "ETA")
end)

T.test("--merge folds sweeps together without duplicates", function()
  for _, a in ipairs { "1", "2" } do
    local code = T.sweep(tiny .. " --param a=" .. a .. " --param b=0:0.2:0.1 --runs 3 --out part" .. a .. " --quiet")
    T.eq(code, 0, "part " .. a)
  end
  local code, _, err = T.sweep("--merge part1 part2 --out m")
  T.eq(code, 0, "merge exit status")
  T.contains(err, "part1/sweep.db: 9 runs taken", "first part")
  T.eq(T.count("m"), 18, "runs merged")
  -- The merged summary is the one-directory sweep's for those points.
  local function keyed(path)
    local t = {}
    for _, r in ipairs(T.csv(path)) do
      t[("%s/%s/%s"):format(r.a, r.b, r.metric)] = ("%s %s %s %s"):format(r.count, r.mean, r.sd, r.ci95)
    end
    return t
  end
  local merged, whole = keyed("m/summary.csv"), keyed("g/summary.csv")
  local n = 0
  for k, v in pairs(merged) do
    T.eq(v, whole[k], "merged summary " .. k)
    n = n + 1
  end
  T.eq(n, 24, "rows of the merged summary")
  code, _, err = T.sweep("--merge part1 part2 m --out m")
  T.eq(code, 0, "second merge")
  T.contains(err, "part2/sweep.db: 0 runs taken", "nothing new")
  T.eq(T.count("m"), 18, "no duplicates")
  -- A sweep with another seed is another experiment.
  T.sweep(tiny .. " --param a=1 --runs 1 --seed 5 --out seed5 --quiet")
  code, _, err = T.sweep("--merge seed5 --out m")
  T.eq(code, 1, "merge of another seed")
  T.contains(err, "its seed is 5, not 1", "message")
end)

T.test("usage errors", function()
  local cases = {
    { tiny, "sweep needs at least one --param" },
    { tiny .. " --param 'bad name=1'", "--param takes NAME=V1,V2" },
    { tiny .. " --param a=1 --param a=2", "--param a is given twice" },
    { tiny .. " --param a=5:1:1", "ends before it starts" },
    { tiny .. " --param a=1 --runs 0", "bad value '0' for --runs" },
    { tiny .. " --param a=1 --task 2", "--task K and --of M go together" },
    { tiny .. " --param a=1 --backend cloud", "bad value 'cloud' for --backend" },
    { tiny .. " --param a=1 --frobnicate", "unknown option '--frobnicate'" },
    { "--merge", "--merge needs at least one sweep directory" },
  }
  for _, c in ipairs(cases) do
    local code, _, err = T.sweep(c[1])
    T.eq(code, 2, c[1] .. ": exit status")
    T.contains(err, c[2], c[1])
    T.contains(err, "usage: tcplab sweep", c[1] .. ": usage")
  end
  local code, _, err = T.sweep("missing.lua --param a=1")
  T.eq(code, 1, "missing script")
  T.contains(err, "cannot open missing.lua", "missing script")
  local hc, help = T.sh(T.quote(T.tcplab) .. " --help")
  T.eq(hc, 0, "--help")
  T.contains(help, "tcplab sweep SCRIPT --param NAME=V1,V2,...", "--help names sweep")
end)

T.finish()
