-- Experiment 15's claim, checked in its CSV files: both clients enter
-- TIME_WAIT at the same moment; a RST whose sequence number is exactly
-- what each client expects next (the ack of its last ACK) reaches both
-- 10 s after their close; the client without RFC 1337 goes to CLOSED on
-- that RST, well before 2*MSL, with no error; the client with RFC 1337
-- sends nothing in answer and leaves TIME_WAIT by its timer exactly
-- 2*MSL = 60 s after entering it.
return function(X)
  local timeline, segments = X.read("timeline"), X.read("segments")
  local conns = X.read("connections")
  local m = X.metrics()
  local TWO_MSL, RST_AT = 60 * X.S, 12 * X.S

  X.eq(m.two_msl_s, 60, "2*MSL")
  X.eq(m.rst_at_s, 12, "the RST leaves 10 s after the close")

  -- What both clients share, up to the RST.
  local function client(node, server)
    local c = X.first(conns, { node = node, role = "active" })
    local tw = X.first(timeline, { node = node, conn = c.conn, to_state = "TIME_WAIT" })
    X.eq(tw.event, "rcv", node .. ": TIME_WAIT on the server's FIN")
    X.eq(tw.flags, "FIN|ACK", node .. ": ... a FIN|ACK")
    local last_ack = X.where(segments, { from_node = node, action = "sent", flags = "ACK" })
    last_ack = last_ack[#last_ack]
    local rst = X.first(segments, { from_node = server, to_node = node, action = "received", flags = "RST" })
    X.eq(rst.seq, last_ack.ack, node .. ": the RST's seq is exactly RCV.NXT (y+2)")
    X.eq(rst.rel_seq, 2, node .. ": ... y+2")
    X.check(rst.time_ns > tw.time_ns and rst.time_ns < tw.time_ns + TWO_MSL,
      node .. ": the RST arrives inside TIME_WAIT")
    local closed = X.first(timeline, { node = node, conn = c.conn, to_state = "CLOSED" })
    X.eq(closed.from_state, "TIME_WAIT", node .. ": CLOSED from TIME_WAIT")
    X.eq(c.error, nil, node .. ": no error")
    return c, tw, rst, closed
  end

  -- rfc1337 = false: the RST ends TIME_WAIT (RFC 9293 3.10.7.4).
  local a, atw, arst, aclosed = client("client", "server")
  X.eq(aclosed.event, "rcv", "client: CLOSED on a received segment")
  X.eq(aclosed.flags, "RST", "client: ... the RST")
  X.eq(aclosed.time_ns, arst.time_ns, "client: CLOSED the moment it arrives")
  X.check(aclosed.time_ns - atw.time_ns < TWO_MSL - 40 * X.S,
    "client: TIME_WAIT cut short by more than 40 s")
  X.eq(a.final_state, "CLOSED", "client final state")

  -- rfc1337 = true: ignored; the full 2*MSL.
  local p, ptw, prst, pclosed = client("client-1337", "server-1337")
  X.eq(pclosed.event, "timer_time_wait", "client-1337: CLOSED by the TIME_WAIT timer")
  X.eq(pclosed.time_ns - ptw.time_ns, TWO_MSL, "client-1337: exactly 2*MSL in TIME_WAIT")
  for _, s in ipairs(X.where(segments, { from_node = "client-1337", action = "sent" })) do
    X.check(s.time_ns < prst.time_ns, "client-1337 answers the RST with nothing (" .. s.flags .. ")")
  end
  X.eq(p.final_state, "CLOSED", "client-1337 final state")

  -- The two runs differ only in RFC 1337.
  X.eq(atw.time_ns, ptw.time_ns, "both clients enter TIME_WAIT at the same time")
  X.eq(arst.time_ns - RST_AT, prst.time_ns - RST_AT, "both RSTs take the same time")
  X.eq(m.assassinated_end, "rcv", "metric assassinated_end")
  X.eq(m.protected_end, "timer_time_wait", "metric protected_end")
  X.eq(m.protected_time_wait_s, 60, "metric protected_time_wait_s")

  X.nonempty("states.png")
  X.nonempty("ladder-assassinated.svg")
end
