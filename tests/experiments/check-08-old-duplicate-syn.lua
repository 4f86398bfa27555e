-- Experiment 8's claim, checked in its CSV files: an old duplicate SYN
-- makes the server answer SYN|ACK; the client, in SYN_SENT, answers that
-- with RST seq = the SYN|ACK's ack = old seq + 1, and the server goes back
-- to LISTEN without its application hearing of it; the real connection
-- then opens. In the counterfactual two-way handshake the same old SYN
-- makes an ESTABLISHED connection that the application accepts at once,
-- and only the client's RST ends it.
return function(X)
  local AGE = 100000 -- the script's default age of the old SYN

  local function load(dir)
    local d = X.out .. "/" .. dir
    return {
      timeline = X.read("timeline", d), segments = X.read("segments", d),
      conns = X.read("connections", d), app = X.read("app", d),
    }
  end

  -- What both runs share: the old SYN, the server's answer to it, the
  -- client's RST; returns the segments and the two passive connections.
  local function common(run, server, label)
    local seg = run.segments
    local syns = X.where(seg, { from_node = "client", action = "sent", flags = "SYN" })
    X.eq(#syns, 2, label .. ": SYNs on the link (the new one and the old duplicate)")
    local new, old = syns[1], syns[2]
    X.eq(new.time_ns, 1 * X.S, label .. ": the new SYN leaves at 1 s")
    X.eq(old.time_ns, 1001000000, label .. ": the old SYN is injected at 1.001 s")
    X.eq((new.seq - old.seq) % (1 << 32), AGE, label .. ": the old SYN is `age` before the new ISN")
    local old_in = X.first(seg, { from_node = "client", action = "received", flags = "SYN", seq = old.seq })
    local new_in = X.first(seg, { from_node = "client", action = "received", flags = "SYN", seq = new.seq })
    X.check(old_in.time_ns < new_in.time_ns, label .. ": the old SYN arrives before the new one")

    local synacks = X.where(seg, { from_node = server, action = "sent", flags = "SYN|ACK" })
    X.eq(#synacks, 2, label .. ": SYN|ACKs (one per SYN)")
    X.eq(synacks[1].ack, old.seq + 1, label .. ": the first SYN|ACK acknowledges the old SYN")
    X.eq(synacks[1].time_ns, old_in.time_ns, label .. ": ... sent when the old SYN arrives")
    X.eq(synacks[2].ack, new.seq + 1, label .. ": the second SYN|ACK acknowledges the new SYN")

    local rsts = X.where(seg, { from_node = "client", action = "sent", flags = "RST" })
    X.eq(#rsts, 1, label .. ": RSTs from the client")
    local rst = rsts[1]
    local synack_in = X.first(seg, { from_node = server, action = "received", flags = "SYN|ACK" })
    X.eq(rst.seq, synacks[1].ack, label .. ": RST seq = the unacceptable SYN|ACK's ack")
    X.eq(rst.seq, old.seq + 1, label .. ": ... = old seq + 1")
    X.eq(rst.time_ns, synack_in.time_ns, label .. ": RST sent when that SYN|ACK arrives")
    local client = X.first(run.conns, { node = "client", role = "active" })
    X.check(client.established_ns > rst.time_ns, label .. ": the client was in SYN_SENT when it sent the RST")
    X.eq(X.states(run.timeline, "client", client.conn), "CLOSED > SYN_SENT > ESTABLISHED", label .. ": client states")
    local rst_in = X.first(seg, { from_node = "client", action = "received", flags = "RST" })

    local passive = X.where(run.conns, { node = server, role = "passive" })
    X.eq(#passive, 2, label .. ": connections the server's TCP made")
    return old_in, new_in, rst_in, passive[1], passive[2]
  end

  -- Run 1: the three-way handshake ----------------------------------
  local real = load("three-way")
  local old_in, _, rst_in, ghost, conn = common(real, "server", "three-way")
  X.eq(X.states(real.timeline, "server", ghost.conn), "LISTEN > SYN_RECEIVED > LISTEN",
    "three-way: the old SYN's connection goes back to LISTEN")
  local back = X.first(real.timeline, { node = "server", conn = ghost.conn, to_state = "LISTEN" })
  X.eq(back.event, "rcv", "three-way: back to LISTEN on a received segment")
  X.eq(back.flags, "RST", "... the client's RST")
  X.eq(back.seq, rst_in.seq, "... with the RST's seq")
  X.eq(back.time_ns, rst_in.time_ns, "... when it arrives")
  X.eq(ghost.established_s, nil, "three-way: the old SYN's connection never ESTABLISHED")
  X.eq(X.states(real.timeline, "server", conn.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED",
    "three-way: the real connection opens")
  X.eq(#real.app, 1, "three-way: the application saw one callback")
  X.eq(real.app[1].callback, "accept", "... an accept")
  X.eq(real.app[1].conn, conn.conn, "... of the real connection")
  X.eq(real.app[1].time_ns, conn.established_ns, "... when it is ESTABLISHED")

  -- Run 2: the counterfactual two-way handshake ---------------------
  local cf = load("COUNTERFACTUAL-two-way")
  local server = "COUNTERFACTUAL-server"
  local cold_in, cnew_in, crst_in, cghost, cconn = common(cf, server, "counterfactual")
  X.eq(X.states(cf.timeline, server, cghost.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED > CLOSED",
    "counterfactual: the old SYN's connection is ESTABLISHED, then reset")
  local est = X.first(cf.timeline, { node = server, conn = cghost.conn, to_state = "ESTABLISHED" })
  X.eq(est.time_ns, cold_in.time_ns, "counterfactual: ESTABLISHED the instant the old SYN arrives")
  X.eq(est.event, "snd", "counterfactual: ESTABLISHED as its SYN|ACK leaves")
  X.eq(cghost.established_ns, cold_in.time_ns, "counterfactual: connections.csv established_s")
  local closed = X.first(cf.timeline, { node = server, conn = cghost.conn, to_state = "CLOSED" })
  X.eq(closed.flags, "RST", "counterfactual: ended by the client's RST")
  X.eq(closed.time_ns, crst_in.time_ns, "... when it arrives")
  X.eq(cghost.final_state, "CLOSED", "counterfactual: final state")
  X.eq(cghost.error, "reset", "counterfactual: error")
  X.eq(X.states(cf.timeline, server, cconn.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED",
    "counterfactual: the real connection")
  X.eq(cconn.established_ns, cnew_in.time_ns, "counterfactual: the real one ESTABLISHED when its SYN arrives")
  -- The application: handed the unwanted connection, told of its reset,
  -- then handed the real one.
  X.eq(#cf.app, 3, "counterfactual: the application saw three callbacks")
  local a1, a2, a3 = cf.app[1], cf.app[2], cf.app[3]
  X.eq(a1.callback .. " #" .. a1.conn, "accept #" .. cghost.conn, "counterfactual: 1st callback")
  X.eq(a1.time_ns, cold_in.time_ns, "counterfactual: accepted when the old SYN arrived")
  X.eq(a1.state, "ESTABLISHED", "counterfactual: handed over ESTABLISHED")
  X.eq(a2.callback .. " #" .. a2.conn, "end #" .. cghost.conn, "counterfactual: 2nd callback")
  X.eq(a2.error, "reset", "counterfactual: the application is told of the reset")
  X.eq(a2.time_ns, crst_in.time_ns, "counterfactual: ... when the RST arrives")
  X.eq(a3.callback .. " #" .. a3.conn, "accept #" .. cconn.conn, "counterfactual: 3rd callback")
  -- The old SYN was the same segment at the same time in both runs.
  X.eq(cold_in.time_ns, old_in.time_ns, "both runs: the old SYN arrives at the same time")

  local m = X.metrics()
  X.eq(m.three_way_accepted, 1, "metric three_way_accepted")
  X.eq(m.counterfactual_accepted, 2, "metric counterfactual_accepted")
  X.check(X.stdout:find("COUNTERFACTUAL two-way handshake -- NOT TCP", 1, true) ~= nil,
    "the output labels the counterfactual run")
  for _, dir in ipairs { "three-way", "COUNTERFACTUAL-two-way" } do
    X.nonempty(dir .. "/states.png")
    X.nonempty(dir .. "/ladder.svg")
  end
end
