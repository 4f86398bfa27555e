-- tcplab.ladder: sequence diagrams of the handshake, the close and a lost
-- FIN, as text and SVG, against golden files, and the rules behind them.
--
-- The fixtures are one connection between "client" (10.0.0.1) and
-- "server" (10.0.0.2) over a 10 Mbit/s point-to-point link with 20 ms of
-- delay. A segment takes 20 ms plus its serialization: IPv4 header 20 +
-- TCP header 20 + options + payload + PPP 2 bytes at 0.8 us a byte. SYN
-- and SYN|ACK carry MSS (4) and NOP + window scale (4): 50 bytes, 40 us;
-- a segment without options or data 42 bytes, 33.6 us; 100 bytes of data
-- 142 bytes, 113.6 us.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
local csv = require("tcplab.csv")
local ladder = require("tcplab.ladder")

local FIX = T.dir .. "/fixtures/"
local FLOW = "10.0.0.1:49152-10.0.0.2:80"

local function fixture(name)
  local tl = assert(csv.read(FIX .. name .. "/timeline.csv"))
  local sg = assert(csv.read(FIX .. name .. "/segments.csv"))
  return tl, sg
end

local function states(model, side)
  local list = {}
  for _, e in ipairs(model.events) do
    if e.kind == "state" and e.side == side then list[#list + 1] = e.state end
  end
  return table.concat(list, " ")
end

local function arrows(model)
  local list = {}
  for _, e in ipairs(model.events) do
    if e.kind == "segment" then list[#list + 1] = e end
  end
  return list
end

-- Every line fits a 100-column terminal.
local function check_width(text, name)
  local n = 0
  for line in text:gmatch("[^\n]*") do
    n = n + 1
    T.ok(#line <= 100, ("%s line %d is %d columns wide"):format(name, n, #line))
  end
end

-- ------------------------------------------------------------ the model

T.test("handshake: states, arrows and times as the fixture's link makes them", function()
  local m = ladder.build(fixture("handshake"))
  T.eq(m.flow, FLOW, "the only flow is found")
  T.eq(m.ends[1].node, "client", "client on the left")
  T.eq(m.ends[2].node, "server", "server on the right")
  T.eq(m.ends[1].addr, "10.0.0.1:49152", "client address")
  T.eq(m.ends[2].addr, "10.0.0.2:80", "server address")
  T.eq(states(m, 1), "SYN_SENT ESTABLISHED", "client states")
  T.eq(states(m, 2), "LISTEN SYN_RECEIVED ESTABLISHED", "server states, LISTEN from the listener")
  local a = arrows(m)
  T.eq(#a, 3, "three segments")
  T.eq(a[1].label, "SYN seq=0", "SYN")
  T.eq(a[2].label, "SYN|ACK seq=0 ack=1", "SYN|ACK")
  T.eq(a[3].label, "ACK seq=1 ack=1", "ACK")
  T.eq(a[1].from, 1, "SYN from the client")
  T.eq(a[2].from, 2, "SYN|ACK from the server")
  -- 20 ms + 50 bytes at 10 Mbit/s for SYN and SYN|ACK, 42 bytes for ACK.
  T.near(a[1].arrival - a[1].time, 0.020040, "SYN flight")
  T.near(a[2].arrival - a[2].time, 0.020040, "SYN|ACK flight")
  T.near(a[3].arrival - a[3].time, 0.0200336, "ACK flight")
  T.eq(a[2].time, a[1].arrival, "SYN|ACK leaves when the SYN arrives")
  T.eq(m.isn[1], 2903734310, "client ISN")
  T.eq(m.isn[2], 1185212465, "server ISN")
end)

T.test("close: every state of both sides, in order", function()
  local m = ladder.build(fixture("close"))
  T.eq(states(m, 1), "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED", "client")
  T.eq(states(m, 2), "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", "server")
  local labels = {}
  for _, e in ipairs(arrows(m)) do labels[#labels + 1] = e.label end
  T.eq(table.concat(labels, "; "), table.concat({
    "SYN seq=0", "SYN|ACK seq=0 ack=1", "ACK seq=1 ack=1",
    "PSH|ACK seq=1 ack=1 len=100", "PSH|ACK seq=1 ack=101 len=300", "ACK seq=101 ack=301",
    "FIN|ACK seq=101 ack=301", "ACK seq=301 ack=102", "FIN|ACK seq=301 ack=102",
    "ACK seq=102 ack=302",
  }, "; "), "segments")
  -- The FIN leaves after FIN_WAIT_1 is entered (same instant).
  for i, e in ipairs(m.events) do
    if e.kind == "segment" and e.label:find("^FIN") and e.from == 1 then
      T.eq(m.events[i - 1].state, "FIN_WAIT_1", "state before the client's FIN")
    end
  end
  -- TIME_WAIT lasts 2*MSL = 60 s.
  local tw, closed
  for _, e in ipairs(m.events) do
    if e.kind == "state" and e.side == 1 and e.state == "TIME_WAIT" then tw = e.time end
    if e.kind == "state" and e.side == 1 and e.state == "CLOSED" then closed = e.time end
  end
  T.near(closed - tw, 60, "TIME_WAIT", 1e-9)
end)

T.test("lost FIN: drawn lost where it was dropped, then its retransmission", function()
  local m = ladder.build(fixture("lost_fin"))
  local a = arrows(m)
  local fins = {}
  for _, e in ipairs(a) do
    if e.from == 2 and e.label:find("^FIN") then fins[#fins + 1] = e end
  end
  T.eq(#fins, 2, "the server's FIN twice")
  T.ok(fins[1].lost, "first one lost")
  T.eq(fins[1].reason, "rule", "dropped by a rule")
  T.eq(fins[1].arrival, nil, "never arrives")
  T.near(fins[1].lost_at - fins[1].time, 0.0200336, "dropped where it would have arrived")
  T.ok(not fins[2].lost, "retransmission arrives")
  T.near(fins[2].time - fins[1].time, 1.0, "retransmitted after the 1 s minimum RTO")
  T.eq(fins[1].label, fins[2].label, "same segment")
end)

-- ---------------------------------------------------------- golden text

T.test("golden text: handshake, close, lost FIN", function()
  local cases = {
    { "handshake.txt", "handshake", {} },
    { "handshake_symbolic.txt", "handshake", { symbolic = true } },
    { "close.txt", "close", {} },
    { "lost_fin.txt", "lost_fin", { times = "both" } },
  }
  for _, c in ipairs(cases) do
    local tl, sg = fixture(c[2])
    local text = ladder.text(tl, sg, FLOW, c[3])
    check_width(text, c[1])
    T.golden(c[1], text)
    T.eq(ladder.text(tl, sg, FLOW, c[3]), text, c[1] .. " is deterministic")
  end
end)

T.test("CSV paths work as well as rows", function()
  local tl, sg = fixture("close")
  T.eq(ladder.text(FIX .. "close/timeline.csv", FIX .. "close/segments.csv", FLOW),
    ladder.text(tl, sg, FLOW), "same diagram")
end)

T.test("numbers: absolute and symbolic", function()
  local tl, sg = fixture("handshake")
  local text = ladder.text(tl, sg, FLOW, { numbers = "absolute" })
  T.ok(text:find("SYN|ACK seq=1185212465 ack=2903734311", 1, true), text)
  text = ladder.text(tl, sg, FLOW, { symbolic = true })
  T.ok(text:find("SYN seq=x -", 1, true), text)
  T.ok(text:find("SYN|ACK seq=y ack=x+1", 1, true), text)
  T.ok(text:find("ACK seq=x+1 ack=y+1", 1, true), text)
  T.ok(text:find("x = 2903734310 (client's ISN), y = 1185212465 (server's ISN)", 1, true), text)
  tl, sg = fixture("close")
  text = ladder.text(tl, sg, FLOW, { numbers = "symbolic", letters = { "u", "w" } })
  T.ok(text:find("FIN|ACK seq=u+101 ack=w+301", 1, true), text)
  T.ok(text:find("ACK seq=w+301 ack=u+102", 1, true), text)
end)

T.test("window option and times of arrival", function()
  local tl, sg = fixture("handshake")
  local text = ladder.text(tl, sg, FLOW, { window = true, times = "both" })
  T.ok(text:find("SYN seq=0 win=65535", 1, true), text)
  T.ok(text:find("ACK seq=1 ack=1 win=32768", 1, true), text)
  T.ok(text:find("arrives 1.060114", 1, true), text)
end)

-- ------------------------------------------------ what the data may hold

T.test("a listener bound to 0.0.0.0 still gives the server's LISTEN", function()
  local tl, sg = fixture("handshake")
  tl[1].flow = "0.0.0.0:80"
  local m = ladder.build(tl, sg, FLOW)
  T.eq(states(m, 2), "LISTEN SYN_RECEIVED ESTABLISHED", "server states")
end)

T.test("a peer without timeline rows (ns-3's TCP) is found from the segments", function()
  local tl, sg = fixture("handshake")
  local client_only = {}
  for _, r in ipairs(tl) do
    if r.node == "client" then client_only[#client_only + 1] = r end
  end
  local m = ladder.build(client_only, sg, FLOW)
  T.eq(m.ends[2].node, "server", "server from the segments")
  T.eq(states(m, 2), "", "no server states known")
  T.eq(#arrows(m), 3, "all segments")
  m = ladder.build({}, sg, FLOW)
  T.eq(m.ends[1].node, "client", "client: the first to originate a segment")
  T.eq(m.ends[2].node, "server", "server")
end)

T.test("segments through a router: one arrow end to end, a drop on the far link", function()
  local F = FLOW
  local function seg(t, link, from, to, action, flags, seq, ack, rs, ra, reason)
    return { time_s = t, link = link, from_node = from, to_node = to, action = action,
             flow = F, flags = flags, seq = seq, ack = ack, rel_seq = rs, rel_ack = ra,
             len = 0, win = 65535, reason = reason }
  end
  local sg = {
    seg(1.0, "client-r", "client", "r", "sent", "SYN", 100, 0, 0, nil),
    seg(1.01004, "client-r", "client", "r", "received", "SYN", 100, 0, 0, nil),
    seg(1.01004, "r-server", "r", "server", "sent", "SYN", 100, 0, 0, nil),
    seg(1.02008, "r-server", "r", "server", "received", "SYN", 100, 0, 0, nil),
    seg(1.02008, "r-server", "server", "r", "sent", "SYN|ACK", 500, 101, 0, 1),
    seg(1.03012, "r-server", "server", "r", "received", "SYN|ACK", 500, 101, 0, 1),
    seg(1.03012, "client-r", "r", "client", "sent", "SYN|ACK", 500, 101, 0, 1),
    seg(1.04016, "client-r", "r", "client", "dropped", "SYN|ACK", 500, 101, 0, 1, "loss"),
  }
  local tl = {
    { time_s = 1.0, node = "client", conn = 1, flow = F, from_state = "CLOSED",
      to_state = "SYN_SENT", event = "app_connect" },
  }
  local m = ladder.build(tl, sg, F)
  local a = arrows(m)
  T.eq(#a, 2, "two arrows, not one per link")
  T.eq(a[1].arrival, 1.02008, "SYN reaches the server")
  T.ok(a[2].lost, "SYN|ACK lost")
  T.eq(a[2].reason, "loss", "reason")
  T.eq(a[2].lost_at, 1.04016, "lost on the router's link")
end)

T.test("a full queue at the sender: lost before it was ever sent", function()
  local tl, sg = fixture("handshake")
  local q = {}
  for k, v in pairs(sg[5]) do q[k] = v end -- the client's ACK, as sent
  q.action, q.reason, q.time_s = "dropped", "queue", 1.04008
  table.remove(sg, 6)
  sg[5] = q
  local a = arrows(ladder.build(tl, sg, FLOW))
  T.eq(#a, 3, "three arrows")
  T.ok(a[3].lost, "lost")
  T.eq(a[3].reason, "queue", "at the queue")
  local text = ladder.text(tl, sg, FLOW)
  T.ok(text:find("lost (queue)", 1, true), text)
end)

T.test("a segment still in flight when the run ends", function()
  local tl, sg = fixture("handshake")
  table.remove(sg) -- the ACK's arrival
  local text = ladder.text(tl, sg, FLOW, { times = "both" })
  T.ok(text:find("never arrives", 1, true), text)
end)

T.test("the timeline orders events of one instant", function()
  -- An abort as a core may record it: the RST leaves, then CLOSED.
  local F = FLOW
  local tl = {
    { time_s = 2, node = "client", conn = 1, flow = F, from_state = "ESTABLISHED",
      to_state = "ESTABLISHED", event = "snd", flags = "RST|ACK", seq = 11, ack = 21, rel_seq = 1, rel_ack = 1 },
    { time_s = 2, node = "client", conn = 1, flow = F, from_state = "ESTABLISHED",
      to_state = "CLOSED", event = "app_abort" },
    { time_s = 2.02, node = "server", conn = 2, flow = F, from_state = "ESTABLISHED",
      to_state = "CLOSED", event = "rcv", flags = "RST|ACK", seq = 11, ack = 21, rel_seq = 1, rel_ack = 1 },
  }
  local sg = {
    { time_s = 2, link = "l", from_node = "client", to_node = "server", action = "sent", flow = F,
      flags = "RST|ACK", seq = 11, ack = 21, rel_seq = 1, rel_ack = 1, len = 0, win = 0 },
    { time_s = 2.02, link = "l", from_node = "client", to_node = "server", action = "received", flow = F,
      flags = "RST|ACK", seq = 11, ack = 21, rel_seq = 1, rel_ack = 1, len = 0, win = 0 },
  }
  local m = ladder.build(tl, sg, F, { client = "client", server = "server" })
  T.eq(m.events[1].kind, "segment", "RST first, as recorded")
  T.eq(m.events[2].state, "CLOSED", "then CLOSED")
  -- Reversed in the timeline, reversed in the drawing.
  tl[1], tl[2] = tl[2], tl[1]
  m = ladder.build(tl, sg, F, { client = "client", server = "server" })
  T.eq(m.events[1].state, "CLOSED", "CLOSED first")
end)

T.test("time window and connection id", function()
  local tl, sg = fixture("close")
  local m = ladder.build(tl, sg, FLOW, { from = 1.9, to = 3 })
  T.eq(states(m, 1), "FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT", "client states in the window")
  T.eq(states(m, 2), "LISTEN CLOSE_WAIT LAST_ACK CLOSED", "the listener's LISTEN stays as context")
  T.eq(#arrows(m), 4, "the close's four segments")
  -- The same flow used again 100 s later by connections 4 and 5.
  local function again(rows, conn_map)
    local n = #rows
    for i = 1, n do
      local r = {}
      for k, v in pairs(rows[i]) do r[k] = v end
      r.time_s = r.time_s + 100
      if r.conn then r.conn = conn_map[r.conn] or r.conn end
      if r.event ~= "app_listen" then rows[#rows + 1] = r end
    end
  end
  again(tl, { [2] = 4, [3] = 5 })
  again(sg, {})
  local whole = ladder.build(tl, sg, FLOW)
  T.eq(#arrows(whole), 20, "both uses without a window")
  for _, id in ipairs({ 2, 3 }) do
    m = ladder.build(tl, sg, FLOW, { conn = id })
    T.eq(states(m, 1), "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED", "client, conn " .. id)
    T.eq(states(m, 2), "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED", "server, conn " .. id)
    T.eq(#arrows(m), 10, "first use only, conn " .. id)
  end
  m = ladder.build(tl, sg, FLOW, { conn = 5 })
  T.eq(#arrows(m), 10, "second use only")
  T.ok(arrows(m)[1].time >= 100, "from the second use")
  T.raises(function() ladder.build(tl, sg, FLOW, { conn = 7 }) end, "no timeline rows of conn 7", "unknown conn")
end)

T.test("decimals grow until times are told apart", function()
  T.eq(ladder.decimals({ [1.0] = true, [1.5] = true }), 6, "six at least")
  T.eq(ladder.decimals({ [1.0] = true, [1.0000001] = true }), 7, "seven")
  T.eq(ladder.decimals({ [1.0] = true, [1.000000001] = true }), 9, "nine")
  local tl, sg = fixture("handshake")
  local text = ladder.text(tl, sg, FLOW, { decimals = 3 })
  T.ok(text:find(" 1.060 ", 1, true), text)
end)

T.test("mistakes are errors that say what is wrong", function()
  local tl, sg = fixture("handshake")
  T.raises(function() ladder.text(tl, sg, FLOW, { number = "absolute" }) end,
    "unknown option 'number'", "misspelt option")
  T.raises(function() ladder.text(tl, sg, FLOW, { numbers = "hex" }) end,
    "numbers must be 'relative', 'absolute' or 'symbolic'", "bad numbers")
  T.raises(function() ladder.text(tl, sg, FLOW, { times = "all" }) end,
    "times must be 'send' or 'both'", "bad times")
  T.raises(function() ladder.text(tl, sg, "client") end, "flow must look like", "bad flow")
  T.raises(function() ladder.text(tl, sg, "10.0.0.9:1-10.0.0.2:80") end, "no rows for flow", "unknown flow")
  T.raises(function() ladder.text(tl, 42, FLOW) end, "segments must be a list of rows or a CSV path", "bad rows")
  T.raises(function() ladder.text(tl, T.dir .. "/missing.csv", FLOW) end, "cannot read segments", "missing file")
  local two = {}
  for _, r in ipairs(tl) do two[#two + 1] = r end
  two[#two + 1] = { time_s = 5, node = "client", conn = 9, flow = "10.0.0.1:49153-10.0.0.2:80",
                    from_state = "CLOSED", to_state = "SYN_SENT", event = "app_connect" }
  T.raises(function() ladder.text(two, sg) end, "2 connections in the data", "which flow")
  T.eq(ladder.build(two, sg, { flow = FLOW }).flow, FLOW, "a table with .flow names it")
  -- The error names the caller's line, not a line inside the module.
  local ok, err = pcall(ladder.svg, tl, sg, FLOW, { scale = "log" })
  T.eq(ok, false, "bad scale")
  local _, e2 = pcall(function() ladder.text(tl, sg, FLOW, { bogus = 1 }) end)
  T.ok(tostring(e2):find("ladder_test.lua:%d+: ladder: unknown option 'bogus'"), e2)
  T.ok(not tostring(err):find("ladder.lua", 1, true), err)
end)

-- ----------------------------------------------------------------- SVG

T.test("golden SVG: handshake, close, lost FIN", function()
  local cases = {
    { "handshake.svg", "handshake", {} },
    { "close.svg", "close", { symbolic = true } },
    { "lost_fin.svg", "lost_fin", {} },
  }
  for _, c in ipairs(cases) do
    local tl, sg = fixture(c[2])
    T.golden(c[1], ladder.svg(tl, sg, FLOW, c[3]))
  end
end)

T.test("SVG: one arrow per delivered segment, a cross per lost one", function()
  local tl, sg = fixture("lost_fin")
  local doc = ladder.svg(tl, sg, FLOW)
  local _, heads = doc:gsub('marker%-end="url%(#head%)"', "")
  T.eq(heads, 7, "arrow heads: 7 delivered segments")
  T.ok(doc:find(">lost (rule)</text>", 1, true), "the loss is named")
  local _, crosses = doc:gsub('stroke="#c62828" stroke%-width="2.5"', "")
  T.eq(crosses, 2, "one cross: two strokes")
  for _, s in ipairs({ "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
                       "FIN_WAIT_2", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSED" }) do
    T.ok(doc:find(">" .. s .. "</text>", 1, true), s .. " drawn")
  end
  T.ok(doc:find("<title>TCP connection " .. FLOW .. "</title>", 1, true), "title")
end)

T.test("SVG: names are escaped; linear scale; written to a file", function()
  local tl, sg = fixture("handshake")
  for _, t in ipairs({ tl, sg }) do
    for _, r in ipairs(t) do
      for _, k in ipairs({ "node", "from_node", "to_node" }) do
        if r[k] == "client" then r[k] = "a<b>&\"c'" end
      end
    end
  end
  local doc = ladder.svg(tl, sg, FLOW, { scale = "linear", title = "R&D" })
  T.ok(doc:find(">a&lt;b&gt;&amp;&quot;c&apos;</text>", 1, true), "node name escaped")
  T.ok(doc:find(">R&amp;D</text>", 1, true), "title escaped")
  T.raises(function() ladder.svg(tl, sg, FLOW, { scale = "log" }) end, "scale must be", "bad scale")
  local path = T.out("handshake.svg")
  assert(ladder.write_svg(path, FIX .. "handshake/timeline.csv", FIX .. "handshake/segments.csv", FLOW))
  T.eq(T.read(path), ladder.svg(fixture("handshake")), "file holds the document")
  local ok, err = ladder.write_svg(T.out("no/such/dir/x.svg"), tl, sg, FLOW)
  T.eq(ok, nil, "unwritable path")
  T.ok(err, "message")
end)

T.run()
