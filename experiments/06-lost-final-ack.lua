-- Experiment 6: the last ACK of the close lost, with and without
-- TIME_WAIT (RFC 9293 3.6, 3.10.7.4, 3.5.2; RFC 6298 for the RTO)
--
-- Claim. The active closer's last ACK may be lost, and then only the
-- active closer can help: the passive side, in LAST_ACK, does not know
-- whether its FIN arrived, so after its retransmission timeout (RTO) it
-- sends the FIN again.
--
--   Run 1, with TIME_WAIT (MSL 30 s): the client is still in TIME_WAIT,
--   holding the connection's state. It answers the repeated FIN with the
--   ACK again, and restarts its 2 x MSL wait from that moment ("Remain in
--   the TIME-WAIT state. Restart the 2 MSL time-wait timeout.", RFC 9293
--   3.10.7.4, eighth step). The server closes normally.
--
--   Run 2, without TIME_WAIT (msl = 0 on the client): the client forgot
--   the connection the moment it sent its last ACK. The repeated FIN
--   arrives at a port with no connection, and is answered as any segment
--   to no connection is: with a reset (RST, RFC 9293 3.5.2). The server
--   ends its connection with an error ("connection reset") although
--   nothing was wrong with it. This is the first reason for TIME_WAIT;
--   the second, old duplicates, is in experiment 11.
--
-- What to look at:
--   * in both ladders, the lost ACK (an arrow stopping in an X), and the
--     FIN repeated exactly one RTO after the first: 1 s here, RFC 6298's
--     minimum, since the measured round trip is far shorter;
--   * run 1: the client goes to CLOSED 2 x MSL after the *second* FIN
--     arrived, not after the first;
--   * run 2: TIME_WAIT lasts 0 s, the RST, and the server's error in
--     connections.csv.
--
-- Knobs: delay, rate, msl (run 1's), rto_min (the server's), server_wait.
-- Output in tcplab.out/time-wait and tcplab.out/no-time-wait: the three
-- CSV files, states.png, ladder.svg each.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "10Mbps")
local msl = param("msl", "30s")          -- run 1's MSL on the client
local rto_min = param("rto_min", "1s")    -- the server's least RTO (RFC 6298: 1 s; at most
                                          -- rto_initial, 1 s, unless that is set too)
local server_wait = param("server_wait", 0.5)

-- One run: the four-way close of experiment 2, with the client's last
-- ACK dropped on the link. Returns its metrics.
local function run(client_msl, dir, title)
  local sim = tcplab.sim{}
  local client = sim:node("client", { msl = client_msl })
  local server = sim:node("server", { rto_min = rto_min })
  local link = sim:link(client, server, { rate = rate, delay = delay })
  -- The client sends two bare ACKs (no flags but ACK, no data): the
  -- handshake's third segment, then the close's last. Drop the second.
  link:drop{ from = client, flags = "ACK", exact = true, len = 0, nth = 2 }

  local accepted
  server:listen(80, {
    on_accept = function(c) accepted = c end,
    on_close = function(c) c:close{ after = server_wait } end,
  })
  local conn = client:connect(server, 80, { at = 1.0 })
  conn:close{ at = 2.0 }
  sim:run()

  print(sim:ladder(conn, { symbolic = true, title = title }))
  print()
  assert(sim:write_csv(dir))
  sim:ladder_svg(conn, dir .. "/ladder.svg", { symbolic = true })
  sim:plot_states(dir .. "/states.png", { title = title .. ": connection states" })

  local function seconds(t) return math.floor(t * 1e9 + 0.5) / 1e9 end
  local fins = tcplab.where(sim:segments(), { action = "sent", from_node = "server", flags = "FIN|ACK" })
  local arrived = tcplab.where(sim:segments(), { action = "received", from_node = "server", flags = "FIN|ACK" })
  local m = {
    fins = #fins,
    fin_repeated_after_s = fins[2] and seconds(fins[2].time_s - fins[1].time_s),
    client_closed_s = conn.closed_s,
    time_wait_s = seconds(conn.closed_s - conn:entered("TIME_WAIT")),
    server_error = accepted.error or "none",
    resets = tcplab.count(sim:segments(), { action = "sent", flags = "RST" }),
  }
  -- With TIME_WAIT, the wait counted from the repeated FIN's arrival.
  if conn.closed_s > arrived[#arrived].time_s then
    m.after_last_fin_s = seconds(conn.closed_s - arrived[#arrived].time_s)
  end
  sim:close()
  return m
end

local with = run(msl, tcplab.out .. "/time-wait", "Last ACK lost, TIME_WAIT = 2 x " .. tostring(msl))
local without = run(0, tcplab.out .. "/no-time-wait", "Last ACK lost, no TIME_WAIT (msl = 0)")

local metrics = {}
for k, v in pairs(with) do metrics["time_wait_" .. k] = v end
for k, v in pairs(without) do metrics["no_time_wait_" .. k] = v end
return metrics
