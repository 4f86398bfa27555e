-- Experiment 16's claim, checked in its CSV files: the server's TCP takes
-- its 4000-byte buffer's worth and then offers a window of 0; while it is
-- shut the client sends only one-octet probes of the same octet (4001),
-- the first exactly one RTO (1 s, rto_min) after the zero window reached
-- it and each next one twice as long after the last (2, 4, 8 s); the
-- server answers every probe offering 0 and taking nothing; at 20 s, when
-- its application reads again, it sends a window update offering the
-- whole buffer, and all 10000 bytes arrive; the connection closes
-- without error.
return function(X)
  local segments, conns = X.read("segments"), X.read("connections")
  local m = X.metrics()
  local READ_AT = 20 * X.S

  local sent = function(node) return X.where(segments, { from_node = node, action = "sent" }) end
  local server_sent, client_sent = sent("server"), sent("client")

  -- The ACK that shuts the window.
  local shut
  for _, s in ipairs(server_sent) do
    if s.win == 0 then shut = s break end
  end
  X.check(shut ~= nil, "the server offers a zero window")
  X.eq(shut.rel_ack, 4001, "... after taking its 4000-byte buffer's worth")
  local shut_arrives = X.first(segments, { from_node = "server", action = "received",
    seq = shut.seq, ack = shut.ack, win = 0 }).time_ns

  -- While shut: probes only, one octet, the same one, 1 s then 2, 4, 8 s apart.
  local probes = {}
  for _, s in ipairs(client_sent) do
    if s.time_ns > shut.time_ns and s.time_ns < READ_AT then probes[#probes + 1] = s end
  end
  X.eq(#probes, 4, "four probes before the application reads again")
  for i, p in ipairs(probes) do
    X.eq(p.len, 1, "probe " .. i .. ": one octet")
    X.eq(p.rel_seq, 4001, "probe " .. i .. ": the first octet past the window")
  end
  X.eq(probes[1].time_ns - shut_arrives, 1 * X.S, "first probe one RTO (1 s) after the zero window arrived")
  for i = 2, #probes do
    X.eq(probes[i].time_ns - probes[i - 1].time_ns, (1 << (i - 1)) * X.S,
      "probe " .. i .. ": the interval doubles")
  end
  X.eq(m.probe_gaps_s, "2.0 4.0 8.0", "metric probe_gaps_s")

  -- Every probe answered with the window still shut, the octet not taken.
  for i, p in ipairs(probes) do
    local answer
    for _, s in ipairs(server_sent) do
      if s.time_ns > p.time_ns then answer = s break end
    end
    X.eq(answer.win, 0, "probe " .. i .. ": answered with a zero window")
    X.eq(answer.rel_ack, 4001, "probe " .. i .. ": its octet not taken")
    X.check(answer.time_ns < READ_AT, "probe " .. i .. ": answered at once")
  end

  -- The window update, the moment the application reads.
  local update = X.first(server_sent, { time_ns = READ_AT })
  X.check(update ~= nil, "the server sends at 20 s, when its application reads")
  X.eq(update.flags, "ACK", "... an ACK")
  X.eq(update.win, 4000, "... offering the whole buffer again")
  X.eq(update.rel_ack, 4001, "... still acknowledging 4000")

  -- Everything arrives; nobody gives up.
  local srv = X.first(conns, { node = "server", role = "passive" })
  local cli = X.first(conns, { node = "client", role = "active" })
  X.eq(srv.bytes_received, 10000, "all 10000 bytes received")
  X.eq(m.bytes_received, 10000, "metric bytes_received")
  X.eq(cli.error, nil, "the client's connection ends without error")
  X.eq(cli.final_state, "CLOSED", "... closed")

  X.nonempty("ladder.svg")
end
