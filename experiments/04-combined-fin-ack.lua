-- Experiment 4: a close in three segments, FIN and ACK combined
-- (RFC 9293 3.6 and 3.10.7.4)
--
-- Claim. When the passive closer has nothing left to send, its
-- application closes as soon as it learns of the peer's FIN (here inside
-- on_close, the callback of the FIN's arrival: in a real program, read()
-- returning 0 followed by close()). Its ACK of that FIN has not left
-- yet, so the ACK rides on its own FIN, and the close takes three
-- segments instead of four:
--
--     client -> server   FIN       seq=u
--     server -> client   FIN|ACK   seq=w  ack=u+1
--     client -> server   ACK              ack=w+1
--
-- What to look at:
--   * the active closer (client) goes FIN_WAIT_1 -> TIME_WAIT directly:
--     the one segment it receives both acknowledges its FIN and carries
--     the server's, so there is no FIN_WAIT_2 (RFC 9293 3.10.7.4, eighth
--     step: "If our FIN has been ACKed (perhaps in this segment), then
--     enter TIME-WAIT");
--   * the server passes through CLOSE_WAIT and LAST_ACK at the same
--     instant;
--   * compare with experiment 2, where the server waits before closing
--     and the ACK goes alone.
--
-- Knobs: delay, rate, msl, close_at.
-- Output in tcplab.out: the three CSV files, states.png, ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local msl = param("msl", "30s")
local close_at = param("close_at", 2.0)

local sim = tcplab.sim{}
local client = sim:node("client", { msl = msl })
local server = sim:node("server")
sim:link(client, server, { rate = rate, delay = delay })

server:listen(80, {
  -- The client's FIN arrived and the server has nothing more to say:
  -- close now, in the callback, before the ACK of the FIN has left.
  on_close = function(c) c:close() end,
})
local conn = client:connect(server, 80, { at = 1.0 })
conn:close{ at = close_at }
sim:run()

print(sim:ladder(conn, { symbolic = true, title = "Close in three segments" }))
assert(sim:write_csv(tcplab.out))
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", {
  title = "Close in three segments: connection states",
  xrange = { close_at - 0.05, close_at + 0.15 },
})

return {
  close_segments = tcplab.count(sim:segments(), function(s)
    return s.action == "sent" and s.time_s >= close_at
  end),
  fin_wait_2 = conn:entered("FIN_WAIT_2") ~= nil,
  time_wait_s = math.floor((conn.closed_s - conn:entered("TIME_WAIT")) * 1e9 + 0.5) / 1e9,
}
