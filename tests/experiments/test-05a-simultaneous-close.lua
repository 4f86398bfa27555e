-- Checks experiments/05a-simultaneous-close.lua: two FINs cross, both
-- sides go FIN_WAIT_1 -> CLOSING -> TIME_WAIT -> CLOSED at the same
-- instants, each FIN's ack leaves the other FIN unacknowledged, and both
-- wait 2 x MSL.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow
  local d, bps = p.delay_ns, p.bps

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "CLOSING", "TIME_WAIT", "CLOSED" },
    "client states")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "CLOSING", "TIME_WAIT", "CLOSED" },
    "server states")

  local sent = E.sent(R)
  E.eq(#sent, 7, "segments sent (3 to open, 4 to close)")
  local cfin = E.first(E.sent(R, "client"), { flags = "FIN|ACK" })
  local sfin = E.first(E.sent(R, "server"), { flags = "FIN|ACK" })
  E.eq(cfin.t, p.close_ns, "the client's FIN leaves at close_at")
  E.eq(sfin.t, p.close_ns, "the server's FIN leaves at the same instant")
  local u, w = cfin.seq, sfin.seq
  E.eq(cfin.ack, w, "the client's FIN acks up to w, not the server's FIN")
  E.eq(sfin.ack, u, "the server's FIN acks up to u, not the client's FIN")
  local cack = E.where(E.sent(R, "client"), { flags = "ACK" })
  local sack = E.where(E.sent(R, "server"), { flags = "ACK" })
  cack, sack = cack[#cack], sack[#sack] -- the handshake's ACK comes first
  E.eq(cack.ack, E.plus(w, 1), "the client's last ACK ack = w+1")
  E.eq(cack.seq, E.plus(u, 1), "and seq = u+1")
  E.eq(sack.ack, E.plus(u, 1), "the server's last ACK ack = u+1")
  E.eq(sack.seq, E.plus(w, 1), "and seq = w+1")

  for _, node in ipairs({ "client", "server" }) do
    local fin = node == "client" and cfin or sfin
    local t_closing = E.entered(R, node, "CLOSING", flow)
    E.eq(E.cause(R, node, "CLOSING", flow), "rcv FIN|ACK", node .. " CLOSING: the other FIN")
    E.eq(t_closing, p.close_ns + d + E.ser(fin, bps), node .. " CLOSING when the other FIN arrives")
    local t_tw = E.entered(R, node, "TIME_WAIT", flow)
    E.eq(E.cause(R, node, "TIME_WAIT", flow), "rcv ACK", node .. " TIME_WAIT: the ACK of its FIN")
    E.eq(t_tw, t_closing + d + E.ser(cack, bps), node .. " TIME_WAIT when that ACK arrives")
    E.eq(E.entered(R, node, "CLOSED", flow) - t_tw, 2 * p.msl_ns, node .. " TIME_WAIT lasts 2 x MSL")
    E.eq(E.cause(R, node, "CLOSED", flow), "timer_time_wait", node .. " CLOSED by the 2 MSL timer")
  end
  E.eq(R.metrics.close_segments, 4, "metrics: close_segments")
  E.eq(R.metrics.client_time_wait_s, 2 * p.msl_ns / 1e9, "metrics: client_time_wait_s")
  E.eq(R.metrics.server_time_wait_s, 2 * p.msl_ns / 1e9, "metrics: server_time_wait_s")

  E.printed(output, { "-- FIN|ACK seq=x+1 ack=y+1 --", "FIN|ACK seq=y+1 ack=x+1 --" }, "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, msl_ns = 30000000000,
  close_ns = 2000000000 })
check("long-path", { sets = { delay = "150ms", msl = "5s", close_at = 3 },
  delay_ns = 150000000, bps = 10000000, msl_ns = 5000000000, close_ns = 3000000000 })
E.done()
