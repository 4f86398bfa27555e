-- Experiment 9's claim, checked in its CSV files: after the client's FIN
-- is acknowledged and the server's application never closes, the client
-- without a FIN_WAIT_2 timeout is still in FIN_WAIT_2 at the end of a
-- one-day run, and the client with fin_wait_2_timeout = 60 s goes to
-- CLOSED exactly 60 s after entering FIN_WAIT_2, sending nothing; both
-- servers stay in CLOSE_WAIT and never send a FIN.
return function(X)
  local timeline, segments = X.read("timeline"), X.read("segments")
  local conns = X.read("connections")
  local m = X.metrics()
  local DAY, TIMEOUT = 86400 * X.S, 60 * X.S

  X.eq(m.stop_s, 86400, "the run lasted one simulated day")

  local function check_client(node, label)
    local c = X.first(conns, { node = node, role = "active" })
    local fin = X.first(segments, { from_node = node, action = "sent", flags = "FIN|ACK" })
    local fw2 = X.first(timeline, { node = node, conn = c.conn, to_state = "FIN_WAIT_2" })
    X.eq(fw2.event, "rcv", label .. ": FIN_WAIT_2 on a received segment")
    X.eq(fw2.flags, "ACK", label .. ": ... an ACK")
    X.eq(fw2.ack, fin.seq + 1, label .. ": ... of the FIN (ack = u+1)")
    X.eq(#X.where(segments, { from_node = node, action = "sent", flags = "FIN|ACK" }), 1,
      label .. ": one FIN, never retransmitted")
    return c, fw2
  end

  -- No timeout: FIN_WAIT_2 for the rest of the day.
  local c, fw2 = check_client("client", "RFC client")
  X.eq(X.states(timeline, "client", c.conn), "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2",
    "RFC client states")
  X.eq(c.final_state, "FIN_WAIT_2", "RFC client still in FIN_WAIT_2 at the end")
  X.eq(c.closed_s, nil, "RFC client never closed")
  X.eq(m.client_state, "FIN_WAIT_2", "metric client_state")
  local last = 0
  for _, r in ipairs(X.where(timeline, { node = "client", conn = c.conn })) do last = r.time_ns end
  X.eq(last, fw2.time_ns, "RFC client: nothing happens after it enters FIN_WAIT_2")
  X.check(math.abs(m.client_fin_wait_2_for_s - (DAY - fw2.time_ns) / X.S) < 1e-6,
    "RFC client: in FIN_WAIT_2 from its entry to the end of the day")

  -- fin_wait_2_timeout = 60 s: CLOSED exactly then, silently.
  local l, lfw2 = check_client("client-linux", "timeout client")
  X.eq(X.states(timeline, "client-linux", l.conn),
    "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2 > CLOSED", "timeout client states")
  local closed = X.first(timeline, { node = "client-linux", conn = l.conn, to_state = "CLOSED" })
  X.eq(closed.from_state, "FIN_WAIT_2", "timeout client leaves FIN_WAIT_2")
  X.eq(closed.event, "timer_fin_wait_2", "... by the FIN_WAIT_2 timer")
  X.eq(closed.time_ns - lfw2.time_ns, TIMEOUT, "... exactly 60 s after entering FIN_WAIT_2")
  X.eq(l.closed_ns, closed.time_ns, "connections.csv closed_s")
  X.eq(l.final_state, "CLOSED", "timeout client final state")
  X.eq(l.error, nil, "timeout client: no error")
  for _, s in ipairs(X.where(segments, { from_node = "client-linux", action = "sent" })) do
    X.check(s.time_ns <= lfw2.time_ns, "timeout client sends nothing in FIN_WAIT_2 or after (" .. s.flags .. ")")
  end
  -- The two clients differ only in the timeout.
  X.eq(lfw2.time_ns, fw2.time_ns, "both clients enter FIN_WAIT_2 at the same time")

  -- The servers: CLOSE_WAIT to the end, no FIN ever.
  for _, name in ipairs { "server", "server-linux" } do
    local s = X.first(conns, { node = name, role = "passive" })
    X.eq(X.states(timeline, name, s.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED > CLOSE_WAIT", name .. " states")
    X.eq(s.final_state, "CLOSE_WAIT", name .. " final state")
    X.eq(#X.where(segments, { from_node = name, action = "sent", flags = "FIN|ACK" }), 0, name .. " sends no FIN")
  end

  X.nonempty("states.png")
  X.nonempty("ladder-timeout.svg")
end
