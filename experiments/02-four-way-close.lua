-- Experiment 2: the four-way close (RFC 9293 3.6, Figure 12)
--
-- Claim. Each direction of a TCP connection is closed on its own, by a
-- FIN that the other side acknowledges, so a normal close takes four
-- segments:
--
--     client -> server   FIN   seq=u              (client's app closed)
--     server -> client   ACK          ack=u+1     (FIN received)
--     server -> client   FIN   seq=w              (server's app closed)
--     client -> server   ACK          ack=w+1     (FIN received)
--
-- A FIN uses up one sequence number, like a byte of data, which is why it
-- is acknowledged with u+1 and w+1. (The FIN also carries the ACK flag:
-- every segment after the handshake does.)
--
-- What to look at:
--   * the active closer (the client, who closes first) goes
--     ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED;
--     the passive closer (the server) goes
--     ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED;
--   * CLOSE_WAIT lasts as long as the server's application takes to close
--     (here server_wait = 0.5 s), so its ACK and its FIN are two segments;
--   * TIME_WAIT lasts exactly 2 x MSL (maximum segment lifetime; here 30 s,
--     so 60 s; simulated time costs nothing). The active closer stays to
--     re-acknowledge the server's FIN should its last ACK be lost
--     (experiment 6), and so that no old segment of this connection is
--     taken for one of a new connection on the same ports (RFC 9293
--     3.4.2, 3.10.7.4);
--   * so the passive side reaches CLOSED long before the active side:
--     as soon as the last ACK arrives.
--
-- Knobs: delay, rate, msl, close_at (when the client closes), server_wait.
-- Output in tcplab.out: the three CSV files, states.png (the whole life),
-- states-close.png (zoomed in on the close), ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local msl = param("msl", "30s")             -- the client's MSL: TIME_WAIT is 2 x msl
local close_at = param("close_at", 2.0)     -- the client's application closes (s)
local server_wait = param("server_wait", 0.5) -- the server's application closes this long after the FIN

local sim = tcplab.sim{}
local client = sim:node("client", { msl = msl })
local server = sim:node("server")
sim:link(client, server, { rate = rate, delay = delay })

local accepted
server:listen(80, {
  on_accept = function(c) accepted = c end,
  -- on_close: the client's FIN arrived (the server's read returns 0).
  on_close = function(c) c:close{ after = server_wait } end,
})
local conn = client:connect(server, 80, { at = 1.0 })
conn:close{ at = close_at }
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "Four-way close" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", { title = "Four-way close: connection states" })
-- The same, zoomed in on the close itself.
sim:plot_states(tcplab.out .. "/states-close.png", {
  title = "Four-way close: the first second",
  xrange = { close_at - 0.1, close_at + server_wait + 0.3 },
})

local function seconds(t) return math.floor(t * 1e9 + 0.5) / 1e9 end
return {
  time_wait_s = seconds(conn.closed_s - conn:entered("TIME_WAIT")),
  close_wait_s = seconds(accepted:entered("LAST_ACK") - accepted:entered("CLOSE_WAIT")),
  active_closed_s = conn.closed_s,
  passive_closed_s = accepted.closed_s,
  -- segments from the client's FIN on
  close_segments = tcplab.count(sim:segments(), function(s)
    return s.action == "sent" and s.time_s >= close_at
  end),
}
