-- Experiment 11: many short connections, and TIME_WAIT piling up.
--
-- What to look at: the side that closes first (here the client, after
-- every short connection) ends in TIME_WAIT and stays there for 2*MSL
-- (RFC 9293 3.6 and 3.10.7.4), holding the connection's addresses and
-- ports so that old duplicates of it die out before the pair is used
-- again. A client that opens a new connection every 1/rate seconds
-- therefore adds one connection to TIME_WAIT per 1/rate s and loses one
-- 2*MSL later: the count grows for 2*MSL and then levels off at
--     rate x 2*MSL     (Little's law: number = arrival rate x time spent)
-- With 10 connections per second and MSL = 5 s that is 100 connections,
-- whatever the round-trip time. The server, which closes second, has
-- none. Each one keeps a local port too: at rate x 2*MSL above the 16384
-- ports of the ephemeral range (RFC 6335) a client runs out of ports.
--
-- The count over time is computed from timeline.csv, as any student can
-- do with a spreadsheet: +1 when a connection enters TIME_WAIT, -1 when
-- it leaves.
--
-- Knobs (--set NAME=VALUE): conn_rate (new connections per second, 10),
-- msl ("5s"; Linux's TIME_WAIT is 60 s, the core's default MSL 30 s),
-- duration (seconds of opening connections, 30), delay ("5ms").

local tcplab = require("tcplab")

local conn_rate = tcplab.param("conn_rate", 10)
local msl = tcplab.param("msl", "5s")
local duration = tcplab.param("duration", 30)
local delay = tcplab.param("delay", "5ms")

local expected = conn_rate * 2 * tcplab.time(msl)

local sim = tcplab.sim{}
local client = sim:node("client", { msl = msl })
local server = sim:node("server", { msl = msl })
sim:link(client, server, { rate = "100Mbps", delay = delay })

-- The server closes as soon as the client has closed (passive close);
-- the client closes as soon as it is connected (active close).
server:listen(80, { on_close = function(c) c:close() end })
local first
local n = math.floor(duration * conn_rate + 0.5)
for i = 0, n - 1 do
  local c = client:connect(server, 80, {
    at = 1 + i / conn_rate,
    on_connect = function(c) c:close() end,
  })
  first = first or c
end
sim:run{}
assert(sim:write_csv(tcplab.out))

print("The first connection: the client, which closes first, waits 2*MSL in TIME_WAIT")
print(sim:ladder(first))

-- The TIME_WAIT count of each node over time, from timeline.csv: one row
-- per change, with the count after it.
local timeline = assert(tcplab.csv.read(tcplab.out .. "/timeline.csv", { strings = { "time_s", "node" } }))
local count, counts, peak = { client = 0, server = 0 }, {}, 0
for _, row in ipairs(timeline) do
  local d = (row.to_state == "TIME_WAIT" and 1 or 0) - (row.from_state == "TIME_WAIT" and 1 or 0)
  if d ~= 0 then
    count[row.node] = count[row.node] + d
    counts[#counts + 1] = { time_s = row.time_s, node = row.node, time_wait = count[row.node] }
    if row.node == "client" then peak = math.max(peak, count.client) end
  end
end
assert(tcplab.csv.write(tcplab.out .. "/time_wait.csv", counts, { "time_s", "node", "time_wait" }))

-- A step plot of the client's count, with the level rate x 2*MSL.
local data = { "# time_s time_wait (client)" }
for _, c in ipairs(counts) do
  if c.node == "client" then data[#data + 1] = c.time_s .. " " .. c.time_wait end
end
local gp = table.concat({
  "set terminal pngcairo size 800,450 font 'Sans,10' noenhanced",
  "set output 'time_wait.png'",
  ("set title 'client connections in TIME_WAIT: %g per s x 2 x MSL %g s = %g'")
    :format(conn_rate, tcplab.time(msl), expected),
  "set xlabel 'time (s)'",
  "set ylabel 'connections in TIME_WAIT'",
  "set grid",
  "set key bottom right",
  ("set yrange [0:%g]"):format(expected * 1.2 + 1),
  ("plot 'time_wait.dat' using 1:2 with steps lw 2 title 'counted from timeline.csv', "
    .. "%g with lines dt 2 title 'rate x 2 MSL'"):format(expected),
}, "\n") .. "\n"
for name, text in pairs { ["time_wait.dat"] = table.concat(data, "\n") .. "\n", ["time_wait.gp"] = gp } do
  local f = assert(io.open(tcplab.out .. "/" .. name, "w"))
  f:write(text)
  f:close()
end
-- tcplab.plot draws no time series, so gnuplot is called here.
assert(os.execute(("cd '%s' && gnuplot time_wait.gp"):format(tcplab.out)), "gnuplot failed on time_wait.gp")

print(("Connections: %d, one every %g s; TIME_WAIT lasts 2*MSL = %g s."):format(n, 1 / conn_rate,
  2 * tcplab.time(msl)))
print(("Peak TIME_WAIT count on the client: %d (rate x 2*MSL = %g); on the server: %d.")
  :format(peak, expected, #tcplab.where(counts, { node = "server" })))

return {
  connections = n,
  expected_plateau = expected,
  peak_time_wait = peak,
  server_time_wait = #tcplab.where(counts, { node = "server" }),
}
