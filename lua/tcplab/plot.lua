-- tcplab.plot: pictures of tcplab's results, drawn by gnuplot.
--
-- plot.states draws a state timeline: one row per connection, one bar
-- per state it was in, coloured by state. plot.cwnd draws each
-- connection's congestion window and slow-start threshold against time.
-- plot.metric draws a metric of swept runs against a parameter: the mean
-- of the runs with its 95 % confidence interval as an error bar, one line
-- per value of a second parameter.
--
-- Each call writes a gnuplot script and its data next to the picture
-- (states.png comes with states.gp and states.dat), so that the picture
-- can be restyled by editing the script and running `gnuplot states.gp`
-- in that directory. gnuplot is Debian's gnuplot-nox: no X needed, and
-- its pngcairo and svg terminals are the two formats offered.

local csv = require("tcplab.csv")
local public = require("tcplab.public")

local plot = {}

-- One fixed colour per state, so that a state looks the same in every
-- picture (the SVG ladder uses them too).
plot.state_colors = {
  CLOSED = "#9e9e9e",
  LISTEN = "#7e57c2",
  SYN_SENT = "#fb8c00",
  SYN_RECEIVED = "#fdd835",
  ESTABLISHED = "#43a047",
  FIN_WAIT_1 = "#1e88e5",
  FIN_WAIT_2 = "#90caf9",
  CLOSE_WAIT = "#e53935",
  CLOSING = "#00acc1",
  LAST_ACK = "#f48fb1",
  TIME_WAIT = "#6d4c41",
}

-- RFC 9293's states in the order a connection usually meets them: the
-- order of the legend.
plot.states_order = {
  "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
  "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
  "TIME_WAIT",
}

-- ------------------------------------------------------------- helpers

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- gnuplot's single-quoted strings take everything literally but the
-- quote itself, which is doubled.
local function gp_quote(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

local function split_path(path)
  local dir, name = path:match("^(.*)/([^/]*)$")
  if not dir then dir, name = ".", path end
  if dir == "" then dir = "/" end
  local base, ext = name:match("^(.*)%.([^.]+)$")
  if not base or base == "" then base, ext = name, nil end
  return dir, name, base, ext and ext:lower()
end

local function load(rows, what)
  return csv.rows(rows, what, "plot")
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  f:close()
  if not ok then return nil, path .. ": " .. tostring(werr) end
  return true
end

local function check_format(format)
  if format ~= "png" and format ~= "svg" then
    error("plot: format must be 'png' or 'svg', not '" .. tostring(format) .. "'", 0)
  end
end

local function terminal(format, width, height, font)
  if format == "png" then
    return ("set terminal pngcairo size %d,%d font '%s' noenhanced"):format(width, height, font)
  elseif format == "svg" then
    return ("set terminal svg size %d,%d font '%s' noenhanced background '#ffffff'")
      :format(width, height, font)
  end
  error("plot: format must be 'png' or 'svg', not '" .. tostring(format) .. "'", 0)
end

-- Writes script and data into the picture's directory and, unless
-- opts.run is false, runs gnuplot there. Returns the picture's path and
-- the script's, or nil and a message.
local function produce(out, script_text, data_text, opts)
  local dir, _, base = split_path(out)
  if not os.execute("mkdir -p " .. shell_quote(dir)) then
    return nil, "cannot create directory " .. dir
  end
  local script = dir .. "/" .. base .. ".gp"
  local ok, err = write_file(dir .. "/" .. base .. ".dat", data_text)
  if ok then ok, err = write_file(script, script_text) end
  if not ok then return nil, err end
  if opts.run == false then return out, script end

  local prog = opts.gnuplot or os.getenv("TCPLAB_GNUPLOT") or "gnuplot"
  if not os.execute("command -v " .. shell_quote(prog) .. " >/dev/null 2>&1") then
    return nil, "gnuplot not found: install gnuplot-nox"
  end
  local p = io.popen("cd " .. shell_quote(dir) .. " && " .. shell_quote(prog) .. " "
    .. shell_quote(base .. ".gp") .. " 2>&1")
  local output = p:read("a")
  local closed = p:close()
  -- gnuplot reports some mistakes as warnings and exits 0: an empty or
  -- missing picture is a failure too.
  local f = io.open(out, "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  if not closed or size == 0 then
    return nil, "gnuplot failed on " .. script .. ": " .. (output:gsub("%s+$", ""))
  end
  return out, script
end

local function check_keys(opts, known, fn)
  for k in pairs(opts) do
    if not known[k] then error(("plot.%s: unknown option '%s'"):format(fn, tostring(k)), 0) end
  end
end

-- Numbers in data files: 15 significant digits hide the last bits of
-- float arithmetic (0.27008, not 0.2700800000000001) and lose nothing a
-- picture can show.
local function num(v)
  if math.type(v) == "integer" then return tostring(v) end
  return ("%.15g"):format(v)
end

-- ------------------------------------------------------ state timeline

-- plot.intervals(timeline [, opts]) -> intervals, connections
-- The state intervals of every connection in a timeline: a list of
-- { key =, node =, conn =, flow =, state =, from =, to = } in time order,
-- and the list of connections { key =, node =, conn =, flow = } in order
-- of first appearance. A state lasts from the row that enters it to the
-- next transition of the same connection; the last one to opts.stop
-- (default: the last time in the timeline). CLOSED after the end of a
-- connection is no bar unless opts.closed is true.
--   opts.flow  only this connection (and the listener it came from)
local function intervals(timeline, opts)
  opts = opts or {}
  timeline = load(timeline, "timeline")
  local last = -math.huge
  for _, r in ipairs(timeline) do
    if r.time_s and r.time_s > last then last = r.time_s end
  end
  local stop = opts.stop or last

  -- With a flow: its rows, and the rows of the listener it came from (a
  -- flow of "address:port" alone, on a node of the flow, same port).
  local wanted = function() return true end
  if opts.flow then
    local port = opts.flow:match(":(%d+)$")
    local nodes = {}
    for _, r in ipairs(timeline) do
      if r.flow == opts.flow then nodes[r.node] = true end
    end
    wanted = function(r)
      if r.flow == opts.flow then return true end
      return type(r.flow) == "string" and not r.flow:find("-", 1, true)
        and r.flow:match(":(%d+)$") == port and nodes[r.node] == true
    end
  end

  local by_key, conns, open, list = {}, {}, {}, {}
  for _, r in ipairs(timeline) do
    if wanted(r) and r.event ~= "cwnd" and r.from_state ~= r.to_state and r.to_state then
      local key = tostring(r.node) .. "\0" .. tostring(r.conn)
      if not by_key[key] then
        by_key[key] = true
        conns[#conns + 1] = { key = key, node = r.node, conn = r.conn, flow = r.flow }
      end
      if open[key] then open[key].to = r.time_s end
      local iv = { key = key, node = r.node, conn = r.conn, flow = r.flow,
                   state = r.to_state, from = r.time_s }
      open[key] = iv
      list[#list + 1] = iv
    end
  end
  local out = {}
  for _, iv in ipairs(list) do
    iv.to = iv.to or math.max(stop, iv.from)
    if iv.state ~= "CLOSED" or opts.closed then out[#out + 1] = iv end
  end
  return out, conns
end
plot.intervals = public(intervals)

-- plot.states(timeline, out [, opts]) -> out, script | nil, message
--   timeline     rows or the path of a timeline.csv
--   out          the picture: ".png" (pngcairo) or ".svg"
--   opts.format  "png" or "svg" when out's extension does not say
--   opts.title   the picture's title (default "connection states")
--   opts.flow    only this connection and its listener
--   opts.stop    where the last state of a connection ends (seconds;
--                default: the last time in the timeline)
--   opts.xrange  { from, to }: the part of the time axis shown
--   opts.closed  true draws CLOSED intervals too
--   opts.label   function(connection) -> the row's label
--                (default "node #conn")
--   opts.width, opts.height  pixels (default 900 x fitted to the rows)
--   opts.font    (default "Sans,10")
--   opts.run     false writes the script and data without running gnuplot
--   opts.gnuplot the program (default $TCPLAB_GNUPLOT or "gnuplot")
plot.states = public(function(timeline, out, opts)
  opts = opts or {}
  check_keys(opts, {
    format = true, title = true, flow = true, stop = true, xrange = true, closed = true,
    label = true, width = true, height = true, font = true, run = true, gnuplot = true,
  }, "states")
  if type(out) ~= "string" then error("plot.states: out must be a file path", 0) end
  local _, name, base, ext = split_path(out)
  local format = opts.format or ext
  check_format(format)
  local ivs, conns = intervals(timeline, opts)

  local row_of = {}
  for i, c in ipairs(conns) do row_of[c.key] = i end
  local by_state = {}
  for _, iv in ipairs(ivs) do
    by_state[iv.state] = by_state[iv.state] or {}
    table.insert(by_state[iv.state], iv)
  end

  -- Data: one block per state (gnuplot's "index"), a bar per line.
  local data, plots, block = {}, {}, 0
  data[#data + 1] = "# tcplab state intervals: start_s end_s row (node conn flow)"
  local order = {}
  for _, s in ipairs(plot.states_order) do order[#order + 1] = s end
  local known = {}
  for _, s in ipairs(order) do known[s] = true end
  local unknown = {}
  for s in pairs(by_state) do if not known[s] then unknown[#unknown + 1] = s end end
  table.sort(unknown)
  for _, s in ipairs(unknown) do order[#order + 1] = s end
  for _, state in ipairs(order) do
    local ivs = by_state[state]
    if ivs then
      if block > 0 then data[#data + 1] = "\n" end
      data[#data + 1] = "# " .. state
      for _, iv in ipairs(ivs) do
        data[#data + 1] = ("%.9f %.9f %d  # %s %s %s"):format(
          iv.from, iv.to, row_of[iv.key], tostring(iv.node), tostring(iv.conn), tostring(iv.flow))
      end
      local colour = plot.state_colors[state] or "#000000"
      plots[#plots + 1] = ("%s index %d using (($1+$2)/2):3:(($2-$1)/2):(0.35) with boxxyerror fs solid 0.9 noborder lc rgb '%s' title %s")
        :format(gp_quote(base .. ".dat"), block, colour, gp_quote(state))
      block = block + 1
    end
  end
  if #plots == 0 then return nil, "plot.states: no state transitions to draw" end

  local label = opts.label or function(c) return tostring(c.node) .. " #" .. tostring(c.conn) end
  local tics = {}
  for i, c in ipairs(conns) do tics[#tics + 1] = ("%s %d"):format(gp_quote(label(c)), i) end
  local n = #conns
  local width = opts.width or 900
  local height = opts.height or math.min(2000, math.max(240, 130 + 28 * n))

  local s = {}
  s[#s + 1] = "# tcplab state timeline: one row per connection, one bar per state."
  s[#s + 1] = "# Bars are in " .. base .. ".dat, one block per state; run: gnuplot " .. base .. ".gp"
  s[#s + 1] = terminal(format, width, height, opts.font or "Sans,10")
  s[#s + 1] = "set output " .. gp_quote(name)
  s[#s + 1] = "set title " .. gp_quote(opts.title or "connection states")
  s[#s + 1] = "set xlabel 'time (s)'"
  -- The first connection at the top, as in a list.
  s[#s + 1] = ("set yrange [%.1f:0.4]"):format(n + 0.6)
  if n <= 40 then
    s[#s + 1] = "set ytics (" .. table.concat(tics, ", ") .. ")"
  else
    -- Too many rows to name: number them.
    s[#s + 1] = "set ylabel 'connection'"
  end
  s[#s + 1] = "set ytics nomirror"
  s[#s + 1] = "set grid xtics"
  -- The legend under the picture leaves its whole width to the bars.
  s[#s + 1] = "set key outside below center horizontal"
  if opts.xrange then
    s[#s + 1] = ("set xrange [%s:%s]"):format(num(opts.xrange[1]), num(opts.xrange[2]))
  end
  s[#s + 1] = "plot " .. table.concat(plots, ", \\\n     ")
  return produce(out, table.concat(s, "\n") .. "\n", table.concat(data, "\n") .. "\n", opts)
end)

-- --------------------------------------------------- congestion window

-- plot.cwnd(cwnd, out [, opts]) -> out, script | nil, message
--   cwnd          rows or the path of a cwnd.csv
--   out           the picture: ".png" (pngcairo) or ".svg"
--   opts.format   "png" or "svg" when out's extension does not say
--   opts.title    the picture's title (default "congestion window")
--   opts.flow     only this flow's rows (both of its ends)
--   opts.node     only this node's rows
--   opts.segments the MSS in bytes: windows drawn in segments of it
--                 (default: in bytes)
--   opts.xrange   { from, to }: the part of the time axis shown
--   opts.width, opts.height  pixels (default 900 x 500)
--   opts.font     (default "Sans,10")
--   opts.run, opts.gnuplot  as for plot.states
-- Each connection gets a solid step line for cwnd and a dashed one of
-- the same colour for ssthresh where it is set. A value holds until the
-- connection's next row; the last one until the last time drawn.
plot.cwnd = public(function(rows, out, opts)
  opts = opts or {}
  check_keys(opts, {
    format = true, title = true, flow = true, node = true, segments = true, xrange = true,
    width = true, height = true, font = true, run = true, gnuplot = true,
  }, "cwnd")
  if type(out) ~= "string" then error("plot.cwnd: out must be a file path", 0) end
  local function bad(name, what)
    error(("plot.cwnd: opts.%s must be %s, not %s"):format(name, what, tostring(opts[name])), 0)
  end
  for _, k in ipairs({ "title", "flow", "node", "font", "gnuplot" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then bad(k, "a string") end
  end
  -- A divisor: not 0, negative, NaN or infinite.
  local mss = opts.segments
  if mss ~= nil and not (type(mss) == "number" and mss > 0 and mss < math.huge) then
    bad("segments", "a positive number (the MSS in bytes)")
  end
  for _, k in ipairs({ "width", "height" }) do
    local v = opts[k]
    if v ~= nil and not (type(v) == "number" and v > 0 and v < math.huge and v == math.floor(v)) then
      bad(k, "a positive whole number of pixels")
    end
  end
  local xr = opts.xrange
  if xr ~= nil and not (type(xr) == "table" and type(xr[1]) == "number" and type(xr[2]) == "number") then
    bad("xrange", "a table { from, to } of two numbers")
  end
  if opts.run ~= nil and type(opts.run) ~= "boolean" then bad("run", "a boolean") end
  local _, name, base, ext = split_path(out)
  local format = opts.format or ext
  check_format(format)
  rows = load(rows, "cwnd")

  -- The rows drawn, by connection in order of first appearance.
  local conns, by_key, stop = {}, {}, -math.huge
  for _, r in ipairs(rows) do
    if type(r.time_s) == "number" and type(r.cwnd) == "number"
        and (opts.flow == nil or r.flow == opts.flow)
        and (opts.node == nil or r.node == opts.node) then
      local key = tostring(r.node) .. "\0" .. tostring(r.conn)
      local c = by_key[key]
      if not c then
        c = { node = r.node, conn = r.conn, flow = r.flow, rows = {} }
        by_key[key] = c
        conns[#conns + 1] = c
      end
      c.rows[#c.rows + 1] = r
      if r.time_s > stop then stop = r.time_s end
    end
  end
  if #conns == 0 then return nil, "plot.cwnd: no cwnd rows to draw" end

  local function point(t, v) return ("%.9f %s"):format(t, num(mss and v / mss or v)) end
  local unit = mss and ("segments of " .. num(mss) .. " bytes") or "bytes"

  -- Data: per connection a block of cwnd points, then one of ssthresh
  -- points if it ever had one (an empty block would upset gnuplot's
  -- index). Stretches without ssthresh split its block with a blank line,
  -- which gnuplot draws as a break.
  local data, plots, block = {}, {}, 0
  data[#data + 1] = "# tcplab congestion window: time_s value (" .. unit .. "), one block per line"
  local function add_block(title, lines, style)
    if block > 0 then data[#data + 1] = "\n" end
    data[#data + 1] = "# " .. title
    for _, l in ipairs(lines) do data[#data + 1] = l end
    plots[#plots + 1] = ("%s index %d using 1:2 with steps %s title %s")
      :format(gp_quote(base .. ".dat"), block, style, gp_quote(title))
    block = block + 1
  end
  for i, c in ipairs(conns) do
    local label = tostring(c.node) .. " #" .. tostring(c.conn)
    local cw, ss = {}, {}
    local last_ss -- the ssthresh of the stretch being drawn, if any
    for _, r in ipairs(c.rows) do
      cw[#cw + 1] = point(r.time_s, r.cwnd)
      if type(r.ssthresh) == "number" then
        if not last_ss and #ss > 0 then ss[#ss + 1] = "" end
        ss[#ss + 1] = point(r.time_s, r.ssthresh)
        last_ss = r.ssthresh
      elseif last_ss then
        -- The stretch's value holds up to this row.
        ss[#ss + 1] = point(r.time_s, last_ss)
        last_ss = nil
      end
    end
    -- A step line needs an end: the last value lasts to the last time
    -- drawn (a single row would be no line at all).
    local last = c.rows[#c.rows]
    if stop > last.time_s then
      cw[#cw + 1] = point(stop, last.cwnd)
      if last_ss then ss[#ss + 1] = point(stop, last_ss) end
    end
    local style = ("lw 1.5 lc %d"):format(i)
    add_block(label .. " cwnd", cw, style)
    if #ss > 0 then add_block(label .. " ssthresh", ss, style .. " dt 2") end
  end

  local s = {}
  s[#s + 1] = "# tcplab congestion window: cwnd (solid) and ssthresh (dashed) of each connection."
  s[#s + 1] = "# Steps are in " .. base .. ".dat, one block per line; run: gnuplot " .. base .. ".gp"
  s[#s + 1] = terminal(format, opts.width or 900, opts.height or 500, opts.font or "Sans,10")
  s[#s + 1] = "set output " .. gp_quote(name)
  s[#s + 1] = "set title " .. gp_quote(opts.title or "congestion window")
  s[#s + 1] = "set xlabel 'time (s)'"
  s[#s + 1] = "set ylabel " .. gp_quote(unit)
  -- From 0, so that a halving looks like one; room above the top line,
  -- which the border would hide.
  s[#s + 1] = "set yrange [0:*]"
  s[#s + 1] = "set offsets 0, 0, graph 0.05, 0"
  s[#s + 1] = "set grid"
  s[#s + 1] = "set key outside below center horizontal"
  if xr then
    s[#s + 1] = ("set xrange [%s:%s]"):format(num(xr[1]), num(xr[2]))
  end
  s[#s + 1] = "plot " .. table.concat(plots, ", \\\n     ")
  return produce(out, table.concat(s, "\n") .. "\n", table.concat(data, "\n") .. "\n", opts)
end)

-- --------------------------------------------------- swept parameters

-- Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom,
-- then a few larger ones; between table entries the smaller df's value is
-- used, which errs on the wide side.
local T95 = {
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
  2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
}
local T95_LARGE = { { 40, 2.021 }, { 60, 2.000 }, { 120, 1.980 } }

function plot.t95(df)
  if df < 1 then return nil end
  if df <= 30 then return T95[df] end
  local t = T95[30]
  for _, e in ipairs(T95_LARGE) do
    if df >= e[1] then t = e[2] end
  end
  if df > 1000 then t = 1.960 end
  return t
end

-- Numbers before strings, each in their natural order (also the order
-- of sweep points).
local function value_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta == "number" end
  return a < b
end
plot.value_less = value_less

-- plot.summarize(rows, x, y [, group]) -> groups
-- The mean and 95 % confidence interval of column y for each value of
-- column x (and of column group): a list of
--   { value = group value (nil without group),
--     points = { { x =, n =, mean =, sd =, ci = half width }, ... } }
-- sorted by group value and x. Rows whose y is nil (a run that produced
-- no value, e.g. no handshake) are left out; with one value the interval
-- is 0.
function plot.summarize(rows, x, y, group)
  local groups, gorder = {}, {}
  for _, r in ipairs(rows) do
    local xv, yv = r[x], r[y]
    if xv ~= nil and type(yv) == "number" then
      local gv = group and r[group]
      local gk = gv == nil and "" or gv
      local g = groups[gk]
      if not g then
        g = { value = gv, by_x = {}, xs = {} }
        groups[gk] = g
        gorder[#gorder + 1] = g
      end
      local p = g.by_x[xv]
      if not p then
        p = { x = xv, values = {} }
        g.by_x[xv] = p
        g.xs[#g.xs + 1] = xv
      end
      table.insert(p.values, yv)
    end
  end
  table.sort(gorder, function(a, b)
    if a.value == nil or b.value == nil then return b.value ~= nil end
    return value_less(a.value, b.value)
  end)
  local out = {}
  for _, g in ipairs(gorder) do
    table.sort(g.xs, value_less)
    local points = {}
    for _, xv in ipairs(g.xs) do
      local vals = g.by_x[xv].values
      local sum = 0
      for _, v in ipairs(vals) do sum = sum + v end
      local mean = sum / #vals
      local ss = 0
      for _, v in ipairs(vals) do ss = ss + (v - mean) ^ 2 end
      local sd = #vals > 1 and math.sqrt(ss / (#vals - 1)) or 0
      local ci = #vals > 1 and plot.t95(#vals - 1) * sd / math.sqrt(#vals) or 0
      points[#points + 1] = { x = xv, n = #vals, mean = mean, sd = sd, ci = ci }
    end
    out[#out + 1] = { value = g.value, points = points }
  end
  return out
end

-- plot.metric(rows, opts) -> out, script | nil, message
--   rows         one row per run (a list of tables or a CSV path), with
--                the parameters and the metric as columns
--   opts.x       the parameter on the x axis (required)
--   opts.y       the metric (required)
--   opts.group   a second parameter: one line per value
--   opts.out     the picture, ".png" or ".svg" (required)
--   opts.format, opts.title, opts.xlabel, opts.ylabel
--   opts.logx, opts.logy  logarithmic axes
--   opts.width, opts.height (default 800 x 500), opts.font
--   opts.run, opts.gnuplot  as for plot.states
-- x values that are all numbers make a numeric axis; otherwise each value
-- is a category, in sorted order.
plot.metric = public(function(rows, opts)
  opts = opts or {}
  check_keys(opts, {
    x = true, y = true, group = true, out = true, format = true, title = true,
    xlabel = true, ylabel = true, logx = true, logy = true, width = true,
    height = true, font = true, run = true, gnuplot = true,
  }, "metric")
  for _, k in ipairs({ "x", "y", "out" }) do
    if type(opts[k]) ~= "string" then error("plot.metric: opts." .. k .. " must be a string", 0) end
  end
  local _, name, base, ext = split_path(opts.out)
  local format = opts.format or ext
  check_format(format)
  rows = load(rows, "rows")
  local groups = plot.summarize(rows, opts.x, opts.y, opts.group)
  if #groups == 0 then
    return nil, ("plot.metric: no rows with both %s and %s"):format(opts.x, opts.y)
  end

  -- Categories for x values that are not all numbers.
  local numeric, cats, pos = true, {}, {}
  for _, g in ipairs(groups) do
    for _, p in ipairs(g.points) do
      if type(p.x) ~= "number" then numeric = false end
      if pos[p.x] == nil then
        pos[p.x] = true
        cats[#cats + 1] = p.x
      end
    end
  end
  if not numeric then
    table.sort(cats, value_less)
    for i, v in ipairs(cats) do pos[v] = i end
  end

  local data, plots = {}, {}
  data[#data + 1] = ("# tcplab sweep: %s against %s, mean and 95%% confidence interval"):format(opts.y, opts.x)
  data[#data + 1] = "# x mean ci_low ci_high n sd"
  for i, g in ipairs(groups) do
    if i > 1 then data[#data + 1] = "\n" end
    local title = g.value == nil and opts.y or (opts.group .. "=" .. tostring(g.value))
    data[#data + 1] = "# " .. title
    for _, p in ipairs(g.points) do
      local xv = numeric and p.x or pos[p.x]
      data[#data + 1] = table.concat({
        num(xv), num(p.mean), num(p.mean - p.ci), num(p.mean + p.ci), num(p.n), num(p.sd),
      }, " ")
    end
    plots[#plots + 1] = ("%s index %d using 1:2:3:4 with yerrorlines lw 1.5 pt 7 ps 0.8 title %s")
      :format(gp_quote(base .. ".dat"), i - 1, gp_quote(title))
  end

  local s = {}
  s[#s + 1] = ("# tcplab sweep: %s against %s; error bars are 95%% confidence intervals."):format(opts.y, opts.x)
  s[#s + 1] = "# Points are in " .. base .. ".dat, one block per line; run: gnuplot " .. base .. ".gp"
  s[#s + 1] = terminal(format, opts.width or 800, opts.height or 500, opts.font or "Sans,10")
  s[#s + 1] = "set output " .. gp_quote(name)
  s[#s + 1] = "set title " .. gp_quote(opts.title or (opts.y .. " against " .. opts.x))
  s[#s + 1] = "set xlabel " .. gp_quote(opts.xlabel or opts.x)
  s[#s + 1] = "set ylabel " .. gp_quote(opts.ylabel or opts.y)
  s[#s + 1] = "set grid"
  s[#s + 1] = "set key top left"
  if opts.logx then s[#s + 1] = "set logscale x" end
  if opts.logy then s[#s + 1] = "set logscale y" end
  if not numeric then
    local tics = {}
    for i, v in ipairs(cats) do tics[#tics + 1] = ("%s %d"):format(gp_quote(tostring(v)), i) end
    s[#s + 1] = "set xtics (" .. table.concat(tics, ", ") .. ")"
    s[#s + 1] = ("set xrange [0.5:%.1f]"):format(#cats + 0.5)
  else
    -- Room beside the outermost error bars.
    s[#s + 1] = "set offsets graph 0.03, graph 0.03, graph 0.05, 0"
  end
  s[#s + 1] = "plot " .. table.concat(plots, ", \\\n     ")
  return produce(opts.out, table.concat(s, "\n") .. "\n", table.concat(data, "\n") .. "\n", opts)
end)

return plot
