-- The Lua half of the Lua-layer benchmark (bench/lua/conns.c runs the
-- same experiment against sim.h and times both): one client and one
-- server on a 100 Mbit/s, 1 ms link; `parallel` chains of short
-- connections, `conns` in all. Each connection sends 1 KB each way: the
-- client sends on connecting, the server answers once it has the whole
-- kilobyte, the client closes once it has the answer, the server closes
-- on the client's FIN, and the chain's next connection starts when the
-- server's FIN reaches the client (then in TIME_WAIT, served to its end).
--
--   tcplab run bench/lua/conns.lua --set conns=10000 --set parallel=10
local tcplab = require("tcplab")

local N = tcplab.param("conns", 10000)
local P = tcplab.param("parallel", 10)
local KB = 1024

local sim = tcplab.sim{}
local client, server = sim:node("client"), sim:node("server")
sim:link(client, server, { rate = "100Mbps", delay = "1ms" })

local got = {} -- bytes received, by connection
local started, ended, bytes = 0, 0, 0

server:listen(80, {
  on_data = function(c, n)
    bytes = bytes + #c:read()
    local total = (got[c] or 0) + n
    got[c] = total
    if total == KB then c:send(KB) end
  end,
  on_close = function(c) c:close() end,
  on_end = function(c) got[c] = nil end,
})

local on_client -- the callbacks of every client connection

local function start()
  if started == N then return end
  started = started + 1
  client:connect(server, 80, on_client)
end

on_client = {
  on_connect = function(c) c:send(KB) end,
  on_data = function(c, n)
    bytes = bytes + #c:read()
    local total = (got[c] or 0) + n
    got[c] = total
    if total == KB then c:close() end
  end,
  on_close = start,
  on_end = function(c)
    got[c] = nil
    ended = ended + 1
  end,
}

for _ = 1, P do start() end
sim:run()
-- The same line as conns.c prints, to check both ran the same experiment.
print(("result conns=%d bytes=%d now=%.9f events=%d"):format(ended, bytes, sim:now(), sim:events()))
