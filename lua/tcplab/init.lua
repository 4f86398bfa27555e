-- tcplab: build ns-3 simulations with tcplab's TCP from Lua, run them and
-- read back every connection's states and segments.
--
--   local tcplab = require("tcplab")
--   local sim = tcplab.sim{ seed = 1 }
--   local client, server = sim:node("client"), sim:node("server")
--   sim:link(client, server, { rate = "10Mbps", delay = "20ms" })
--   server:listen(80, { on_accept = function(c) c:close() end })
--   local conn = client:connect(server, 80, { at = 1 })
--   conn:close{ at = 2 }
--   sim:run()
--   print(sim:ladder(conn))
--
-- The C part (tcplab.core) is a thin layer over sim.h that takes integer
-- nanoseconds and ids. This file is what users call: it turns "20ms" and
-- "10Mbps" into numbers, checks every argument and option name, and
-- raises mistakes as errors at the line of the script that made them,
-- naming the function, the argument and what is allowed.

local core = require("tcplab.core")

local tcplab = {
  version = core.version,
  -- Set by the tcplab command (`tcplab run --seed N --set k=v --out DIR`);
  -- scripts run by a plain lua5.4 see these defaults.
  seed = 1,
  params = {},
  out = nil,
}

local MT = core.metatables
local HANDLE_NODE, HANDLE_LINK = 1, 2 -- kinds for core.new_handle
local REC = setmetatable({}, { __mode = "k" }) -- handle -> its record

local fmt = string.format
local mtype = math.type

-- ---------------------------------------------------------------- errors

-- Errors point at the first caller outside this file (and outside C
-- functions such as pcall), which is the user's script: whichever helper
-- of this file found the mistake.
local SRC = debug.getinfo(1, "S").source

local function level()
  local l = 3 -- 1 is level(), 2 the helper raising, 3 its caller
  while true do
    local info = debug.getinfo(l, "S")
    if not info then return 1 end
    if info.source ~= SRC and info.what ~= "C" then return l - 1 end
    l = l + 1
  end
end

local DESCRIBE = {} -- kind -> function(record) -> "tcplab.node 'a'"

-- The record of a handle. Connection handles keep theirs in C (there is
-- one per connection of an experiment, and the actions are C methods);
-- this gives them a record like the other handles' too.
local function rec_of(v)
  local r = REC[v]
  if r then return r end
  local u, id, node, is_listener = core.conn_of(v)
  if u == nil then return nil end
  local S = REC[u]
  return { kind = "conn", S = S, u = u, id = id, node = S.nodes[node], is_listener = is_listener }
end

local function show(v)
  if type(v) == "string" then return fmt("%q", v) end
  local r = rec_of(v)
  if r then return DESCRIBE[r.kind](r) end
  if type(v) == "table" or type(v) == "function" or type(v) == "userdata" then
    local mt = getmetatable(v)
    local name = type(mt) == "table" and rawget(mt, "__name")
    return type(name) == "string" and name or type(v)
  end
  return tostring(v)
end

-- "bad argument #2 to 'sim:link' (...)", as luaL_argerror words it.
local function argerror(fname, n, msg)
  error(fmt("bad argument #%d to '%s' (%s)", n, fname, msg), level())
end

local function fail(fname, msg)
  error(fmt("%s: %s", fname, msg), level())
end

local function expected(fname, n, what, v)
  argerror(fname, n, fmt("%s expected, got %s", what, show(v)))
end

-- ---------------------------------------------------- times and rates

local NS_PER = { ns = 1, us = 1e3, ms = 1e6, s = 1e9, min = 60e9, h = 3600e9 }
local MAX_NS = 1e17 -- about three years: far beyond any experiment

local TIME_HELP = 'seconds as a number, or a string with a unit: "20ms", '
  .. '"1.5s" (ns, us, ms, s, min, h)'

-- seconds (number) or "20ms" -> integer nanoseconds, or nil and why.
local function to_ns(v)
  local x, mult
  if type(v) == "number" then
    x, mult = v, 1e9
  elseif type(v) == "string" then
    local num, unit = v:match("^%s*([-+]?[%d.]+[eE]?[-+]?%d*)%s*(%a*)%s*$")
    x = num and tonumber(num)
    if not x then return nil end
    mult = unit == "" and 1e9 or NS_PER[unit]
    if not mult then return nil end
  else
    return nil
  end
  if x ~= x or x == math.huge then return nil end
  if x < 0 then return nil, "must not be negative" end
  local ns = x * mult
  if ns > MAX_NS then return nil, "is too large" end
  return math.floor(ns + 0.5)
end

-- tcplab.time(v) -> seconds | nil, message: the seconds a time argument
-- means ("20ms" -> 0.02).
function tcplab.time(v)
  local ns, why = to_ns(v)
  if not ns then return nil, why or ("a time is " .. TIME_HELP) end
  return ns / 1e9
end

local BPS_PER = {
  bps = 1, kbps = 1e3, Kbps = 1e3, Mbps = 1e6, Gbps = 1e9, Tbps = 1e12,
  ["b/s"] = 1, ["kb/s"] = 1e3, ["Kb/s"] = 1e3, ["Mb/s"] = 1e6, ["Gb/s"] = 1e9,
  ["bit/s"] = 1, ["kbit/s"] = 1e3, ["Kbit/s"] = 1e3, ["Mbit/s"] = 1e6,
  ["Gbit/s"] = 1e9,
}
local RATE_HELP = 'bit/s as a number, or a string with a unit: "10Mbps", '
  .. '"64kbps", "1Gbps"'

-- "10Mbps" or bit/s -> integer bit/s > 0, or nil and why.
local function to_bps(v)
  local x, mult
  if type(v) == "number" then
    x, mult = v, 1
  elseif type(v) == "string" then
    local num, unit = v:match("^%s*([-+]?[%d.]+[eE]?[-+]?%d*)%s*([%a/]*)%s*$")
    x = num and tonumber(num)
    if not x then return nil end
    mult = unit == "" and 1 or BPS_PER[unit]
    if not mult then
      if unit:find("B") then return nil, "is in bits per second (bps), not bytes" end
      return nil
    end
  else
    return nil
  end
  if x ~= x or x == math.huge then return nil end
  if x <= 0 then return nil, "must be > 0" end
  local bps = math.floor(x * mult + 0.5)
  if bps < 1 or bps > 1e15 then return nil, "is out of range" end
  return bps
end

-- tcplab.rate(v) -> bit/s | nil, message
function tcplab.rate(v)
  local bps, why = to_bps(v)
  if not bps then return nil, why or ("a rate is " .. RATE_HELP) end
  return bps
end

-- ------------------------------------------------------ checking options

-- Edit distance counting a swap of neighbours as one edit ("dealy" is
-- one from "delay"), for "did you mean" hints on misspelled keys.
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1)
        and a:sub(i - 1, i - 1) == b:sub(j, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

local function sorted_keys(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function unknown_key(key, allowed)
  if type(key) ~= "string" then
    return fmt("unexpected value at [%s]: options are named, e.g. { %s = ... }",
      show(key), sorted_keys(allowed)[1] or "name")
  end
  local names = sorted_keys(allowed)
  local best, bestd
  for _, name in ipairs(names) do
    local d = distance(key:lower(), name)
    if not bestd or d < bestd then best, bestd = name, d end
  end
  local hint = ""
  if bestd and bestd <= (#key <= 3 and 1 or 2) then
    hint = fmt(" (did you mean '%s'?)", best)
  end
  return fmt("unknown option '%s'%s; allowed: %s", key, hint, table.concat(names, ", "))
end

local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

local NONE = setmetatable({}, { __newindex = function() error("internal: NONE is read-only") end })

-- An options table (nil means none: NONE, shared and never written)
-- whose keys are all allowed.
local function options(fname, n, opts, allowed)
  if opts == nil then return NONE end
  if type(opts) ~= "table" then
    expected(fname, n, "table of options", opts)
  end
  for k in pairs(opts) do
    if not allowed[k] then argerror(fname, n, unknown_key(k, allowed)) end
  end
  return opts
end

-- Option values: each checker takes the option's name for its message.
local function opt_time(fname, n, key, v, default)
  if v == nil then return default end
  local ns, why = to_ns(v)
  if not ns then
    argerror(fname, n, fmt("%s %s; it is %s, got %s", key, why or "must be a time",
      TIME_HELP, show(v)))
  end
  return ns
end

local function opt_rate(fname, n, key, v)
  if v == nil then return nil end
  local bps, why = to_bps(v)
  if not bps then
    argerror(fname, n, fmt("%s %s; it is %s, got %s", key, why or "must be a rate",
      RATE_HELP, show(v)))
  end
  return bps
end

local function opt_int(fname, n, key, v, lo, hi, default)
  if v == nil then return default end
  local i = mtype(v) == "float" and math.tointeger(v) or v
  if mtype(i) ~= "integer" or i < lo or (hi and i > hi) then
    argerror(fname, n, fmt("%s must be an integer in [%d, %s], got %s", key, lo,
      hi and tostring(hi) or "inf", show(v)))
  end
  return i
end

local function opt_prob(fname, n, key, v, default)
  if v == nil then return default end
  if type(v) ~= "number" or not (v >= 0 and v <= 1) then
    argerror(fname, n, fmt("%s must be a probability in [0, 1], got %s", key, show(v)))
  end
  return v
end

local function opt_bool(fname, n, key, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then
    argerror(fname, n, fmt("%s must be true or false, got %s", key, show(v)))
  end
  return v
end

local function opt_string(fname, n, key, v)
  if v == nil then return nil end
  if type(v) ~= "string" or v == "" then
    argerror(fname, n, fmt("%s must be a non-empty string, got %s", key, show(v)))
  end
  return v
end

local FLAG_HELP = "flag names SYN, FIN, RST, PSH, ACK, URG joined with '|', e.g. \"SYN|ACK\""

local function opt_flags(fname, n, key, v, default)
  if v == nil then return default end
  if type(v) ~= "string" then
    argerror(fname, n, fmt("%s must be a string of %s, got %s", key, FLAG_HELP, show(v)))
  end
  local bits = core.flags(v)
  if not bits then
    local bad = v
    for name in v:gmatch("[^|,%s]+") do
      if not core.flags(name) then bad = name break end
    end
    argerror(fname, n, fmt("%s: unknown flag %s; allowed: %s", key, show(bad), FLAG_HELP))
  end
  return bits
end

-- ------------------------------------------------------------- handles

local Sim, Node, Link, Conn = {}, {}, {}, {}

local function describe_sim(S)
  if not core.is_open(S.u) then return "tcplab.sim (closed)" end
  local nodes, links = 0, 0
  for _ in pairs(S.nodes) do nodes = nodes + 1 end
  for _ in pairs(S.links) do links = links + 1 end
  return fmt("tcplab.sim (seed %d, t=%s s, %d nodes, %d links, %d connections)",
    core.seed(S.u), tcplab.format_time(core.now(S.u)), nodes, links, core.conn_count(S.u))
end

local function describe_node(r)
  return fmt("tcplab.node '%s'", r.name)
end

local function describe_link(r)
  return fmt("tcplab.link '%s'", r.name)
end

local function describe_conn(r)
  local node = REC[r.node].name
  if r.is_listener then return fmt("tcplab.conn #%d (listener on '%s')", r.id, node) end
  return fmt("tcplab.conn #%d (on '%s')", r.id, node)
end

DESCRIBE.sim, DESCRIBE.node, DESCRIBE.link, DESCRIBE.conn =
  describe_sim, describe_node, describe_link, describe_conn

-- The record of a method's self, or a "bad self" error with a hint for
-- the usual slip, sim.link(...) instead of sim:link(...).
local function self_of(v, kind, fname)
  local r = rec_of(v)
  if r and r.kind == kind then return r end
  error(fmt("calling '%s' on bad self (tcplab.%s expected, got %s; call it as %s(...))",
    fname, kind, show(v), fname), level())
end

local function open_sim(S, fname)
  local open = core.is_open(S.u)
  if not open then fail(fname, "attempt to use a closed simulation") end
  return S
end

local function sim_of(v, fname)
  return open_sim(self_of(v, "sim", fname), fname)
end

-- An argument that must be a node of simulation S.
local function node_arg(fname, n, v, S, what)
  local r = REC[v]
  if not r or r.kind ~= "node" then
    expected(fname, n, what or "tcplab.node", v)
  end
  if r.S ~= S then
    -- ns-3 runs one simulation at a time, so the other one is closed.
    argerror(fname, n, fmt("node '%s' belongs to another simulation%s; give a node of this one",
      r.name, core.is_open(r.S.u) and "" or " (closed)"))
  end
  return r
end

local function host_arg(fname, n, v, S)
  local r = node_arg(fname, n, v, S)
  if r.router then
    argerror(fname, n, fmt("node '%s' is a router, which runs no application", r.name))
  end
  return r
end

local function conn_arg(fname, n, v, S, what)
  local r = rec_of(v)
  if not r or r.kind ~= "conn" then expected(fname, n, what or "tcplab.conn", v) end
  if r.S ~= S then
    argerror(fname, n, fmt("connection #%d belongs to another simulation%s; give one of this one",
      r.id, core.is_open(r.S.u) and "" or " (closed)"))
  end
  return r
end

local function new_node(S, id, name, router, tcp, counterfactual)
  local h = core.new_handle(HANDLE_NODE)
  REC[h] = {
    kind = "node", S = S, u = S.u, id = id, name = name, router = router, tcp = tcp,
    counterfactual = counterfactual,
  }
  S.nodes[id] = h
  return h
end

local function new_link(S, id, a, b)
  local h = core.new_handle(HANDLE_LINK)
  REC[h] = {
    kind = "link", S = S, id = id, name = core.link_name(S.u, id),
    a = a, b = b,
  }
  S.links[id] = h
  return h
end

-- The handle of connection id (made by tcplab.core on first sight).
local function conn_handle(S, id)
  return core.conn_handle(S.u, id)
end

-- ------------------------------------------------------------ callbacks

-- The number tcplab.core passes for a sim:at function; see its enum.
local EV_TIMER = 6

-- Connection events go from tcplab.core straight to the user's function
-- in S.handlers[id] (false once the connection has ended) with the
-- connection's handle; only sim:at functions come here. Both run inside
-- a protected call: an error stops the run and sim:run raises it.
core.set_dispatcher(function(u, ev, a)
  if ev == EV_TIMER then
    local timers = REC[u].timers
    local at_fn = timers[a]
    timers[a] = nil
    at_fn(u)
  end
end)

-- ------------------------------------------------------------ the sim

local SIM_KEYS = set_of { "seed" }

-- tcplab.sim{ seed = n } -> sim. The seed (default tcplab.seed, which is
-- 1 or the command's --seed) fixes ISNs and random losses: the same
-- script and seed give the same results, byte for byte.
function tcplab.sim(opts)
  local F = "tcplab.sim"
  opts = options(F, 1, opts, SIM_KEYS)
  local seed = opts.seed
  if seed == nil then seed = tcplab.seed end
  seed = opt_int(F, 1, "seed", seed, 0, math.maxinteger)
  local u, err = core.new(seed)
  if not u then
    if err:find("already exists", 1, true) then
      err = "a simulation already exists and ns-3 runs one per process; "
        .. "close it first with sim:close()"
    end
    fail(F, err)
  end
  -- By connection id: its callbacks and its handle, set false when the
  -- connection ends (a long experiment's ended connections would fill
  -- memory otherwise; the user's own references keep working).
  local handlers, conns = core.tables(u)
  REC[u] = {
    kind = "sim", u = u, nodes = {}, links = {}, conns = conns, handlers = handlers,
    timers = {}, ntimers = 0,
  }
  return u
end

-- tcplab's TCP settings by name (struct tcplab_config), from the C side
-- so that the two never disagree. two_way_handshake is not a name users
-- give: `handshake` asks for it, by its full name.
local CONFIG = {}
local CONFIG_KEYS = { tcp = true, handshake = true }
for _, f in ipairs(core.config_fields()) do
  if f.name ~= "two_way_handshake" then
    CONFIG[f.name] = f
    CONFIG_KEYS[f.name] = true
  end
end
tcplab.defaults = {}
for name, f in pairs(CONFIG) do
  local d = f.default
  if f.kind:find("time") and d then d = d / 1e9 end
  tcplab.defaults[name] = d
end

-- ns-3's own TCP takes these settings (sim.h applies them to its
-- sockets); the others are tcplab's alone. Unset ones keep ns-3 3.37's
-- defaults rather than tcplab's.
local NATIVE_DEFAULTS = {
  -- ns-3's ConnCount of 6 counts the first SYN: 5 retries.
  msl = 120e9, rto_initial = 3e9, rto_min = 1e9, syn_retries = 5, retries = 6,
  mss = 536, snd_buf = 131072, rcv_buf = 131072,
}

local COUNTERFACTUAL = "two-way (counterfactual)"

local function config_value(F, key, v)
  local f = CONFIG[key]
  local k = f.kind
  if k == "time" then
    if key == "delayed_ack" and type(v) == "boolean" then
      return v and f.default or 0
    end
    return opt_time(F, 2, key, v)
  elseif k == "time_or_never" then
    if v == false or v == "never" then return false end
    return opt_time(F, 2, key, v)
  elseif k == "boolean" then
    return opt_bool(F, 2, key, v)
  elseif k == "u16" or k == "u32" or k == "count" then
    local max = k == "u16" and 65535 or 0xffffffff
    local i = mtype(v) == "float" and math.tointeger(v) or v
    if mtype(i) == "integer" and i >= 0 and i <= max then return i end
    -- Say what the core allows (mss: [88, 65495]), not only what the
    -- field can hold: ask it about the field's extremes.
    local why
    for _, probe in ipairs { max, 0 } do
      local w = core.config_check { [key] = probe }
      if w and w:sub(1, #key + 1) == key .. " " then why = w break end
    end
    argerror(F, 2, fmt("%s, got %s", why or fmt("%s must be an integer in [0, %d]", key, max), show(v)))
  else
    return opt_int(F, 2, key, v, 0, math.maxinteger)
  end
end

-- Node options -> native?, config table for tcplab.core (or nil).
local function node_config(F, opts)
  opts = options(F, 2, opts, CONFIG_KEYS)
  local tcp = opts.tcp or "tcplab"
  if tcp ~= "tcplab" and tcp ~= "ns3" then
    argerror(F, 2, fmt("tcp must be \"tcplab\" or \"ns3\", got %s", show(tcp)))
  end
  local cfg, any = {}, false
  for key, v in pairs(opts) do
    if CONFIG[key] then
      if tcp == "ns3" and not NATIVE_DEFAULTS[key] then
        argerror(F, 2, fmt("%s is a setting of tcplab's TCP; ns-3's (tcp = \"ns3\") takes: %s",
          key, table.concat(sorted_keys(NATIVE_DEFAULTS), ", ")))
      end
      cfg[key] = config_value(F, key, v)
      any = true
    end
  end
  local h = opts.handshake
  if h ~= nil then
    if tcp == "ns3" then
      argerror(F, 2, "handshake is a setting of tcplab's TCP, not of ns-3's")
    end
    if h == COUNTERFACTUAL then
      cfg.two_way_handshake = true
      any = true
    elseif h ~= "three-way" then
      argerror(F, 2, fmt("handshake must be \"three-way\" (TCP's, the default); the "
        .. "counterfactual two-way handshake, for teaching why TCP needs three "
        .. "segments, is only given when asked for by its full name %q; got %s",
        COUNTERFACTUAL, show(h)))
    end
  end
  if tcp == "ns3" and any then
    for key, d in pairs(NATIVE_DEFAULTS) do
      if cfg[key] == nil then cfg[key] = math.tointeger(d) end
    end
  end
  return tcp == "ns3", any and cfg or nil, tcp, cfg.two_way_handshake == true
end

local function check_name(F, n, name, what)
  if type(name) ~= "string" or name == "" then
    expected(F, n, what or "non-empty string (the node's name)", name)
  end
end

-- sim:node(name [, opts]) -> node: a host with tcplab's TCP (default) or
-- ns-3's (opts.tcp = "ns3"); tcplab's settings by name (tcplab.defaults).
function Sim:node(name, opts)
  local F = "sim:node"
  local S = sim_of(self, F)
  check_name(F, 1, name)
  local native, cfg, tcp, counterfactual = node_config(F, opts)
  local id, err = core.node(S.u, name, native, cfg)
  if not id then
    if err:find("exists", 1, true) then argerror(F, 1, fmt("a node named %q exists already", name)) end
    argerror(F, 2, err:gsub("^node: ", ""))
  end
  return new_node(S, id, name, false, tcp, counterfactual)
end

-- sim:router(name) -> node: forwards packets, runs no TCP application.
function Sim:router(name)
  local F = "sim:router"
  local S = sim_of(self, F)
  check_name(F, 1, name, "non-empty string (the router's name)")
  local id, err = core.router(S.u, name)
  if not id then
    argerror(F, 1, err:find("exists", 1, true) and fmt("a node named %q exists already", name) or err)
  end
  return new_node(S, id, name, true, nil, false)
end

local LINK_KEYS = set_of { "rate", "delay", "queue", "loss", "name" }

local function link_opts(F, n, opts, keys)
  opts = options(F, n, opts, keys or LINK_KEYS)
  return {
    rate = opt_rate(F, n, "rate", opts.rate),
    delay = opt_time(F, n, "delay", opts.delay),
    queue = opt_int(F, n, "queue", opts.queue, 1, 1000000000),
    loss = opt_prob(F, n, "loss", opts.loss),
    name = opt_string(F, n, "name", opts.name),
  }
end

-- sim:link(a, b [, { rate = "10Mbps", delay = 0, queue = 100, loss = 0,
-- name = "a-b" }]) -> link
function Sim:link(a, b, opts)
  local F = "sim:link"
  local S = sim_of(self, F)
  local ra = node_arg(F, 1, a, S)
  local rb = node_arg(F, 2, b, S)
  if ra == rb then argerror(F, 2, "a link joins two different nodes") end
  local o = link_opts(F, 3, opts)
  local id, err = core.link(S.u, ra.id, rb.id, o)
  if not id then argerror(F, 3, err:gsub("^link: ", "")) end
  return new_link(S, id, a, b)
end

local NODE_SIDE_KEYS = CONFIG_KEYS

local DUMBBELL_KEYS = set_of { "n", "prefix", "client", "server", "access", "bottleneck" }
local DUMBBELL_LINK_KEYS = set_of { "rate", "delay", "queue", "loss" }

-- sim:dumbbell{ n = 2, prefix = "", client = {node opts}, server = {...},
-- access = {link opts}, bottleneck = {link opts} } -> { clients = {...},
-- servers = {...}, left = router, right = router, bottleneck = link,
-- access = { links } }: client i reaches server i through the bottleneck.
function Sim:dumbbell(opts)
  local F = "sim:dumbbell"
  local S = sim_of(self, F)
  opts = options(F, 1, opts, DUMBBELL_KEYS)
  local n = opt_int(F, 1, "n", opts.n, 1, 20000, 1)
  local prefix = opts.prefix
  if prefix ~= nil and type(prefix) ~= "string" then
    argerror(F, 1, "prefix must be a string, got " .. show(prefix))
  end
  local sides = {}
  for _, side in ipairs { "client", "server" } do
    local v = opts[side]
    if v ~= nil and type(v) ~= "table" then
      argerror(F, 1, fmt("%s must be a table of node options, got %s", side, show(v)))
    end
    for k in pairs(v or {}) do
      if not NODE_SIDE_KEYS[k] then argerror(F, 1, side .. ": " .. unknown_key(k, NODE_SIDE_KEYS)) end
    end
    local native, cfg, tcp, cf = node_config(F, v)
    sides[side] = { native = native, config = cfg, tcp = tcp, cf = cf }
  end
  local keys = DUMBBELL_LINK_KEYS
  for _, which in ipairs { "access", "bottleneck" } do
    local v = opts[which]
    if v ~= nil and type(v) ~= "table" then
      argerror(F, 1, fmt("%s must be a table of link options, got %s", which, show(v)))
    end
    for k in pairs(v or {}) do
      if not keys[k] then argerror(F, 1, which .. ": " .. unknown_key(k, keys)) end
    end
  end
  local acc = link_opts(F, 1, opts.access, keys)
  local bot = link_opts(F, 1, opts.bottleneck, keys)
  local bid, cids, sids = core.dumbbell(S.u, {
    n = n, prefix = prefix, client = sides.client, server = sides.server,
    access = acc, bottleneck = bot,
  })
  if not bid then argerror(F, 1, tostring(cids):gsub("^dumbbell: ", "")) end
  -- sim.h makes, in order: the two routers, the bottleneck, then per
  -- pair the client, the server and their two access links.
  local p = prefix or ""
  local left_id = cids[1] - 2
  local left = new_node(S, left_id, p .. "left", true)
  local right = new_node(S, left_id + 1, p .. "right", true)
  local bottleneck = new_link(S, bid, left, right)
  local r = { clients = {}, servers = {}, left = left, right = right, bottleneck = bottleneck, access = {} }
  for i = 1, n do
    local c = new_node(S, cids[i], p .. "c" .. i, false, sides.client.tcp, sides.client.cf)
    local s = new_node(S, sids[i], p .. "s" .. i, false, sides.server.tcp, sides.server.cf)
    r.clients[i], r.servers[i] = c, s
    r.access[#r.access + 1] = new_link(S, bid + 2 * i - 1, c, left)
    r.access[#r.access + 1] = new_link(S, bid + 2 * i, right, s)
  end
  return r
end

-- sim:at(t, fn): fn(sim) runs at simulated time t (absolute).
function Sim:at(t, fn)
  local F = "sim:at"
  local S = sim_of(self, F)
  local ns, why = to_ns(t)
  if not ns then
    argerror(F, 1, fmt("the time %s; it is %s, got %s", why or "must be a time", TIME_HELP, show(t)))
  end
  if type(fn) ~= "function" then expected(F, 2, "function", fn) end
  local now = core.now(S.u)
  if ns < now then
    argerror(F, 1, fmt("%s s is in the past (now is %s s)", tcplab.format_time(ns), tcplab.format_time(now)))
  end
  S.ntimers = S.ntimers + 1
  S.timers[S.ntimers] = fn
  local ok, err = core.at(S.u, ns, S.ntimers)
  if not ok then fail(F, err) end
end

local RUN_KEYS = set_of { "stop" }

-- sim:run{ stop = t }: runs until simulated time t, or (no stop) until
-- nothing is left to happen. An error in a callback stops the run and
-- is raised here with the callback's file, line and traceback.
function Sim:run(opts)
  local F = "sim:run"
  local S = sim_of(self, F)
  opts = options(F, 1, opts, RUN_KEYS)
  local stop = opt_time(F, 1, "stop", opts.stop)
  local now = core.now(S.u)
  if stop and stop < now then
    argerror(F, 1, fmt("stop = %s s is in the past (now is %s s)", tcplab.format_time(stop),
      tcplab.format_time(now)))
  end
  local ok, err, current = core.run(S.u, stop)
  if ok == false then
    local what = current == "sim:at" and "a sim:at function"
      or current and ("the " .. current .. " callback") or "a callback"
    fail(F, fmt("stopped at %s s by an error in %s: %s", tcplab.format_time(core.now(S.u)),
      what, tostring(err)))
  elseif not ok then
    fail(F, err)
  end
  return self
end

-- sim:now() -> seconds of simulated time
function Sim:now()
  return core.now(sim_of(self, "sim:now").u) / 1e9
end

-- sim:events() -> ns-3 events executed so far (a measure of work).
function Sim:events()
  return core.events(sim_of(self, "sim:events").u)
end

-- sim:close(): frees the simulation (also done by __gc and __close), so
-- another one can be made. Read its results first.
function Sim:close()
  local r = self_of(self, "sim", "sim:close")
  local ok, err = core.close(r.u)
  if not ok then fail("sim:close", err) end
  r.timers = {}
  for k in pairs(r.handlers) do r.handlers[k] = nil end
end

-- Rows of timeline.csv, segments.csv, connections.csv as tables keyed by
-- column name: numbers as numbers, empty cells nil.
function Sim:timeline()
  return core.rows(sim_of(self, "sim:timeline").u, "timeline")
end

function Sim:segments()
  return core.rows(sim_of(self, "sim:segments").u, "segments")
end

function Sim:connections()
  return core.rows(sim_of(self, "sim:connections").u, "connections")
end

-- Rows of cwnd.csv: each change of a tcplab connection's cwnd or ssthresh
-- (bytes; ssthresh nil until a loss sets it).
function Sim:cwnd()
  return core.rows(sim_of(self, "sim:cwnd").u, "cwnd")
end

-- sim:write_csv(dir) -> true | nil, message, code: timeline.csv,
-- segments.csv, connections.csv and cwnd.csv in dir (created).
function Sim:write_csv(dir)
  local F = "sim:write_csv"
  local S = sim_of(self, F)
  if type(dir) ~= "string" or dir == "" then expected(F, 1, "directory name", dir) end
  return core.write_csv(S.u, dir)
end

-- sim:nodes(), sim:links(): the handles, by id order.
function Sim:nodes()
  local S = sim_of(self, "sim:nodes")
  local list = {}
  for id, h in pairs(S.nodes) do list[#list + 1] = { id, h } end
  table.sort(list, function(x, y) return x[1] < y[1] end)
  for i, p in ipairs(list) do list[i] = p[2] end
  return list
end

function Sim:links()
  local S = sim_of(self, "sim:links")
  local list = {}
  for id, h in pairs(S.links) do list[#list + 1] = { id, h } end
  table.sort(list, function(x, y) return x[1] < y[1] end)
  for i, p in ipairs(list) do list[i] = p[2] end
  return list
end

-- ------------------------------------------------ ladders and plots

-- Which connection a diagram shows: a connection (and then only its own
-- life and its peer's, when the flow was used more than once), a flow
-- string, or nil when the simulation has just one.
local function diagram_args(F, S, conn, opts, n_opts)
  if opts ~= nil and type(opts) ~= "table" then expected(F, n_opts, "table of options", opts) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local flow = conn
  if rec_of(conn) then
    local r = conn_arg(F, 1, conn, S)
    local info = core.info(S.u, r.id)
    if r.is_listener then argerror(F, 1, "a listener has no ladder; give one of its connections") end
    if not info.flow then argerror(F, 1, "the connection has not opened yet") end
    flow = info.flow
    if o.conn == nil and o.from == nil and o.to == nil then o.conn = r.id end
  elseif conn ~= nil and type(conn) ~= "string" then
    expected(F, 1, "tcplab.conn, flow string or nil", conn)
  end
  return flow, o
end

-- Errors of the drawing modules, moved to the script's line.
local function relay(F, ok, ...)
  if ok then return ... end
  local msg = tostring((...)):gsub("^[^\n]-tcplab/[%w_]+%.lua:%d+: ", "")
  fail(F, msg)
end

-- sim:ladder(conn [, opts]) -> text: the connection as a sequence
-- diagram (options: see tcplab.ladder.text).
function Sim:ladder(conn, opts)
  local F = "sim:ladder"
  local S = sim_of(self, F)
  local flow, o = diagram_args(F, S, conn, opts, 2)
  local ladder = require("tcplab.ladder")
  return relay(F, pcall(ladder.text, core.rows(S.u, "timeline"), core.rows(S.u, "segments"), flow, o))
end

-- sim:ladder_svg(conn, file [, opts]) -> true | nil, message
function Sim:ladder_svg(conn, file, opts)
  local F = "sim:ladder_svg"
  local S = sim_of(self, F)
  if type(file) ~= "string" or file == "" then expected(F, 2, "file name", file) end
  local flow, o = diagram_args(F, S, conn, opts, 3)
  local ladder = require("tcplab.ladder")
  return relay(F, pcall(ladder.write_svg, file, core.rows(S.u, "timeline"),
    core.rows(S.u, "segments"), flow, o))
end

-- Draws one of the simulation's tables with tcplab.plot[kind] into file.
local function plot_table(self, F, kind, table_name, file, opts)
  local S = sim_of(self, F)
  if type(file) ~= "string" or file == "" then expected(F, 1, "file name (.png or .svg)", file) end
  local plot = require("tcplab.plot")
  return relay(F, pcall(plot[kind], core.rows(S.u, table_name), file, opts))
end

-- sim:plot_states(file [, opts]) -> file, script | nil, message: the
-- state timeline of every connection (see tcplab.plot.states).
function Sim:plot_states(file, opts)
  return plot_table(self, "sim:plot_states", "states", "timeline", file, opts)
end

-- sim:plot_cwnd(file [, opts]) -> file, script | nil, message: the
-- congestion window and slow-start threshold of every tcplab connection
-- against time (see tcplab.plot.cwnd).
function Sim:plot_cwnd(file, opts)
  return plot_table(self, "sim:plot_cwnd", "cwnd", "cwnd", file, opts)
end

-- ----------------------------------------------------------- links

local function link_of(v, F)
  local r = self_of(v, "link", F)
  open_sim(r.S, F)
  return r
end

-- The node `from` of a link's rule: one of its two ends.
local function end_arg(F, n, r, v, required)
  if v == nil then
    if required then
      argerror(F, n, fmt("from is required: the node sending on the link ('%s' or '%s')",
        REC[r.a].name, REC[r.b].name))
    end
    return nil
  end
  local nr = node_arg(F, n, v, r.S, "tcplab.node (from)")
  if v ~= r.a and v ~= r.b then
    argerror(F, n, fmt("from must be one of the link's nodes ('%s' or '%s'), got node '%s'",
      REC[r.a].name, REC[r.b].name, nr.name))
  end
  return nr
end

local LOSS_KEYS = set_of { "from", "p", "model", "r", "h", "k" }

-- link:loss{ from = node, p = 0.1 } (from omitted: both directions) or
-- link:loss{ from = node, model = "gilbert", p =, r =, h = 0, k = 1 }.
function Link:loss(opts)
  local F = "link:loss"
  local r = link_of(self, F)
  opts = options(F, 1, opts, LOSS_KEYS)
  local from = end_arg(F, 1, r, opts.from, false)
  local fid = from and from.id or -1
  local model = opts.model or "random"
  if opts.p == nil then argerror(F, 1, "p is required: a probability in [0, 1]") end
  local p = opt_prob(F, 1, "p", opts.p)
  local ok, err
  if model == "random" then
    for _, k in ipairs { "r", "h", "k" } do
      if opts[k] ~= nil then
        argerror(F, 1, fmt("%s belongs to model = \"gilbert\"; random loss takes from and p", k))
      end
    end
    ok, err = core.loss(r.S.u, r.id, fid, p)
  elseif model == "gilbert" then
    if opts.r == nil then argerror(F, 1, "r is required for model = \"gilbert\": P(Bad -> Good) in [0, 1]") end
    ok, err = core.gilbert(r.S.u, r.id, fid, p, opt_prob(F, 1, "r", opts.r),
      opt_prob(F, 1, "h", opts.h, 0), opt_prob(F, 1, "k", opts.k, 1))
  else
    argerror(F, 1, fmt("model must be \"random\" (default) or \"gilbert\", got %s", show(model)))
  end
  if not ok then fail(F, err) end
  return self
end

local MATCH_KEYS = { "from", "flags", "exact", "nth", "every", "after", "before", "len" }

local DROP_KEYS = set_of(MATCH_KEYS)
local DELAY_KEYS = set_of(MATCH_KEYS)
DELAY_KEYS.by = true

local function match_opts(F, r, opts, keys)
  opts = options(F, 1, opts, keys)
  local m = {
    from = end_arg(F, 1, r, opts.from, true).id,
    flags = opt_flags(F, 1, "flags", opts.flags, 0),
    exact = opt_bool(F, 1, "exact", opts.exact, false),
    nth = opt_int(F, 1, "nth", opts.nth, 1, 0xffffffff, 1),
    every = opt_bool(F, 1, "every", opts.every, false),
    after = opt_time(F, 1, "after", opts.after, 0),
    before = opt_time(F, 1, "before", opts.before, 0),
    len = opt_int(F, 1, "len", opts.len, 0, 65535, -1),
  }
  if opts.before ~= nil and m.before <= m.after then
    argerror(F, 1, "before must be later than after")
  end
  if opts.nth ~= nil and m.every then
    argerror(F, 1, "nth and every = true exclude each other")
  end
  return m, opts
end

-- link:drop{ from = node, flags = "FIN", exact = false, nth = 1,
-- every = false, after = t0, before = t1, len = n }: drops the matching
-- segments `from` sends on this link.
function Link:drop(opts)
  local F = "link:drop"
  local r = link_of(self, F)
  local m = match_opts(F, r, opts, DROP_KEYS)
  local ok, err = core.rule(r.S.u, r.id, nil, m)
  if not ok then fail(F, err) end
  return self
end

-- link:delay{ ...as link:drop..., by = "3s" }: holds matching segments
-- back for `by` more.
function Link:delay(opts)
  local F = "link:delay"
  local r = link_of(self, F)
  local m, o = match_opts(F, r, opts, DELAY_KEYS)
  if o.by == nil then argerror(F, 1, "by is required: how long to hold segments, " .. TIME_HELP) end
  local by = opt_time(F, 1, "by", o.by)
  if by == 0 then argerror(F, 1, "by must be > 0") end
  local ok, err = core.rule(r.S.u, r.id, by, m)
  if not ok then fail(F, err) end
  return self
end

local INJECT_KEYS = set_of {
  "at", "from", "conn", "flags", "rel_seq", "rel_ack", "seq", "ack", "payload",
  "sport", "dport", "window", "corrupt_checksum",
}

local function seq_value(F, key, v)
  local i = math.tointeger(v)
  if not i or i < -0x100000000 or i > 0xffffffff then
    argerror(F, 1, fmt("%s must be an integer sequence number (mod 2^32), got %s", key, show(v)))
  end
  return i & 0xffffffff
end

-- link:inject{ at = t, from = node, conn = c, flags = "SYN", rel_seq = 0,
-- rel_ack = 0 } or with seq/ack (absolute), or without conn: sport and
-- dport (then seq/ack are absolute). payload = "bytes", window = 65535.
function Link:inject(opts)
  local F = "link:inject"
  local r = link_of(self, F)
  opts = options(F, 1, opts, INJECT_KEYS)
  local t = {
    at = opt_time(F, 1, "at", opts.at),
    from = end_arg(F, 1, r, opts.from, true).id,
    window = opt_int(F, 1, "window", opts.window, 0, 65535),
    corrupt_checksum = opt_bool(F, 1, "corrupt_checksum", opts.corrupt_checksum, false),
  }
  if opts.flags == nil then argerror(F, 1, "flags is required, e.g. flags = \"SYN\"; " .. FLAG_HELP) end
  t.flags = opt_flags(F, 1, "flags", opts.flags)
  if opts.payload ~= nil and type(opts.payload) ~= "string" then
    argerror(F, 1, "payload must be a string, got " .. show(opts.payload))
  end
  t.payload = opts.payload
  local now = core.now(r.S.u)
  if t.at and t.at < now then
    argerror(F, 1, fmt("at = %s s is in the past (now is %s s)", tcplab.format_time(t.at), tcplab.format_time(now)))
  end
  for _, k in ipairs { "seq", "ack" } do
    if opts[k] ~= nil and opts["rel_" .. k] ~= nil then
      argerror(F, 1, fmt("give %s or rel_%s, not both", k, k))
    end
  end
  if opts.conn ~= nil then
    local cr = conn_arg(F, 1, opts.conn, r.S, "tcplab.conn (conn)")
    if opts.sport ~= nil or opts.dport ~= nil then
      argerror(F, 1, "sport and dport come from conn; give them only without conn")
    end
    t.conn = cr.id
    if opts.seq ~= nil then
      t.seq, t.seq_absolute = seq_value(F, "seq", opts.seq), true
    else
      t.seq = seq_value(F, "rel_seq", opts.rel_seq or 0)
    end
    if opts.ack ~= nil then
      t.ack, t.ack_absolute = seq_value(F, "ack", opts.ack), true
    else
      t.ack = seq_value(F, "rel_ack", opts.rel_ack or 0)
    end
  else
    if opts.rel_seq ~= nil or opts.rel_ack ~= nil then
      argerror(F, 1, "rel_seq and rel_ack need conn (whose ISNs they are relative to); use seq and ack")
    end
    if opts.sport == nil or opts.dport == nil then
      argerror(F, 1, "without conn, sport and dport are required (ports 1-65535)")
    end
    t.sport = opt_int(F, 1, "sport", opts.sport, 1, 65535)
    t.dport = opt_int(F, 1, "dport", opts.dport, 1, 65535)
    t.seq, t.ack = seq_value(F, "seq", opts.seq or 0), seq_value(F, "ack", opts.ack or 0)
    t.seq_absolute, t.ack_absolute = true, true
  end
  local ok, err = core.inject(r.S.u, r.id, t)
  if not ok then fail(F, err) end
  return self
end

-- link:pcap(prefix): "<prefix>-<node>.pcap" for each end, written as the
-- simulation runs.
function Link:pcap(prefix)
  local F = "link:pcap"
  local r = link_of(self, F)
  if type(prefix) ~= "string" or prefix == "" then expected(F, 1, "file name prefix", prefix) end
  local ok, err = core.pcap(r.S.u, r.id, prefix)
  if not ok then fail(F, err) end
  return self
end

local DIRECTION_KEYS = set_of { "from", "rate", "queue" }

-- link:direction{ from = node, rate = "1Mbps", queue = 10 }: the rate and
-- queue of one direction.
function Link:direction(opts)
  local F = "link:direction"
  local r = link_of(self, F)
  opts = options(F, 1, opts, DIRECTION_KEYS)
  local from = end_arg(F, 1, r, opts.from, true)
  local ok, err = core.link_direction(r.S.u, r.id, from.id, opt_rate(F, 1, "rate", opts.rate) or 0,
    opt_int(F, 1, "queue", opts.queue, 1, 1000000000, 0))
  if not ok then fail(F, err) end
  return self
end

-- ----------------------------------------------------------- nodes

local function node_of(v, F)
  local r = self_of(v, "node", F)
  open_sim(r.S, F)
  return r
end

local CALLBACKS = set_of { "on_accept", "on_connect", "on_data", "on_close", "on_end", "on_urgent" }

-- The time of an action from its at (absolute) and after (from now)
-- options; neither is now (nil).
local function when(F, n, at, after, u)
  if at == nil and after == nil then return nil end
  at = opt_time(F, n, "at", at)
  after = opt_time(F, n, "after", after)
  local now = core.now(u)
  if at and after then argerror(F, n, "give at or after, not both") end
  if after then return now + after end
  if at < now then
    argerror(F, n, fmt("at = %s s is in the past (now is %s s)", tcplab.format_time(at),
      tcplab.format_time(now)))
  end
  return at
end

-- Checks an options table with callbacks. The table itself then holds
-- the connection's callbacks (no copy: connections are many): they are
-- looked up in it when they fire. Returns it, or nil without callbacks.
local function with_callbacks(F, n, opts, keys)
  if type(opts) ~= "table" then expected(F, n, "table of options", opts) end
  local h
  for k, v in pairs(opts) do
    if not keys[k] then argerror(F, n, unknown_key(k, keys)) end
    if CALLBACKS[k] then
      if type(v) ~= "function" then
        argerror(F, n, fmt("%s must be a function, got %s", k, show(v)))
      end
      h = opts
    end
  end
  return h
end

local LISTEN_KEYS = set_of { "backlog", "retries", "on_accept", "on_data", "on_close", "on_end",
  "on_urgent" }
local CONNECT_KEYS = set_of { "at", "after", "port", "retries", "on_connect", "on_data", "on_close",
  "on_end", "on_urgent" }

-- opts.retries: R2 for one connection (RFC 9293 3.8.3, MUST-21), an
-- integer in [0, 255] or "never" (2^32 - 1 for tcplab.core); nil if not
-- given.
local function opt_retries(F, n, v)
  if v == nil then return nil end
  local r = v == "never" and 0xffffffff
    or (mtype(v) == "integer" and v >= 0 and v <= 255 and v)
  if not r then
    argerror(F, n, fmt('retries must be an integer in [0, 255] or "never", got %s', show(v)))
  end
  return r
end

local function set_retries(F, S, id, r)
  if r == nil then return end
  local ok, err = core.set_retries(S.u, id, r)
  if not ok then fail(F, err) end
end

-- node:stats() -> the node's TCP counters (tcplab nodes): segs_in,
-- segs_out, rst_sent, backlog_drops, challenge_acks,
-- challenge_acks_limited, wscale_clamped, conns_active, conns_total,
-- tx_no_buffer, and malformed = { short, offset, option, checksum }
-- (segments counted and dropped, by reason).
function Node:stats()
  local F = "node:stats"
  local r = node_of(self, F)
  if r.router then fail(F, fmt("node '%s' is a router, which runs no TCP", r.name)) end
  if r.tcp == "ns3" then fail(F, fmt("node '%s' runs ns-3's TCP, whose counters are its own", r.name)) end
  local t, err = core.node_stats(r.S.u, r.id)
  if not t then fail(F, err) end
  return t
end

-- node:listen(port [, { backlog = 128, retries, on_accept = fn(conn),
-- on_data = fn(conn, nbytes), on_close = fn(conn), on_end = fn(conn, err),
-- on_urgent = fn(conn, nbytes) }]) -> listener (a tcplab.conn;
-- listener:close() stops listening). The callbacks and retries serve
-- every connection the listener accepts.
function Node:listen(port, opts)
  local F = "node:listen"
  local r = node_of(self, F)
  if r.router then fail(F, fmt("node '%s' is a router, which runs no application", r.name)) end
  if port == nil then argerror(F, 1, "port expected (an integer in [1, 65535]), got nil") end
  port = opt_int(F, 1, "port", port, 1, 65535)
  local h, backlog, retries = nil, 0, nil
  if opts ~= nil then
    h = with_callbacks(F, 2, opts, LISTEN_KEYS)
    backlog = opt_int(F, 2, "backlog", opts.backlog, 1, 65535, 0)
    retries = opt_retries(F, 2, opts.retries)
  end
  local id, err = core.listen(r.u, r.id, port, backlog)
  if not id then
    if err:find("in use", 1, true) then argerror(F, 1, fmt("port %d is in use on node '%s'", port, r.name)) end
    fail(F, err)
  end
  set_retries(F, r.S, id, retries)
  r.S.handlers[id] = h or false
  return err -- the listener's handle
end

-- node:connect(peer, port [, { at = now | after = d, port = ephemeral,
-- retries, on_connect = fn(conn), on_data, on_close, on_end, on_urgent
-- }]) -> conn, at once; the SYN leaves at `at`.
function Node:connect(peer, port, opts)
  local F = "node:connect"
  local r = REC[self]
  if r == nil or r.kind ~= "node" then r = self_of(self, "node", F) end
  local S = r.S
  if r.router then fail(F, fmt("node '%s' is a router, which runs no application", r.name)) end
  local pr = REC[peer]
  if pr == nil or pr.kind ~= "node" or pr.S ~= S or pr.router then pr = host_arg(F, 1, peer, S) end
  if pr == r then argerror(F, 1, "a node cannot connect to itself here; give another node") end
  if mtype(port) ~= "integer" or port < 1 or port > 65535 then
    if port == nil then argerror(F, 2, "port expected (an integer in [1, 65535]), got nil") end
    port = opt_int(F, 2, "port", port, 1, 65535)
  end
  local h, at, lport, retries = nil, nil, 0, nil
  if opts ~= nil then
    h = with_callbacks(F, 3, opts, CONNECT_KEYS)
    retries = opt_retries(F, 3, opts.retries)
    if opts.at ~= nil or opts.after ~= nil then at = when(F, 3, opts.at, opts.after, S.u) end
    if opts.port ~= nil then lport = opt_int(F, 3, "port", opts.port, 1, 65535) end
  end
  local id, c = core.connect(S.u, r.id, pr.id, port, at, lport)
  if not id then fail(F, c) end
  set_retries(F, S, id, retries)
  S.handlers[id] = h or false
  return c
end

-- ----------------------------------------------------- connections

local function conn_of(v, F)
  local r = self_of(v, "conn", F)
  open_sim(r.S, F)
  return r
end

local ACTION_KEYS = set_of { "at", "after" }
local SEND_KEYS = set_of { "at", "after", "urgent" }


-- conn:send(n_or_string [, { at = t | after = d, urgent = false }]) (a
-- number sends that many generated bytes: byte k of the stream is k %
-- 251; urgent = true makes them urgent data, RFC 9293 3.8.5),
-- conn:shutdown{ at | after } (FIN after the queued data, keep
-- receiving), conn:close{ at | after } (FIN; on a listener, stop
-- listening), conn:abort{ at | after } (RST) and conn:read() (the bytes
-- received and not read yet) are tcplab.core's C methods: they run for
-- every connection of an experiment. Their options come here.
core.set_action_time(function(F, n, opts, u)
  opts = options(F, n, opts, F == "conn:send" and SEND_KEYS or ACTION_KEYS)
  if opts.urgent ~= nil then opt_bool(F, n, "urgent", opts.urgent) end
  return when(F, n, opts.at, opts.after, u)
end)
for name, fn in pairs(core.conn_methods) do Conn[name] = fn end

-- conn:info() -> every field of the connection as a table.
function Conn:info()
  local r = conn_of(self, "conn:info")
  local info = core.info(r.S.u, r.id)
  info.node = r.node
  info.listener = info.listener ~= 0 and conn_handle(r.S, info.listener) or nil
  return info
end

-- conn:timeline() -> this connection's rows of sim:timeline().
function Conn:timeline()
  local r = conn_of(self, "conn:timeline")
  return core.rows(r.S.u, "timeline", r.id)
end

-- conn:cwnd() -> this connection's rows of sim:cwnd().
function Conn:cwnd()
  local r = conn_of(self, "conn:cwnd")
  return core.rows(r.S.u, "cwnd", r.id)
end

local STATES = set_of(core.states)
local STATE_LIST = table.concat(core.states, ", ")

local function state_arg(F, n, v)
  if type(v) ~= "string" or not STATES[v] then
    argerror(F, n, fmt("unknown state %s; states: %s", show(v), STATE_LIST))
  end
  return v
end

-- conn:entered(state [, nth]) -> seconds when the connection entered the
-- state (the nth time, default the first), or nil if it did not.
function Conn:entered(state, nth)
  local F = "conn:entered"
  local r = conn_of(self, F)
  state_arg(F, 1, state)
  nth = opt_int(F, 2, "nth", nth, 1, nil, 1)
  for _, row in ipairs(core.rows(r.S.u, "timeline", r.id)) do
    if row.to_state == state and row.from_state ~= state then
      nth = nth - 1
      if nth == 0 then return row.time_s end
    end
  end
  return nil
end

-- conn:states() -> the states the connection went through, in order.
function Conn:states()
  local r = conn_of(self, "conn:states")
  local list = {}
  for _, row in ipairs(core.rows(r.S.u, "timeline", r.id)) do
    if #list == 0 then list[1] = row.from_state end
    if row.to_state ~= row.from_state then list[#list + 1] = row.to_state end
  end
  return list
end

-- ---------------------------------------------------- field access

local NODE_FIELDS = {
  name = function(r) return r.name end,
  id = function(r) return r.id end,
  router = function(r) return r.router end,
  tcp = function(r) return r.tcp end,
  sim = function(r) return r.S.u end,
  addr = function(r) return core.node_addr(open_sim(r.S, "node.addr").u, r.id) end,
}

local LINK_FIELDS = {
  name = function(r) return r.name end,
  id = function(r) return r.id end,
  a = function(r) return r.a end,
  b = function(r) return r.b end,
  sim = function(r) return r.S.u end,
}

-- Fields of a connection: id, node and sim from the handle, the rest
-- (state, flow, handshake_s, error, ...) from the simulation now.
local CONN_OWN = {
  id = function(r) return r.id end,
  node = function(r) return r.node end,
  sim = function(r) return r.S.u end,
  is_listener = function(r) return r.is_listener end,
}
local CONN_INFO = set_of {
  "state", "flow", "role", "local", "remote", "open_s", "established_s",
  "handshake_s", "close_s", "closed_s", "syn_tx", "retransmissions",
  "bytes_sent", "bytes_received", "error", "native",
}

-- __index of the handles: methods first (from a C function, as methods
-- are looked up on every call), then fields.
local function fields_of(fields, kind)
  return function(h, k)
    local r = rec_of(h)
    local f = fields[k]
    if f then return f(r) end
    if kind == "conn" and CONN_INFO[k] then
      local info = core.info(open_sim(r.S, "conn." .. k).u, r.id)
      return info[k]
    end
    return nil
  end
end

MT.sim.__index = Sim
MT.node.__index = core.index(Node, fields_of(NODE_FIELDS, "node"))
MT.link.__index = core.index(Link, fields_of(LINK_FIELDS, "link"))
MT.conn.__index = core.index(Conn, fields_of(CONN_OWN, "conn"))

local function no_newindex(h, k)
  error(fmt("cannot set field %s of %s: handles are read-only", show(k), show(h)), 2)
end
for _, mt in pairs(MT) do mt.__newindex = no_newindex end

MT.sim.__tostring = function(u) return describe_sim(REC[u]) end
MT.node.__tostring = function(h)
  local r = REC[h]
  if not core.is_open(r.S.u) then return describe_node(r) .. " (closed simulation)" end
  local addr = core.node_addr(r.S.u, r.id)
  local what = r.router and "router" or ("tcp=" .. r.tcp)
  if r.counterfactual then what = what .. ", COUNTERFACTUAL two-way handshake" end
  return fmt("%s (%s%s)", describe_node(r), addr and (addr .. ", ") or "", what)
end
MT.link.__tostring = function(h)
  local r = REC[h]
  return fmt("%s (%s <-> %s)", describe_link(r), REC[r.a].name, REC[r.b].name)
end
MT.conn.__tostring = function(h)
  local r = rec_of(h)
  if not core.is_open(r.S.u) then return describe_conn(r) .. " (closed simulation)" end
  local info = core.info(r.S.u, r.id)
  return fmt("%s %s %s%s", describe_conn(r), info.flow or "(not opened yet)", info.state,
    info.error and (" " .. info.error) or "")
end

-- ---------------------------------------------------------- helpers

-- tcplab.format_time(ns) -> "1.500000000", as the CSV files write times.
function tcplab.format_time(ns)
  ns = math.tointeger(ns) or math.floor(ns + 0.5)
  return fmt("%d.%09d", ns // 1000000000, ns % 1000000000)
end

-- tcplab.param(name, default) -> tcplab.params[name], or default when not
-- set; a set value must have the default's type.
function tcplab.param(name, default)
  local F = "tcplab.param"
  if type(name) ~= "string" then expected(F, 1, "parameter name", name) end
  local v = tcplab.params[name]
  if v == nil then return default end
  if default ~= nil and type(v) ~= type(default) then
    -- A time default such as "20ms" accepts numbers (seconds), and a
    -- number default accepts "20ms": both mean a time.
    local both_times = (type(v) == "number" or type(v) == "string") and to_ns(v) and to_ns(default)
    if not both_times then
      fail(F, fmt("parameter %s = %s must be a %s like its default %s", name, show(v),
        type(default), show(default)))
    end
  end
  return v
end

-- tcplab.value(text) -> the typed value of a --set parameter: "3" -> 3,
-- "0.5" -> 0.5, "true"/"false" -> booleans, anything else (such as
-- "20ms", which every time argument takes) stays a string.
function tcplab.value(text)
  if text == "true" then return true end
  if text == "false" then return false end
  if text:match("^[-+]?%d+$") then
    return math.tointeger(tonumber(text)) or tonumber(text)
  end
  if text:match("^[-+]?%d*%.?%d*[eE][-+]?%d+$") or text:match("^[-+]?%d*%.%d*$") then
    if text:match("%d") then return tonumber(text) end
  end
  return text
end

local COLUMN_CHECKS = {
  from_state = state_arg, to_state = state_arg, final_state = state_arg,
}
local EVENTS = set_of(core.event_names)
COLUMN_CHECKS.event = function(F, n, v)
  if not EVENTS[v] then
    argerror(F, n, fmt("unknown event %s; events: %s", show(v), table.concat(core.event_names, ", ")))
  end
end
COLUMN_CHECKS.flags = function(F, n, v)
  if type(v) ~= "string" or (v ~= "" and not core.flags(v)) then
    argerror(F, n, fmt("flags: unknown flag in %s; allowed: %s", show(v), FLAG_HELP))
  end
end

-- A filter: a function(row) -> boolean, or a table of column = value
-- (state, event and flag names are checked, so a typo is an error rather
-- than an empty result).
local function matcher(F, n, filter)
  if filter == nil then return function() return true end end
  if type(filter) == "function" then return filter end
  if type(filter) ~= "table" then expected(F, n, "table of column = value or a function", filter) end
  for k, v in pairs(filter) do
    if COLUMN_CHECKS[k] then COLUMN_CHECKS[k](F, n, v) end
  end
  return function(row)
    for k, v in pairs(filter) do
      if row[k] ~= v then return false end
    end
    return true
  end
end

local function rows_arg(F, rows)
  if type(rows) ~= "table" then expected(F, 1, "list of rows", rows) end
  return rows
end

-- tcplab.where(rows, filter) -> the rows that match.
function tcplab.where(rows, filter)
  local F = "tcplab.where"
  rows_arg(F, rows)
  local ok, out = matcher(F, 2, filter), {}
  for _, row in ipairs(rows) do
    if ok(row) then out[#out + 1] = row end
  end
  return out
end

-- tcplab.first(rows, filter) -> the first row that matches, or nil.
function tcplab.first(rows, filter)
  local F = "tcplab.first"
  rows_arg(F, rows)
  local ok = matcher(F, 2, filter)
  for _, row in ipairs(rows) do
    if ok(row) then return row end
  end
  return nil
end

-- tcplab.count(rows, filter) -> how many rows match.
function tcplab.count(rows, filter)
  local F = "tcplab.count"
  rows_arg(F, rows)
  local ok, n = matcher(F, 2, filter), 0
  for _, row in ipairs(rows) do
    if ok(row) then n = n + 1 end
  end
  return n
end

-- tcplab.column(rows, name) -> the column's values, in row order (nil
-- cells skipped).
function tcplab.column(rows, name)
  local F = "tcplab.column"
  rows_arg(F, rows)
  if type(name) ~= "string" then expected(F, 2, "column name", name) end
  local out = {}
  for _, row in ipairs(rows) do
    if row[name] ~= nil then out[#out + 1] = row[name] end
  end
  return out
end

tcplab.states = core.states
tcplab.events = core.event_names
tcplab.columns = {
  timeline = core.columns("timeline"),
  segments = core.columns("segments"),
  connections = core.columns("connections"),
  cwnd = core.columns("cwnd"),
}

-- The drawing and file modules, loaded when first used.
setmetatable(tcplab, {
  __index = function(t, k)
    if k == "ladder" or k == "plot" or k == "csv" then
      local m = require("tcplab." .. k)
      rawset(t, k, m)
      return m
    end
  end,
})

return tcplab
