-- Experiment 5a: simultaneous close, through CLOSING (RFC 9293 3.6,
-- Figure 13)
--
-- Claim. When both applications close at the same instant, the two FINs
-- cross on the link. Each side receives the other's FIN while its own is
-- still unacknowledged (the arriving FIN was sent before ours arrived, so
-- it cannot acknowledge it), and so enters CLOSING, a state neither side
-- passes through in an ordinary close. Each then acknowledges the other's
-- FIN; when that ACK arrives, it enters TIME_WAIT. Four segments, as in
-- the ordinary close, but now both sides are active closers:
--
--     client -> server   FIN   seq=u  ack=w     at the same time as
--     server -> client   FIN   seq=w  ack=u
--     client -> server   ACK          ack=w+1   at the same time as
--     server -> client   ACK          ack=u+1
--
-- What to look at:
--   * both sides go ESTABLISHED -> FIN_WAIT_1 -> CLOSING -> TIME_WAIT ->
--     CLOSED, at the same instants (the link is symmetric);
--   * both spend 2 x MSL in TIME_WAIT (MSL 30 s here): the price of
--     closing first is paid twice;
--   * each FIN's ack field does not cover the other FIN.
--
-- Knobs: delay, rate, msl, close_at.
-- Output in tcplab.out: the three CSV files, states.png, ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")  -- the FINs cross in the middle of the link
local rate = param("rate", "10Mbps")
local msl = param("msl", "30s")
local close_at = param("close_at", 2.0) -- both applications close at this instant

local sim = tcplab.sim{}
local client = sim:node("client", { msl = msl })
local server = sim:node("server", { msl = msl })
sim:link(client, server, { rate = rate, delay = delay })

local accepted
server:listen(80, {
  on_accept = function(c)
    accepted = c
    c:close{ at = close_at }
  end,
})
local conn = client:connect(server, 80, { at = 1.0 })
conn:close{ at = close_at }
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "Simultaneous close" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Simultaneous close: connection states",
  xrange = { close_at - 0.05, close_at + 0.15 },
})

local function seconds(t) return math.floor(t * 1e9 + 0.5) / 1e9 end
return {
  client_closing_s = seconds(conn:entered("TIME_WAIT") - conn:entered("CLOSING")),
  server_closing_s = seconds(accepted:entered("TIME_WAIT") - accepted:entered("CLOSING")),
  client_time_wait_s = seconds(conn.closed_s - conn:entered("TIME_WAIT")),
  server_time_wait_s = seconds(accepted.closed_s - accepted:entered("TIME_WAIT")),
  close_segments = tcplab.count(sim:segments(), function(s)
    return s.action == "sent" and s.time_s >= close_at
  end),
}
