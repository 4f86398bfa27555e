-- A tiny experiment for the tests of `tcplab sweep`: no simulation, only
-- metrics that show what the run was given (its parameters and seed),
-- and knobs that make it slow or make it fail in each way a run can.
--   mode   ok (default), exit (os.exit(3)), error (a Lua error), loop
--          (forever, for --timeout), none (returns no metrics)
--   sleep  seconds to wait first
local tcplab = require("tcplab")

local p = tcplab.params
if p.sleep then os.execute("sleep " .. p.sleep) end
local mode = p.mode or "ok"
if mode == "exit" then
  io.stderr:write("giving up on purpose\n")
  os.exit(3)
elseif mode == "error" then
  error("an error on purpose")
elseif mode == "loop" then
  while true do end
elseif mode == "none" then
  return nil
end
return {
  a2 = (p.a or 0) * 2,
  seed_mod = tcplab.seed % 1000,
  even = tcplab.seed % 2 == 0,
  label = "a is " .. tostring(p.a),
  v = (p.a or 0) * 10 + (p.b or 0) + tcplab.seed % 7,
}
