-- Experiment 3: the half-close (RFC 9293 3.6.1)
--
-- Claim. A FIN closes one direction only. After the client has said "I
-- have nothing more to send" (shutdown: FIN), the server may go on
-- sending for as long as it likes, and the client receives all of it:
-- it sits in FIN_WAIT_2, still receiving and acknowledging, until the
-- server's own FIN arrives.
--
-- This is how a client marks the end of a request whose length the
-- server cannot know in advance (rsh, or `nc -N`): it sends the
-- request, shuts down its sending side, and reads the answer until the
-- server closes.
--
-- What to look at:
--   * the client: ESTABLISHED -> FIN_WAIT_1 (shutdown) -> FIN_WAIT_2 (its
--     FIN acknowledged) -> TIME_WAIT (the server's FIN) -> CLOSED;
--     the server: ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED;
--   * in the ladder, the server's data segments (len=...) all arrive
--     while the client is in FIN_WAIT_2, and the client answers them with
--     ACKs whose seq stays at x+2+request: after its FIN it sends no data;
--   * the server's FIN comes after its last byte: its seq is y+1+reply,
--     where reply = chunks x chunk_bytes.
--
-- Knobs: delay, rate, msl, request (bytes), chunks, chunk_bytes,
-- interval (between the server's chunks).
-- Output in tcplab.out: the three CSV files, states.png, ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local msl = param("msl", "30s")
local request = param("request", 100)         -- bytes the client sends before its FIN
local chunks = param("chunks", 5)             -- the server's reply comes in this many chunks
local chunk_bytes = param("chunk_bytes", 1000)
local interval = param("interval", 0.2)       -- seconds between two chunks

local sim = tcplab.sim{}
local client = sim:node("client", { msl = msl })
local server = sim:node("server")
sim:link(client, server, { rate = rate, delay = delay })

-- The server answers only once the request is complete, that is when the
-- client's FIN arrives (on_close); then it sends its chunks, one every
-- `interval`, and closes one interval after the last.
server:listen(80, {
  on_close = function(c)
    for i = 0, chunks - 1 do
      c:send(chunk_bytes, { after = i * interval })
    end
    c:close{ after = chunks * interval }
  end,
})

-- The client counts what it receives, and in which state.
local received, received_in_fin_wait_2 = 0, 0
local conn = client:connect(server, 80, {
  at = 1.0,
  on_data = function(c, n)
    received = received + #c:read()
    if c.state == "FIN_WAIT_2" then received_in_fin_wait_2 = received_in_fin_wait_2 + n end
  end,
})
conn:send(request, { at = 1.5 })
conn:shutdown{ at = 1.5 } -- FIN after the request; keep receiving
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "Half-close" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Half-close: the client receives in FIN_WAIT_2",
  xrange = { 1.4, 1.6 + chunks * interval },
})

return {
  reply_bytes = chunks * chunk_bytes,
  received = received,
  received_in_fin_wait_2 = received_in_fin_wait_2,
  fin_wait_2_s = math.floor((conn:entered("TIME_WAIT") - conn:entered("FIN_WAIT_2")) * 1e9 + 0.5) / 1e9,
}
