-- tcplab.plot with gnuplot: the state timeline, the congestion window
-- and a sweep's metric as PNG and SVG pictures. Needs gnuplot (gnuplot-nox); without it the test
-- is skipped, except in CI where it is installed.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
local csv = require("tcplab.csv")
local plot = require("tcplab.plot")

local FIX = T.dir .. "/fixtures/"

local function check_png(path)
  local data = T.read(path)
  T.eq(data:sub(1, 8), "\137PNG\r\n\26\n", path .. " is a PNG")
  T.ok(#data > 2000, path .. " has a picture in it (" .. #data .. " bytes)")
end

-- An SVG document; parsed by xmllint when it is there.
local function check_svg(path)
  local data = T.read(path)
  T.ok(data:find("<svg", 1, true) and data:find("</svg>", 1, true), path .. " is an SVG document")
  if os.execute("command -v xmllint >/dev/null 2>&1") then
    T.ok(os.execute("xmllint --noout '" .. path .. "'"), path .. " parses as XML")
  end
end

-- Draws the same picture as stem.png and stem.svg and checks both.
local function png_and_svg(draw, input, stem, opts)
  for _, ext in ipairs({ "png", "svg" }) do
    local out = T.out("gnuplot/" .. stem .. "." .. ext)
    local pic, err = draw(input, out, opts)
    T.ok(pic, err)
    if ext == "png" then check_png(out) else check_svg(out) end
  end
end

T.test("state timeline: PNG and SVG", function()
  T.need("gnuplot", "gnuplot-nox")
  png_and_svg(plot.states, FIX .. "close/timeline.csv", "states", { title = "four-way close" })
  -- The handshake only, zoomed.
  local out = T.out("gnuplot/handshake.png")
  T.ok(plot.states(FIX .. "handshake/timeline.csv", out, { xrange = { 0.99, 1.07 } }))
  check_png(out)
end)

T.test("congestion window: PNG and SVG", function()
  T.need("gnuplot", "gnuplot-nox")
  png_and_svg(plot.cwnd, FIX .. "cwnd/cwnd.csv", "cwnd", { title = "slow start, one loss, fast recovery" })
  -- The client alone, in segments, zoomed on the data.
  local out = T.out("gnuplot/cwnd_segments.png")
  local pic, err = plot.cwnd(FIX .. "cwnd/cwnd.csv", out,
    { node = "client", segments = 1460, xrange = { 1.1, 1.24 } })
  T.ok(pic, err)
  check_png(out)
end)

T.test("a sweep's metric with error bars: PNG and SVG", function()
  T.need("gnuplot", "gnuplot-nox")
  local rows = assert(csv.read(FIX .. "sweep/runs.csv"))
  for _, name in ipairs({ "latency.png", "latency.svg" }) do
    local out = T.out("gnuplot/" .. name)
    local pic, err = plot.metric(rows, { x = "loss", y = "handshake_s", group = "delay", out = out,
                                         xlabel = "SYN loss rate", ylabel = "handshake (s)" })
    T.ok(pic, err)
    if name:match("png$") then check_png(out) else check_svg(out) end
  end
  local out = T.out("gnuplot/by_delay.png")
  T.ok(plot.metric(rows, { x = "delay", y = "syn_tx", out = out }))
  check_png(out)
end)

T.test("the written script runs again by itself", function()
  T.need("gnuplot", "gnuplot-nox")
  local out = T.out("gnuplot/again/states.svg")
  os.remove(out) -- from an earlier run
  local _, script = assert(plot.states(FIX .. "lost_fin/timeline.csv", out, { run = false }))
  T.eq(io.open(out), nil, "not drawn yet")
  T.ok(os.execute("cd '" .. T.out("gnuplot/again") .. "' && gnuplot states.gp"), "gnuplot " .. script)
  check_svg(out)
end)

T.run()
