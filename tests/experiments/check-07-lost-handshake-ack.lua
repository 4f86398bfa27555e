-- Experiment 7's claim, checked in its CSV files: with the handshake's
-- ACK lost the server waits in SYN_RECEIVED and retransmits its SYN|ACK
-- exactly one initial RTO (1 s) later, the client re-ACKs and that ACK
-- establishes the server; when the client sends data instead, the data
-- segment's ACK establishes the server and no SYN|ACK is retransmitted.
return function(X)
  local S = X.S
  local timeline, segments = X.read("timeline"), X.read("segments")
  local conns = X.read("connections")

  local function passive(node) return X.first(conns, { node = node, role = "passive" }) end
  local function active(node) return X.first(conns, { node = node, role = "active" }) end
  local function sent(from, flags) return X.where(segments, { from_node = from, action = "sent", flags = flags }) end

  -- Part 1 ------------------------------------------------------------
  local c, s = active("client"), passive("server")
  X.eq(X.states(timeline, "client", c.conn), "CLOSED > SYN_SENT > ESTABLISHED", "part 1 client states")
  X.eq(X.states(timeline, "server", s.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED", "part 1 server states")

  local syn = sent("client", "SYN")
  local synack = sent("server", "SYN|ACK")
  local acks = sent("client", "ACK")
  X.eq(#syn, 1, "part 1 SYNs sent")
  X.eq(#synack, 2, "part 1 SYN|ACKs sent (one retransmission)")
  X.eq(#acks, 2, "part 1 ACKs sent (one re-ACK)")
  X.eq(synack[2].time_ns - synack[1].time_ns, 1 * S, "part 1 SYN|ACK retransmitted exactly 1 s (initial RTO) later")
  X.eq(synack[2].seq, synack[1].seq, "retransmitted SYN|ACK seq")
  X.eq(synack[1].ack, syn[1].seq + 1, "SYN|ACK ack = x+1")
  for i = 1, 2 do
    X.eq(acks[i].seq, syn[1].seq + 1, "ACK " .. i .. " seq = x+1")
    X.eq(acks[i].ack, synack[1].seq + 1, "ACK " .. i .. " ack = y+1")
    X.eq(acks[i].len, 0, "ACK " .. i .. " carries no data")
  end
  local lost = X.where(segments, { from_node = "client", action = "dropped" })
  X.eq(#lost, 1, "part 1 segments lost")
  X.eq(lost[1] and lost[1].flags, "ACK", "the lost segment is the handshake's ACK")
  X.eq(lost[1] and lost[1].reason, "rule", "lost by the experiment's drop rule")

  -- The client answers the duplicate SYN|ACK the moment it arrives.
  local dup = X.where(segments, { from_node = "server", action = "received", flags = "SYN|ACK" })[2]
  X.eq(acks[2].time_ns, dup.time_ns, "re-ACK sent when the retransmitted SYN|ACK arrives")
  -- The server is ESTABLISHED when that ACK arrives, not before.
  local ack_in = X.where(segments, { from_node = "client", action = "received", flags = "ACK" })
  X.eq(#ack_in, 1, "part 1 ACKs that reached the server")
  local est = X.first(timeline, { node = "server", conn = s.conn, to_state = "ESTABLISHED" })
  X.eq(est.from_state, "SYN_RECEIVED", "server leaves SYN_RECEIVED")
  X.eq(est.event, "rcv", "server established by a received segment")
  X.eq(est.flags, "ACK", "... the re-ACK")
  X.eq(est.time_ns, ack_in[1].time_ns, "server ESTABLISHED when the re-ACK arrives")
  X.eq(s.established_ns, ack_in[1].time_ns, "connections.csv established_s")
  X.eq(s.retransmissions, 1, "server retransmissions")
  X.eq(c.established_ns, X.where(segments, { from_node = "server", action = "received", flags = "SYN|ACK" })[1].time_ns,
    "client ESTABLISHED when the first SYN|ACK arrives")

  -- Part 2 ------------------------------------------------------------
  local c2, s2 = active("client-data"), passive("server-data")
  X.eq(X.states(timeline, "server-data", s2.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED", "part 2 server states")
  X.eq(#sent("server-data", "SYN|ACK"), 1, "part 2 SYN|ACKs sent (no retransmission)")
  X.eq(s2.retransmissions, 0, "part 2 server retransmissions")
  X.eq(s2.bytes_received, 100, "part 2 server received the data")
  local lost2 = X.where(segments, { from_node = "client-data", action = "dropped" })
  X.eq(#lost2 == 1 and lost2[1].flags, "ACK", "part 2 the handshake's ACK is lost")
  local data = X.where(segments, { from_node = "client-data", action = "received", len = 100 })[1]
  X.check(data ~= nil, "part 2 data segment reached the server")
  if data then
    X.eq(data.flags, "PSH|ACK", "data segment flags")
    X.eq(data.rel_seq, 1, "data rel_seq")
    X.eq(data.rel_ack, 1, "data rel_ack (acknowledges the SYN|ACK)")
    local e2 = X.first(timeline, { node = "server-data", conn = s2.conn, to_state = "ESTABLISHED" })
    X.eq(e2.from_state, "SYN_RECEIVED", "part 2 server leaves SYN_RECEIVED")
    X.eq(e2.event, "rcv", "part 2 established by a received segment")
    X.eq(e2.flags, "PSH|ACK", "... the data segment")
    X.eq(e2.time_ns, data.time_ns, "part 2 server ESTABLISHED when the data arrives")
    local data_sent = X.where(segments, { from_node = "client-data", action = "sent", len = 100 })[1]
    X.eq(data_sent.time_ns - c2.established_ns, S // 2, "data sent data_after = 0.5 s after ESTABLISHED")
    X.check(data.time_ns < X.first(sent("server-data", "SYN|ACK"), {}).time_ns + S,
      "data arrives before the server's 1 s retransmission timer would fire")
  end

  -- The servers' applications got each connection when ESTABLISHED.
  local m = X.metrics()
  X.eq(X.ns(("%.9f"):format(m.server_accepted_s)), s.established_ns, "part 1 accept time")
  X.eq(X.ns(("%.9f"):format(m.data_server_accepted_s)), s2.established_ns, "part 2 accept time")
  X.eq(m.synack_gap_s, 1, "metric synack_gap_s")

  X.nonempty("states.png")
  X.nonempty("ladder-ack-lost.svg")
  X.nonempty("ladder-data-first.svg")
  -- The ladder printed for part 1 shows the lost ACK.
  X.check(X.stdout:find("lost (rule)", 1, true) ~= nil, "the printed ladder marks the lost ACK")
end
