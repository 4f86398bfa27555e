-- Helpers for the tests of the tcplab module and command: named checks
-- that say what was expected, and running the tcplab command on a script
-- the way a user does, capturing its exit status and output.
--
-- Driver tests run under the stock lua5.4 (they only start processes):
--   lua5.4 X_test.lua TCPLAB_COMMAND OUT_DIR
-- In-process tests run under `tcplab run` or lua5.4 with the module's
-- paths, and use only the checks.

local H = {}

H.failures = 0
local current = "?"

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end
H.show = show

function H.check(cond, msg)
  if not cond then
    H.failures = H.failures + 1
    io.stderr:write(("FAIL [%s] %s\n"):format(current, msg or "check failed"))
  end
  return cond
end

function H.eq(got, want, what)
  return H.check(got == want, ("%s: expected %s, got %s"):format(what or "value", show(want), show(got)))
end

function H.near(got, want, what, tol)
  tol = tol or 1e-9
  return H.check(type(got) == "number" and math.abs(got - want) <= tol,
    ("%s: expected %s (within %g), got %s"):format(what or "value", show(want), tol, show(got)))
end

-- text contains every plain substring of the list (or the one string)
function H.contains(text, parts, what)
  if type(parts) == "string" then parts = { parts } end
  local ok = true
  for _, p in ipairs(parts) do
    if not tostring(text):find(p, 1, true) then
      ok = H.check(false, ("%s: %s not found in:\n%s"):format(what or "text", show(p), tostring(text))) and ok
    end
  end
  return ok
end

-- fn must raise an error whose message contains every part.
function H.raises(fn, parts, what)
  local ok, err = pcall(fn)
  if not H.check(not ok, (what or "call") .. ": expected an error") then return end
  H.contains(err, parts, what)
  return err
end

function H.test(name, fn)
  current = name
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    H.failures = H.failures + 1
    io.stderr:write(("FAIL [%s] raised: %s\n"):format(name, tostring(err)))
  end
  current = "?"
end

-- Exit status for ctest; os.exit closes the state first, so that
-- simulations are freed.
function H.finish()
  if H.failures > 0 then
    io.stderr:write(H.failures, " check(s) failed",
      H.out and ("; files kept in " .. H.out) or "", "\n")
    os.exit(1, true)
  end
  print("all checks passed")
  os.exit(0, true)
end

-- --------------------------------------------------------- processes

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.quote = quote

function H.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function H.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("a")
  f:close()
  return t
end

-- Runs a shell command; returns exit status, stdout, stderr.
function H.sh(cmd, dir)
  local tmp = os.tmpname()
  local full = cmd .. " 2>" .. quote(tmp)
  if dir then full = "cd " .. quote(dir) .. " && " .. full end
  local p = io.popen(full, "r")
  local out = p:read("a")
  local _, _, code = p:close()
  local err = H.read(tmp) or ""
  os.remove(tmp)
  return code, out, err
end

-- The driver's arguments: the command and a directory for files.
H.tcplab = arg and arg[1]
H.out = arg and arg[2]

function H.setup()
  assert(H.tcplab and H.out, "usage: lua5.4 X_test.lua TCPLAB_COMMAND OUT_DIR")
  os.execute("rm -rf " .. quote(H.out) .. " && mkdir -p " .. quote(H.out))
end

-- Runs `tcplab ARGS` in the output directory; returns status, stdout,
-- stderr.
function H.tcplab_run(args)
  return H.sh(quote(H.tcplab) .. " " .. args, H.out)
end

-- Writes a script into the output directory and runs it with
-- `tcplab run NAME EXTRA`.
function H.run_script(name, text, extra)
  H.write(H.out .. "/" .. name, text)
  return H.tcplab_run("run " .. quote(name) .. " " .. (extra or ""))
end

return H
