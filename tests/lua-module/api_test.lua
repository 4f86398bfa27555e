-- The tcplab Lua API as DESIGN.md's contract defines it, in one process:
-- objects and their metatables, times and rates, nodes, links and
-- impairments, connections and their callbacks, result tables, ladders,
-- errors inside callbacks, and closing and re-creating simulations.
--
-- Runs under the tcplab command and under the stock lua5.4:
--   tcplab run api_test.lua --out DIR
--   LUA_PATH=... LUA_CPATH=... lua5.4 api_test.lua DIR
local H = dofile((arg[0]:match("^(.*)/") or ".") .. "/harness.lua")
local tcplab = require("tcplab")
local csv = require("tcplab.csv")

local OUT = tcplab.out or arg[1] or os.tmpname() .. ".d"
os.execute("mkdir -p '" .. OUT .. "'")

-- Two hosts on a 10 Mbit/s, 20 ms link; the server closes what it
-- accepts once the client has closed.
local function pair(opts)
  opts = opts or {}
  local sim = tcplab.sim{ seed = opts.seed or 1 }
  local client = sim:node("client", opts.client)
  local server = sim:node("server", opts.server)
  local link = sim:link(client, server, { rate = "10Mbps", delay = "20ms" })
  return sim, client, server, link
end

H.test("module and metatables", function()
  H.eq(type(tcplab.version), "string", "version")
  local sim, client, _, link = pair()
  local conn = client:connect(sim:nodes()[2], 80, { at = 1 })
  H.eq(getmetatable(sim).__name, "tcplab.sim", "sim __name")
  H.eq(getmetatable(client).__name, "tcplab.node", "node __name")
  H.eq(getmetatable(link).__name, "tcplab.link", "link __name")
  H.eq(getmetatable(conn).__name, "tcplab.conn", "conn __name")
  H.eq(type(getmetatable(sim).__gc), "function", "sim __gc")
  H.eq(getmetatable(sim).__gc, getmetatable(sim).__gc, "sim __gc")
  H.eq(type(getmetatable(sim).__close), "function", "sim __close")
  H.contains(tostring(sim), { "tcplab.sim", "seed 1", "2 nodes" }, "tostring(sim)")
  H.contains(tostring(client), { "tcplab.node 'client'", "10.0.0.1", "tcp=tcplab" }, "tostring(node)")
  H.contains(tostring(link), { "tcplab.link 'client-server'" }, "tostring(link)")
  H.contains(tostring(conn), { "tcplab.conn #1", "client", "not opened yet", "CLOSED" }, "tostring(conn)")
  H.eq(client.name, "client", "node.name")
  H.eq(client.addr, "10.0.0.1", "node.addr")
  H.eq(link.a, client, "link.a")
  H.eq(conn.node, client, "conn.node")
  H.eq(conn.id, 1, "conn.id")
  H.eq(conn.flow, nil, "flow before opening")
  H.raises(function() conn.id = 3 end, { "read-only" }, "assigning a field")
  sim:close()
  H.contains(tostring(sim), { "closed" }, "tostring(closed sim)")
  H.contains(tostring(conn), { "closed simulation" }, "tostring(conn of closed sim)")
end)

H.test("times, rates and parameter values", function()
  H.eq(tcplab.time("20ms"), 0.02, "20ms")
  H.eq(tcplab.time("1.5s"), 1.5, "1.5s")
  H.eq(tcplab.time(2), 2, "2")
  H.eq(tcplab.time("250us"), 0.00025, "250us")
  H.eq(tcplab.time("2min"), 120, "2min")
  H.eq(tcplab.time("30"), 30, "bare number string")
  H.eq(tcplab.time("-1s"), nil, "negative time")
  H.eq(tcplab.rate("10Mbps"), 10000000, "10Mbps")
  H.eq(math.type(tcplab.rate("10Mbps")), "integer", "rate is an integer")
  H.eq(tcplab.rate("64kbps"), 64000, "64kbps")
  H.eq(tcplab.rate("1.5 Gbit/s"), 1500000000, "1.5 Gbit/s")
  H.eq(tcplab.rate(1e6), 1000000, "bit/s number")
  H.eq(tcplab.rate("10MBps"), nil, "bytes are refused")
  H.eq(tcplab.value("3"), 3, "3")
  H.eq(math.type(tcplab.value("3")), "integer", "3 is an integer")
  H.eq(tcplab.value("0.5"), 0.5, "0.5")
  H.eq(tcplab.value("-2"), -2, "-2")
  H.eq(tcplab.value("1e3"), 1000.0, "1e3")
  H.eq(tcplab.value("20ms"), "20ms", "20ms stays a string")
  H.eq(tcplab.value("true"), true, "true")
  H.eq(tcplab.value("false"), false, "false")
  H.eq(tcplab.value("0x10"), "0x10", "hex is text")
  H.eq(tcplab.format_time(1500000000), "1.500000000", "format_time")
  H.eq(tcplab.defaults.msl, 30, "default msl (s)")
  H.eq(tcplab.defaults.fin_wait_2_timeout, false, "default fin_wait_2_timeout (never)")
  H.eq(tcplab.defaults.syn_retries, 6, "default syn_retries")
  local saved = tcplab.params
  tcplab.params = { loss = 0.2, rtt = "40ms" }
  H.eq(tcplab.param("loss", 0.1), 0.2, "param set")
  H.eq(tcplab.param("seedless", 7), 7, "param default")
  H.eq(tcplab.param("rtt", 0.05), "40ms", "a time string for a time default")
  tcplab.params = saved
end)

H.test("handshake, data, close: callbacks, fields and rows", function()
  local sim, client, server = pair{ client = { msl = "1s" }, server = { msl = "1s" } }
  local log = {}
  local function note(s) log[#log + 1] = s end
  server:listen(80, {
    on_accept = function(c) note("accept " .. c.state) end,
    on_data = function(c, n)
      local data = c:read()
      H.eq(#data, n, "on_data nbytes")
      note("server data " .. data)
      c:send("world")
    end,
    on_close = function(c) note("server peer closed") c:close() end,
    on_end = function(c, err) note("server end " .. tostring(err)) end,
  })
  local conn = client:connect(server, 80, {
    at = 1,
    on_connect = function(c) note("connect " .. c.state) c:send("hello") end,
    on_data = function(c) note("client data " .. c:read()) end,
    on_close = function() note("client peer closed") end,
    on_end = function(c, err) note("client end " .. tostring(err)) end,
  })
  conn:close{ at = 2 }
  sim:run()
  H.eq(table.concat(log, "; "), table.concat({
    "connect ESTABLISHED", "accept ESTABLISHED", "server data hello", "client data world",
    "server peer closed", "client peer closed", "server end nil", "client end nil",
  }, "; "), "callback order")

  -- A 50-byte SYN (PPP 2 + IP 20 + TCP 28) takes 40 us at 10 Mbit/s,
  -- the SYN|ACK the same: the client is ESTABLISHED 1 RTT after its SYN.
  H.near(conn.handshake_s, 0.04008, "handshake_s", 1e-12)
  H.eq(conn.state, "CLOSED", "state")
  H.eq(conn.error, nil, "error")
  H.eq(conn.role, "active", "role")
  H.check(conn.flow:match("^10%.0%.0%.1:%d+%-10%.0%.0%.2:80$"), "flow: " .. tostring(conn.flow))
  H.eq(conn.bytes_sent, 5, "bytes_sent")
  H.eq(conn.bytes_received, 5, "bytes_received")
  -- The server closes inside on_close, so its FIN carries the ACK of ours
  -- and the client goes FIN_WAIT_1 -> TIME_WAIT directly.
  H.eq(table.concat(conn:states(), " "),
    "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 TIME_WAIT CLOSED", "states")
  H.near(conn:entered("CLOSED") - conn:entered("TIME_WAIT"), 2.0, "TIME_WAIT = 2*MSL", 1e-9)
  H.eq(conn:entered("CLOSING"), nil, "never CLOSING")

  local tl = sim:timeline()
  H.check(#tl > 10, "timeline rows")
  local row = tl[1]
  for _, k in ipairs { "time_s", "node", "conn", "flow", "from_state", "to_state", "event" } do
    H.check(row[k] ~= nil, "timeline column " .. k)
  end
  H.eq(math.type(row.time_s), "float", "time_s is a number")
  local syn = tcplab.first(tl, { event = "rcv", flags = "SYN" })
  H.eq(math.type(syn.seq), "integer", "seq is an integer")
  H.eq(syn.rel_seq, 0, "rel_seq of the SYN")
  H.eq(syn.rel_ack, nil, "no rel_ack before the server's ISN is known")
  H.eq(syn.node, "server", "node is its name")
  H.eq(tcplab.first(tl, { event = "app_connect" }).flags, nil, "empty cell is nil")
  local mine = conn:timeline()
  H.eq(#mine, tcplab.count(tl, { conn = conn.id }), "conn:timeline")
  H.eq(#tcplab.column(mine, "time_s"), #mine, "tcplab.column")

  -- Each end's initial window when it is established; 5 bytes each way
  -- add one segment each (slow start, RFC 5681: min(N, SMSS) = 5).
  local cw = sim:cwnd()
  local mine_cw = conn:cwnd()
  H.eq(#mine_cw, tcplab.count(cw, { conn = conn.id }), "conn:cwnd")
  H.eq(mine_cw[1].cwnd, 14600, "cwnd starts at 10 segments of 1460")
  H.eq(mine_cw[1].ssthresh, nil, "no ssthresh yet: empty cell, nil")
  H.eq(mine_cw[1].time_s, conn:entered("ESTABLISHED"), "from ESTABLISHED on")
  H.eq(mine_cw[#mine_cw].cwnd, 14605, "the 5 bytes acknowledged add 5")
  H.eq(math.type(mine_cw[1].cwnd), "integer", "cwnd is an integer")

  -- The core's counters, in conn:info().
  local info = conn:info()
  H.eq(info.segs_sent, tcplab.count(sim:segments(), { action = "sent", from_node = "client" }),
    "segs_sent: every segment the client put on the link")
  H.eq(info.segs_received, tcplab.count(sim:segments(), { action = "received", from_node = "server" }),
    "segs_received: every segment that reached it")
  for _, k in ipairs { "timeouts", "fast_retransmits", "dup_acks", "ooo_segments", "zero_window_probes" } do
    H.eq(info[k], 0, k .. " on a clean path")
  end
  H.eq(info.cwnd, 14605, "cwnd in info")
  H.eq(info.ssthresh, nil, "no ssthresh yet")
  H.check(info.srtt_s > 0.04 and info.srtt_s < 0.0402, "srtt_s is the round trip: " .. tostring(info.srtt_s))

  local conns = sim:connections()
  H.eq(#conns, 2, "connections rows (listeners are not connections)")
  local crow = tcplab.first(conns, { conn = conn.id })
  H.eq(crow.final_state, "CLOSED", "final_state")
  H.eq(crow.handshake_s, conn.handshake_s, "handshake_s in the row")
  H.eq(crow.error, nil, "no error")
  H.eq(crow.role, "active", "role in the row")

  -- The tables are exactly the CSV files, read back.
  local dir = OUT .. "/rows"
  H.eq(sim:write_csv(dir), true, "write_csv")
  for name, rows in pairs { timeline = tl, segments = sim:segments(), connections = conns, cwnd = cw } do
    local back = assert(csv.read(dir .. "/" .. name .. ".csv",
      { strings = { "node", "from_node", "to_node", "link" } }))
    H.eq(#back, #rows, name .. " row count")
    for i, r in ipairs(rows) do
      for _, col in ipairs(tcplab.columns[name]) do
        if r[col] ~= back[i][col] then
          H.check(false, ("%s row %d %s: table %s, file %s"):format(name, i, col,
            H.show(r[col]), H.show(back[i][col])))
        end
      end
    end
  end
  local text = sim:ladder(conn)
  H.contains(text, { "client", "server", "SYN seq=0", "TIME_WAIT" }, "ladder")
  H.eq(sim:ladder(conn.flow), text, "ladder by flow")
  local svg = OUT .. "/hs.svg"
  H.eq(sim:ladder_svg(conn, svg), true, "ladder_svg")
  H.contains(H.read(svg) or "", { "<svg" }, "svg file")
  sim:close()
end)

H.test("actions at times, run{stop}, sim:at", function()
  local sim, client, server = pair()
  local seen = {}
  sim:at("1.5s", function(s)
    seen[#seen + 1] = s:now()
    s:at(s:now() + 0.25, function() seen[#seen + 1] = sim:now() end)
  end)
  server:listen(80)
  local conn = client:connect(server, 80, { at = 1 })
  sim:run{ stop = 1.6 }
  H.eq(sim:now(), 1.6, "now after run{stop}")
  H.eq(#seen, 1, "first timer")
  conn:send(3000, { after = 0.1 })
  conn:shutdown{ at = 1.8 }
  sim:run{ stop = "2s" }
  H.eq(#seen, 2, "timer set from a timer")
  H.eq(seen[2], 1.75, "its time")
  H.eq(conn.bytes_sent, 3000, "generated bytes")
  H.eq(conn.state, "FIN_WAIT_2", "after shutdown")
  local server_conn = sim:connections()[2]
  H.eq(server_conn.bytes_received, 3000, "peer received")
  sim:close()
end)

H.test("drops, delays, loss and errors", function()
  -- The server's first FIN is lost and retransmitted after its RTO.
  local sim, client, server, link = pair()
  link:drop{ from = server, flags = "FIN", nth = 1 }
  server:listen(80, { on_accept = function(c) c:close{ after = 0.5 } end })
  local conn = client:connect(server, 80, { at = 1.0 })
  conn:close{ at = 2.0 }
  sim:run{ stop = 300 }
  local dropped = tcplab.where(sim:segments(), { action = "dropped" })
  H.eq(#dropped, 1, "one segment dropped")
  H.eq(dropped[1].reason, "rule", "dropped by the rule")
  H.eq(dropped[1].from_node, "server", "the server's")
  H.eq(dropped[1].flags, "FIN|ACK", "its FIN")
  local srow = tcplab.first(sim:connections(), { role = "passive" })
  H.check(srow.retransmissions >= 1, "the FIN was retransmitted")
  sim:close()

  -- A delayed SYN: the handshake takes 100 ms longer.
  sim, client, server, link = pair()
  link:delay{ from = client, flags = "SYN", exact = true, by = "100ms" }
  server:listen(80)
  conn = client:connect(server, 80, { at = 1 })
  sim:run{ stop = 5 }
  H.near(conn.handshake_s, 0.14008, "delayed handshake", 1e-12)
  sim:close()

  -- Every SYN lost: the client gives up after its retries.
  sim, client, server, link = pair{ client = { syn_retries = 1, rto_initial = "200ms", rto_min = "200ms" } }
  link:loss{ from = client, p = 1 }
  server:listen(80)
  local ended
  conn = client:connect(server, 80, { on_end = function(_, err) ended = err end })
  sim:run()
  H.eq(ended, "timed_out", "on_end error")
  H.eq(conn.error, "timed_out", "conn.error")
  H.eq(conn.syn_tx, 2, "syn_tx")
  H.eq(tcplab.first(sim:connections(), { conn = conn.id }).error, "timed_out", "error column")
  sim:close()

  -- Bursty loss: in the Bad state every segment is lost.
  sim, client, server, link = pair()
  link:loss{ from = client, model = "gilbert", p = 1, r = 0, h = 0, k = 1 }
  server:listen(80)
  client:connect(server, 80)
  sim:run{ stop = 2 }
  H.eq(tcplab.first(sim:segments(), { action = "dropped" }).reason, "burst", "burst loss")
  sim:close()

  -- No listener: refused; an abort resets the peer.
  sim, client, server = pair()
  conn = client:connect(server, 81)
  sim:run{ stop = 1 }
  H.eq(conn.error, "refused", "refused")
  server:listen(80)
  local peer
  server:listen(90, { on_accept = function(c) peer = c end })
  conn = client:connect(server, 90, { at = 2 })
  conn:abort{ at = 3 }
  sim:run{ stop = 4 }
  H.eq(conn.error, "aborted", "aborted")
  H.eq(peer.error, "reset", "reset")
  sim:close()
end)

H.test("inject, pcap, half-close, ns-3's TCP, dumbbell", function()
  -- RFC 9293 figure 8: an old duplicate SYN arrives first; the client
  -- answers the server's SYN|ACK with RST and the real SYN then opens.
  local sim, client, server, link = pair()
  link:delay{ from = client, flags = "SYN", exact = true, by = "100ms" }
  link:pcap(OUT .. "/dup")
  server:listen(80)
  local conn = client:connect(server, 80, { at = 1, port = 40000 })
  link:inject{ at = 1.001, from = client, conn = conn, flags = "SYN", rel_seq = -90000 }
  sim:run{ stop = 3 }
  H.eq(conn.state, "ESTABLISHED", "opened despite the old SYN")
  H.check(tcplab.first(sim:segments(), { from_node = "client", action = "sent", flags = "RST" }),
    "the client reset the old connection")
  H.check(H.read(OUT .. "/dup-client.pcap"), "pcap file")
  sim:close()

  -- Half-close: the server keeps sending after the client's FIN.
  sim, client, server = pair()
  local got = 0
  server:listen(80, { on_close = function(c) c:send(10000):close() end })
  conn = client:connect(server, 80, { on_data = function(c, n) got = got + #c:read() end })
  conn:shutdown{ at = 1 }
  sim:run()
  H.eq(got, 10000, "received after shutdown")
  H.eq(conn.state, "CLOSED", "closed in the end")
  sim:close()

  -- ns-3's TCP as a client of tcplab's.
  sim, client, server = pair{ client = { tcp = "ns3", mss = 1000 } }
  H.eq(client.tcp, "ns3", "node.tcp")
  server:listen(80, { on_accept = function(c) c:close() end })
  conn = client:connect(server, 80, { at = 1 })
  sim:run{ stop = 10 }
  H.eq(conn.native, true, "native connection")
  H.check(conn.handshake_s and conn.handshake_s > 0.04, "native handshake")
  sim:close()

  -- A dumbbell: client i reaches server i through the bottleneck.
  sim = tcplab.sim()
  local d = sim:dumbbell{ n = 2, access = { delay = "1ms" }, bottleneck = { rate = "1Mbps", delay = "10ms" } }
  H.eq(#d.clients, 2, "clients")
  H.eq(d.servers[2].name, "s2", "server name")
  H.eq(d.left.router, true, "left router")
  H.eq(d.bottleneck.name, "left-right", "bottleneck")
  H.eq(#d.access, 4, "access links")
  d.servers[2]:listen(80)
  conn = d.clients[2]:connect(d.servers[2], 80)
  sim:run{ stop = 1 }
  H.eq(conn.state, "ESTABLISHED", "across the dumbbell")
  sim:close()
end)

-- RFC 9293 3.8.3 (MUST-21): R2 per connection. The server goes silent
-- at 2 s; 100 bytes leave at 3 s. With retries = 2 the data goes again at
-- 4 and 6 s and the connection gives up at 10 s; the node's default (15
-- for tcplab, 6 for ns-3's TCP) gives up far later; "never" does not.
-- ns-3's own TCP takes the same option (its DataRetries attribute).
H.test("retries per connection and per listener", function()
  for _, tcp in ipairs{ "tcplab", "ns3" } do
    local sim, client, server, link = pair{ client = { tcp = tcp }, server = { tcp = tcp } }
    link:drop{ from = server, every = true, after = 2 }
    server:listen(80)
    local two = client:connect(server, 80, { at = 1, retries = 2 })
    local default = client:connect(server, 80, { at = 1 })
    local never = client:connect(server, 80, { at = 1, retries = "never" })
    for _, c in ipairs{ two, default, never } do c:send(100, { at = 3 }) end
    sim:run{ stop = 3000 }
    local function ended(c)
      local row = tcplab.first(sim:timeline(), { conn = c.id, to_state = "CLOSED" })
      return row and row.time_s, row and row.event
    end
    local t, ev = ended(two)
    H.eq(two.error, "timed_out", tcp .. ": retries = 2 times out")
    H.eq(ev, "gave_up", tcp .. ": the timeline says why")
    H.check(t >= 10 and t < 10.001, tcp .. ": gave up at 10 s, not " .. tostring(t))
    local sent = tcplab.count(sim:segments(), { from_node = "client", action = "sent", flow = two.flow, len = 100 })
    H.eq(sent, 3, tcp .. ": the data went three times")
    t = ended(default)
    H.eq(default.error, "timed_out", tcp .. ": the default times out too")
    H.check(t > 100, tcp .. ": later, at " .. tostring(t))
    H.eq(never.state, "ESTABLISHED", tcp .. ": never gives up")
    H.eq(ended(never), nil, tcp .. ": no end row for never")
    sim:close()
  end
  -- A listener's retries serve every connection it accepts.
  local sim, client, server, link = pair()
  link:drop{ from = client, every = true, after = 2 }
  local accepted
  server:listen(80, { retries = 1, on_accept = function(c) accepted = c; c:send(100, { at = 3 }) end })
  client:connect(server, 80, { at = 1 })
  sim:run{ stop = 100 }
  H.eq(accepted.error, "timed_out", "accepted: times out")
  H.eq(tcplab.first(sim:timeline(), { conn = accepted.id, to_state = "CLOSED" }).time_s, 6,
    "accepted: one retry at 4 s, gave up at 6 s")
  sim:close()
end)

-- RFC 9293 3.8.5: "hello " then one urgent octet. The urgent one leaves
-- at once with URG, behind "hello " on the link (urgent data does not
-- wait for the ACK, as Nagle would have it); the receiver, which has read
-- "hello ", hears of it once: 1 octet up to the urgent pointer, counted
-- from its reading position (MUST-33); the stream arrives whole.
H.test("urgent data", function()
  local sim, client, server = pair()
  local told, stream = {}, {}
  server:listen(80, {
    on_urgent = function(c, n) told[#told + 1] = { sim:now(), n } end,
    on_data = function(c) stream[#stream + 1] = c:read() end,
  })
  local conn = client:connect(server, 80, { at = 1 })
  conn:send("hello ", { at = 2 })
  conn:send("!", { at = 2, urgent = true })
  conn:send(" world", { at = 3 })
  conn:close{ at = 4 }
  sim:run{}
  H.eq(table.concat(stream), "hello ! world", "the stream, urgent octet inline")
  H.eq(#told, 1, "told once")
  H.eq(told[1][2], 1, "1 octet up to the urgent pointer")
  local sent = tcplab.where(sim:segments(), { from_node = "client", action = "sent" })
  local urg = tcplab.where(sent, function(r) return (r.flags or ""):find("URG", 1, true) end)
  H.eq(#urg, 1, "one segment carries URG")
  H.eq(urg[1].len, 1, "the urgent octet's")
  H.check(urg[1].time_s < 2.001, "sent at once, not held for the ACK: " .. urg[1].time_s)
  H.eq(urg[1].flags, "PSH|ACK|URG", "flags")
  sim:close()
  -- ns-3's own TCP has no urgent data.
  sim, client, server = pair{ client = { tcp = "ns3" }, server = { tcp = "ns3" } }
  server:listen(80)
  conn = client:connect(server, 80, { at = 1 })
  H.raises(function() conn:send("!", { urgent = true }) end,
    { "conn:send", "ns-3's native TCP has no urgent data" }, "urgent on ns-3's TCP")
  sim:close()
end)

-- node:stats(): the stack's counters. Three in-window RSTs a blind
-- attacker aims at the server's connection, 100 ms apart, each answered
-- with a challenge ACK (RFC 5961 3.2), and one segment with a bad
-- checksum, counted and dropped.
H.test("node counters", function()
  local sim, client, server, link = pair()
  server:listen(80)
  local conn = client:connect(server, 80, { at = 1 })
  for i = 1, 3 do
    link:inject{ at = 2 + i / 10, from = client, conn = conn, flags = "RST", rel_seq = 1000 + i }
  end
  link:inject{ at = 3, from = client, conn = conn, flags = "ACK", rel_seq = 1, rel_ack = 1,
    payload = "x", corrupt_checksum = true }
  sim:run{ stop = 10 }
  local st = server:stats()
  H.eq(st.challenge_acks, 3, "challenge ACKs")
  H.eq(st.challenge_acks_limited, 0, "none held back")
  H.eq(st.malformed.checksum, 1, "bad checksum counted")
  H.eq(st.conns_total, 1, "one connection")
  H.eq(conn.state, "ESTABLISHED", "the connection survives")
  H.raises(function() sim:router("r"):stats() end, { "node:stats", "router" }, "a router")
  sim:close()
end)

-- conn:stop_reading / start_reading: while the server's application does
-- not read, nothing reaches on_data, and the client's FIN does not reach
-- on_close either (an application learns of the end of the stream by
-- reading to it). At 10 s it reads: all 3000 bytes, then the end, and a
-- close made there is a clean one.
H.test("an application that stops reading", function()
  local sim, client, server = pair()
  local events = {}
  server:listen(80, {
    on_accept = function(c) c:stop_reading(); c:start_reading{ at = 10 } end,
    on_data = function(c) events[#events + 1] = { "data", sim:now(), #c:read() } end,
    on_close = function(c) events[#events + 1] = { "close", sim:now() }; c:close() end,
  })
  local conn = client:connect(server, 80, { at = 1 })
  conn:send(3000, { at = 2 })
  conn:close{ at = 2 }
  sim:run{}
  H.eq(#events, 2, "data once, then the close")
  H.eq(events[1][1], "data", "first the data")
  H.eq(events[1][2], 10, "... when reading starts again")
  H.eq(events[1][3], 3000, "... all of it")
  H.eq(events[2][1], "close", "then the end of the stream")
  H.eq(events[2][2], 10, "... at the same moment")
  H.eq(conn.error, nil, "the client's connection ends cleanly")
  local srv = tcplab.first(sim:connections(), { role = "passive" })
  H.eq(srv.error, nil, "so does the server's: nothing was left unread")
  sim:close()
end)

H.test("cwnd rows of ns-3's TCP, for comparison", function()
  -- A native client sends 100 KB; its 20th full segment is lost.
  local sim, client, server, link = pair{ client = { tcp = "ns3", mss = 1460 } }
  link:drop{ from = client, flags = "ACK", len = 1460, nth = 20 }
  server:listen(80, { on_data = function(c) c:read() end })
  local conn = client:connect(server, 80, { at = 1 })
  conn:send(100000, { at = 1.1 })
  sim:run{ stop = 30 }
  H.eq(conn.bytes_sent, 100000, "all delivered")
  local rows = conn:cwnd()
  H.check(#rows > 10, "a row per change: " .. #rows)
  H.eq(rows[1].cwnd, 10 * 1460, "ns-3's initial window: 10 segments of the node's MSS")
  H.eq(rows[1].ssthresh, nil, "ns-3's unset ssthresh (2^32 - 1) is an empty cell too")
  H.eq(rows[1].time_s, conn:entered("ESTABLISHED"), "from ESTABLISHED")
  local repeated, first_ss, before = 0, nil, 0
  for i = 2, #rows do
    if rows[i].cwnd == rows[i - 1].cwnd and rows[i].ssthresh == rows[i - 1].ssthresh then
      repeated = repeated + 1
    end
    if rows[i].ssthresh and not first_ss then
      first_ss, before = rows[i], rows[i - 1].cwnd
    end
  end
  H.eq(repeated, 0, "no row repeats the one before")
  H.check(first_ss and first_ss.ssthresh < before, "the loss sets ssthresh below the window it had")
  H.eq(conn:info().segs_sent, nil, "no core counters for ns-3's TCP")
  sim:close()
end)

H.test("the counterfactual two-way handshake, only by name", function()
  local sim = tcplab.sim()
  local node = sim:node("x", { handshake = "two-way (counterfactual)" })
  H.contains(tostring(node), { "COUNTERFACTUAL" }, "labelled")
  local plain = sim:node("y", { handshake = "three-way" })
  H.check(not tostring(plain):find("COUNTERFACTUAL"), "not labelled")
  H.raises(function() sim:node("z", { handshake = "two-way" }) end, { "two-way (counterfactual)" })
  local client = sim:node("c")
  sim:link(client, node, { delay = "20ms" })
  node:listen(80)
  client:connect(sim:nodes()[1], 80)
  sim:run{ stop = 1 }
  local passive = tcplab.first(sim:connections(), { role = "passive" })
  -- ESTABLISHED as soon as its SYN|ACK leaves: when the SYN arrived.
  local syn_rcvd = tcplab.first(sim:timeline(), { node = "x", to_state = "SYN_RECEIVED" })
  H.eq(passive.established_s, syn_rcvd.time_s, "established at once")
  sim:close()
end)

H.test("errors in callbacks stop the run", function()
  local sim, client, server = pair()
  local later = false
  server:listen(80, { on_data = function() error("bad data") end })
  local conn = client:connect(server, 80, { on_connect = function(c) c:send("x") end })
  sim:at(5, function() later = true end)
  local t0 = debug.getinfo(1, "l").currentline
  local ok, err = pcall(sim.run, sim)
  H.check(not ok, "sim:run raised")
  H.contains(err, { "sim:run: stopped at", "on_data callback", "api_test.lua:" .. (t0 - 3) .. ": bad data",
    "stack traceback:" }, "message")
  H.check(sim:now() < 1, "stopped at once: " .. sim:now())
  H.eq(later, false, "nothing after the error ran")
  -- The simulation is still usable: running again goes on.
  sim:run()
  H.eq(later, true, "went on")
  H.eq(conn.state, "ESTABLISHED", "conn")

  sim:at(sim:now() + 1, function() sim:run() end)
  ok, err = pcall(sim.run, sim)
  H.contains(err, { "a sim:at function", "not allowed inside a callback" }, "run inside a callback")
  sim:at(sim:now() + 1, function() sim:close() end)
  ok, err = pcall(sim.run, sim)
  H.contains(err, { "sim:close", "runs" }, "close inside a callback")
  sim:at(sim:now() + 1, function() error({}) end)
  ok, err = pcall(sim.run, sim)
  H.contains(err, { "error object is a table value" }, "non-string error")
  sim:close()
end)

H.test("closing and making simulations in one process", function()
  local function scenario()
    local sim, client, server = pair{ seed = 5 }
    server:listen(80, { on_accept = function(c) c:close() end })
    client:connect(server, 80, { at = 0.5 }):close{ at = 1 }
    sim:run()
    local rows = sim:timeline()
    sim:close()
    return rows
  end
  local a, b = scenario(), scenario()
  H.eq(#a, #b, "same number of rows")
  local same = true
  for i, r in ipairs(a) do
    for _, col in ipairs(tcplab.columns.timeline) do
      if r[col] ~= b[i][col] then same = false end
    end
  end
  H.check(same, "the same run twice in one process gives the same rows")

  -- One simulation at a time; an unreachable one is collected to make
  -- room, and one closed by <close> too.
  local s1 = tcplab.sim()
  H.raises(function() tcplab.sim() end, { "tcplab.sim: a simulation already exists", "sim:close()" })
  s1 = nil -- luacheck: ignore
  local s2 = tcplab.sim()
  s2:node("n")
  do
    s2:close()
    local s3 <close> = tcplab.sim()
    s3:node("n")
  end
  local s4 = tcplab.sim{ seed = 9 }
  H.contains(tostring(s4), { "seed 9", "0 nodes" }, "fresh simulation")
  s4:close()
  s4:close() -- twice is fine
end)

H.finish()
