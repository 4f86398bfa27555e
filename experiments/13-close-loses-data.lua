-- Experiment 13: close() is not shutdown(): data that arrives after
-- close() resets the connection (RFC 1122 4.2.2.13)
--
-- Claim. close() gives up both directions: the application will read
-- nothing more. If the peer still sends, that data can never be
-- delivered, so TCP tells the peer with a RST instead of pretending all
-- is well ("its TCP SHOULD send a RST to show that data was lost",
-- RFC 1122 4.2.2.13; Linux and BSD do). The sender's connection ends
-- with "connection reset by peer" and the rest of its reply is lost.
-- Experiment 3 runs the same exchange with shutdown(), which closes only
-- the sending direction, and every byte arrives.
--
-- What to look at:
--   * the client: ESTABLISHED -> FIN_WAIT_1 (close) -> FIN_WAIT_2 (its
--     FIN acknowledged) -> CLOSED on the server's first data segment,
--     with error data_lost; it never reaches TIME_WAIT;
--   * in the ladder, that data segment (seq=y+1) is answered by
--     RST|ACK seq=x+2+request ack=y+1: the ACK number says that none of
--     the data was taken;
--   * the server: ESTABLISHED -> CLOSE_WAIT -> CLOSED, error reset; the
--     chunks it had not sent when the RST arrived are never sent.
--
-- Knobs: delay, rate, request, chunks, chunk_bytes, interval (as in
-- experiment 3), and rst_on_data_loss (true; false gives RFC 9293's
-- plain behaviour: the late data is acknowledged and thrown away, both
-- sides close normally, and the server never learns that nobody read
-- its reply).
-- Output in tcplab.out: the three CSV files, states.png, ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local request = param("request", 100)
local chunks = param("chunks", 5)
local chunk_bytes = param("chunk_bytes", 1000)
local interval = param("interval", 0.2)
local rst_on_data_loss = param("rst_on_data_loss", true)

local sim = tcplab.sim{}
local client = sim:node("client", { rst_on_data_loss = rst_on_data_loss })
local server = sim:node("server")
sim:link(client, server, { rate = rate, delay = delay })

-- The server answers once the request is complete (the client's FIN), in
-- chunks, and closes one interval after the last, as in experiment 3.
local server_error
server:listen(80, {
  on_close = function(c)
    for i = 0, chunks - 1 do
      c:send(chunk_bytes, { after = i * interval })
    end
    c:close{ after = chunks * interval }
  end,
  on_end = function(_, err) server_error = err end,
})

local read_after_close = 0
local client_error
local conn = client:connect(server, 80, {
  at = 1.0,
  on_data = function(c) read_after_close = read_after_close + #c:read() end,
  on_end = function(_, err) client_error = err end,
})
conn:send(request, { at = 1.5 })
conn:close{ at = 1.5 } -- FIN after the request, and nothing more will be read
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "close() while the peer still sends" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Data after close(): the client resets",
  xrange = { 1.4, 1.6 + chunks * interval },
})

return {
  reply_bytes = chunks * chunk_bytes,
  read_after_close = read_after_close,
  client_error = client_error or "",
  server_error = server_error or "",
}
