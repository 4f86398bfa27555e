-- Experiment 1: the three-way handshake (RFC 9293 3.5, Figure 6)
--
-- Claim. A TCP connection opens with three segments:
--
--     client -> server   SYN       seq=x
--     server -> client   SYN|ACK   seq=y    ack=x+1
--     client -> server   ACK       seq=x+1  ack=y+1
--
-- Each side picks its own initial sequence number (x and y) and learns
-- the other's from its SYN. "ack=x+1" means "your SYN arrived: it used up
-- number x, the next I expect is x+1". Three segments are the fewest with
-- which each side has sent its ISN and seen it acknowledged.
--
-- What to look at:
--   * the states (RFC 9293 3.3.2, Figure 5): the client goes
--     CLOSED -> SYN_SENT -> ESTABLISHED, the server
--     LISTEN -> SYN_RECEIVED -> ESTABLISHED;
--   * the times: the client is ESTABLISHED one round trip (RTT) after its
--     SYN left: the SYN goes there, the SYN|ACK comes back. The server is
--     ESTABLISHED only when the third segment arrives, 1.5 RTT after the
--     client's SYN left, which is 1 RTT after the SYN reached it. So the
--     client may send data half a round trip before the server knows the
--     connection is real.
--
-- A round trip here is twice the link delay plus the time each frame
-- takes to be clocked onto the wire (serialization: bytes x 8 / rate).
-- A SYN frame is 50 bytes: PPP header 2 + IPv4 20 + TCP 20 + options 8
-- (MSS, and window scale after a NOP); at 10 Mbit/s that is 40 us. The
-- third segment, a bare ACK, is 42 bytes (33.6 us).
--
-- Knobs (tcplab run ... --set name=value): delay, rate, open_at.
-- Output in tcplab.out: timeline.csv, segments.csv, connections.csv,
-- states.png (state timeline), ladder.svg, and link-client.pcap /
-- link-server.pcap to open in Wireshark.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")   -- one-way propagation delay
local rate = param("rate", "10Mbps")   -- link rate: sets serialization times
local open_at = param("open_at", 1.0)  -- when the client sends its SYN (s)

local sim = tcplab.sim{}
local client, server = sim:node("client"), sim:node("server")
local link = sim:link(client, server, { rate = rate, delay = delay })
link:pcap(tcplab.out .. "/link")

local accepted -- the server's side of the connection, once established
server:listen(80, { on_accept = function(c) accepted = c end })
local conn = client:connect(server, 80, { at = open_at })
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "Three-way handshake" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
-- The picture shows the handshake and a little of what follows.
local rtt = 2 * tcplab.time(delay)
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Three-way handshake: connection states",
  stop = open_at + 3 * rtt,
  xrange = { open_at - rtt, open_at + 3 * rtt },
})

-- Seconds from the client's SYN until each side is ESTABLISHED, rounded
-- to the nanosecond as the CSV files are.
local syn_left = conn:entered("SYN_SENT")
local function since_syn(t) return math.floor((t - syn_left) * 1e9 + 0.5) / 1e9 end
return {
  client_established_s = since_syn(conn:entered("ESTABLISHED")),
  server_established_s = since_syn(accepted:entered("ESTABLISHED")),
  segments = tcplab.count(sim:segments(), { action = "sent" }),
}
