-- Checks experiments/03-half-close.lua: after the client's shutdown the
-- server sends its whole reply, every byte of which reaches the client
-- while it is in FIN_WAIT_2; the client sends no data after its FIN, only
-- ACKs; the server's FIN follows its last byte.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow
  local reply = p.chunks * p.chunk_bytes

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED" },
    "client states")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED" },
    "server states")
  E.eq(E.cause(R, "client", "FIN_WAIT_1", flow), "app_shutdown", "FIN_WAIT_1: the client shut down")

  local t_fw2 = E.entered(R, "client", "FIN_WAIT_2", flow)
  local t_tw = E.entered(R, "client", "TIME_WAIT", flow)
  local t_cw = E.entered(R, "server", "CLOSE_WAIT", flow)

  -- The reply: every data segment from the server arrives in FIN_WAIT_2.
  local data, bytes, in_fw2 = {}, 0, true
  for _, s in ipairs(R.segments) do
    if s.from_node == "server" and s.action == "received" and s.len > 0 then
      data[#data + 1] = s
      bytes = bytes + s.len
      if not (s.t > t_fw2 and s.t < t_tw) then in_fw2 = false end
    end
  end
  E.eq(bytes, reply, "the client receives the whole reply")
  E.check(#data > 0 and in_fw2, "every data segment arrives after FIN_WAIT_2 began and before TIME_WAIT",
    ("FIN_WAIT_2 from %d to %d ns"):format(t_fw2, t_tw))
  E.eq(#E.where(R.segments, { from_node = "server", action = "dropped" }), 0, "nothing lost")
  -- In order and without a gap: each segment starts where the last ended.
  local next_rel, contiguous = 1, true
  for _, s in ipairs(data) do
    if s.rel_seq ~= next_rel then contiguous = false end
    next_rel = s.rel_seq + s.len
  end
  E.check(contiguous, "the reply's segments follow each other from y+1")
  -- The server sends only after the client's FIN: a half-close, not a race.
  local first_data = E.where(E.sent(R, "server"), { rel_seq = 1 })
  local sent_after = true
  for _, s in ipairs(E.sent(R, "server")) do
    if s.len > 0 and s.t < t_cw then sent_after = false end
  end
  E.check(#first_data > 0 and sent_after, "the server's data all leave after its CLOSE_WAIT")

  -- The server's application: a chunk every interval, FIN one interval after the last.
  local t_last_ack = E.entered(R, "server", "LAST_ACK", flow)
  E.eq(t_last_ack - t_cw, p.chunks * p.interval_ns, "the server closes chunks x interval after the FIN")
  local fin = E.first(E.sent(R, "server"), { flags = "FIN|ACK" })
  E.eq(fin and fin.rel_seq, 1 + reply, "the server's FIN seq = y+1+reply")
  E.eq(t_tw, fin.t + p.delay_ns + E.ser(fin, p.bps), "client TIME_WAIT when that FIN arrives")

  -- The client: after its FIN, ACKs only, all with seq = its FIN's + 1.
  local cfin = E.first(E.sent(R, "client"), { flags = "FIN|ACK" })
  E.eq(cfin.rel_seq, 1 + p.request, "the client's FIN seq = x+1+request")
  local only_acks, after = true, 0
  for _, s in ipairs(E.sent(R, "client")) do
    if s.t > cfin.t then
      after = after + 1
      if s.flags ~= "ACK" or s.len ~= 0 or s.seq ~= E.plus(cfin.seq, 1) then only_acks = false end
    end
  end
  E.check(after > 0 and only_acks, "after its FIN the client sends only ACKs, seq = FIN + 1")
  local last = E.sent(R, "client")
  last = last[#last]
  E.eq(last.rel_ack, reply + 2, "its last ACK acknowledges the reply and the FIN (y+2+reply)")

  local cc = E.first(R.connections, { node = "client" })
  local sc = E.first(R.connections, { node = "server" })
  E.eq(cc.bytes_received, reply, "connections.csv: client bytes_received")
  E.eq(sc.bytes_sent, reply, "connections.csv: server bytes_sent")
  E.eq(sc.bytes_received, p.request, "connections.csv: server received the request")
  E.eq(cc.retransmissions + sc.retransmissions, 0, "nothing retransmitted")
  E.eq(R.metrics.received, reply, "metrics: the client's application read the whole reply")
  E.eq(R.metrics.received_in_fin_wait_2, reply, "metrics: and all of it in FIN_WAIT_2")
  E.eq(R.metrics.fin_wait_2_s, (t_tw - t_fw2) / 1e9, "metrics: fin_wait_2_s")

  E.printed(output, { "-- FIN|ACK seq=x+" .. (1 + p.request) .. " ack=y+1 --",
    "FIN|ACK seq=y+" .. (1 + reply) .. " ack=x+" .. (2 + p.request) .. " --" }, "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, request = 100,
  chunks = 5, chunk_bytes = 1000, interval_ns = 200000000 })
-- Chunks of several segments each, further apart.
check("big-chunks", { sets = { chunks = 3, chunk_bytes = 4000, interval = 0.5, request = 10 },
  delay_ns = 20000000, bps = 10000000, request = 10,
  chunks = 3, chunk_bytes = 4000, interval_ns = 500000000 })
E.done()
