-- Experiment 7: the last ACK of the three-way handshake is lost.
--
-- What to look at: the client is ESTABLISHED as soon as the SYN|ACK
-- reaches it and sends the third segment, the ACK. That ACK is lost here.
-- The server, which has sent its SYN|ACK, waits in SYN_RECEIVED: its
-- SYN|ACK is unacknowledged data in the sequence space (the SYN counts as
-- one byte), so its retransmission timer runs, and after one RTO -- 1 s,
-- the initial RTO of RFC 6298 -- it sends the SYN|ACK again. The client,
-- already ESTABLISHED, answers the duplicate with another ACK, and only
-- that one makes the server ESTABLISHED (RFC 9293 3.5 and 3.10.7.4). The
-- server's application is handed the connection a second late.
--
-- Part 2, the same loss but the client speaks first: its first data
-- segment carries the ACK bit and the same acknowledgment number as the
-- lost ACK, so it completes the handshake by itself (in SYN_RECEIVED an
-- acceptable ACK moves the server to ESTABLISHED, then the data is
-- processed). The server never retransmits its SYN|ACK.
--
-- Knobs (--set NAME=VALUE): delay (one way, "20ms"), rate ("10Mbps"),
-- data_after (how long after ESTABLISHED the part-2 client sends, 0.5 s:
-- before the server's 1 s timer would fire), bytes (100), stop (10 s).

local tcplab = require("tcplab")

local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")
local data_after = tcplab.param("data_after", 0.5)
local bytes = tcplab.param("bytes", 100)
local stop = tcplab.param("stop", 10)

local sim = tcplab.sim{}
local accepted = {} -- server name -> when its application got the connection

-- A client and a server on their own link whose client's first pure ACK
-- (exactly ACK, no data) is dropped.
local function pair(suffix)
  local client, server = sim:node("client" .. suffix), sim:node("server" .. suffix)
  local link = sim:link(client, server, { rate = rate, delay = delay })
  link:drop{ from = client, flags = "ACK", exact = true, len = 0, nth = 1 }
  server:listen(80, {
    on_accept = function(c) accepted[server.name] = sim:now() end,
  })
  return client, server
end

-- Part 1: the ACK is lost and the client waits for the server.
local client1, server1 = pair("")
local conn1 = client1:connect(server1, 80, { at = 1.0 })

-- Part 2: the ACK is lost, then the client sends data.
local client2, server2 = pair("-data")
local conn2 = client2:connect(server2, 80, {
  at = 1.0,
  on_connect = function(c) c:send(bytes, { after = data_after }) end,
})

sim:run{ stop = stop }
assert(sim:write_csv(tcplab.out))

print("Part 1: the handshake's ACK is lost; the server retransmits its SYN|ACK")
print(sim:ladder(conn1))
print("Part 2: the same ACK is lost, but the client's data carries the ACK")
print(sim:ladder(conn2))
assert(sim:plot_states(tcplab.out .. "/states.png",
  { title = "Lost handshake ACK", stop = stop, xrange = { 0.9, 2.5 } }))
assert(sim:ladder_svg(conn1, tcplab.out .. "/ladder-ack-lost.svg"))
assert(sim:ladder_svg(conn2, tcplab.out .. "/ladder-data-first.svg"))

-- The server's SYN|ACKs of part 1, to measure the gap between them.
local synacks = tcplab.where(sim:segments(), { from_node = "server", action = "sent", flags = "SYN|ACK" })
-- (Times are whole nanoseconds: subtracting those keeps the gap exact.)
local function ns(t) return math.floor(t * 1e9 + 0.5) end
local gap = synacks[2] and (ns(synacks[2].time_s) - ns(synacks[1].time_s)) / 1e9

local function server_conn(name)
  return tcplab.first(sim:connections(), { node = name, role = "passive" })
end
local s1, s2 = server_conn("server"), server_conn("server-data")
print(("Part 1: client ESTABLISHED at %.6f s, server at %.6f s; SYN|ACK resent %.6f s after the first")
  :format(conn1.established_s, s1.established_s, gap or -1))
print(("Part 2: server ESTABLISHED at %.6f s; SYN|ACKs sent: %d")
  :format(s2.established_s, s2.retransmissions + 1))

return {
  client_established_s = conn1.established_s,
  server_established_s = s1.established_s,
  server_accepted_s = accepted["server"],
  synack_gap_s = gap,
  synack_retransmissions = s1.retransmissions,
  data_server_established_s = s2.established_s,
  data_server_accepted_s = accepted["server-data"],
  data_synack_retransmissions = s2.retransmissions,
  data_bytes_received = s2.bytes_received,
}
