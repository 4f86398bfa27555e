-- The SVG ladders parse as XML (xmllint from libxml2-utils); without
-- xmllint the test is skipped, except in CI where it is installed.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
local ladder = require("tcplab.ladder")

local FIX = T.dir .. "/fixtures/"

local function valid(path)
  local p = io.popen("xmllint --noout '" .. path .. "' 2>&1")
  local msg = p:read("a")
  local ok = p:close()
  T.ok(ok and msg == "", path .. ": " .. msg)
end

T.test("golden SVG files are well-formed XML", function()
  T.need("xmllint", "libxml2-utils")
  for _, name in ipairs({ "handshake.svg", "close.svg", "lost_fin.svg" }) do
    valid(T.dir .. "/golden/" .. name)
  end
end)

T.test("every fixture, both scales, awkward names: well-formed", function()
  T.need("xmllint", "libxml2-utils")
  for _, fx in ipairs({ "handshake", "close", "lost_fin" }) do
    for _, scale in ipairs({ "events", "linear" }) do
      local out = T.out(("svg/%s-%s.svg"):format(fx, scale))
      os.execute("mkdir -p '" .. T.out("svg") .. "'")
      assert(ladder.write_svg(out, FIX .. fx .. "/timeline.csv", FIX .. fx .. "/segments.csv", nil,
        { scale = scale, numbers = "absolute", times = "both", title = fx .. " <&> \"'" }))
      valid(out)
    end
  end
end)

T.run()
