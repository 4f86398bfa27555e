-- Experiment 8: an old duplicate SYN, and why TCP's handshake has three
-- segments.
--
-- What to look at: the client opens a new connection, but its SYN is held
-- up in the network and an old SYN of an earlier incarnation of the same
-- connection (same addresses and ports, an older sequence number) reaches
-- the server first. The server cannot tell it is old: it answers with
-- SYN|ACK, acknowledging the old number, and waits in SYN_RECEIVED. The
-- client, in SYN_SENT, sees an ACK of a sequence number it never sent and
-- answers with RST whose seq is that acknowledgment number. The RST sends
-- the server back to LISTEN; its application never hears of the old SYN.
-- Then the client's real SYN arrives and the connection opens normally.
-- This is RFC 9293 3.5, Figure 8 ("recovery from old duplicate SYN"): the
-- third segment is the client's chance to say "not mine".
--
-- The second run changes one thing: the server runs tcplab's
-- COUNTERFACTUAL two-way handshake (for teaching only; no real TCP does
-- this), in which a server is ESTABLISHED as soon as its SYN|ACK leaves.
-- The old SYN now makes an ESTABLISHED connection at once, and the
-- server's application is handed it (on_accept) at the instant the old
-- SYN arrives. Nobody wants it: the client is not in that conversation.
-- What ends it is the same RST from the client, one round trip later,
-- which the application sees as the connection reset. Until then the
-- server would have served a client that is not there. See the app.csv
-- of each run for what the server's application saw, and when.
--
-- Knobs (--set NAME=VALUE): delay (one way, "20ms"), rate ("10Mbps"),
-- held (how long the network holds the client's new SYN, "100ms"), age
-- (how far the old SYN's seq is behind the new ISN, 100000), stop (3 s).

local tcplab = require("tcplab")

local delay = tcplab.param("delay", "20ms")
local rate = tcplab.param("rate", "10Mbps")
local held = tcplab.param("held", "100ms")
local age = tcplab.param("age", 100000)
local stop = tcplab.param("stop", 3)

local COUNTERFACTUAL = "two-way (counterfactual)"

-- One run: the client connects at 1 s; its SYN is held back by `held`;
-- an old SYN from its address and port, `age` bytes before its ISN, is
-- put on the link 1 ms later. Writes dir/*.csv and returns a summary.
local function run(handshake, server_name, dir)
  local sim = tcplab.sim{}
  local client = sim:node("client")
  local server = sim:node(server_name, { handshake = handshake })
  local link = sim:link(client, server, { rate = rate, delay = delay })
  link:delay{ from = client, flags = "SYN", exact = true, nth = 1, by = held }

  -- What the server's application sees: every callback, with its time.
  local app = {}
  local function log(event, c, err)
    app[#app + 1] = { time_s = ("%.9f"):format(sim:now()), callback = event, conn = c.id,
      flow = c.flow, state = c.state, error = err }
  end
  server:listen(80, {
    on_accept = function(c) log("accept", c) end,
    on_end = function(c, err) log("end", c, err) end,
  })

  local conn = client:connect(server, 80, { at = 1.0 })
  link:inject{ at = 1.001, from = client, conn = conn, flags = "SYN", rel_seq = -age }
  sim:run{ stop = stop }

  assert(sim:write_csv(dir))
  assert(tcplab.csv.write(dir .. "/app.csv", app, { "time_s", "callback", "conn", "flow", "state", "error" }))
  -- Absolute numbers show the RST's seq equal to the old SYN's seq + 1.
  print(sim:ladder(conn, { numbers = "absolute" }))
  print("What the server's application saw:")
  for _, a in ipairs(app) do
    print(("  %s s  %-6s connection #%d %s%s"):format(a.time_s, a.callback, a.conn, a.state,
      a.error and (" (" .. a.error .. ")") or ""))
  end
  assert(sim:plot_states(dir .. "/states.png", { title = server_name .. ": " .. handshake, stop = stop }))
  assert(sim:ladder_svg(conn, dir .. "/ladder.svg", { numbers = "absolute" }))

  local passive = tcplab.where(sim:connections(), { role = "passive" })
  local result = {
    accepted = tcplab.count(app, { callback = "accept" }),
    resets = tcplab.count(app, { callback = "end", error = "reset" }),
    client_state = conn.state,
    server_final = passive[1] and passive[1].final_state,
    server_error = passive[1] and passive[1].error,
  }
  sim:close() -- ns-3 runs one simulation at a time
  return result
end

print("=== Run 1: TCP's three-way handshake (RFC 9293) ===")
local real = run("three-way", "server", tcplab.out .. "/three-way")

print()
print("################################################################")
print("##  Run 2: COUNTERFACTUAL two-way handshake -- NOT TCP.       ##")
print("##  The server is ESTABLISHED as soon as its SYN|ACK leaves.  ##")
print("################################################################")
local fake = run(COUNTERFACTUAL, "COUNTERFACTUAL-server", tcplab.out .. "/COUNTERFACTUAL-two-way")

-- With the defaults: the three-way server accepts one connection, the
-- real one; the counterfactual server accepts two, and the first, the
-- old SYN's, is reset one round trip after the application got it.
print()
for _, r in ipairs { { "Three-way", real }, { "COUNTERFACTUAL two-way", fake } } do
  print(("%s: the server's application accepted %d connection(s), %d of them then reset.")
    :format(r[1], r[2].accepted, r[2].resets))
end

return {
  three_way_accepted = real.accepted,
  three_way_old_syn_final = real.server_final,
  three_way_client = real.client_state,
  three_way_resets = real.resets,
  counterfactual_accepted = fake.accepted,
  counterfactual_resets = fake.resets,
  counterfactual_old_syn_final = fake.server_final,
  counterfactual_old_syn_error = fake.server_error,
  counterfactual_client = fake.client_state,
}
