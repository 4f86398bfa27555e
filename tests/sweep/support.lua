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

-- The checks, and running a command, are the module tests' own.
local here = arg[0]:match("^(.*)/") or "."
local T = dofile(here .. "/../lua-module/harness.lua")
T.here = here:sub(1, 1) == "/" and here or os.getenv("PWD") .. "/" .. here
assert(T.tcplab and T.out, "usage: lua5.4 X_test.lua TCPLAB_COMMAND OUT_DIR")

-- Each test says how long it took: some run whole sweeps.
local test = T.test
function T.test(name, fn)
  local t0 = os.time()
  test(name, fn)
  print(("%-60s %d s"):format(name, os.time() - t0))
end

-- A shell command in OUT_DIR (or DIR): exit status, stdout, stderr.
local sh = T.sh
function T.sh(cmd, dir)
  return sh(cmd, dir or T.out)
end
local q = T.quote

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

local setup = T.setup
function T.setup()
  setup()
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
