-- A small test runner for the Lua helpers: named tests, assertions that
-- say what was expected, golden files, skips, and an exit status for
-- ctest (0 all passed, 1 a failure, 77 something skipped).
--
-- A test file starts with
--   local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
-- declares tests with T.test(name, fn) and ends with T.run().
--
-- Environment:
--   TCPLAB_TEST_OUT        where tests write files (default: a new
--                          directory under the system's temporary one)
--   TCPLAB_UPDATE_GOLDEN=1 write golden files instead of comparing
--   CI                     set in CI: a missing tool fails instead of
--                          skipping

local T = {}

-- The test files' directory, and the repository's lua/ directory after
-- LUA_PATH, so that `lua5.4 tests/lua/x_test.lua` works by hand too.
T.dir = arg and arg[0] and arg[0]:match("^(.*)/") or "."
package.path = package.path .. ";" .. T.dir .. "/../../lua/?.lua;" .. T.dir .. "/../../lua/?/init.lua"

local tests = {}
local SKIP = {}

function T.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

function T.ok(cond, msg)
  if not cond then error(msg or "assertion failed", 2) end
  return cond
end

function T.eq(got, want, what)
  if got ~= want then
    error(("%s: expected %s, got %s"):format(what or "value", show(want), show(got)), 2)
  end
end

-- Numbers equal within tol (default 1e-12).
function T.near(got, want, what, tol)
  tol = tol or 1e-12
  if type(got) ~= "number" or math.abs(got - want) > tol then
    error(("%s: expected %s (within %g), got %s"):format(what or "value", show(want), tol, show(got)), 2)
  end
end

-- Calls fn, which must raise an error whose message contains `pattern`
-- (a plain substring).
function T.raises(fn, pattern, what)
  local ok, err = pcall(fn)
  if ok then error((what or "call") .. ": expected an error", 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    error(("%s: expected an error with %s, got %s"):format(what or "call", show(pattern), show(err)), 2)
  end
end

function T.skip(reason)
  error(setmetatable({ reason = reason }, SKIP), 0)
end

-- A tool the tests need: in CI its absence is a failure, elsewhere a skip
-- with a message saying what to install.
function T.need(program, package)
  if os.execute("command -v '" .. program .. "' >/dev/null 2>&1") then return end
  local msg = ("%s not found: install %s (scripts/install-deps)"):format(program, package)
  if os.getenv("CI") and os.getenv("CI") ~= "" and os.getenv("CI") ~= "false" then
    error(msg .. "; it is required in CI", 2)
  end
  T.skip(msg)
end

function T.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function T.write(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  f:close()
end

local out_dir
-- A directory for the files tests write, made on first use.
function T.out(name)
  if not out_dir then
    out_dir = os.getenv("TCPLAB_TEST_OUT")
    if not out_dir or out_dir == "" then
      out_dir = os.tmpname()
      os.remove(out_dir)
    end
    assert(os.execute("mkdir -p '" .. out_dir .. "'"), "cannot create " .. out_dir)
  end
  return name and (out_dir .. "/" .. name) or out_dir
end

-- Compares text with tests/lua/golden/<name>; on a difference, names the
-- first differing line and leaves the actual text beside the outputs.
function T.golden(name, text)
  local path = T.dir .. "/golden/" .. name
  if os.getenv("TCPLAB_UPDATE_GOLDEN") == "1" then
    T.write(path, text)
    return
  end
  local f = io.open(path, "rb")
  if not f then
    error("golden file " .. path .. " missing (TCPLAB_UPDATE_GOLDEN=1 writes it)", 2)
  end
  local want = f:read("a")
  f:close()
  if text == want then return end
  local actual = T.out(name .. ".actual")
  T.write(actual, text)
  local i, got_lines, want_lines = 1, {}, {}
  for l in (text .. "\n"):gmatch("(.-)\n") do got_lines[#got_lines + 1] = l end
  for l in (want .. "\n"):gmatch("(.-)\n") do want_lines[#want_lines + 1] = l end
  while got_lines[i] == want_lines[i] do i = i + 1 end
  error(("%s differs at line %d:\n  expected: %s\n  got:      %s\n(actual output in %s)"):format(
    name, i, show(want_lines[i]), show(got_lines[i]), actual), 2)
end

function T.run()
  local passed, failed, skipped = 0, 0, 0
  for _, t in ipairs(tests) do
    local ok, err = xpcall(t.fn, function(e)
      if getmetatable(e) == SKIP then return e end
      return debug.traceback(tostring(e), 2)
    end)
    if ok then
      passed = passed + 1
      print("ok      " .. t.name)
    elseif getmetatable(err) == SKIP then
      skipped = skipped + 1
      print("SKIPPED " .. t.name .. ": " .. err.reason)
    else
      failed = failed + 1
      print("FAIL    " .. t.name .. "\n" .. err)
    end
  end
  print(("%d passed, %d failed, %d skipped"):format(passed, failed, skipped))
  if failed > 0 then os.exit(1) end
  if skipped > 0 then os.exit(77) end
  os.exit(0)
end

return T
