-- Experiment 12: handshake latency against loss rate and link delay, as a
-- parameter sweep.
--
-- One run of this script is one connection attempt over one link; the
-- sweep runs it 20 times (20 seeds) for every loss rate and delay:
--
--   tcplab sweep experiments/12-sweep-handshake.lua \
--     --param loss=0:0.5:0.1 --param delay=10ms,50ms,100ms --runs 20 \
--     --out results/12-sweep-handshake
--
-- (6 x 3 points x 20 runs = 360 runs, a few seconds on two cores). It
-- writes results/12-sweep-handshake/summary.csv, the mean, standard
-- deviation and 95 % confidence interval of each metric per point, and
-- plots/handshake_s.png, the latency against the loss rate with one line
-- per delay. Interrupted, the same command resumes where it stopped; with
-- another value added to a --param, only the new points run.
--
-- What to look at: without loss a handshake takes one round trip, 2d
-- (plus the few microseconds of putting the SYN and the SYN|ACK on the
-- wire). Loss does not make it a little slower: it adds whole
-- retransmission timeouts. A lost SYN is sent again after the initial RTO
-- of 1 s (RFC 6298 2.1), and the timeout doubles after every loss (RFC
-- 6298 5.5): a client that lost k SYNs is 2^k - 1 seconds late. The loss
-- here hits both directions, and the server backs off the same way for
-- its SYN|ACK, so a run is late by whole seconds made of both sides'
-- timeouts: 0, 1, 2, 3, 4, 6, 7, ... (and, now and then, 40 us more,
-- when a SYN|ACK sent by the timer and one answering a retransmitted SYN
-- queue behind each other on the link). In the plot the mean rises with
-- loss far faster than the delay lines differ: at 10 % loss the seconds
-- of backoff already dwarf a 100 ms delay; and the confidence intervals
-- are wide, because the runs of a point do not scatter around their mean
-- but sit on a few of these levels.
--
-- Metrics returned (what the sweep records and summarises):
--   handshake_s   connect to ESTABLISHED at the client (absent when the
--                 client gave up: after syn_retries = 6 retransmissions)
--   late_s        handshake_s minus the lossless time of this link: the
--                 seconds lost to timeouts, 0, 1, 3, 7, ...
--   syn_tx        SYNs the client sent
--   connected     whether the handshake completed
--
-- Alone, one run: tcplab run experiments/12-sweep-handshake.lua --set
-- loss=0.2 --set delay=50ms --seed 3. Knobs: loss (0), delay ("20ms"),
-- rate ("10Mbps").

local tcplab = require("tcplab")

local loss = tcplab.param("loss", 0)
local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")

-- One connection attempt at 1 s; the simulation runs until nothing is
-- left to happen: established, or given up.
local function attempt(p)
  local sim = tcplab.sim{}
  local client, server = sim:node("client"), sim:node("server")
  sim:link(client, server, { rate = rate, delay = delay, loss = p })
  server:listen(80)
  local conn = client:connect(server, 80, { at = 1 })
  sim:run{}
  local result = { handshake_s = conn.handshake_s, syn_tx = conn.syn_tx }
  sim:close()
  return result
end

-- The lossless handshake of the same link (2d plus putting the SYN and
-- the SYN|ACK on the wire) is the baseline of late_s.
local base = attempt(0).handshake_s
local r = attempt(loss)

local metrics = { syn_tx = r.syn_tx, connected = r.handshake_s ~= nil }
if r.handshake_s then
  metrics.handshake_s = r.handshake_s
  -- Rounded to the nanosecond, so that the levels are exact: 1, not
  -- 0.9999999999999998.
  metrics.late_s = math.floor((r.handshake_s - base) * 1e9 + 0.5) / 1e9
end
print(("loss %s, delay %s, seed %d: %s after %d SYN(s)"):format(tostring(loss), tostring(delay),
  tcplab.seed, r.handshake_s and ("established in %.6f s"):format(r.handshake_s) or "gave up", r.syn_tx))
return metrics
