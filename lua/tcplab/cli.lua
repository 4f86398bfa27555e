-- tcplab.cli: the parts of the tcplab command written in Lua: giving a
-- script its parameters, writing the metrics it returns, and the plot
-- subcommand. The command (lua/src/tcplab-cmd.c) parses `run`'s
-- arguments, runs the script and calls these.

local tcplab = require("tcplab")

local cli = {}

local fmt = string.format

-- cli.prepare{ seed = n, out = dir, sets = { {name, text}, ... } }: what
-- the script finds in tcplab.seed, tcplab.out and tcplab.params.
function cli.prepare(o)
  tcplab.seed = o.seed
  tcplab.out = o.out
  local params = {}
  for _, kv in ipairs(o.sets) do
    params[kv[1]] = tcplab.value(kv[2])
  end
  tcplab.params = params
end

-- cli.metrics(result, out): a script's returned table of metrics, name ->
-- number, string or boolean, written to out/metrics.csv (name,value,
-- sorted by name) and printed. Returns nil, message for a bad table.
function cli.metrics(result, out)
  local names = {}
  for k, v in pairs(result) do
    if type(k) ~= "string" then
      return nil, fmt("the returned metrics table has a key %s: metric names must be strings", tostring(k))
    end
    local t = type(v)
    if t ~= "number" and t ~= "string" and t ~= "boolean" then
      return nil, fmt("metric '%s' is a %s: metrics must be numbers, strings or booleans", k, t)
    end
    names[#names + 1] = k
  end
  table.sort(names)
  local csv = require("tcplab.csv")
  local rows = {}
  for i, k in ipairs(names) do rows[i] = { name = k, value = result[k] } end
  local path = out .. "/metrics.csv"
  local ok, err = csv.write(path, rows, { "name", "value" })
  if not ok then return nil, "cannot write " .. path .. ": " .. tostring(err) end
  for _, row in ipairs(rows) do
    local v = row.value
    print(fmt("%s = %s", row.name, type(v) == "number" and csv.number(v) or tostring(v)))
  end
  return true
end

local PLOT_USAGE = [[
usage: tcplab plot states TIMELINE.csv OUT.(png|svg) [--flow FLOW] [--title TEXT]
                          [--stop SECONDS] [--closed]
       tcplab plot cwnd CWND.csv OUT.(png|svg) [--flow FLOW] [--node NODE]
                          [--segments MSS] [--title TEXT]
       tcplab plot metric SUMMARY.csv --x PARAM --y METRIC [--group PARAM]
                          [--title TEXT] [--logx] [--logy] OUT.(png|svg)]]

-- Splits argv into positional arguments and --options; `flags` are the
-- options without a value. Returns nil, message for an unknown option.
local function parse(args, first, valued, flags)
  local pos, opt = {}, {}
  local i = first
  while i <= #args do
    local a = args[i]
    local name = a:match("^%-%-(.+)$")
    if name then
      if flags[name] then
        opt[name] = true
      elseif valued[name] then
        if args[i + 1] == nil then return nil, "--" .. name .. " needs a value" end
        opt[name] = args[i + 1]
        i = i + 1
      else
        return nil, "unknown option --" .. name
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return pos, opt
end

-- cli.plot(args) -> exit status; args are the command's arguments after
-- "plot".
function cli.plot(args)
  local plot = require("tcplab.plot")
  local kind = args[1]
  local function usage(msg)
    io.stderr:write("tcplab plot: ", msg, "\n", PLOT_USAGE, "\n")
    return 2
  end
  local r
  if kind == "states" then
    local pos, opt = parse(args, 2, { flow = true, title = true, stop = true }, { closed = true })
    if not pos then return usage(opt) end
    if #pos ~= 2 then return usage("states takes TIMELINE.csv and OUT") end
    local stop
    if opt.stop then
      stop = tcplab.time(opt.stop)
      if not stop then return usage("--stop must be a time, e.g. 60 or 60s") end
    end
    r = table.pack(pcall(plot.states, pos[1], pos[2], {
      flow = opt.flow, title = opt.title, stop = stop, closed = opt.closed,
    }))
  elseif kind == "cwnd" then
    local pos, opt = parse(args, 2, { flow = true, node = true, segments = true, title = true }, {})
    if not pos then return usage(opt) end
    if #pos ~= 2 then return usage("cwnd takes CWND.csv and OUT") end
    local segments
    if opt.segments then
      segments = tonumber(opt.segments)
      if not (segments and segments > 0 and segments < math.huge) then
        return usage("--segments must be a positive number of bytes (the MSS), e.g. 1460")
      end
    end
    r = table.pack(pcall(plot.cwnd, pos[1], pos[2], {
      flow = opt.flow, node = opt.node, segments = segments, title = opt.title,
    }))
  elseif kind == "metric" then
    local pos, opt = parse(args, 2, { x = true, y = true, group = true, title = true },
      { logx = true, logy = true })
    if not pos then return usage(opt) end
    if #pos ~= 2 then return usage("metric takes SUMMARY.csv and OUT") end
    if not opt.x or not opt.y then return usage("metric needs --x and --y") end
    r = table.pack(pcall(plot.metric, pos[1], {
      x = opt.x, y = opt.y, group = opt.group, title = opt.title, out = pos[2],
      logx = opt.logx, logy = opt.logy,
    }))
  elseif kind == nil or kind == "--help" or kind == "-h" then
    io.stdout:write(PLOT_USAGE, "\n")
    return kind == nil and 2 or 0
  else
    return usage(fmt("unknown plot %q: states, cwnd or metric", kind))
  end
  -- plot.* return the picture's path, or nil and a message; mistakes in
  -- arguments are raised.
  if r[1] and r[2] then
    print(r[2])
    return 0
  end
  io.stderr:write("tcplab plot: ", tostring(r[1] and r[3] or r[2]), "\n")
  return 1
end

return cli
