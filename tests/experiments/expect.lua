-- Shared by the checkers of experiments 1-6 (test-NN-name.lua): run an
-- experiment the way a student does (`tcplab run SCRIPT --out DIR`), read
-- its CSV files back with tcplab.csv, and compare them with the claim.
--
-- ctest starts a checker as
--   lua5.4 test-NN-name.lua TCPLAB_COMMAND EXPERIMENT_SCRIPT
-- with LUA_PATH reaching lua/ (for tcplab.csv); the checker loads this
-- file from its own directory. Each run goes to a fresh temporary
-- directory, removed when every check passed and kept (its path
-- printed) when one failed.
--
-- Times are compared as integer nanoseconds, read from the CSV text
-- ("1.020040000" -> 1020040000), never as floats: the claims are exact.

local csv = require("tcplab.csv")

local E = { failures = 0, checks = 0 }

E.tcplab, E.script = arg[1], arg[2]
if not (E.tcplab and E.script) then
  io.stderr:write("usage: lua5.4 CHECKER TCPLAB_COMMAND EXPERIMENT_SCRIPT\n")
  os.exit(2)
end

-- Every experiment draws with gnuplot: without it there is nothing to
-- test (ctest's skip), unless CI says every tool must be present.
if not os.execute("command -v gnuplot >/dev/null 2>&1") and not os.getenv("CI") then
  io.stderr:write("gnuplot not found (install gnuplot-nox): skipped\n")
  os.exit(77)
end

E.MOD32 = 1 << 32

local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = tostring(x) end
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  return tostring(v)
end

local function report(ok, what, detail)
  E.checks = E.checks + 1
  if ok then
    print("ok    " .. what)
  else
    E.failures = E.failures + 1
    print("FAIL  " .. what .. (detail and ("\n      " .. detail) or ""))
  end
  return ok
end

function E.check(cond, what, detail)
  return report(cond and true or false, what, detail)
end

function E.eq(got, want, what)
  return report(got == want, what, ("expected %s, got %s"):format(show(want), show(got)))
end

-- Two lists with the same elements in the same order.
function E.same(got, want, what)
  local ok = #got == #want
  for i = 1, math.max(#got, #want) do
    if got[i] ~= want[i] then ok = false end
  end
  return report(ok, what, ("expected %s, got %s"):format(show(want), show(got)))
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

E.tmp = assert(io.popen("mktemp -d"):read("l"), "mktemp -d failed")

-- Ends the checker: exit status 0 only when every check passed.
function E.done()
  print(("%d checks, %d failed"):format(E.checks, E.failures))
  if E.failures == 0 then
    os.execute("rm -rf " .. quote(E.tmp))
    os.exit(0)
  end
  print("output kept in " .. E.tmp)
  os.exit(1)
end

-- ---------------------------------------------------------- running

-- Runs the experiment with --set name=value for each entry of sets, into
-- a directory of its own named `label`. The command finds its module
-- itself, so the checker's LUA_PATH is not passed on. Returns the printed
-- output and the directory, or stops the checker when the script fails:
-- nothing else is worth checking then.
function E.run(label, sets)
  local dir = E.tmp .. "/" .. label
  local cmd = { "env -u LUA_PATH -u LUA_CPATH", quote(E.tcplab), "run", quote(E.script),
                "--out", quote(dir) }
  local names = {}
  for name in pairs(sets or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    cmd[#cmd + 1] = "--set " .. quote(name .. "=" .. tostring(sets[name]))
  end
  local p = io.popen(table.concat(cmd, " ") .. " 2>&1")
  local output = p:read("a")
  local ok, _, status = p:close()
  print(output)
  if not report(ok, "tcplab run exits with 0", "exit status " .. tostring(status)) then
    E.done()
  end
  return output, dir
end

-- ---------------------------------------------------------- results

-- "62.540067200" -> 62540067200 (nanoseconds), exactly.
function E.ns(text)
  if text == nil then return nil end
  local s, frac = tostring(text):match("^(%d+)%.(%d+)$")
  if not s then
    s, frac = tostring(text):match("^(%d+)$"), ""
  end
  assert(s, "not a time: " .. tostring(text))
  frac = (frac .. "000000000"):sub(1, 9)
  return tonumber(s) * 1000000000 + tonumber(frac)
end

-- Columns holding times stay text, so E.ns converts them without a float
-- in between; node names stay text whatever they look like.
local TEXT = {
  "time_s", "open_s", "established_s", "handshake_s", "close_s", "closed_s",
  "node", "from_node", "to_node", "link",
}

local function read(dir, name)
  local rows, err = csv.read(dir .. "/" .. name, { strings = TEXT })
  if not rows then
    report(false, "read " .. name, err)
    E.done()
  end
  for _, r in ipairs(rows) do
    if r.time_s then r.t = E.ns(r.time_s) end
  end
  return rows
end

-- The metrics a script returned (dir/metrics.csv): name -> value, where
-- numbers are numbers and anything else (booleans too) is text.
function E.metrics(dir)
  local m = {}
  local f = io.open(dir .. "/metrics.csv")
  if f then
    f:close()
    for _, r in ipairs(csv.read(dir .. "/metrics.csv")) do m[r.name] = r.value end
  end
  return m
end

-- The four CSV files of a run and its metrics.
function E.results(dir)
  return {
    dir = dir,
    timeline = read(dir, "timeline.csv"),
    segments = read(dir, "segments.csv"),
    connections = read(dir, "connections.csv"),
    cwnd = read(dir, "cwnd.csv"),
    metrics = E.metrics(dir),
  }
end

-- Rows of a list for which every field of `want` is equal.
function E.where(rows, want)
  local out = {}
  for _, r in ipairs(rows) do
    local ok = true
    for k, v in pairs(want) do
      if r[k] ~= v then ok = false break end
    end
    if ok then out[#out + 1] = r end
  end
  return out
end

function E.first(rows, want)
  return E.where(rows, want)[1]
end

-- The states a node's connection went through on a flow, in order,
-- starting with the state it came from (LISTEN for an accepted one).
function E.states(R, node, flow)
  local list = {}
  for _, r in ipairs(R.timeline) do
    if r.node == node and (flow == nil or r.flow == flow) then
      if #list == 0 then list[1] = r.from_state end
      if r.to_state ~= list[#list] then list[#list + 1] = r.to_state end
    end
  end
  return list
end

-- The time a node entered a state on a flow (the nth time, default 1st).
function E.entered(R, node, state, flow, nth)
  nth = nth or 1
  for _, r in ipairs(R.timeline) do
    if r.node == node and r.to_state == state and r.from_state ~= state
        and (flow == nil or r.flow == flow) then
      nth = nth - 1
      if nth == 0 then return r.t, r end
    end
  end
  return nil
end

-- The segments put on the wire (action "sent"), optionally of one sender.
function E.sent(R, from)
  local out = {}
  for _, r in ipairs(R.segments) do
    if r.action == "sent" and (from == nil or r.from_node == from) then out[#out + 1] = r end
  end
  return out
end

-- a + n modulo 2^32: sequence number arithmetic.
function E.plus(a, n)
  return (a + n) % E.MOD32
end

-- A file exists and is not empty.
function E.nonempty(path, what)
  local f = io.open(path, "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  return report(size > 0, (what or path) .. " exists and is not empty", path .. ": " .. size .. " bytes")
end

-- The printed output contains each line fragment.
function E.printed(output, parts, what)
  for _, p in ipairs(parts) do
    report(output:find(p, 1, true) ~= nil, (what or "printed") .. " shows " .. show(p))
  end
end

-- ---------------------------------------------------------- frames

-- The TCP frames of a pcap file written by link:pcap on a point-to-point
-- link (link type 9, PPP: a 2-byte header before the IPv4 packet), in
-- file order: { len = bytes on the wire, flags = "SYN|ACK", ip_hdr =,
-- tcp_hdr = header lengths in bytes }. The frame length is what the link
-- serializes, so it gives the serialization time: len * 8 / rate.
local FLAG_BITS = { { 0x02, "SYN" }, { 0x01, "FIN" }, { 0x04, "RST" }, { 0x08, "PSH" },
                    { 0x10, "ACK" }, { 0x20, "URG" } }

function E.frames(path)
  local f = io.open(path, "rb")
  if not f then
    report(false, "read " .. path, "missing")
    return {}
  end
  local data = f:read("a")
  f:close()
  local magic, _, _, _, _, _, linktype = string.unpack("<I4I2I2i4I4I4I4", data)
  assert(magic == 0xa1b2c3d4, path .. ": not a little-endian pcap file")
  assert(linktype == 9, path .. ": link type " .. linktype .. ", expected 9 (PPP)")
  local frames, pos = {}, 25
  while pos + 16 <= #data + 1 do
    local _, _, incl, orig = string.unpack("<I4I4I4I4", data, pos)
    local p = pos + 16
    local ihl = (data:byte(p + 2) & 0x0f) * 4
    local tcp = p + 2 + ihl
    local bits = data:byte(tcp + 13)
    local names = {}
    for _, fb in ipairs(FLAG_BITS) do
      if bits & fb[1] ~= 0 then names[#names + 1] = fb[2] end
    end
    frames[#frames + 1] = {
      len = orig, flags = table.concat(names, "|"),
      ip_hdr = ihl, tcp_hdr = (data:byte(tcp + 12) >> 4) * 4,
    }
    pos = p + incl
  end
  return frames
end

-- Serialization time in ns of a frame of `bytes` at `bps`, which must be
-- a whole number of nanoseconds for an exact claim.
function E.serialization(bytes, bps)
  local ns = bytes * 8 * 1000000000 // bps
  assert(ns * bps == bytes * 8 * 1000000000,
    ("%d bytes at %d bit/s is not a whole number of ns: pick another rate"):format(bytes, bps))
  return ns
end

-- The bytes a segment of segments.csv takes on a point-to-point link:
-- PPP 2 + IPv4 20 + TCP 20, + 8 of options on a SYN (MSS, NOP + window
-- scale), + its data. Experiment 1's check confirms these sizes against
-- the frames of a pcap file.
function E.frame_bytes(seg)
  local syn = (("|" .. seg.flags .. "|"):find("|SYN|", 1, true)) and 8 or 0
  return 2 + 20 + 20 + syn + (seg.len or 0)
end

-- Serialization time (ns) of a segment's frame at bps.
function E.ser(seg, bps)
  return E.serialization(E.frame_bytes(seg), bps)
end

-- What caused a state to be entered: "event flags" of its timeline row.
function E.cause(R, node, state, flow, nth)
  local _, r = E.entered(R, node, state, flow, nth)
  if not r then return nil end
  return r.flags and (r.event .. " " .. r.flags) or r.event
end

return E
