-- Checks experiments/02-four-way-close.lua: FIN seq=u, ACK ack=u+1,
-- FIN seq=w, ACK ack=w+1; every state of both sides and what caused it;
-- TIME_WAIT exactly 2 x MSL; the passive side CLOSED when the last ACK
-- arrives, long before the active side.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED" },
    "active closer (client) states")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED" },
    "passive closer (server) states")
  E.eq(E.cause(R, "client", "FIN_WAIT_1", flow), "app_close", "FIN_WAIT_1: the application closed")
  E.eq(E.cause(R, "client", "FIN_WAIT_2", flow), "rcv ACK", "FIN_WAIT_2: the ACK of our FIN")
  E.eq(E.cause(R, "client", "TIME_WAIT", flow), "rcv FIN|ACK", "TIME_WAIT: the server's FIN")
  E.eq(E.cause(R, "client", "CLOSED", flow), "timer_time_wait", "client CLOSED: the 2 MSL timer")
  E.eq(E.cause(R, "server", "CLOSE_WAIT", flow), "rcv FIN|ACK", "CLOSE_WAIT: the client's FIN")
  E.eq(E.cause(R, "server", "LAST_ACK", flow), "app_close", "LAST_ACK: the application closed")
  E.eq(E.cause(R, "server", "CLOSED", flow), "rcv ACK", "server CLOSED: the last ACK")

  -- Seven segments: the handshake's three, then the close's four.
  local sent = E.sent(R)
  E.eq(#sent, 7, "segments sent")
  local fin1, ack1, fin2, ack2 = sent[4], sent[5], sent[6], sent[7]
  E.eq(fin1.from_node .. " " .. fin1.flags, "client FIN|ACK", "4th: the client's FIN")
  E.eq(ack1.from_node .. " " .. ack1.flags, "server ACK", "5th: the server's ACK alone")
  E.eq(fin2.from_node .. " " .. fin2.flags, "server FIN|ACK", "6th: the server's FIN")
  E.eq(ack2.from_node .. " " .. ack2.flags, "client ACK", "7th: the client's last ACK")
  local u, w = fin1.seq, fin2.seq
  E.eq(fin1.rel_seq, 1, "u = x+1 (no data was sent)")
  E.eq(fin2.rel_seq, 1, "w = y+1")
  E.eq(ack1.ack, E.plus(u, 1), "ACK ack = u+1")
  E.eq(fin2.ack, E.plus(u, 1), "the server's FIN acknowledges u+1 too")
  E.eq(ack2.ack, E.plus(w, 1), "last ACK ack = w+1")
  E.eq(ack2.seq, E.plus(u, 1), "last ACK seq = u+1: the client's FIN used up u")
  for _, s in ipairs({ fin1, ack1, fin2, ack2 }) do E.eq(s.len, 0, s.flags .. " carries no data") end

  -- Times, exactly: each step is a delay plus a serialization.
  local d, bps = p.delay_ns, p.bps
  local t_close = E.entered(R, "client", "FIN_WAIT_1", flow)
  E.eq(t_close, p.close_ns, "the client closes at close_at")
  E.eq(fin1.t, t_close, "its FIN leaves at once")
  local t_close_wait = E.entered(R, "server", "CLOSE_WAIT", flow)
  E.eq(t_close_wait, t_close + d + E.ser(fin1, bps), "server CLOSE_WAIT when the FIN arrives")
  E.eq(E.entered(R, "client", "FIN_WAIT_2", flow), t_close_wait + d + E.ser(ack1, bps),
    "client FIN_WAIT_2 when the ACK arrives")
  local t_last_ack = E.entered(R, "server", "LAST_ACK", flow)
  E.eq(t_last_ack - t_close_wait, p.server_wait_ns, "CLOSE_WAIT lasts server_wait")
  local t_tw = E.entered(R, "client", "TIME_WAIT", flow)
  E.eq(t_tw, t_last_ack + d + E.ser(fin2, bps), "client TIME_WAIT when the server's FIN arrives")
  local t_client_closed = E.entered(R, "client", "CLOSED", flow)
  E.eq(t_client_closed - t_tw, 2 * p.msl_ns, "TIME_WAIT lasts exactly 2 x MSL")
  local t_server_closed = E.entered(R, "server", "CLOSED", flow)
  E.eq(t_server_closed, t_tw + d + E.ser(ack2, bps), "server CLOSED when the last ACK arrives")
  E.check(t_server_closed < t_client_closed, "the passive side is CLOSED before the active side",
    ("server %d ns, client %d ns"):format(t_server_closed, t_client_closed))

  local cc = E.first(R.connections, { node = "client" })
  local sc = E.first(R.connections, { node = "server" })
  E.eq(cc.role .. " " .. sc.role, "active passive", "connections.csv roles")
  E.eq(E.ns(cc.closed_s), t_client_closed, "connections.csv: client closed_s")
  E.eq(E.ns(sc.closed_s), t_server_closed, "connections.csv: server closed_s")
  E.eq(cc.final_state .. " " .. sc.final_state, "CLOSED CLOSED", "final states")
  E.eq(cc.retransmissions + sc.retransmissions, 0, "nothing retransmitted")
  E.eq(R.metrics.time_wait_s, 2 * p.msl_ns / 1e9, "metrics: time_wait_s")
  E.eq(R.metrics.close_segments, 4, "metrics: close_segments")

  E.printed(output, { "-- FIN|ACK seq=x+1 ack=y+1 --", "ACK seq=y+1 ack=x+2 --",
    "FIN|ACK seq=y+1 ack=x+2 --", "-- ACK seq=x+2 ack=y+2 --" }, "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/states-close.png", "zoomed state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, msl_ns = 30000000000,
  close_ns = 2000000000, server_wait_ns = 500000000 })
check("short-msl", { sets = { msl = "1s", delay = "50ms", server_wait = 0.2 },
  delay_ns = 50000000, bps = 10000000, msl_ns = 1000000000,
  close_ns = 2000000000, server_wait_ns = 200000000 })
E.done()
