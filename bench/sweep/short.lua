-- The short experiment of the sweep benchmark (bench/sweep/bench.sh): one
-- connection attempt over a lossy link, the run of a typical sweep of
-- handshake latency, a few tens of milliseconds in all, most of it
-- starting the process and loading ns-3.
local tcplab = require("tcplab")

local sim = tcplab.sim{}
local client, server = sim:node("client"), sim:node("server")
sim:link(client, server, { rate = "10Mbps", delay = tcplab.param("delay", "20ms"),
  loss = tcplab.param("loss", 0) })
server:listen(80)
local conn = client:connect(server, 80, { at = 1 })
sim:run{}
return { handshake_s = conn.handshake_s, syn_tx = conn.syn_tx }
