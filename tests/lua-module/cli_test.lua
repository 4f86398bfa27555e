-- The tcplab command as a user runs it: a small experiment through
-- `tcplab run` writing the three CSV files and its metrics, parameters,
-- seeds and output directories, byte-identical reruns, scripts that fail
-- (with file, line and traceback), errors inside callbacks, usage
-- errors, --help, --version, --lua-path, and `tcplab plot`.
--
--   lua5.4 cli_test.lua TCPLAB_COMMAND OUT_DIR

local H = dofile((arg[0]:match("^(.*)/") or ".") .. "/harness.lua")
H.setup()
local q = H.quote

-- An experiment: one connection per client port, a lost FIN, metrics.
local EXPERIMENT = [[
-- handshake latency under a lost FIN
local tcplab = require("tcplab")
local delay = tcplab.param("delay", "20ms")
local sim = tcplab.sim{}
local client, server = sim:node("client"), sim:node("server", { msl = "5s" })
local link = sim:link(client, server, { rate = "10Mbps", delay = delay })
link:drop{ from = server, flags = "FIN", nth = tcplab.param("nth", 1) }
server:listen(80, { on_accept = function(c) c:close{ after = 0.5 } end })
local conn = client:connect(server, 80, { at = 1.0 })
conn:close{ at = 2.0 }
sim:run{ stop = 300 }
assert(sim:write_csv(tcplab.out))
print("params", tcplab.params.delay, math.type(tcplab.params.nth), tcplab.params.verbose,
  tcplab.params.label, tcplab.params.ratio, tcplab.seed, tcplab.out, select("#", ...), ...)
return {
  handshake_s = conn.handshake_s,
  final_state = conn.state,
  retransmitted = tcplab.first(sim:connections(), { role = "passive" }).retransmissions > 0,
  isn = tcplab.first(sim:timeline(), { event = "rcv", flags = "SYN" }).seq,
}
]]

local function file_has(path, parts, what)
  local text = H.read(path)
  if not H.check(text, what .. ": " .. path .. " missing") then return end
  H.contains(text, parts, what)
  return text
end

H.test("an experiment writes the three CSV files and its metrics", function()
  local status, out, err = H.run_script("exp.lua", EXPERIMENT,
    "--set delay=30ms --set nth=1 --set verbose=true --set label=run-a --set ratio=0.25 -- x y")
  H.eq(status, 0, "exit status")
  H.eq(err, "", "stderr")
  -- default output directory: results/<script name>
  local dir = H.out .. "/results/exp"
  file_has(dir .. "/timeline.csv",
    { "time_s,node,conn,flow,from_state,to_state,event,flags,seq,ack,rel_seq,rel_ack\r\n" }, "timeline.csv")
  file_has(dir .. "/segments.csv",
    { "time_s,link,from_node,to_node,action,flow,flags,seq,ack,rel_seq,rel_ack,len,win,reason\r\n",
      ",dropped,", ",rule\r\n" }, "segments.csv")
  file_has(dir .. "/connections.csv",
    { "conn,node,role,flow,local,remote,open_s,established_s,handshake_s,syn_tx,close_s,closed_s,"
      .. "final_state,bytes_sent,bytes_received,retransmissions,error\r\n" }, "connections.csv")
  -- 30 ms each way instead of 20: --set reached the script, typed.
  local metrics = file_has(dir .. "/metrics.csv", { "name,value\r\n", "final_state,CLOSED\r\n",
    "handshake_s,0.06008\r\n", "retransmitted,true\r\n" }, "metrics.csv")
  H.check(metrics and metrics:find("^name,value\r\nfinal_state,.*handshake_s,.*isn,.*retransmitted,"),
    "metrics sorted by name")
  H.contains(out, { "params\t30ms\tinteger\ttrue\trun-a\t0.25\t1\tresults/exp\t2\tx\ty",
    "handshake_s = 0.06008", "final_state = CLOSED", "retransmitted = true" }, "stdout")
end)

H.test("--out, --seed and byte-identical reruns", function()
  H.write(H.out .. "/exp.lua", EXPERIMENT)
  local s1 = H.tcplab_run("run exp.lua --seed 42 --out runs/a")
  local s2 = H.tcplab_run("run --out runs/b exp.lua --seed 42")
  local s3 = H.tcplab_run("run exp.lua --out runs/c --seed 43")
  H.eq(s1, 0, "run a")
  H.eq(s2, 0, "run b")
  H.eq(s3, 0, "run c")
  for _, f in ipairs { "timeline.csv", "segments.csv", "connections.csv", "metrics.csv" } do
    local a, b = H.read(H.out .. "/runs/a/" .. f), H.read(H.out .. "/runs/b/" .. f)
    H.check(a and #a > 0 and a == b, "same script and seed, same " .. f)
  end
  H.check(H.read(H.out .. "/runs/a/timeline.csv") ~= H.read(H.out .. "/runs/c/timeline.csv"),
    "another seed, other ISNs")
  H.check(H.read(H.out .. "/runs/a/metrics.csv") ~= H.read(H.out .. "/results/exp/metrics.csv"),
    "--seed 42 differs from the default seed 1")
end)

H.test("a failing script: file, line and traceback", function()
  local status, _, err = H.run_script("fails.lua", "local x = 1\nlocal function f() return nil + x end\nf()\n")
  H.eq(status, 1, "runtime error status")
  H.contains(err, { "tcplab: fails.lua:2: attempt to perform arithmetic on a nil value",
    "stack traceback:", "fails.lua:2: in ", "fails.lua:3: in main chunk" }, "runtime error")

  status, _, err = H.run_script("syntax.lua", "local x = \nprint(x))\n")
  H.eq(status, 1, "syntax error status")
  H.contains(err, { "tcplab: syntax.lua:2: " }, "syntax error names file and line")

  status, _, err = H.run_script("raise.lua", "error('custom failure')\n")
  H.eq(status, 1, "error() status")
  H.contains(err, { "raise.lua:1: custom failure" }, "error()")

  status, _, err = H.tcplab_run("run missing.lua")
  H.eq(status, 1, "missing script")
  H.contains(err, { "tcplab: cannot open missing.lua" }, "missing script message")

  status, _, err = H.run_script("badmetrics.lua", "return { ok = 1, bad = {} }\n")
  H.eq(status, 1, "bad metrics")
  H.contains(err, { "metric 'bad' is a table", "numbers, strings or booleans" }, "bad metrics message")

  status, _, err = H.run_script("badreturn.lua", "return 42\n")
  H.eq(status, 1, "non-table return")
  H.contains(err, { "returned a number" }, "non-table return message")
end)

H.test("an error in a callback stops the run", function()
  local status, out, err = H.run_script("callback.lua", [[
local tcplab = require("tcplab")
local sim = tcplab.sim()
local a, b = sim:node("a"), sim:node("b")
sim:link(a, b, { delay = "10ms" })
b:listen(80, { on_accept = function(c)
  c:no_such_method()
end })
a:connect(b, 80, { at = 1 })
sim:at(30, function() print("LATER") end)
sim:run()
print("AFTER")
]])
  H.eq(status, 1, "status")
  H.check(not out:find("LATER") and not out:find("AFTER"), "nothing ran after the error")
  H.contains(err, { "tcplab: callback.lua:10: sim:run: stopped at 1.0",
    "by an error in the on_accept callback: callback.lua:6: attempt to call a nil value (method 'no_such_method')",
    "stack traceback:", "callback.lua:6: in function <callback.lua:5>", "callback.lua:10: in main chunk" }, "message")
  local _, n = err:gsub("stack traceback:", "")
  H.eq(n, 1, "one traceback")

  status, out, err = H.run_script("timer.lua", [[
local tcplab = require("tcplab")
local sim = tcplab.sim()
sim:at(2, function() error("in a timer") end)
sim:at(3, function() print("LATER") end)
sim:run()
]])
  H.eq(status, 1, "timer status")
  H.check(not out:find("LATER"), "timer: nothing ran after the error")
  H.contains(err, { "timer.lua:5: sim:run: stopped at 2.000000000 s by an error in a sim:at function: timer.lua:3: in a timer" }, "timer message")
end)

H.test("usage", function()
  local status, out = H.tcplab_run("--help")
  H.eq(status, 0, "--help")
  H.contains(out, { "tcplab run SCRIPT", "--out DIR", "--seed N", "--set NAME=VALUE", "tcplab plot" }, "--help")
  status, out = H.tcplab_run("--version")
  H.eq(status, 0, "--version")
  H.check(out:match("^tcplab %d+%.%d+%.%d+ %(Lua 5%.4"), "--version: " .. out)
  status, out = H.tcplab_run("--lua-path")
  H.eq(status, 0, "--lua-path")
  local path = out:match("LUA_PATH='([^']*)'")
  local cpath = out:match("LUA_CPATH='([^']*)'")
  H.check(path and cpath, "--lua-path prints both: " .. out)
  -- What it prints works for the stock lua5.4 (which cannot load a
  -- sanitized module without the sanitizer runtime preloaded; the
  -- lua_module_stock_lua test covers that build).
  if path and not os.getenv("TCPLAB_SANITIZE_BUILD") then
    local s, o = H.sh("LUA_PATH=" .. q(path) .. " LUA_CPATH=" .. q(cpath)
      .. " lua5.4 -e 'local t = require(\"tcplab\"); print(t.version, type(t.sim))'")
    H.eq(s, 0, "lua5.4 with --lua-path")
    H.contains(o, { "function" }, "lua5.4 with --lua-path")
  end
  for _, bad in ipairs {
    { "", "usage:" },
    { "frobnicate", "unknown command 'frobnicate'" },
    { "run", "run needs a SCRIPT" },
    { "run x.lua --seed -3", "--seed must be an integer" },
    { "run x.lua --seed", "--seed needs a value" },
    { "run x.lua --set novalue", "--set takes NAME=VALUE" },
    { "run x.lua --verbose", "unknown option '--verbose'" },
    { "run x.lua y.lua", "'y.lua' is extra" },
  } do
    local s, _, e = H.tcplab_run(bad[1])
    H.eq(s, 2, "usage error status for '" .. bad[1] .. "'")
    H.contains(e, { bad[2] }, "usage error for '" .. bad[1] .. "'")
  end
end)

H.test("tcplab plot", function()
  local status, _, err = H.tcplab_run("plot states results/exp/timeline.csv plots/states.png")
  if status == 1 and err:find("gnuplot not found", 1, true) then
    print("skipped: gnuplot is not installed")
    return
  end
  H.eq(status, 0, "plot states: " .. err)
  H.check((H.read(H.out .. "/plots/states.png") or ""):sub(2, 4) == "PNG", "a PNG file")
  -- The experiment's connection set cwnd at ESTABLISHED on both ends.
  status, _, err = H.tcplab_run("plot cwnd results/exp/cwnd.csv plots/cwnd.png")
  H.eq(status, 0, "plot cwnd: " .. err)
  H.check((H.read(H.out .. "/plots/cwnd.png") or ""):sub(2, 4) == "PNG", "a cwnd PNG file")
  status, _, err = H.tcplab_run("plot cwnd results/exp/cwnd.csv plots/c0.png --segments 0")
  H.eq(status, 2, "plot cwnd --segments 0")
  H.contains(err, { "--segments must be a positive number" }, "plot cwnd usage message")
  H.write(H.out .. "/summary.csv", "loss,run,latency\r\n0,1,0.5\r\n0,2,0.7\r\n0.1,1,1.5\r\n0.1,2,1.1\r\n")
  status, _, err = H.tcplab_run("plot metric summary.csv --x loss --y latency plots/m.svg")
  H.eq(status, 0, "plot metric: " .. err)
  H.contains(H.read(H.out .. "/plots/m.svg") or "", { "<svg" }, "an SVG file")
  status, _, err = H.tcplab_run("plot metric summary.csv --y latency plots/m.svg")
  H.eq(status, 2, "plot usage error")
  H.contains(err, { "needs --x and --y" }, "plot usage message")
end)

H.finish()
