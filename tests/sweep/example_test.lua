-- experiments/12-sweep-handshake.lua through the real command: the sweep
-- its header documents (checked to parse and to make 360 runs), and a
-- small version of it run for real, whose summary.csv and plot are
-- checked against what the experiment teaches: without loss the
-- handshake takes exactly one round trip, with loss it is late by whole
-- seconds.
--
--   lua5.4 example_test.lua TCPLAB_COMMAND OUT_DIR

local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/support.lua")
T.setup()
local script = T.here .. "/../../experiments/12-sweep-handshake.lua"

T.test("the command in the header is the documented sweep", function()
  local text = assert(T.read(script))
  local lines = {}
  local on = false
  for line in text:gmatch("[^\n]*") do
    if line:match("^%-%-%s+tcplab sweep ") then on = true end
    if on then
      lines[#lines + 1] = line:gsub("^%-%-%s*", ""):gsub("\\$", "")
      if not line:find("\\$") then break end
    end
  end
  local cmd = table.concat(lines, " ")
  T.contains(cmd, "tcplab sweep experiments/12-sweep-handshake.lua", "script")
  T.contains(cmd, "--runs 20", "20 runs per point")
  -- The same arguments, listed rather than run.
  local args = cmd:gsub("^tcplab sweep experiments/12%-sweep%-handshake%.lua", ""):gsub("%-%-out %S+", "")
  local code, out = T.sweep(T.quote(script) .. args .. " --out listed --list")
  T.eq(code, 0, "--list of the documented sweep")
  local _, n = out:gsub("\tpending\n", "")
  T.eq(n, 6 * 3 * 20, "runs of the documented sweep")
end)

T.test("a small version of the sweep: summary.csv and the plot", function()
  local code, _, err = T.sweep(T.quote(script)
    .. " --param loss=0,0.5 --param delay=10ms,100ms --runs 4 --jobs 2 --out small")
  T.eq(code, 0, "exit status")
  T.contains(err, "4 points x 4 runs = 16 runs", "grid")
  T.eq(T.count("small", "status = 'done'"), 16, "runs done")

  local summary = T.csv("small/summary.csv")
  local s = {}
  for _, r in ipairs(summary) do s[("%s/%s/%s"):format(r.loss, r.delay, r.metric)] = r end
  -- No loss: one round trip, 2d plus two 50-byte frames at 10 Mbit/s
  -- (40 us each), the same in every run.
  for _, d in ipairs { { "10ms", 0.02008 }, { "100ms", 0.20008 } } do
    local r = s["0/" .. d[1] .. "/handshake_s"]
    if T.check(r, "summary row for loss 0, delay " .. d[1]) then
      T.eq(r.count, 4, "count")
      T.eq(r.mean, d[2], "lossless handshake, delay " .. d[1])
      T.eq(r.sd, 0, "no spread without loss")
      T.eq(r.ci95, 0, "no interval without loss")
    end
    local late = s["0/" .. d[1] .. "/late_s"]
    T.check(late and late.mean == 0, "late_s is 0 without loss")
    local syn = s["0/" .. d[1] .. "/syn_tx"]
    T.check(syn and syn.mean == 1, "one SYN without loss")
  end
  -- With loss: every handshake that completed is late by whole seconds
  -- (now and then plus 40 us per queued SYN|ACK).
  local lates = T.sql("small", [[SELECT m.value FROM metrics m JOIN params p ON p.run_id = m.run_id
    AND p.name = 'loss' WHERE m.name = 'late_s' AND p.value = 0.5]])
  T.check(#lates > 0, "some lossy handshakes completed")
  for _, l in ipairs(lates) do
    local v = tonumber(l[1])
    local whole = math.floor(v + 0.5)
    local rest = math.floor((v - whole) * 1e9 + 0.5)
    T.check(whole >= 0 and rest >= 0 and rest % 40000 == 0 and rest < 1000000,
      "late by whole seconds: " .. l[1])
  end
  local conn = s["0.5/10ms/connected"]
  T.check(conn and conn.mean >= 0 and conn.mean <= 1, "connected is a proportion")

  -- The plot: latency against loss, one line per delay.
  T.png("small/plots/handshake_s.png")
  local gp = T.read(T.out .. "/small/plots/handshake_s.gp") or ""
  T.contains(gp, "set xlabel 'loss'", "x axis")
  T.contains(gp, "title 'delay_s=0.01'", "a line for 10 ms")
  T.contains(gp, "title 'delay_s=0.1'", "a line for 100 ms")
  local dat = T.read(T.out .. "/small/plots/handshake_s.dat") or ""
  T.contains(dat, "0 0.02008 0.02008 0.02008 4 0", "the lossless point of the 10 ms line")
end)

T.finish()
