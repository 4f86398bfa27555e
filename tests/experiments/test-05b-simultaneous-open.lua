-- Checks experiments/05b-simultaneous-open.lua: two active opens from
-- fixed ports meet; both sides go SYN_SENT -> SYN_RECEIVED -> ESTABLISHED
-- at the same instants, with four segments: two SYNs, two SYN|ACKs that
-- repeat their sender's ISN and acknowledge the other's. Relative numbers
-- (segments.csv, the symbolic ladder) count from each end's own ISN.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local d, bps = p.delay_ns, p.bps

  E.eq(#R.connections, 2, "two connection ends")
  local flow = R.connections[1].flow
  E.eq(R.connections[2].flow, flow, "one connection: both ends name the same flow")
  E.eq(flow, ("10.0.0.1:%d-10.0.0.2:%d"):format(p.port_a, p.port_b), "the flow is a's port to b's")
  E.eq(R.connections[1].role .. " " .. R.connections[2].role, "active active", "both opened actively")
  E.eq(#E.where(R.timeline, { to_state = "LISTEN" }), 0, "nobody listens")

  local sent = E.sent(R)
  E.eq(#sent, 4, "segments sent: four")
  local peer = { a = "b", b = "a" }
  local syn, synack = {}, {}
  for _, node in ipairs({ "a", "b" }) do
    local s = E.where(E.sent(R, node), { flags = "SYN" })
    local sa = E.where(E.sent(R, node), { flags = "SYN|ACK" })
    E.eq(#s .. " " .. #sa, "1 1", node .. " sends one SYN and one SYN|ACK")
    syn[node], synack[node] = s[1], sa[1]
  end
  for _, node in ipairs({ "a", "b" }) do
    local other = peer[node]
    E.same(E.states(R, node, flow), { "CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED" },
      node .. " states")
    E.eq(E.cause(R, node, "SYN_SENT", flow), "app_connect", node .. " SYN_SENT: connect")
    E.eq(E.cause(R, node, "SYN_RECEIVED", flow), "rcv SYN", node .. " SYN_RECEIVED: the other's SYN")
    E.eq(E.cause(R, node, "ESTABLISHED", flow), "rcv SYN|ACK", node .. " ESTABLISHED: the other's SYN|ACK")
    E.eq(synack[node].seq, syn[node].seq, node .. "'s SYN|ACK repeats its SYN's seq (its ISN)")
    E.eq(synack[node].ack, E.plus(syn[other].seq, 1), node .. "'s SYN|ACK acks the other ISN + 1")
    -- segments.csv's relative numbers, from the sender's and the
    -- receiver's ISN (both ends are active: neither is "the server").
    E.eq(syn[node].rel_seq, 0, node .. "'s SYN: rel_seq 0")
    E.eq(synack[node].rel_seq .. " " .. synack[node].rel_ack, "0 1",
      node .. "'s SYN|ACK: rel_seq 0, rel_ack 1")
    -- The timeline's relative numbers, seen by the receiver.
    local _, row = E.entered(R, node, "ESTABLISHED", flow)
    E.eq(row.rel_seq .. " " .. row.rel_ack, "0 1", node .. " receives SYN|ACK seq=0 ack=1 (relative)")

    E.eq(syn[node].t, p.open_ns, node .. "'s SYN leaves at open_at")
    local t_rcvd = E.entered(R, node, "SYN_RECEIVED", flow)
    E.eq(t_rcvd, p.open_ns + d + E.ser(syn[other], bps), node .. " SYN_RECEIVED when the other SYN arrives")
    E.eq(synack[node].t, t_rcvd, node .. "'s SYN|ACK leaves at once")
    E.eq(E.entered(R, node, "ESTABLISHED", flow),
      p.open_ns + 2 * d + E.ser(syn[other], bps) + E.ser(synack[other], bps),
      node .. " ESTABLISHED one RTT after its SYN")
  end
  E.eq(R.metrics.segments, 4, "metrics: segments")
  E.eq(R.metrics.a_established_s, R.metrics.b_established_s, "metrics: both established together")

  local received = E.where(R.segments, { action = "received" })
  E.eq(#E.where(received, { rel_ack = 1 }), 2, "both SYN|ACKs arrive with rel_ack 1")

  E.printed(output, { "SYN_RECEIVED |", "| SYN_RECEIVED",
    "-- SYN seq=x --", "- SYN seq=y --",
    "-- SYN|ACK seq=x ack=y+1 --", "- SYN|ACK seq=y ack=x+1 --",
    ("x = %d (a's ISN), y = %d (b's ISN)"):format(syn.a.seq, syn.b.seq) }, "the symbolic ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

check("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000, open_ns = 1000000000,
  port_a = 5000, port_b = 5001 })
check("other-ports", { sets = { delay = "50ms", port_a = 40000, port_b = 40001, open_at = 0.5 },
  delay_ns = 50000000, bps = 10000000, open_ns = 500000000, port_a = 40000, port_b = 40001 })
E.done()
