-- Checks experiments/01-three-way-handshake.lua: three segments with
-- ack = x+1 and y+1, the state sequences of both sides, and the client
-- ESTABLISHED 1 RTT and the server 1.5 RTT after the SYN left, to the
-- nanosecond, with the serialization of each frame taken from its size
-- in the pcap file.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow

  -- The states of both sides, in order.
  E.same(E.states(R, "client", flow), { "CLOSED", "SYN_SENT", "ESTABLISHED" }, "client states")
  E.same(E.states(R, "server", flow), { "LISTEN", "SYN_RECEIVED", "ESTABLISHED" }, "server states")
  E.eq(#E.where(R.timeline, { node = "server", to_state = "LISTEN", event = "app_listen" }), 1,
    "the server listens")

  -- Three segments, numbered as the claim says.
  local sent = E.sent(R)
  E.eq(#sent, 3, "segments sent")
  local syn, synack, ack = sent[1], sent[2], sent[3]
  local x, y = syn.seq, synack.seq
  E.eq(syn.from_node .. " " .. syn.flags, "client SYN", "1st: client SYN")
  E.eq(syn.rel_seq, 0, "SYN seq = x (relative 0)")
  E.eq(synack.from_node .. " " .. synack.flags, "server SYN|ACK", "2nd: server SYN|ACK")
  E.eq(synack.rel_seq, 0, "SYN|ACK seq = y (relative 0)")
  E.eq(synack.ack, E.plus(x, 1), "SYN|ACK ack = x+1")
  E.eq(synack.rel_ack, 1, "SYN|ACK relative ack = 1")
  E.eq(ack.from_node .. " " .. ack.flags, "client ACK", "3rd: client ACK")
  E.eq(ack.seq, E.plus(x, 1), "ACK seq = x+1")
  E.eq(ack.ack, E.plus(y, 1), "ACK ack = y+1")
  E.eq(ack.len, 0, "the ACK carries no data")

  -- Frame sizes from the capture: PPP 2 + IPv4 20 + TCP header.
  local frames = E.frames(dir .. "/link-client.pcap")
  local size = {}
  for _, f in ipairs(frames) do
    size[f.flags] = size[f.flags] or f.len
    E.eq(f.len, 2 + f.ip_hdr + f.tcp_hdr, f.flags .. " frame = PPP 2 + IPv4 + TCP header")
  end
  E.eq(size.SYN, 2 + 20 + 20 + 8, "SYN frame bytes (TCP options: MSS 4, NOP + window scale 4)")
  E.eq(size["SYN|ACK"], 50, "SYN|ACK frame bytes")
  E.eq(size.ACK, 42, "ACK frame bytes (no options)")

  -- Times, exactly.
  local d = p.delay_ns
  local s_syn = E.serialization(size.SYN, p.bps)
  local s_synack = E.serialization(size["SYN|ACK"], p.bps)
  local s_ack = E.serialization(size.ACK, p.bps)
  local t0 = E.entered(R, "client", "SYN_SENT", flow)
  E.eq(t0, p.open_ns, "the SYN leaves at open_at")
  E.eq(syn.t, t0, "the SYN is sent when the client enters SYN_SENT")
  local rtt = 2 * d + s_syn + s_synack
  E.eq(E.entered(R, "server", "SYN_RECEIVED", flow), t0 + d + s_syn,
    "server SYN_RECEIVED = SYN + delay + serialization(SYN)")
  E.eq(E.entered(R, "client", "ESTABLISHED", flow), t0 + rtt,
    "client ESTABLISHED = SYN + 1 RTT (2 delay + ser(SYN) + ser(SYN|ACK))")
  E.eq(E.entered(R, "server", "ESTABLISHED", flow), t0 + rtt + d + s_ack,
    "server ESTABLISHED = SYN + 1.5 RTT (3 delay + ser of all three)")
  E.eq(E.entered(R, "server", "ESTABLISHED", flow) - E.entered(R, "server", "SYN_RECEIVED", flow),
    2 * d + s_synack + s_ack, "server ESTABLISHED 1 RTT after the SYN reached it")
  local c = E.first(R.connections, { node = "client" })
  E.eq(E.ns(c.handshake_s), rtt, "connections.csv: client handshake_s = 1 RTT")
  E.eq(R.metrics.segments, 3, "metrics: segments")
  E.eq(R.metrics.client_established_s, rtt / 1e9, "metrics: client_established_s")
  E.eq(R.metrics.server_established_s, (rtt + d + s_ack) / 1e9, "metrics: server_established_s")

  -- What the student sees.
  E.printed(output, { "-- SYN seq=x --", "SYN|ACK seq=y ack=x+1 --", "-- ACK seq=x+1 ack=y+1 --" },
    "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

-- The defaults a student runs, and other knobs: the claim holds for any
-- delay and rate.
check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, open_ns = 1000000000 })
check("slow-link", { sets = { delay = "5ms", rate = "1Mbps", open_at = 0.25 },
  delay_ns = 5000000, bps = 1000000, open_ns = 250000000 })
E.done()
