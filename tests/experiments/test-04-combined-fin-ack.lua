-- Checks experiments/04-combined-fin-ack.lua: a server closing inside the
-- FIN's callback answers with one FIN|ACK, so the close is three
-- segments and the client goes FIN_WAIT_1 -> TIME_WAIT directly.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "TIME_WAIT", "CLOSED" },
    "client states: no FIN_WAIT_2")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED" },
    "server states")
  E.eq(E.cause(R, "client", "TIME_WAIT", flow), "rcv FIN|ACK", "TIME_WAIT: the server's FIN|ACK")
  local t_cw = E.entered(R, "server", "CLOSE_WAIT", flow)
  E.eq(E.entered(R, "server", "LAST_ACK", flow), t_cw, "the server is in CLOSE_WAIT for no time")

  -- Three segments from the client's FIN on, six in all.
  local sent = E.sent(R)
  E.eq(#sent, 6, "segments sent (3 to open, 3 to close)")
  local fin1, finack, ack = sent[4], sent[5], sent[6]
  E.eq(fin1 and (fin1.from_node .. " " .. fin1.flags), "client FIN|ACK", "4th: the client's FIN")
  E.eq(finack and (finack.from_node .. " " .. finack.flags), "server FIN|ACK",
    "5th: the server's FIN carrying the ACK")
  E.eq(ack and (ack.from_node .. " " .. ack.flags), "client ACK", "6th: the client's last ACK")
  if not (fin1 and finack and ack) then return end
  local u, w = fin1.seq, finack.seq
  E.eq(finack.ack, E.plus(u, 1), "FIN|ACK ack = u+1")
  E.eq(ack.ack, E.plus(w, 1), "last ACK ack = w+1")
  E.eq(#E.where(sent, { from_node = "server", flags = "ACK" }), 0, "the server never sends a bare ACK of the FIN")

  -- Times: the FIN|ACK leaves the moment the FIN arrives.
  local d, bps = p.delay_ns, p.bps
  E.eq(fin1.t, p.close_ns, "the client's FIN leaves at close_at")
  E.eq(t_cw, fin1.t + d + E.ser(fin1, bps), "CLOSE_WAIT when the FIN arrives")
  E.eq(finack.t, t_cw, "the FIN|ACK leaves at once")
  local t_tw = E.entered(R, "client", "TIME_WAIT", flow)
  E.eq(t_tw, finack.t + d + E.ser(finack, bps), "client TIME_WAIT when the FIN|ACK arrives")
  E.eq(E.entered(R, "client", "CLOSED", flow) - t_tw, 2 * p.msl_ns, "TIME_WAIT lasts 2 x MSL")
  E.eq(E.entered(R, "server", "CLOSED", flow), ack.t + d + E.ser(ack, bps),
    "server CLOSED when the last ACK arrives")

  E.eq(R.metrics.close_segments, 3, "metrics: close_segments")
  E.eq(tostring(R.metrics.fin_wait_2), "false", "metrics: no FIN_WAIT_2 (metrics.csv holds text)")
  E.printed(output, { "FIN|ACK seq=y+1 ack=x+2 --", "-- ACK seq=x+2 ack=y+2 --" }, "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, msl_ns = 30000000000,
  close_ns = 2000000000 })
check("short-msl", { sets = { msl = "2s", delay = "1ms", rate = "100Mbps" },
  delay_ns = 1000000, bps = 100000000, msl_ns = 2000000000, close_ns = 2000000000 })
E.done()
