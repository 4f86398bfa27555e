-- Experiment 15: TIME_WAIT assassination (RFC 1337).
--
-- What to look at: two clients close their connections first, so each
-- waits in TIME_WAIT for 2*MSL = 60 s, long enough for any segment of the
-- connection still in the network to die out. rst_after seconds after
-- the client's close, a RST arrives for each connection, its sequence
-- number exactly the one the client expects next: an old duplicate, or a
-- forged one. RFC 9293 (3.10.7.4, TIME-WAIT) says to obey it: "enter the
-- CLOSED state, delete the TCB". The first client, with rfc1337 = false,
-- does so: its TIME_WAIT ends at once, about 50 s early, and the 4-tuple
-- is free again while old segments of the connection may still arrive.
-- RFC 1337 names this hazard H1 and its fix F1: "Ignore RST segments in
-- TIME-WAIT state". The second client (tcplab's default, rfc1337 = true)
-- ignores the RST, sends nothing, and stays in TIME_WAIT the full 2*MSL.
--
-- Knobs (--set NAME=VALUE): rst_after (10 s), msl (30 s), close_at (2 s),
-- delay ("20ms"), rate ("10Mbps").

local tcplab = require("tcplab")

local rst_after = tcplab.param("rst_after", 10)
local msl = tcplab.param("msl", 30)
local close_at = tcplab.param("close_at", 2)
local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")

local sim = tcplab.sim{}

-- A client that connects at 1 s and closes at close_at, a server that
-- closes as soon as the client's FIN arrives, and the RST, put on the
-- link as if the server had sent it: sequence number y+2, right after the
-- server's FIN, which is what the client in TIME_WAIT expects next.
local function pair(client_name, server_name, rfc1337)
  local client = sim:node(client_name, { rfc1337 = rfc1337, msl = msl })
  local server = sim:node(server_name, { msl = msl })
  local link = sim:link(client, server, { rate = rate, delay = delay })
  server:listen(80, { on_close = function(c) c:close() end })
  local conn = client:connect(server, 80, { at = 1 })
  conn:close{ at = close_at }
  link:inject{ at = close_at + rst_after, from = server, conn = conn, flags = "RST", rel_seq = 2 }
  return conn
end

local assassinated = pair("client", "server", false)
local protected = pair("client-1337", "server-1337", true)

sim:run{}
assert(sim:write_csv(tcplab.out))

print("rfc1337 = false: the RST ends TIME_WAIT")
print(sim:ladder(assassinated))
print("rfc1337 = true (RFC 1337 F1): the RST is ignored")
print(sim:ladder(protected))

local function time_wait(conn)
  local from = conn:entered("TIME_WAIT")
  local row = tcplab.first(conn:timeline(), { from_state = "TIME_WAIT", to_state = "CLOSED" })
  return from, row.time_s - from, row.event
end
local a_from, a_for, a_how = time_wait(assassinated)
local p_from, p_for, p_how = time_wait(protected)
print(("TIME_WAIT: %.6f s (%s) against %.6f s (%s); 2*MSL = %g s"):format(a_for, a_how, p_for, p_how, 2 * msl))

assert(sim:plot_states(tcplab.out .. "/states.png", { title = "TIME_WAIT with and without RFC 1337" }))
assert(sim:ladder_svg(assassinated, tcplab.out .. "/ladder-assassinated.svg"))

return {
  rst_at_s = close_at + rst_after,
  assassinated_time_wait_s = a_for,
  assassinated_end = a_how,
  protected_time_wait_s = p_for,
  protected_end = p_how,
  two_msl_s = 2 * msl,
}
