-- Checks experiments/06-lost-final-ack.lua. With the client's last ACK
-- dropped, the server repeats its FIN exactly one RTO later; then
--   with TIME_WAIT, the client re-ACKs it and stays 2 x MSL from that
--   moment, and the server closes normally;
--   without (msl = 0), the client answers with RST (seq = the FIN's ack)
--   and the server's connection ends in a reset.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

-- What both runs share: the states up to the lost ACK, the drop itself,
-- and the FIN repeated after exactly one RTO. Returns the two FINs.
local function lost_ack_and_repeated_fin(R, flow, p, run)
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED" },
    run .. ": server states")
  local dropped = E.where(R.segments, { action = "dropped" })
  E.eq(#dropped, 1, run .. ": one segment lost")
  local lost = dropped[1]
  E.eq(lost.from_node .. " " .. lost.flags .. " len=" .. lost.len .. " " .. lost.reason,
    "client ACK len=0 rule", run .. ": the lost one is the client's bare ACK, dropped by the rule")
  local fins = E.where(E.sent(R, "server"), { flags = "FIN|ACK" })
  E.eq(#fins, 2, run .. ": the server sends its FIN twice")
  E.eq(lost.ack, E.plus(fins[1].seq, 1), run .. ": the lost ACK acknowledged the FIN (ack = w+1)")
  E.eq(lost.t - E.ser(lost, p.bps) - p.delay_ns, E.entered(R, "client", "TIME_WAIT", flow),
    run .. ": it was sent as the client entered TIME_WAIT")
  E.eq(fins[2].seq, fins[1].seq, run .. ": the repeated FIN has the same seq w")
  E.eq(fins[2].t - fins[1].t, p.rto_ns, run .. ": repeated exactly one RTO (rto_min) later")
  local sc = E.first(R.connections, { node = "server" })
  E.eq(sc.retransmissions, 1, run .. ": connections.csv counts the server's retransmission")
  return fins, sc
end

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local d, bps = p.delay_ns, p.bps

  -- Run 1: TIME_WAIT catches the repeated FIN.
  local R = E.results(dir .. "/time-wait")
  local flow = R.connections[1].flow
  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED" },
    "run 1: client states")
  local fins, sc = lost_ack_and_repeated_fin(R, flow, p, "run 1")
  local t_fin2 = fins[2].t + d + E.ser(fins[2], bps) -- the repeated FIN arrives
  local reack = E.where(E.sent(R, "client"), { flags = "ACK" })
  reack = reack[#reack]
  E.eq(reack.t, t_fin2, "run 1: the client in TIME_WAIT answers it at once")
  E.eq(reack.ack, E.plus(fins[1].seq, 1), "run 1: with the same ACK, ack = w+1")
  E.eq(#E.where(R.segments, { flags = "RST" }), 0, "run 1: no reset")
  E.eq(E.entered(R, "server", "CLOSED", flow), reack.t + d + E.ser(reack, bps),
    "run 1: the server CLOSED when the repeated ACK arrives")
  E.eq(E.cause(R, "server", "CLOSED", flow), "rcv ACK", "run 1: server CLOSED by that ACK")
  E.eq(sc.error, nil, "run 1: the server's connection ends without error")
  local t_closed = E.entered(R, "client", "CLOSED", flow)
  E.eq(t_closed - t_fin2, 2 * p.msl_ns, "run 1: 2 x MSL restarted from the repeated FIN")
  E.eq(t_closed - E.entered(R, "client", "TIME_WAIT", flow), 2 * p.msl_ns + p.rto_ns,
    "run 1: so TIME_WAIT lasts 2 x MSL + RTO in all")
  E.eq(E.cause(R, "client", "CLOSED", flow), "timer_time_wait", "run 1: client CLOSED by the timer")
  E.nonempty(dir .. "/time-wait/states.png", "run 1 state timeline plot")
  E.nonempty(dir .. "/time-wait/ladder.svg", "run 1 ladder SVG")

  -- Run 2: no TIME_WAIT, the repeated FIN gets a RST.
  R = E.results(dir .. "/no-time-wait")
  flow = R.connections[1].flow
  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED" },
    "run 2: client states")
  local t_tw = E.entered(R, "client", "TIME_WAIT", flow)
  E.eq(E.entered(R, "client", "CLOSED", flow), t_tw, "run 2: TIME_WAIT lasts 0 ns")
  fins, sc = lost_ack_and_repeated_fin(R, flow, p, "run 2")
  t_fin2 = fins[2].t + d + E.ser(fins[2], bps)
  local rst = E.sent(R, "client")
  rst = rst[#rst]
  E.eq(rst.flags, "RST", "run 2: the client's answer is a RST")
  E.eq(rst.t, t_fin2, "run 2: sent when the repeated FIN arrives")
  E.eq(rst.seq, fins[2].ack, "run 2: RST seq = the FIN's ack (RFC 9293 3.5.2)")
  local client_rows = E.where(R.timeline, { node = "client" })
  E.eq(client_rows[#client_rows].t, t_tw,
    "run 2: the client has no connection any more: no timeline row after its CLOSED")
  E.eq(E.entered(R, "server", "CLOSED", flow), rst.t + d + E.ser(rst, bps),
    "run 2: the server CLOSED when the RST arrives")
  E.eq(E.cause(R, "server", "CLOSED", flow), "rcv RST", "run 2: server CLOSED by the RST")
  E.eq(sc.error, "reset", "run 2: connections.csv: the server's connection was reset")
  E.nonempty(dir .. "/no-time-wait/states.png", "run 2 state timeline plot")
  E.nonempty(dir .. "/no-time-wait/ladder.svg", "run 2 ladder SVG")

  local m = E.metrics(dir) -- both runs' metrics, in the script's directory
  E.eq(m.time_wait_fin_repeated_after_s, p.rto_ns / 1e9, "metrics: the FIN repeated after one RTO")
  E.eq(m.time_wait_after_last_fin_s, 2 * p.msl_ns / 1e9, "metrics: 2 x MSL after the last FIN")
  E.eq(m.time_wait_resets .. " " .. m.no_time_wait_resets, "0 1", "metrics: resets")
  E.eq(m.no_time_wait_server_error, "reset", "metrics: no_time_wait_server_error")
  E.eq(m.no_time_wait_time_wait_s, 0, "metrics: no_time_wait_time_wait_s")

  E.printed(output, { "-- ACK seq=x+2 ack=y+2 ---X", "lost (rule)", "-- RST seq=x+2 --" }, "the ladders")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, msl_ns = 30000000000,
  rto_ns = 1000000000 })
-- A smaller RTO floor, still above what the 30 ms round trip gives (3 x RTT).
check("short-rto", { sets = { msl = "10s", rto_min = "300ms", delay = "15ms" },
  delay_ns = 15000000, bps = 10000000, msl_ns = 10000000000, rto_ns = 300000000 })
E.done()
