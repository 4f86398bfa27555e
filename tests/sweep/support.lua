-- What the tests of `tcplab sweep` share: named checks, running the
-- command as a user does (exit status, stdout, stderr), and reading back
-- what a sweep wrote: CSV files through tcplab.csv, the database through
-- the sqlite3 program.
--
--   lua5.4 X_test.lua TCPLAB_COMMAND OUT_DIR
--
-- LUA_PATH must reach lua/ (for tcplab.csv); the tests' own experiments
-- are in this directory.

local csv = require("tcplab.csv")

local T = { failures = 0, csv = csv }

T.here = arg[0]:match("^(.*)/") or "."
if T.here:sub(1, 1) ~= "/" then T.here = os.getenv("PWD") .. "/" .. T.here end
T.tcplab = arg[1]
T.out = arg[2]
assert(T.tcplab and T.out, "usage: lua5.4 X_test.lua TCPLAB_COMMAND OUT_DIR")

local current = "?"

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

function T.check(cond, msg)
  if not cond then
    T.failures = T.failures + 1
    io.stderr:write(("FAIL [%s] %s\n"):format(current, msg or "check failed"))
  end
  return cond
end

function T.eq(got, want, what)
  return T.check(got == want, ("%s: expected %s, got %s"):format(what, show(want), show(got)))
end

function T.near(got, want, what, tol)
  return T.check(type(got) == "number" and math.abs(got - want) <= (tol or 1e-9),
    ("%s: expected %s, got %s"):format(what, show(want), show(got)))
end

function T.contains(text, part, what)
  return T.check(tostring(text):find(part, 1, true) ~= nil,
    ("%s: %s not found in:\n%s"):format(what, show(part), tostring(text)))
end

function T.test(name, fn)
  current = name
  local t0 = os.time()
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    T.failures = T.failures + 1
    io.stderr:write(("FAIL [%s] raised: %s\n"):format(name, tostring(err)))
  end
  print(("%-60s %s (%d s)"):format(name, ok and "ran" or "raised", os.time() - t0))
  current = "?"
end

function T.finish()
  if T.failures > 0 then
    io.stderr:write(T.failures, " check(s) failed; files kept in ", T.out, "\n")
    os.exit(1)
  end
  print("all checks passed")
  os.exit(0)
end

-- ------------------------------------------------------------ processes

function T.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
local q = T.quote

function T.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("a")
  f:close()
  return t
end

function T.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- A shell command in OUT_DIR: exit status, stdout, stderr.
function T.sh(cmd)
  local err = os.tmpname()
  local p = io.popen("cd " .. q(T.out) .. " && " .. cmd .. " 2>" .. q(err), "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local e = T.read(err) or ""
  os.remove(err)
  return code, out, e
end

-- `tcplab sweep ARGS` in OUT_DIR.
function T.sweep(args)
  return T.sh(q(T.tcplab) .. " sweep " .. args)
end

function T.have(prog)
  return os.execute("command -v " .. prog .. " >/dev/null 2>&1") == true
end

-- A test that needs a tool skips (ctest's 77) without it, unless CI says
-- every tool must be there.
function T.need(prog, package)
  if T.have(prog) then return end
  if os.getenv("CI") then
    io.stderr:write(prog, " not found (Debian package ", package, "): failing under CI\n")
    os.exit(1)
  end
  io.stderr:write(prog, " not found (Debian package ", package, "): skipped\n")
  os.exit(77)
end

function T.setup()
  os.execute("rm -rf " .. q(T.out) .. " && mkdir -p " .. q(T.out))
  T.need("sqlite3", "sqlite3")
  T.need("gnuplot", "gnuplot-nox")
end

-- A tiny experiment of this directory, copied into OUT_DIR.
function T.experiment(name)
  T.write(T.out .. "/" .. name, assert(T.read(T.here .. "/" .. name), name))
  return name
end

-- --------------------------------------------------------------- results

-- rows of OUT_DIR/path
function T.csv(path)
  local rows, err = csv.read(T.out .. "/" .. path, { strings = { "point" } })
  T.check(rows ~= nil, tostring(err))
  return rows or {}
end

-- The rows of an SQL query on DIR/sweep.db, each a list of the columns'
-- text (NULL is "").
function T.sql(dir, query)
  local code, out, err = T.sh("sqlite3 -batch -cmd '.timeout 5000' -separator '\t' " .. q(dir .. "/sweep.db") .. " " .. q(query))
  T.check(code == 0, "sqlite3 failed on " .. query .. ": " .. err)
  local rows = {}
  for line in out:gmatch("([^\n]*)\n") do
    local cols = {}
    for c in (line .. "\t"):gmatch("([^\t]*)\t") do cols[#cols + 1] = c end
    rows[#rows + 1] = cols
  end
  return rows
end

function T.count(dir, where)
  local r = T.sql(dir, "SELECT count(*) FROM runs" .. (where and (" WHERE " .. where) or ""))
  return tonumber(r[1] and r[1][1])
end

-- runs.csv of a sweep as text without the wall_s column, whose times
-- differ from run to run: two sweeps that computed the same things have
-- the same text.
function T.runs_text(dir)
  local rows, header = csv.read(T.out .. "/" .. dir .. "/runs.csv", { typed = false })
  if not T.check(rows ~= nil, "no runs.csv in " .. dir) then return "" end
  local cols = {}
  for _, c in ipairs(header) do
    if c ~= "wall_s" then cols[#cols + 1] = c end
  end
  return csv.format(rows, cols)
end

-- A PNG file: its signature, and not tiny.
function T.png(path)
  local data = T.read(T.out .. "/" .. path)
  return T.check(data ~= nil and data:sub(1, 8) == "\137PNG\r\n\26\n" and #data > 1000,
    path .. " is no PNG picture")
end

return T
