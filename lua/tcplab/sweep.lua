-- tcplab.sweep: the parts of `tcplab sweep` written in Lua. The command
-- (lua/src/sweep.c) starts the runs, keeps their results in SQLite and
-- calls these for what is easier said in Lua:
--
--   sweep.plan        the grid: --param values and ranges, point ids,
--                     per-run seeds, the list of runs
--   sweep.aggregate   summary.csv, runs.csv and a plot per metric
--   sweep.sbatch      the Slurm job-array script
--
-- Only tcplab.csv and tcplab.plot are required here, never the
-- simulation module: the command that coordinates a sweep runs no
-- simulation itself and should start in milliseconds.

local csv = require("tcplab.csv")
local plot = require("tcplab.plot")

local sweep = {}

local fmt = string.format

-- ------------------------------------------------------------- values

-- Units of time as tcplab's time arguments take them, in nanoseconds.
local NS_PER = { ns = 1, us = 1e3, ms = 1e6, s = 1e9, min = 60e9, h = 3600e9 }

local function is_decimal(s)
  if s:match("^[-+]?%d+$") then return true end
  if s:match("^[-+]?%d*%.?%d*[eE][-+]?%d+$") or s:match("^[-+]?%d*%.%d*$") then
    return s:match("%d") ~= nil
  end
  return false
end

-- The shortest text that reads back as the same number: "0.10" and
-- "1e-1" are both "0.1", so that the same value always names the same
-- point (and gets the same seeds).
local function number_text(x)
  if math.type(x) == "integer" then return tostring(x) end
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return fmt("%d", x) end
  return csv.number(x)
end

-- sweep.normalize(text) -> the canonical text of a parameter value:
-- numbers in their shortest form, anything else (20ms, cubic) as given.
function sweep.normalize(text)
  if is_decimal(text) then
    local x = tonumber(text)
    if x and x == x and math.abs(x) ~= math.huge then return number_text(x) end
  end
  return text
end

-- "20ms" -> 20, "ms"; "0.5" -> 0.5, ""; nil for anything else.
local function number_unit(text)
  local num, unit = text:match("^([-+]?[%d.]+[eE]?[-+]?%d*)(%a*)$")
  local x = num and tonumber(num)
  if not x then return nil end
  if unit ~= "" and not NS_PER[unit] then return nil end
  return x, unit
end

-- sweep.seconds(text) -> seconds for a time with a unit ("20ms" ->
-- 0.02), else nil.
function sweep.seconds(text)
  if type(text) ~= "string" then return nil end
  local x, unit = number_unit(text)
  if not x or unit == "" then return nil end
  return x * NS_PER[unit] / 1e9
end

local MAX_VALUES = 100000

-- START:STOP:STEP -> the list of values, or nil and a message. Times
-- (any of the three with a unit) are counted in integer nanoseconds and
-- written in the first unit given, so 20ms:60ms:20ms is 20ms, 40ms,
-- 60ms; plain numbers are rounded to 12 significant digits, so
-- 0:0.3:0.1 ends at 0.3, not short of it.
local function expand_range(spec)
  local parts = {}
  for p in (spec .. ":"):gmatch("([^:]*):") do parts[#parts + 1] = p end
  if #parts ~= 3 then return nil, "a range is START:STOP:STEP" end
  local xs, units, unit = {}, {}, nil
  for i, p in ipairs(parts) do
    local x, u = number_unit(p)
    if not x then
      return nil, fmt("'%s' in range %s is not a number or a time such as 20ms", p, spec)
    end
    xs[i], units[i] = x, u
    if u ~= "" and not unit then unit = u end
  end
  local start, stop, step = xs[1], xs[2], xs[3]
  if unit then
    for i = 1, 3 do xs[i] = math.floor(xs[i] * NS_PER[units[i] ~= "" and units[i] or unit] + 0.5) end
    start, stop, step = xs[1], xs[2], xs[3]
  end
  if not (step > 0) then return nil, fmt("the step of range %s must be positive", spec) end
  if stop < start then return nil, fmt("range %s ends before it starts", spec) end
  local n = math.floor((stop - start) / step + 1e-9) + 1
  if n > MAX_VALUES then return nil, fmt("range %s has %d values: too many", spec, n) end
  local values = {}
  for k = 0, n - 1 do
    if unit then
      local ns = start + k * step
      values[#values + 1] = number_text(tonumber(fmt("%.12g", ns / NS_PER[unit]))) .. unit
    else
      values[#values + 1] = sweep.normalize(fmt("%.12g", start + k * step))
    end
  end
  return values
end

local function valid_name(s)
  return s:match("^[%a_.-][%w_.-]*$") ~= nil
end

-- sweep.parse_param("NAME=V1,V2" or "NAME=START:STOP:STEP") -> name,
-- values | nil, message
function sweep.parse_param(spec)
  local name, rest = spec:match("^([^=]*)=(.*)$")
  if not name or not valid_name(name) then
    return nil, fmt("--param takes NAME=V1,V2,... or NAME=START:STOP:STEP (NAME a word such as loss), not '%s'", spec)
  end
  local values
  if rest:find(":", 1, true) and not rest:find(",", 1, true) then
    local err
    values, err = expand_range(rest)
    if not values then return nil, fmt("--param %s: %s", name, err) end
  else
    values = {}
    for v in (rest .. ","):gmatch("([^,]*),") do
      v = v:match("^%s*(.-)%s*$")
      if v == "" then return nil, fmt("--param %s: an empty value in '%s'", name, rest) end
      values[#values + 1] = sweep.normalize(v)
    end
  end
  local seen = {}
  for _, v in ipairs(values) do
    if seen[v] then return nil, fmt("--param %s: value %s appears twice", name, v) end
    seen[v] = true
  end
  return name, values
end

-- ----------------------------------------------------- points and seeds

-- FNV-1a over the bytes, 64 bits (Lua integers wrap around).
local function fnv1a64(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 0x100000001b3
  end
  return h
end

-- SplitMix64's finaliser: every input bit moves about half the output.
local function mix64(z)
  z = (z ~ (z >> 30)) * -4658895280553007687 -- 0xbf58476d1ce4e5b9
  z = (z ~ (z >> 27)) * -7723592293110705685 -- 0x94d049bb133111eb
  return z ~ (z >> 31)
end

-- sweep.seed(sweep_seed, point_id, run) -> the run's seed, in [0, 2^63).
-- It depends on the point's values, not on its place in the grid, so a
-- point added to a sweep changes no other point's seeds.
function sweep.seed(sweep_seed, point, run)
  return mix64(fnv1a64(fmt("tcplab-sweep\0%d\0%s\0%d", sweep_seed, point, run))) & math.maxinteger
end

-- Characters that stay as they are in a point id, which is also a
-- directory name; the others (and %) become %XX.
local function escape(s)
  return (s:gsub("[^%w._+=,-]", function(c) return fmt("%%%02X", c:byte()) end))
end

local MAX_ID = 200 -- well below NAME_MAX (255) for a directory

-- sweep.point_id(values) -> "delay=20ms,loss=0.1": the point's values
-- sorted by parameter name, so that neither the order of --param nor the
-- place in the grid matters. An id too long for a directory name is a
-- hash of it instead.
function sweep.point_id(values)
  local names = {}
  for k in pairs(values) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = k .. "=" .. values[k] end
  local id = escape(table.concat(parts, ","))
  if #id > MAX_ID then id = fmt("h%016x", fnv1a64(id)) end
  return id
end

-- sweep.plan{ params = { "NAME=SPEC", ... }, runs = n, seed = s }
--   -> plan | nil, message
-- plan.names   parameter names in command-line order
-- plan.points  { id =, sets = { "NAME=VALUE", ... } } for every point of
--              the cartesian product, the first parameter varying
--              slowest
-- plan.tasks   { point = index into points, run = 1..n, seed = }, run 1
--              of every point first, then run 2, ...: an interrupted
--              sweep has results for every point early
function sweep.plan(o)
  local names, lists, seen = {}, {}, {}
  for _, spec in ipairs(o.params) do
    local name, values = sweep.parse_param(spec)
    if not name then return nil, values end
    if seen[name] then return nil, fmt("--param %s is given twice", name) end
    seen[name] = true
    names[#names + 1] = name
    lists[#lists + 1] = values
  end
  if #names == 0 then return nil, "sweep needs at least one --param NAME=V1,V2,..." end
  local count = 1
  for _, l in ipairs(lists) do count = count * #l end
  if count * o.runs > 10000000 then
    return nil, fmt("%d points x %d runs: too many runs for one sweep", count, o.runs)
  end

  local points = {}
  local idx = {}
  for i = 1, #lists do idx[i] = 1 end
  for _ = 1, count do
    local values, sets = {}, {}
    for i, name in ipairs(names) do
      values[name] = lists[i][idx[i]]
      sets[i] = name .. "=" .. values[name]
    end
    points[#points + 1] = { id = sweep.point_id(values), sets = sets }
    for i = #lists, 1, -1 do
      idx[i] = idx[i] + 1
      if idx[i] <= #lists[i] then break end
      idx[i] = 1
    end
  end

  local tasks = {}
  for run = 1, o.runs do
    for p, point in ipairs(points) do
      tasks[#tasks + 1] = { point = p, run = run, seed = sweep.seed(o.seed, point.id, run) }
    end
  end
  return { names = names, points = points, tasks = tasks }
end

-- ---------------------------------------------------------- aggregates

local value_less = plot.value_less

-- A metric as a number for statistics: booleans (stored as text) count
-- as 1 and 0, so their mean is a proportion; other text is no number.
local function numeric(v)
  if type(v) == "number" then return v end
  if v == "true" or v == true then return 1 end
  if v == "false" or v == false then return 0 end
  return nil
end

-- Sums are taken of the differences from the first value: twenty runs of
-- 0.20008 have the mean 0.20008 and the deviation 0, not
-- 0.2000799999999999 and 1e-16.
local function stats(values)
  local n = #values
  local shift = values[1]
  local sum = 0
  for _, v in ipairs(values) do sum = sum + (v - shift) end
  local dmean = sum / n
  local mean = shift + dmean
  if n < 2 then return { n = n, mean = mean } end
  local ss = 0
  for _, v in ipairs(values) do ss = ss + ((v - shift) - dmean) ^ 2 end
  local sd = math.sqrt(ss / (n - 1))
  local ci = plot.t95(n - 1) * sd / math.sqrt(n)
  return { n = n, mean = mean, sd = sd, ci = ci }
end

local function file_name(s)
  return (s:gsub("[^%w._-]", "_"))
end

-- sweep.aggregate{ dir =, names = { param, ... }, rows = { run, ... },
--                  plots = true } -> files, warnings
-- rows come from the database, one per recorded run:
--   { point =, run =, seed =, status =, started =, ended =, error =,
--     params = { name = value }, metrics = { name = value } }
-- Writes dir/runs.csv (every run, parameters and metrics as columns),
-- dir/summary.csv (per point and metric over the done runs: count, mean,
-- standard deviation, 95 % confidence interval from Student's t) and,
-- unless plots is false, dir/plots/METRIC.png for each numeric metric
-- against the first parameter, one line per value of the second.
-- A missing gnuplot or a failed plot is a warning, not an error: the
-- numbers are what a sweep is for.
function sweep.aggregate(o)
  local dir, rows = o.dir, o.rows
  local files, warnings = {}, {}

  -- Parameters: the sweep's, then any other found in merged runs.
  local names, known = {}, {}
  for _, n in ipairs(o.names) do
    names[#names + 1] = n
    known[n] = true
  end
  local extra, metric_set = {}, {}
  for _, r in ipairs(rows) do
    for k in pairs(r.params) do
      if not known[k] then
        known[k] = true
        extra[#extra + 1] = k
      end
    end
    for k in pairs(r.metrics) do metric_set[k] = true end
  end
  table.sort(extra)
  for _, n in ipairs(extra) do names[#names + 1] = n end
  local metrics = {}
  for k in pairs(metric_set) do metrics[#metrics + 1] = k end
  table.sort(metrics)

  -- Runs in grid order: by parameter values, then run.
  local function point_less(a, b)
    for _, n in ipairs(names) do
      local x, y = a.params[n], b.params[n]
      if x ~= y then
        if x == nil or y == nil then return y ~= nil end
        return value_less(x, y)
      end
    end
    return false
  end
  table.sort(rows, function(a, b)
    if a.point ~= b.point then
      -- The ids decide between points whose values compare equal, so
      -- that the runs of a point are always next to each other.
      if point_less(a, b) then return true end
      if point_less(b, a) then return false end
      return a.point < b.point
    end
    return a.run < b.run
  end)

  -- runs.csv: what `tcplab plot metric` takes.
  local reserved = { point = true, run = true, seed = true, status = true, wall_s = true, error = true }
  local run_rows, columns = {}, { "point", "run", "seed", "status" }
  for _, n in ipairs(names) do columns[#columns + 1] = n end
  local metric_col = {}
  for _, m in ipairs(metrics) do
    -- A metric named like a parameter or a run column gets a prefix.
    local col = (known[m] or reserved[m]) and ("metric_" .. m) or m
    metric_col[m] = col
    columns[#columns + 1] = col
  end
  columns[#columns + 1] = "wall_s"
  columns[#columns + 1] = "error"
  for _, r in ipairs(rows) do
    local row = { point = r.point, run = r.run, seed = r.seed, status = r.status,
                  wall_s = r.ended and r.started and (r.ended - r.started) or nil,
                  error = r.error and r.error:match("([^\n]*)\n*$") }
    for _, n in ipairs(names) do row[n] = r.params[n] end
    for m, v in pairs(r.metrics) do row[metric_col[m]] = v end
    run_rows[#run_rows + 1] = row
  end
  local ok, err = csv.write(dir .. "/runs.csv", run_rows, columns, { formats = { wall_s = "%.3f" } })
  if not ok then error("cannot write " .. dir .. "/runs.csv: " .. tostring(err), 0) end
  files[#files + 1] = dir .. "/runs.csv"

  -- summary.csv: one row per point and numeric metric, over done runs.
  local summary, scols = {}, {}
  for _, n in ipairs(names) do scols[#scols + 1] = n end
  for _, c in ipairs { "metric", "count", "mean", "sd", "ci95", "ci95_low", "ci95_high" } do
    scols[#scols + 1] = c
  end
  local i = 1
  while i <= #rows do
    local j = i
    while j + 1 <= #rows and rows[j + 1].point == rows[i].point do j = j + 1 end
    for _, m in ipairs(metrics) do
      local values = {}
      for k = i, j do
        local r = rows[k]
        local v = r.status == "done" and numeric(r.metrics[m])
        if v then values[#values + 1] = v end
      end
      if #values > 0 then
        local s = stats(values)
        local row = { metric = m, count = s.n, mean = s.mean, sd = s.sd, ci95 = s.ci,
                      ci95_low = s.ci and s.mean - s.ci, ci95_high = s.ci and s.mean + s.ci }
        for _, n in ipairs(names) do row[n] = rows[i].params[n] end
        summary[#summary + 1] = row
      end
    end
    i = j + 1
  end
  ok, err = csv.write(dir .. "/summary.csv", summary, scols)
  if not ok then error("cannot write " .. dir .. "/summary.csv: " .. tostring(err), 0) end
  files[#files + 1] = dir .. "/summary.csv"

  if o.plots == false then return files, warnings end

  -- Plots: a time-valued parameter (20ms) becomes seconds, so that the
  -- axis is numeric and its lines come in order.
  local function axis(name)
    if not name then return nil end
    for _, r in ipairs(rows) do
      local v = r.params[name]
      if v ~= nil and not sweep.seconds(v) then return { name = name, col = name, label = name } end
    end
    return { name = name, col = name .. "_s", label = name .. " (s)", seconds = true }
  end
  local x, g = axis(names[1]), axis(names[2])
  local function value(ax, r)
    local v = r.params[ax.name]
    if ax.seconds then return sweep.seconds(v) end
    return v
  end
  for _, m in ipairs(metrics) do
    local prow, plottable, count = {}, true, 0
    for _, r in ipairs(rows) do
      if r.status == "done" and r.metrics[m] ~= nil then
        local v = numeric(r.metrics[m])
        if v == nil then plottable = false end
        local row = { [x.col] = value(x, r), [m] = v }
        if g then row[g.col] = value(g, r) end
        prow[#prow + 1] = row
        count = count + 1
      end
    end
    if plottable and count > 0 then
      local out = dir .. "/plots/" .. file_name(m) .. ".png"
      local pok, picture, perr = pcall(plot.metric, prow, {
        x = x.col, y = m, group = g and g.col, out = out, xlabel = x.label,
        title = fmt("%s against %s: mean and 95%% confidence interval", m, x.name),
      })
      if pok and picture then
        files[#files + 1] = picture
      else
        warnings[#warnings + 1] = fmt("no plot of %s: %s", m, tostring(pok and perr or picture))
        if not pok or tostring(perr):find("gnuplot not found", 1, true) then break end
      end
    end
  end
  return files, warnings
end

-- -------------------------------------------------------------- Slurm

local function sh_quote(s)
  if s:match("^[%w_./:=,+-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- sweep.sbatch{ command = { exe, "sweep", ... }, merge = { exe, ... },
--               dir =, tasks = m, runs = n, name = }
--   -> the text of a job-array script
-- Array task K runs `tcplab sweep ... --task K --of m`: every m-th run
-- of the sweep, starting at the K-th, on as many cores as Slurm gives
-- it, into its own database dir/tasks/K/sweep.db (see sweep.c for why
-- not the shared one); `tcplab sweep --merge dir` folds them together.
function sweep.sbatch(o)
  local function line(args)
    local q = {}
    for i, a in ipairs(args) do q[i] = sh_quote(a) end
    return table.concat(q, " ")
  end
  local lines = {
    "#!/bin/sh",
    fmt("# tcplab sweep of %s: %d runs in a job array of %d tasks.", o.name, o.runs, o.tasks),
    "# Written by `tcplab sweep --backend slurm`, which submits it when",
    "# sbatch is there, followed by a job that merges the tasks' results:",
    fmt("#   id=$(sbatch --parsable %s)", sh_quote(o.dir .. "/sweep.sbatch")),
    fmt("#   sbatch --dependency=afterany:${id%%%%;*} --output=%s --wrap=%s",
      sh_quote(o.dir .. "/slurm/merge-%j.out"), sh_quote(line(o.merge))),
    "# Every host needs the same paths: tcplab, the script and the output",
    "# directory on a shared file system.",
    fmt("#SBATCH --job-name=%s", sh_quote("tcplab-" .. o.name)),
    fmt("#SBATCH --array=1-%d", o.tasks),
    fmt("#SBATCH --output=%s", sh_quote(o.dir .. "/slurm/%A_%a.out")),
    "#SBATCH --ntasks=1",
    fmt("exec %s --task \"$SLURM_ARRAY_TASK_ID\" --of %d --jobs \"${SLURM_CPUS_PER_TASK:-1}\"",
      line(o.command), o.tasks),
  }
  return table.concat(lines, "\n") .. "\n"
end

return sweep
