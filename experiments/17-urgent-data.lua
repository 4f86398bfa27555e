-- Experiment 17: urgent data through a closed window.
--
-- What to look at: as in experiment 16, the server's application stops
-- reading and its 4000-byte buffer fills; its window is shut and the
-- client probes it. At 5 s the client's application sends one more byte
-- as urgent data (think of Ctrl-C in a remote terminal, behind 10000
-- bytes of output nobody reads yet). It cannot be delivered before the
-- bytes queued ahead of it, and the window is shut anyway. But every
-- segment the client sends from then on carries URG and the urgent
-- pointer (RFC 9293 3.8.5), the probes included, and the receiver
-- processes the URG bit even in a closed window (MUST-66). So the next
-- probe tells the server's application that urgent data lies ahead: 10001
-- bytes from where it reads, the urgent byte being the last of them. The
-- application learns of it about 14 s before it can read it. RFC 9293
-- asks new applications not to use urgent data (SHLD-13); this is what
-- it was for.
--
-- Knobs (--set NAME=VALUE): bytes (10000), rcv_buf (4000), urgent_at
-- (5 s), read_at (20 s), delay ("20ms"), rate ("10Mbps").

local tcplab = require("tcplab")

local bytes = tcplab.param("bytes", 10000)
local rcv_buf = tcplab.param("rcv_buf", 4000)
local urgent_at = tcplab.param("urgent_at", 5)
local read_at = tcplab.param("read_at", 20)
local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")
if tcplab.time(urgent_at) <= 2 then
  error(("urgent_at = %s: the urgent byte must follow the %d bytes sent at 2 s"):format(urgent_at, bytes), 0)
end

local sim = tcplab.sim{}
local client = sim:node("client")
local server = sim:node("server", { rcv_buf = rcv_buf })
sim:link(client, server, { rate = rate, delay = delay })

local told_at, told_n
local stream = {}
server:listen(80, {
  on_accept = function(c)
    c:stop_reading()
    c:start_reading{ at = read_at }
  end,
  on_urgent = function(c, n)
    if not told_at then told_at, told_n = sim:now(), n end
  end,
  on_data = function(c) stream[#stream + 1] = c:read() end,
  on_close = function(c) c:close() end,
})
local conn = client:connect(server, 80, { at = 1 })
conn:send(bytes, { at = 2 })
conn:send("!", { at = urgent_at, urgent = true })
conn:close{ at = urgent_at }

sim:run{}
assert(sim:write_csv(tcplab.out))
print(sim:ladder(conn))

local received = table.concat(stream)
print(("the server's application: told of %d urgent bytes ahead at %.6f s; read %d bytes, the last %q"):format(
  told_n, told_at, #received, received:sub(-1)))

assert(sim:ladder_svg(conn, tcplab.out .. "/ladder.svg"))

return {
  told_s = told_at,
  told_bytes = told_n,
  bytes_received = #received,
  last_byte = received:sub(-1),
  read_at_s = read_at,
}
