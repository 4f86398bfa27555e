-- Experiment 5b: simultaneous open, through SYN_RECEIVED on both sides
-- (RFC 9293 3.5, Figure 7)
--
-- Claim. TCP needs no server: two programs that each know the other's
-- port can connect to each other at the same instant, from fixed local
-- ports. Both send a SYN and enter SYN_SENT. Each SYN then arrives at a
-- socket in SYN_SENT, not at a listener; the receiver enters SYN_RECEIVED
-- and answers with a SYN|ACK that repeats its own SYN (same seq, its ISN)
-- and acknowledges the other's. When that SYN|ACK arrives, each side's
-- SYN is acknowledged and it enters ESTABLISHED. Four segments, and no
-- third ACK is needed, since each SYN|ACK is itself acknowledged by the
-- SYN|ACK going the other way:
--
--     a -> b   SYN       seq=x            at the same time as
--     b -> a   SYN       seq=y
--     a -> b   SYN|ACK   seq=x  ack=y+1   at the same time as
--     b -> a   SYN|ACK   seq=y  ack=x+1
--
-- What to look at:
--   * both sides go CLOSED -> SYN_SENT -> SYN_RECEIVED -> ESTABLISHED,
--     at the same instants;
--   * both are ESTABLISHED one round trip after their SYNs left: the
--     handshake costs both of them what it costs the client in
--     experiment 1;
--   * one connection results, not two: the 4-tuple
--     (10.0.0.1:5000, 10.0.0.2:5001) names it on both sides.
--
-- Knobs: delay, rate, open_at, port_a, port_b.
-- Output in tcplab.out: the three CSV files, states.png, ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local open_at = param("open_at", 1.0)
local port_a = param("port_a", 5000) -- a connects from this port ...
local port_b = param("port_b", 5001) -- ... to b's, and b from this one to a's

local sim = tcplab.sim{}
local a, b = sim:node("a"), sim:node("b")
sim:link(a, b, { rate = rate, delay = delay })

-- No listen anywhere: two active opens, each from a fixed local port.
local conn_a = a:connect(b, port_b, { at = open_at, port = port_a })
local conn_b = b:connect(a, port_a, { at = open_at, port = port_b })
sim:run()

-- x is a's ISN, y is b's: each SYN|ACK repeats its sender's SYN (seq=x
-- or seq=y) and acknowledges the other one (ack=y+1 or ack=x+1).
print(sim:ladder(conn_a, { symbolic = true, client = "a", server = "b",
  title = "Simultaneous open" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn_a, tcplab.out .. "/ladder.svg", { symbolic = true, client = "a", server = "b" })
local rtt = 2 * tcplab.time(delay)
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Simultaneous open: connection states",
  stop = open_at + 2 * rtt,
  xrange = { open_at - rtt / 2, open_at + 2 * rtt },
})

local function since_open(t) return math.floor((t - open_at) * 1e9 + 0.5) / 1e9 end
return {
  a_established_s = since_open(conn_a:entered("ESTABLISHED")),
  b_established_s = since_open(conn_b:entered("ESTABLISHED")),
  segments = tcplab.count(sim:segments(), { action = "sent" }),
}
