-- Bad input (issue 5): every kind of mistake in a script is a Lua error
-- naming the function, the argument, what is allowed, and the script's
-- line. Each case is a script run by `tcplab run`, as a user would: it
-- must fail with exit status 1 and that message, and nothing else.
--
--   lua5.4 bad_input_test.lua TCPLAB_COMMAND OUT_DIR

local H = dofile((arg[0]:match("^(.*)/") or ".") .. "/harness.lua")
H.setup()

-- Every case runs after these four lines, so its mistake is on line 5.
local PREAMBLE = [[
local tcplab = require("tcplab")
local sim = tcplab.sim()
local a, b = sim:node("a"), sim:node("b")
local l = sim:link(a, b, { delay = "10ms" })
]]

local cases = {
  -- wrong types
  { "type: node name", [[sim:node(42)]],
    { "bad argument #1 to 'sim:node'", "non-empty string", "got 42" } },
  { "type: link end", [[sim:link(a, "b")]],
    { "bad argument #2 to 'sim:link'", "tcplab.node expected", 'got "b"' } },
  { "type: port", [[b:listen("eighty")]],
    { "bad argument #1 to 'node:listen'", "port must be an integer in [1, 65535]", '"eighty"' } },
  { "type: callback", [[a:connect(b, 80, { on_connect = 5 })]],
    { "bad argument #3 to 'node:connect'", "on_connect must be a function", "got 5" } },
  { "type: options", [[sim:run(5)]],
    { "bad argument #1 to 'sim:run'", "table of options expected", "got 5" } },
  { "type: send data", [[local c = a:connect(b, 80); c:send(true)]],
    { "bad argument #1 to 'conn:send'", "string of bytes or a byte count expected", "got true" } },
  { "type: boolean setting", [[sim:node("x", { nagle = "yes" })]],
    { "bad argument #2 to 'sim:node'", "nagle must be true or false", '"yes"' } },
  { "type: bad self", [[sim.link(a, b)]],
    { "calling 'sim:link' on bad self", "tcplab.sim expected", "tcplab.node 'a'", "sim:link(...)" } },
  { "type: rows", [[tcplab.where("rows", {})]],
    { "bad argument #1 to 'tcplab.where'", "list of rows expected" } },

  -- unknown option keys
  { "option: link", [[sim:link(a, b, { dealy = "1ms" })]],
    { "bad argument #3 to 'sim:link'", "unknown option 'dealy'", "did you mean 'delay'",
      "allowed: delay, loss, name, queue, rate" } },
  { "option: node setting", [[sim:node("x", { mls = "1s" })]],
    { "bad argument #2 to 'sim:node'", "unknown option 'mls'", "did you mean 'msl'", "rto_initial" } },
  { "option: drop", [[l:drop{ from = a, flag = "FIN" }]],
    { "bad argument #1 to 'link:drop'", "unknown option 'flag'",
      "allowed: after, before, every, exact, flags, from, len, nth" } },
  { "option: sim", [[tcplab.sim{ sed = 1 }]],
    { "bad argument #1 to 'tcplab.sim'", "unknown option 'sed'", "allowed: seed" } },
  { "option: listen", [[b:listen(80, { on_acept = print })]],
    { "bad argument #2 to 'node:listen'", "unknown option 'on_acept'", "on_accept" } },
  { "option: close", [[local c = a:connect(b, 80); c:close{ aftr = 1 }]],
    { "bad argument #1 to 'conn:close'", "unknown option 'aftr'", "allowed: after, at" } },
  { "option: run", [[sim:run{ until_s = 10 }]],
    { "bad argument #1 to 'sim:run'", "unknown option 'until_s'", "allowed: stop" } },
  { "option: positional", [[l:drop{ a, flags = "FIN" }]],
    { "bad argument #1 to 'link:drop'", "options are named" } },

  -- negative delays and rates
  { "negative: link delay", [[sim:link(a, b, { delay = "-5ms" })]],
    { "bad argument #3 to 'sim:link'", "delay must not be negative", '"20ms"', '"1.5s"' } },
  { "negative: rate", [[sim:link(a, b, { rate = -10 })]],
    { "bad argument #3 to 'sim:link'", "rate must be > 0", '"10Mbps"' } },
  { "unit: rate in bytes", [[sim:link(a, b, { rate = "10MBps" })]],
    { "bad argument #3 to 'sim:link'", "bits per second", '"10Mbps"' } },
  { "unit: rate word", [[sim:link(a, b, { rate = "fast" })]],
    { "bad argument #3 to 'sim:link'", "rate must be a rate", '"10Mbps"', '"fast"' } },
  { "negative: delay rule", [[l:delay{ from = a, flags = "SYN", by = -1 }]],
    { "bad argument #1 to 'link:delay'", "by must not be negative" } },
  { "negative: connect at", [[a:connect(b, 80, { at = -1 })]],
    { "bad argument #3 to 'node:connect'", "at must not be negative" } },
  { "negative: sim:at", [[sim:at("-2s", print)]],
    { "bad argument #1 to 'sim:at'", "must not be negative", "ms" } },
  { "unit: time", [[sim:run{ stop = "2 fortnights" }]],
    { "bad argument #1 to 'sim:run'", "stop must be a time", "ns, us, ms, s, min, h" } },
  { "past: connect at", [[sim:run{ stop = 2 }; a:connect(b, 80, { at = 1 })]],
    { "bad argument #3 to 'node:connect'", "at = 1.000000000 s is in the past", "now is 2.000000000 s" } },

  -- loss outside [0, 1]
  { "loss: link", [[sim:link(a, b, { loss = 1.5 })]],
    { "bad argument #3 to 'sim:link'", "loss must be a probability in [0, 1]", "got 1.5" } },
  { "loss: direction", [[l:loss{ from = a, p = -0.1 }]],
    { "bad argument #1 to 'link:loss'", "p must be a probability in [0, 1]", "got -0.1" } },
  { "loss: gilbert", [[l:loss{ from = a, model = "gilbert", p = 0.1, r = 2 }]],
    { "bad argument #1 to 'link:loss'", "r must be a probability in [0, 1]", "got 2" } },
  { "loss: model", [[l:loss{ from = a, model = "bursty", p = 0.1 }]],
    { "bad argument #1 to 'link:loss'", 'model must be "random" (default) or "gilbert"' } },

  -- unknown state and flag names
  { "flag: drop", [[l:drop{ from = a, flags = "SYN|FNI" }]],
    { "bad argument #1 to 'link:drop'", 'unknown flag "FNI"', "SYN, FIN, RST, PSH, ACK, URG" } },
  { "flag: inject", [[l:inject{ from = a, flags = "SYNACK", sport = 1000, dport = 80 }]],
    { "bad argument #1 to 'link:inject'", 'unknown flag "SYNACK"', "SYN, FIN, RST, PSH, ACK, URG" } },
  { "state: entered", [[local c = a:connect(b, 80); c:entered("TIME-WAIT")]],
    { "bad argument #1 to 'conn:entered'", 'unknown state "TIME-WAIT"', "TIME_WAIT", "SYN_RECEIVED" } },
  { "state: where", [[tcplab.where(sim:timeline(), { to_state = "ESTABLISHD" })]],
    { "bad argument #2 to 'tcplab.where'", 'unknown state "ESTABLISHD"', "ESTABLISHED" } },
  { "event: count", [[tcplab.count(sim:timeline(), { event = "rcv_syn" })]],
    { "bad argument #2 to 'tcplab.count'", 'unknown event "rcv_syn"', "app_connect" } },

  -- a node (or connection) from another simulation
  { "other sim: link", [[sim:close(); local s2 = tcplab.sim(); local x = s2:node("x"); s2:link(x, a)]],
    { "bad argument #2 to 'sim:link'", "node 'a' belongs to another simulation", "give a node of this one" } },
  { "other sim: connect", [[sim:close(); local s2 = tcplab.sim(); local x = s2:node("x"); x:connect(b, 80)]],
    { "bad argument #1 to 'node:connect'", "node 'b' belongs to another simulation" } },
  { "other sim: inject conn",
    [[local c = a:connect(b, 80); sim:close(); local s2 = tcplab.sim(); local x, y = s2:node("x"), s2:node("y"); s2:link(x, y):inject{ from = x, conn = c, flags = "SYN" }]],
    { "bad argument #1 to 'link:inject'", "connection #1 belongs to another simulation" } },

  -- methods on a closed connection
  { "closed conn: send", [[b:listen(80); local c = a:connect(b, 80); c:abort{ at = 1 }; sim:run(); c:send("late")]],
    { "conn:send: attempt to use a closed connection", "aborted" } },
  { "closed conn: close", [[b:listen(80, { on_accept = function(s) s:close() end }); local c = a:connect(b, 80); c:close{ at = 1 }; sim:run(); c:close()]],
    { "conn:close: attempt to use a closed connection" } },

  -- methods on a finished (closed) simulation
  { "closed sim: run", [[sim:close(); sim:run()]],
    { "sim:run: attempt to use a closed simulation" } },
  { "closed sim: link method", [[sim:close(); l:drop{ from = a }]],
    { "link:drop: attempt to use a closed simulation" } },
  { "closed sim: conn field", [[local c = a:connect(b, 80); sim:close(); print(c.state)]],
    { "conn.state: attempt to use a closed simulation" } },
  { "closed sim: results", [[sim:close(); sim:timeline()]],
    { "sim:timeline: attempt to use a closed simulation" } },
  { "closed sim: cwnd", [[local c = a:connect(b, 80); sim:close(); c:cwnd()]],
    { "conn:cwnd: attempt to use a closed simulation" } },
  { "plot_cwnd: file", [[sim:plot_cwnd(42)]],
    { "bad argument #1 to 'sim:plot_cwnd'", "file name (.png or .svg)" } },
  { "closed sim: node method", [[sim:close(); b:listen(80)]],
    { "node:listen: attempt to use a closed simulation" } },

  -- impossible values and other mistakes
  { "counterfactual: short name", [[sim:node("x", { handshake = "two-way" })]],
    { "bad argument #2 to 'sim:node'", 'handshake must be "three-way"', '"two-way (counterfactual)"',
      "for teaching" } },
  { "name taken", [[sim:node("a")]],
    { "bad argument #1 to 'sim:node'", 'a node named "a" exists already' } },
  { "tcp kind", [[sim:node("x", { tcp = "linux" })]],
    { "bad argument #2 to 'sim:node'", 'tcp must be "tcplab" or "ns3"', '"linux"' } },
  { "ns-3 setting", [[sim:node("x", { tcp = "ns3", nagle = false })]],
    { "bad argument #2 to 'sim:node'", "nagle is a setting of tcplab's TCP", "msl, mss" } },
  { "setting range", [[sim:node("x", { mss = 10 })]],
    { "bad argument #2 to 'sim:node'", "mss must be in [88, 65495]" } },
  { "setting past its field", [[sim:node("x", { mss = 70000 })]],
    { "bad argument #2 to 'sim:node'", "mss must be in [88, 65495]", "got 70000" } },
  { "setting not an integer", [[sim:node("x", { snd_buf = 0.5 })]],
    { "bad argument #2 to 'sim:node'", "snd_buf must be in [1, 2^30] bytes", "got 0.5" } },
  { "router application", [[sim:router("r"):listen(80)]],
    { "node:listen: node 'r' is a router" } },
  { "rule: from", [[l:drop{ flags = "FIN" }]],
    { "bad argument #1 to 'link:drop'", "from is required", "'a' or 'b'" } },
  { "rule: from not on link", [[local c = sim:node("c"); l:drop{ from = c }]],
    { "bad argument #1 to 'link:drop'", "from must be one of the link's nodes ('a' or 'b')", "node 'c'" } },
  { "inject: rel without conn", [[l:inject{ from = a, flags = "SYN", rel_seq = 1, sport = 1, dport = 2 }]],
    { "bad argument #1 to 'link:inject'", "rel_seq and rel_ack need conn" } },
  { "count: nth", [[l:drop{ from = a, nth = 0 }]],
    { "bad argument #1 to 'link:drop'", "nth must be an integer in [1, 4294967295]", "got 0" } },
  -- RFC 9293 3.10.2: SEND after CLOSE is "error: connection closing"
  { "send after close", [[b:listen(80); local c = a:connect(b, 80); c:close{ at = 2 }; c:send(10, { at = 3 })]],
    { "conn:send: send at 3.000000000 s", "closed or aborted at 2.000000000 s", "data must be sent before" } },
  { "send after abort, same time", [[b:listen(80); local c = a:connect(b, 80); c:abort{ at = 2 }; c:send(10, { at = 2 })]],
    { "conn:send: send at 2.000000000 s", "aborted at 2.000000000 s" } },
  { "send after close, found in the run",
    [[b:listen(80); local c = a:connect(b, 80); c:send(10, { at = 3 }); c:close{ at = 2 }; sim:run()]],
    { "sim:run: send at 3.000000000 s on connection #2", "shut down or closed at 2.000000000 s" } },
  { "reading: listener", [[local l2 = b:listen(80); l2:stop_reading()]],
    { "conn:stop_reading: a listener reads nothing" } },
  { "send: urgent", [[b:listen(80); local c = a:connect(b, 80); c:send("x", { urgent = 1 })]],
    { "bad argument #2 to 'conn:send'", "urgent must be true or false", "got 1" } },
  { "retries: range", [[b:listen(80); a:connect(b, 80, { retries = 256 })]],
    { "bad argument #3 to 'node:connect'", 'retries must be an integer in [0, 255] or "never"', "got 256" } },
  { "retries: word", [[b:listen(80, { retries = "forever" })]],
    { "bad argument #2 to 'node:listen'", 'retries must be an integer in [0, 255] or "never"', '"forever"' } },
  { "listen: port in use", [[b:listen(80); b:listen(80)]],
    { "bad argument #1 to 'node:listen'", "port 80 is in use on node 'b'" } },
  { "param: type", [[tcplab.params.loss = "high"; tcplab.param("loss", 0.1)]],
    { "tcplab.param: parameter loss = \"high\" must be a number like its default 0.1" } },
}

for i, case in ipairs(cases) do
  local name, code, parts = case[1], case[2], case[3]
  H.test(name, function()
    local file = ("case_%02d.lua"):format(i)
    local status, out, err = H.run_script(file, PREAMBLE .. code .. "\nprint('NOT REACHED')\n")
    H.eq(status, 1, name .. ": exit status")
    H.check(not out:find("NOT REACHED", 1, true), name .. ": the script went on after the mistake")
    -- "tcplab: case_NN.lua:5: ..." -- file and line of the mistake first
    local first = err:match("^[^\n]*") or ""
    H.contains(first, { "tcplab: " .. file .. ":5: " }, name .. ": position")
    H.contains(first, parts, name .. ": message")
    -- a runtime error comes with a traceback reaching the script's line
    H.contains(err, { "stack traceback:", file .. ":5: in main chunk" }, name .. ": traceback")
  end)
end

H.finish()
