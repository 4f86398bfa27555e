-- Experiment 9: a peer that never closes, and FIN_WAIT_2.
--
-- What to look at: the client closes its connection; its FIN is
-- acknowledged, so it moves FIN_WAIT_1 -> FIN_WAIT_2 and waits for the
-- server's FIN. The server's TCP is in CLOSE_WAIT, but its application
-- never calls close, so that FIN never comes. RFC 9293 (3.10.7.4, and
-- the state diagram in 3.3.2) has no timer in FIN_WAIT_2: a half-closed
-- connection may legitimately stay open for ever, because the other side
-- may still be sending. So the first client is still in FIN_WAIT_2 a day
-- later. Real systems bound this: Linux gives up on an orphaned
-- connection (closed by its application) after tcp_fin_timeout, 60 s. The
-- second client has tcplab's fin_wait_2_timeout set to 60 s and goes to
-- CLOSED exactly 60 s after it entered FIN_WAIT_2, silently: it sends
-- nothing, and its server is left in CLOSE_WAIT.
--
-- Knobs (--set NAME=VALUE): fin_wait_2_timeout (60 s), close_at (2 s),
-- stop (86400 s: one simulated day), delay ("20ms"), rate ("10Mbps").

local tcplab = require("tcplab")

local timeout = tcplab.param("fin_wait_2_timeout", 60)
local close_at = tcplab.param("close_at", 2)
local stop = tcplab.param("stop", 86400)
local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")

local sim = tcplab.sim{}

-- A client that connects at 1 s and closes at close_at, and a server
-- whose application accepts and then does nothing at all.
local function pair(client_name, server_name, client_opts)
  local client = sim:node(client_name, client_opts)
  local server = sim:node(server_name)
  sim:link(client, server, { rate = rate, delay = delay })
  server:listen(80)
  local conn = client:connect(server, 80, { at = 1 })
  conn:close{ at = close_at }
  return conn
end

local rfc = pair("client", "server")
local linux = pair("client-linux", "server-linux", { fin_wait_2_timeout = timeout })

sim:run{ stop = stop }
assert(sim:write_csv(tcplab.out))

print("RFC 9293: no FIN_WAIT_2 timer")
print(sim:ladder(rfc))
print(("fin_wait_2_timeout = %s s, as Linux's tcp_fin_timeout"):format(timeout))
print(sim:ladder(linux))

local servers = tcplab.where(sim:connections(), { role = "passive" })
print(("At the end of the run, %.0f s:"):format(sim:now()))
print(("  client        %-11s (FIN_WAIT_2 since %.6f s)"):format(rfc.state, rfc:entered("FIN_WAIT_2")))
print(("  client-linux  %-11s (since %.6f s)"):format(linux.state, linux.closed_s or -1))
for _, s in ipairs(servers) do print(("  %-13s %s"):format(s.node, s.final_state)) end

-- The first two minutes show the timeout; the rest of the day is more of
-- the same.
assert(sim:plot_states(tcplab.out .. "/states.png", {
  title = "FIN_WAIT_2 with and without a timeout", stop = stop, xrange = { 0, 2 * 60 + close_at },
}))
assert(sim:ladder_svg(linux, tcplab.out .. "/ladder-timeout.svg"))

local fw2 = rfc:entered("FIN_WAIT_2")
return {
  stop_s = sim:now(),
  client_state = rfc.state,
  client_fin_wait_2_s = fw2,
  client_fin_wait_2_for_s = sim:now() - fw2,
  linux_state = linux.state,
  linux_fin_wait_2_s = linux:entered("FIN_WAIT_2"),
  linux_closed_s = linux.closed_s,
  servers_in_close_wait = tcplab.count(servers, { final_state = "CLOSE_WAIT" }),
}
