-- Experiment 16: a receiver that stops reading, and zero-window probes.
--
-- What to look at: the server's application stops reading as soon as it
-- accepts the connection; its TCP has a 4000-byte receive buffer. The
-- client sends 10000 bytes at 2 s. The server's TCP takes 4000 of them
-- and its ACK then offers a window of 0: the client may send no more
-- (RFC 9293 3.8.6). But a window update could be lost, so the client
-- does not just wait: it probes the closed window (3.8.6.1), sending one
-- octet, again and again, each time waiting twice as long (1, 2, 4 s ...),
-- and the server answers each probe with an ACK still offering 0 and
-- does not take the octet. At read_at the application reads again: the
-- server's TCP sends a window update at once, the client resumes, and
-- all 10000 bytes arrive, in order. The connection never gives up:
-- a peer that answers its probes is alive, however long its window
-- stays shut (RFC 1122 4.2.2.17).
--
-- Knobs (--set NAME=VALUE): bytes (10000), rcv_buf (4000), read_at
-- (20 s), delay ("20ms"), rate ("10Mbps").

local tcplab = require("tcplab")

local bytes = tcplab.param("bytes", 10000)
local rcv_buf = tcplab.param("rcv_buf", 4000)
local read_at = tcplab.param("read_at", 20)
local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")

local sim = tcplab.sim{}
local client = sim:node("client")
local server = sim:node("server", { rcv_buf = rcv_buf })
sim:link(client, server, { rate = rate, delay = delay })

local received = 0
server:listen(80, {
  on_accept = function(c)
    c:stop_reading()
    c:start_reading{ at = read_at }
  end,
  on_data = function(c, n) received = received + n end,
  on_close = function(c) c:close() end,
})
local conn = client:connect(server, 80, { at = 1 })
conn:send(bytes, { at = 2 })
conn:close{ at = 2 }

sim:run{}
assert(sim:write_csv(tcplab.out))
print(sim:ladder(conn))

-- The probes: one octet each, while the window is shut.
local probes = {}
for _, r in ipairs(sim:segments()) do
  if r.from_node == "client" and r.action == "sent" and r.len == 1 and r.time_s < read_at then
    probes[#probes + 1] = r.time_s
  end
end
print(("%d bytes received; %d zero-window probes at %s s"):format(received, #probes,
  table.concat(probes, ", ")))

assert(sim:ladder_svg(conn, tcplab.out .. "/ladder.svg"))

local gaps = {}
for i = 2, #probes do gaps[#gaps + 1] = probes[i] - probes[i - 1] end
return {
  bytes_received = received,
  probes = #probes,
  first_probe_s = probes[1],
  probe_gaps_s = table.concat(gaps, " "),
  client_error = conn.error,
}
