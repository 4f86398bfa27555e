-- Runs one experiment the way a student does and checks its claim in the
-- files it writes:
--
--   lua5.4 experiment_check.lua TCPLAB_COMMAND SCRIPT CHECKER [--set NAME=VALUE]...
--
-- The script runs through `tcplab run SCRIPT --out DIR` into a fresh
-- temporary directory; then CHECKER, a Lua file returning
-- function(X, out, stdout), reads DIR's CSV files through X (below) and
-- asserts. The directory is removed when every check passes and kept (its
-- path printed) when one fails. LUA_PATH must reach lua/ for tcplab.csv.
--
-- Times in tcplab's CSV files are whole nanoseconds written with nine
-- decimals. X reads them as integers of nanoseconds (the *_ns fields), so
-- that "exactly 1 s later" is an equality of integers, not of floats.

local csv = require("tcplab.csv")

local command, script, checker = arg[1], arg[2], arg[3]
if not (command and script and checker) then
  io.stderr:write("usage: lua5.4 experiment_check.lua TCPLAB_COMMAND SCRIPT CHECKER [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local X = { failures = 0 }

function X.check(cond, msg)
  if not cond then
    X.failures = X.failures + 1
    io.stderr:write("FAIL ", msg or "check failed", "\n")
  end
  return cond
end

local function show(v) return type(v) == "string" and ("%q"):format(v) or tostring(v) end
X.show = show

function X.eq(got, want, what)
  return X.check(got == want, ("%s: expected %s, got %s"):format(what, show(want), show(got)))
end

-- "2.020040000" -> 2020040000: seconds with up to nine decimals as
-- integer nanoseconds (nil stays nil).
function X.ns(s)
  if s == nil then return nil end
  local whole, frac = tostring(s):match("^(%d+)%.?(%d*)$")
  assert(whole, "not a time: " .. tostring(s))
  return math.tointeger(whole) * 1000000000 + math.tointeger((frac .. "000000000"):sub(1, 9))
end

X.S = 1000000000 -- one second in nanoseconds

local TIME_COLUMNS = {
  "time_s", "open_s", "established_s", "handshake_s", "close_s", "closed_s",
}

-- X.read("timeline") -> rows of out/timeline.csv. Time columns stay the
-- strings of the file and gain an integer twin: time_s -> time_ns.
function X.read(name, out)
  local path = (out or X.out) .. "/" .. name .. ".csv"
  local rows, err = csv.read(path, {
    strings = { "time_s", "open_s", "established_s", "handshake_s", "close_s", "closed_s",
      "node", "from_node", "to_node", "link" },
  })
  assert(rows, err)
  for _, r in ipairs(rows) do
    for _, c in ipairs(TIME_COLUMNS) do
      if type(r[c]) == "string" and r[c]:match("^%d+%.%d+$") then
        r[c:gsub("_s$", "") .. "_ns"] = X.ns(r[c])
      end
    end
  end
  return rows
end

-- out/metrics.csv as a table name -> value (numbers typed).
function X.metrics()
  local m = {}
  for _, r in ipairs(X.read("metrics")) do m[r.name] = r.value end
  return m
end

-- The rows that match every column = value of filter.
function X.where(rows, filter)
  local out = {}
  for _, r in ipairs(rows) do
    local ok = true
    for k, v in pairs(filter) do
      if r[k] ~= v then ok = false break end
    end
    if ok then out[#out + 1] = r end
  end
  return out
end

function X.first(rows, filter) return X.where(rows, filter)[1] end

-- The states a connection went through, joined with " > ", from its
-- timeline rows (the first row's from_state, then every to_state that
-- changes the state).
function X.states(timeline, node, conn)
  local list = {}
  for _, r in ipairs(timeline) do
    if r.node == node and r.conn == conn then
      if #list == 0 then list[1] = r.from_state end
      if r.to_state ~= r.from_state then list[#list + 1] = r.to_state end
    end
  end
  return table.concat(list, " > ")
end

-- A picture the experiment drew: present and not empty.
function X.nonempty(name)
  local f = io.open(X.out .. "/" .. name, "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  return X.check(size > 0, name .. ": missing or empty")
end

-- ------------------------------------------------------------- the run

-- Every experiment draws with gnuplot: without it there is nothing to
-- test here (ctest's skip), unless CI says every tool must be present.
if not os.execute("command -v gnuplot >/dev/null 2>&1") and not os.getenv("CI") then
  io.stderr:write("gnuplot not found (install gnuplot-nox): skipped\n")
  os.exit(77)
end

local out = assert(io.popen("mktemp -d"):read("l"), "mktemp -d failed")
X.out = out
local sets = {}
for i = 4, #arg do sets[#sets + 1] = quote(arg[i]) end
local start = os.time()
local p = io.popen(("%s run %s --out %s %s 2>&1"):format(quote(command), quote(script),
  quote(out), table.concat(sets, " ")))
local stdout = p:read("a")
local ok, how, status = p:close()
io.write(stdout)
if not ok then
  io.stderr:write(("FAIL tcplab run %s: %s %s (output kept in %s)\n"):format(script, how, status, out))
  os.exit(1)
end
X.stdout = stdout
X.elapsed = os.time() - start

local check = assert(loadfile(checker))()
local cok, err = xpcall(check, debug.traceback, X, out, stdout)
if not cok then X.check(false, "checker raised: " .. tostring(err)) end

if X.failures > 0 then
  io.stderr:write(("%d check(s) failed; output kept in %s\n"):format(X.failures, out))
  os.exit(1)
end
os.execute("rm -rf " .. quote(out))
print("all checks passed")
