-- tcplab.plot without gnuplot: state intervals, congestion windows, sweep
-- statistics, and the scripts and data written for gnuplot.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
local csv = require("tcplab.csv")
local plot = require("tcplab.plot")

local FIX = T.dir .. "/fixtures/"

local function find(list, pred)
  for _, v in ipairs(list) do
    if pred(v) then return v end
  end
end

-- ------------------------------------------------------ state intervals

T.test("intervals of the close: every state from entry to the next transition", function()
  local ivs, conns = plot.intervals(FIX .. "close/timeline.csv")
  T.eq(#conns, 3, "listener, client, server connection")
  T.eq(conns[1].node .. " #" .. conns[1].conn, "server #1", "the listener first: it appeared first")
  T.eq(conns[2].node .. " #" .. conns[2].conn, "client #2", "then the client")
  T.eq(conns[3].node .. " #" .. conns[3].conn, "server #3", "then the accepted connection")
  local got = {}
  for _, iv in ipairs(ivs) do
    got[#got + 1] = ("%s#%d %s %.9f-%.9f"):format(iv.node, iv.conn, iv.state, iv.from, iv.to)
  end
  T.eq(table.concat(got, "\n"), table.concat({
    "server#1 LISTEN 0.000000000-62.520033600",
    "client#2 SYN_SENT 1.000000000-1.040080000",
    "server#3 SYN_RECEIVED 1.020040000-1.060113600",
    "client#2 ESTABLISHED 1.040080000-2.000000000",
    "server#3 ESTABLISHED 1.060113600-2.020033600",
    "client#2 FIN_WAIT_1 2.000000000-2.040067200",
    "server#3 CLOSE_WAIT 2.020033600-2.500000000",
    "client#2 FIN_WAIT_2 2.040067200-2.520033600",
    "server#3 LAST_ACK 2.500000000-2.540067200",
    "client#2 TIME_WAIT 2.520033600-62.520033600",
  }, "\n"), "intervals (CLOSED at the end is no bar)")
end)

T.test("intervals: stop, closed, flow filter, cwnd rows", function()
  local tl = assert(csv.read(FIX .. "handshake/timeline.csv"))
  local ivs = plot.intervals(tl, { stop = 1.5 })
  local est = find(ivs, function(iv) return iv.node == "client" and iv.state == "ESTABLISHED" end)
  T.eq(est.to, 1.5, "open state ends at stop")
  -- A second connection to another server, and a cwnd row.
  tl[#tl + 1] = { time_s = 1.2, node = "other", conn = 7, flow = "10.0.1.1:49152-10.0.1.2:22",
                  from_state = "CLOSED", to_state = "SYN_SENT", event = "app_connect" }
  tl[#tl + 1] = { time_s = 1.3, node = "other", conn = 7, flow = "10.0.1.1:49152-10.0.1.2:22",
                  from_state = "SYN_SENT", to_state = "CLOSED", event = "gave_up" }
  tl[#tl + 1] = { time_s = 1.3, node = "client", conn = 2, flow = "10.0.0.1:49152-10.0.0.2:80",
                  from_state = "ESTABLISHED", to_state = "ESTABLISHED", event = "cwnd" }
  local all, conns = plot.intervals(tl)
  T.eq(#conns, 4, "four connections")
  T.ok(not find(all, function(iv) return iv.state == "CLOSED" end), "no CLOSED bars")
  all = plot.intervals(tl, { closed = true })
  local closed = find(all, function(iv) return iv.state == "CLOSED" end)
  T.eq(closed.node, "other", "CLOSED bar when asked")
  T.eq(closed.from, 1.3, "from when it gave up")
  local only, oconns = plot.intervals(tl, { flow = "10.0.0.1:49152-10.0.0.2:80" })
  T.eq(#oconns, 3, "the flow's two ends and its listener")
  T.ok(not find(only, function(iv) return iv.node == "other" end), "other flow left out")
end)

T.test("states script: terminal, rows, one plot clause per state in its colour", function()
  local out = T.out("states_script/states.png")
  local pic, script = plot.states(FIX .. "close/timeline.csv", out, { run = false, title = "close" })
  T.eq(pic, out, "picture path")
  T.eq(script, T.out("states_script/states.gp"), "script beside it")
  local gp = T.read(script)
  T.ok(gp:find("set terminal pngcairo size 900,", 1, true), gp)
  T.ok(gp:find("noenhanced", 1, true), "state names keep their underscores")
  T.ok(gp:find("set output 'states.png'", 1, true), "output relative to the script")
  T.ok(gp:find("set title 'close'", 1, true), gp)
  T.ok(gp:find("set ytics ('server #1' 1, 'client #2' 2, 'server #3' 3)", 1, true), gp)
  local _, clauses = gp:gsub("with boxxyerror", "")
  T.eq(clauses, 9, "nine states appear")
  for _, s in ipairs({ "LISTEN", "SYN_SENT", "TIME_WAIT" }) do
    T.ok(gp:find(("lc rgb '%s' title '%s'"):format(plot.state_colors[s], s), 1, true), s .. " colour")
  end
  local dat = T.read(T.out("states_script/states.dat"))
  T.ok(dat:find("# TIME_WAIT\n2.520033600 62.520033600 2", 1, true), dat)
  local _, blocks = dat:gsub("\n\n\n", "")
  T.eq(blocks, 8, "blocks separated for gnuplot's index")
  -- SVG by extension, or by option.
  _, script = plot.states(FIX .. "close/timeline.csv", T.out("states_script/s.svg"), { run = false })
  T.ok(T.read(script):find("set terminal svg", 1, true), "svg terminal")
  _, script = plot.states(FIX .. "close/timeline.csv", T.out("states_script/s.out"), { run = false, format = "png" })
  T.ok(T.read(script):find("set terminal pngcairo", 1, true), "format option")
end)

T.test("fixed colour per state, every RFC 9293 state", function()
  local seen = {}
  for _, s in ipairs(plot.states_order) do
    local c = plot.state_colors[s]
    T.ok(c and c:match("^#%x%x%x%x%x%x$"), s .. " has a colour")
    T.ok(not seen[c], s .. "'s colour is its own")
    seen[c] = true
  end
  T.eq(#plot.states_order, 11, "eleven states")
end)

-- ------------------------------------------------------ congestion window

local CWND = FIX .. "cwnd/cwnd.csv"
local FLOW = "10.0.0.1:49152-10.0.0.2:80"

-- The client's rows of the fixture, as step points in bytes.
local CLIENT_CWND = {
  "# client #2 cwnd",
  "1.040080000 14600",
  "1.141320000 16060",
  "1.142552000 17520",
  "1.143784000 18980",
  "1.145016000 20440",
  "1.146248000 21900",
  "1.147480000 23360",
  "1.192456000 16060",
  "1.193688000 17520",
  "1.194920000 18980",
  "1.233240000 11680",
  "1.234472000 11862",
  "1.235704000 12041",
  "1.236936000 12218",
}
local CLIENT_SSTHRESH = {
  "# client #2 ssthresh",
  "1.192456000 11680",
  "1.193688000 11680",
  "1.194920000 11680",
  "1.233240000 11680",
  "1.234472000 11680",
  "1.235704000 11680",
  "1.236936000 11680",
}

local function lines(...)
  local all = {}
  for _, part in ipairs({ ... }) do
    for _, l in ipairs(part) do all[#all + 1] = l end
  end
  return table.concat(all, "\n") .. "\n"
end

T.test("cwnd data: a block per line, cwnd then ssthresh once it is set", function()
  local out = T.out("cwnd_script/cwnd.png")
  local pic, script = plot.cwnd(CWND, out, { run = false })
  T.eq(pic, out, "picture path")
  T.eq(script, T.out("cwnd_script/cwnd.gp"), "script beside it")
  -- The server's single row lasts to the last time drawn; it never had
  -- an ssthresh, so it has no ssthresh block.
  T.eq(T.read(T.out("cwnd_script/cwnd.dat")), lines(
    { "# tcplab congestion window: time_s value (bytes), one block per line" },
    CLIENT_CWND, { "\n" }, CLIENT_SSTHRESH, { "\n" },
    { "# server #3 cwnd", "1.060113600 14600", "1.236936000 14600" }), "cwnd.dat")
end)

T.test("cwnd script: terminal, labels, a solid and a dashed step line per connection", function()
  local _, script = plot.cwnd(CWND, T.out("cwnd_script/cwnd.png"), { run = false })
  local gp = T.read(script)
  T.ok(gp:find("\nset terminal pngcairo size 900,500 font 'Sans,10' noenhanced\n", 1, true), gp)
  T.ok(gp:find("\nset output 'cwnd.png'\n", 1, true), gp)
  T.ok(gp:find("\nset title 'congestion window'\n", 1, true), gp)
  T.ok(gp:find("\nset xlabel 'time (s)'\n", 1, true), gp)
  T.ok(gp:find("\nset ylabel 'bytes'\n", 1, true), gp)
  T.ok(gp:find("\nset yrange [0:*]\n", 1, true), gp)
  T.ok(not gp:find("set xrange", 1, true), "whole time axis by default")
  T.ok(gp:find("\nplot 'cwnd.dat' index 0 using 1:2 with steps lw 1.5 lc 1 title 'client #2 cwnd', \\\n"
    .. "     'cwnd.dat' index 1 using 1:2 with steps lw 1.5 lc 1 dt 2 title 'client #2 ssthresh', \\\n"
    .. "     'cwnd.dat' index 2 using 1:2 with steps lw 1.5 lc 2 title 'server #3 cwnd'\n", 1, true), gp)
  -- Options reach the script.
  _, script = plot.cwnd(CWND, T.out("cwnd_script/c.svg"), {
    run = false, title = "it's slow start", xrange = { 1.1, 1.25 }, width = 640, height = 480,
    font = "Serif,12",
  })
  gp = T.read(script)
  T.ok(gp:find("set terminal svg size 640,480 font 'Serif,12' noenhanced", 1, true), gp)
  T.ok(gp:find("set title 'it''s slow start'", 1, true), "title quoted for gnuplot")
  T.ok(gp:find("set xrange [1.1:1.25]", 1, true), gp)
  _, script = plot.cwnd(CWND, T.out("cwnd_script/c.out"), { run = false, format = "svg" })
  T.ok(T.read(script):find("set terminal svg", 1, true), "format option")
end)

T.test("cwnd filters: flow, node; segments scale the y axis", function()
  local rows = assert(csv.read(CWND, { strings = { "node" } }))
  -- Another connection, on another flow.
  rows[#rows + 1] = { time_s = 2.5, node = "other", conn = 7, flow = "10.0.1.1:49152-10.0.1.2:22",
                      cwnd = 14600 }
  local _, script = plot.cwnd(rows, T.out("cwnd_filter/all.png"), { run = false })
  local _, n = T.read(script):gsub("with steps", "")
  T.eq(n, 4, "three connections, one ssthresh")
  T.ok(T.read(T.out("cwnd_filter/all.dat")):find("# server #3 cwnd\n1.060113600 14600\n2.500000000 14600\n", 1, true),
    "the last row of all sets the end")

  _, script = plot.cwnd(rows, T.out("cwnd_filter/flow.png"), { run = false, flow = FLOW })
  T.ok(not T.read(script):find("other", 1, true), "other flow left out")
  plot.cwnd(CWND, T.out("cwnd_filter/fixture.png"), { run = false })
  T.eq(T.read(T.out("cwnd_filter/flow.dat")), T.read(T.out("cwnd_filter/fixture.dat")),
    "the flow's two ends: the fixture's data")

  _, script = plot.cwnd(rows, T.out("cwnd_filter/client.png"), { run = false, node = "client" })
  local gp = T.read(script)
  T.ok(gp:find("title 'client #2 ssthresh'\n", 1, true), gp)
  T.ok(not gp:find("server", 1, true) and not gp:find("other", 1, true), "only the client")
  T.eq(T.read(T.out("cwnd_filter/client.dat")), lines(
    { "# tcplab congestion window: time_s value (bytes), one block per line" },
    CLIENT_CWND, { "\n" }, CLIENT_SSTHRESH), "client.dat")

  _, script = plot.cwnd(CWND, T.out("cwnd_filter/seg.png"), { run = false, node = "client", segments = 1460 })
  T.ok(T.read(script):find("\nset ylabel 'segments of 1460 bytes'\n", 1, true), "y axis in segments")
  T.eq(T.read(T.out("cwnd_filter/seg.dat")), table.concat({
    "# tcplab congestion window: time_s value (segments of 1460 bytes), one block per line",
    "# client #2 cwnd",
    "1.040080000 10",
    "1.141320000 11",
    "1.142552000 12",
    "1.143784000 13",
    "1.145016000 14",
    "1.146248000 15",
    "1.147480000 16",
    "1.192456000 11",
    "1.193688000 12",
    "1.194920000 13",
    "1.233240000 8",
    "1.234472000 8.12465753424657",
    "1.235704000 8.2472602739726",
    "1.236936000 8.36849315068493",
    "\n",
    "# client #2 ssthresh",
    "1.192456000 8",
    "1.193688000 8",
    "1.194920000 8",
    "1.233240000 8",
    "1.234472000 8",
    "1.235704000 8",
    "1.236936000 8",
  }, "\n") .. "\n", "seg.dat: cwnd / 1460")
end)

T.test("cwnd: ssthresh stretches break where it is unset", function()
  local rows = {}
  for i, v in ipairs({ { 10 }, { 12, 6 }, { 14, 6 }, { 16 }, { 18 }, { 20, 9 }, { 22, 10 } }) do
    rows[i] = { time_s = i / 10, node = "a", conn = 1, flow = "f", cwnd = v[1], ssthresh = v[2] }
  end
  plot.cwnd(rows, T.out("cwnd_breaks/b.png"), { run = false })
  local dat = T.read(T.out("cwnd_breaks/b.dat"))
  -- The first stretch holds to the row that unsets it; a blank line
  -- (not two: the same index) parts it from the next.
  T.ok(dat:find("# a #1 ssthresh\n0.200000000 6\n0.300000000 6\n0.400000000 6\n\n"
    .. "0.600000000 9\n0.700000000 10\n$"), dat)
  T.ok(dat:find("# a #1 cwnd\n0.100000000 10\n", 1, true), dat)
end)

T.test("cwnd mistakes and nothing to draw", function()
  for _, bad in ipairs({
    { { colour = "red" }, "plot.cwnd: unknown option 'colour'" },
    { { segments = 0 }, "opts.segments must be a positive number" },
    { { segments = -1460 }, "opts.segments must be a positive number" },
    { { segments = "1460" }, "opts.segments must be a positive number" },
    { { segments = 0 / 0 }, "opts.segments must be a positive number" },
    { { node = 2 }, "opts.node must be a string" },
    { { flow = true }, "opts.flow must be a string" },
    { { title = {} }, "opts.title must be a string" },
    { { xrange = { 1 } }, "opts.xrange must be a table { from, to }" },
    { { width = 10.5 }, "opts.width must be a positive whole number" },
    { { height = 0 }, "opts.height must be a positive whole number" },
    { { run = "no" }, "opts.run must be a boolean" },
  }) do
    T.raises(function() plot.cwnd(CWND, T.out("cwnd_bad/c.png"), bad[1]) end, bad[2], bad[2])
  end
  T.raises(function() plot.cwnd(CWND) end, "plot.cwnd: out must be a file path", "no out")
  T.raises(function() plot.cwnd(CWND, T.out("cwnd_bad/c.gif")) end, "format must be 'png' or 'svg'", "format")
  T.raises(function() plot.cwnd(FIX .. "cwnd/missing.csv", T.out("cwnd_bad/c.png")) end,
    "plot: cannot read cwnd: ", "missing file")
  local _, err = pcall(function() plot.cwnd(CWND, "c.png", { segments = 0 }) end)
  T.ok(tostring(err):find("plot_test.lua:%d+: plot.cwnd: opts.segments"), err)
  for _, case in ipairs({
    { {}, { run = false } },
    { CWND, { run = false, node = "nobody" } },
    { CWND, { run = false, flow = "10.9.9.9:1-10.9.9.8:2" } },
  }) do
    local none, msg = plot.cwnd(case[1], T.out("cwnd_empty/c.png"), case[2])
    T.eq(none, nil, "nothing to draw")
    T.eq(msg, "plot.cwnd: no cwnd rows to draw", "message")
  end
end)

-- ------------------------------------------------------ swept runs

T.test("t quantiles", function()
  T.eq(plot.t95(1), 12.706, "df 1")
  T.eq(plot.t95(3), 3.182, "df 3")
  T.eq(plot.t95(30), 2.042, "df 30")
  T.eq(plot.t95(45), 2.021, "df 45: the table's df 40")
  T.eq(plot.t95(5000), 1.960, "large df: the normal quantile")
  T.eq(plot.t95(0), nil, "no interval from one value")
end)

T.test("summarize: mean and 95 % CI per point, runs without a value left out", function()
  local rows = assert(csv.read(FIX .. "sweep/runs.csv"))
  local groups = plot.summarize(rows, "loss", "handshake_s", "delay")
  T.eq(#groups, 2, "two delays")
  T.eq(groups[1].value, "10ms", "sorted")
  local p = groups[1].points
  T.eq(#p, 3, "three loss rates")
  T.eq(p[1].x, 0, "loss 0 first")
  T.near(p[1].mean, 0.02008, "no loss: one RTT")
  T.eq(p[1].ci, 0, "no spread")
  T.eq(p[2].n, 4, "four runs")
  T.near(p[2].mean, 0.27008, "one SYN retransmission in four runs")
  T.near(p[2].sd, 0.5, "sd")
  T.near(p[2].ci, 3.182 * 0.5 / 2, "t(3) * sd / sqrt(n)")
  T.eq(p[3].n, 3, "the run without a handshake is left out")
  T.near(p[3].mean, (3 + 0 + 1) / 3 + 0.02008, "mean of three")
  local single = plot.summarize({ { x = 1, y = 5 } }, "x", "y")
  T.eq(single[1].value, nil, "no group")
  T.eq(single[1].points[1].ci, 0, "one value: no interval")
end)

T.test("metric script: a line per group, numeric and categorical x", function()
  local rows = assert(csv.read(FIX .. "sweep/runs.csv"))
  local out = T.out("metric_script/latency.svg")
  local _, script = plot.metric(rows, { x = "loss", y = "handshake_s", group = "delay", out = out,
                                         ylabel = "handshake (s)", run = false })
  local gp = T.read(script)
  T.ok(gp:find("set terminal svg", 1, true), gp)
  T.ok(gp:find("index 0 using 1:2:3:4 with yerrorlines", 1, true), gp)
  T.ok(gp:find("title 'delay=10ms'", 1, true), gp)
  T.ok(gp:find("title 'delay=50ms'", 1, true), gp)
  T.ok(gp:find("set ylabel 'handshake (s)'", 1, true), gp)
  T.ok(gp:find("set xlabel 'loss'", 1, true), gp)
  local dat = T.read(T.out("metric_script/latency.dat"))
  T.ok(dat:find("\n0.2 0.27008 ", 1, true), dat)
  T.ok(dat:find("# delay=50ms\n0 0.10008 0.10008 0.10008 4 0\n", 1, true), dat)
  -- Delays as categories on x, one line for all.
  _, script = plot.metric(rows, { x = "delay", y = "handshake_s", out = T.out("metric_script/d.png"), run = false })
  gp = T.read(script)
  T.ok(gp:find("set xtics ('10ms' 1, '50ms' 2)", 1, true), gp)
  T.ok(gp:find("title 'handshake_s'", 1, true), gp)
  local none, msg = plot.metric(rows, { x = "loss", y = "nothing", out = T.out("metric_script/n.png"), run = false })
  T.eq(none, nil, "nothing to plot")
  T.ok(msg:find("no rows with both loss and nothing", 1, true), msg)
end)

-- ------------------------------------------------------ failures

T.test("mistakes and missing tools", function()
  local tl = FIX .. "close/timeline.csv"
  T.raises(function() plot.states(tl, T.out("x.png"), { colour = "red" }) end, "unknown option 'colour'", "states option")
  T.raises(function() plot.metric({}, { x = "a", y = "b", out = "o.png", grouping = "c" }) end,
    "unknown option 'grouping'", "metric option")
  T.raises(function() plot.metric({}, { y = "b", out = "o.png" }) end, "opts.x must be a string", "x missing")
  T.raises(function() plot.states(tl, T.out("x.gif")) end, "format must be 'png' or 'svg'", "format")
  T.raises(function() plot.states(tl) end, "out must be a file path", "no out")
  T.raises(function() plot.states({}, T.out("x.jpg")) end, "format must be", "format before data")
  local _, err0 = pcall(function() plot.metric({}, { x = "a", y = "b", out = "o.png", bad = 1 }) end)
  T.ok(tostring(err0):find("plot_test.lua:%d+: plot.metric: unknown option 'bad'"), err0)
  local ok, err = plot.states(tl, T.out("missing/states.png"), { gnuplot = "tcplab-no-such-gnuplot" })
  T.eq(ok, nil, "no gnuplot")
  T.eq(err, "gnuplot not found: install gnuplot-nox", "message")
  -- A gnuplot that fails: its status and an empty picture are reported.
  ok, err = plot.states(tl, T.out("failing/states.png"), { gnuplot = "false" })
  T.eq(ok, nil, "failure")
  T.ok(err:find("gnuplot failed on ", 1, true), err)
  local none
  none, err = plot.states({}, T.out("empty/states.png"), { run = false })
  T.eq(none, nil, "empty timeline")
  T.ok(err:find("no state transitions", 1, true), err)
end)

T.run()
