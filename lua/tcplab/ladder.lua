-- tcplab.ladder: one connection drawn as a textbook sequence diagram.
--
-- The two ends of the connection are two vertical lines, the client on
-- the left and the server on the right. Every segment either end sends is
-- an arrow across, labelled with its flags and sequence numbers; a
-- segment lost on the way stops half way with an X. The state each end
-- enters is written beside its line when it enters it, and the time of
-- every event is at the left.
--
-- Input is what tcplab records (DESIGN.md, "CSV files"): the timeline
-- rows (state transitions and the segments each connection sends and
-- receives) and the segment rows (every segment on every link: sent,
-- received, dropped), as tables or as paths of CSV files. The arrows come
-- from the segment rows, so a peer running ns-3's own TCP, routers on the
-- way and injected segments are drawn too; the timeline gives the states
-- and the order of events that happen at the same instant.

local csv = require("tcplab.csv")
local public = require("tcplab.public")

local ladder = {}

local CLIENT, SERVER = 1, 2

-- ------------------------------------------------------------ the model

local function load(rows, what)
  return csv.rows(rows, what, "ladder")
end

-- "10.0.0.1:49152-10.0.0.2:80" -> "10.0.0.1:49152", "10.0.0.2:80"
local function split_flow(flow)
  return flow:match("^([^-]+)%-([^-]+)$")
end

local function has_flag(flags, name)
  return flags ~= nil and ("|" .. flags .. "|"):find("|" .. name .. "|", 1, true) ~= nil
end

-- A listener's rows name it by its own address and port alone; one bound
-- to every address of its node says 0.0.0.0.
local function listens_for(flow, server_ep)
  if flow == server_ep then return true end
  local port = server_ep:match(":(%d+)$")
  return port ~= nil and flow == "0.0.0.0:" .. port
end

-- Identical segments (a retransmission of the same bytes) share a key;
-- they are paired send-to-arrival in order.
local function seg_key(r)
  return table.concat({ r.flags or "", r.seq or "", r.ack or "", r.len or 0 }, "/")
end

local function snd_key(r)
  return table.concat({ r.flags or "", r.seq or "", r.ack or "" }, "/")
end

-- Without a flow, a timeline of exactly one connection speaks for itself.
local function only_flow(timeline, segments)
  local seen, list = {}, {}
  local function add(f)
    if f and not seen[f] and split_flow(f) then
      seen[f] = true
      list[#list + 1] = f
    end
  end
  for _, r in ipairs(timeline) do add(r.flow) end
  for _, r in ipairs(segments) do add(r.flow) end
  if #list ~= 1 then
    error(("ladder: %d connections in the data, name one with the flow argument"):format(#list), 0)
  end
  return list[1]
end

-- The nodes at the two ends. The timeline names them: the node with the
-- listener for the server's address:port is the server, the one that
-- called connect is the client. Without timeline rows for an end (a node
-- running ns-3's TCP), the segment rows tell: an end originates segments
-- (sends what it never received), a router only forwards them, and the
-- first segment of a connection comes from the client.
local function find_ends(timeline, flow, flow_rows, segs, server_ep, opts)
  local client, server = opts.client, opts.server
  local order, seen = {}, {}
  for _, r in ipairs(flow_rows) do
    if not seen[r.node] then
      seen[r.node] = true
      order[#order + 1] = r.node
    end
  end
  local connector, listener = {}, {}
  for _, r in ipairs(flow_rows) do
    if r.event == "app_connect" then connector[r.node] = true end
  end
  for _, r in ipairs(timeline) do
    if r.to_state == "LISTEN" and listens_for(r.flow, server_ep) then listener[r.node] = true end
  end
  for _, n in ipairs(order) do
    if not server and listener[n] and not connector[n] then server = n end
  end
  for _, n in ipairs(order) do
    if not client and connector[n] and n ~= server then client = n end
  end
  for _, n in ipairs(order) do
    if n ~= client and n ~= server then
      if not client then client = n elseif not server then server = n end
    end
  end
  if not (client and server) then
    local received, origin = {}, {}
    for _, r in ipairs(segs) do
      if r.action == "received" then
        received[r.to_node .. "\0" .. seg_key(r)] = true
      elseif r.action == "sent" and not received[r.from_node .. "\0" .. seg_key(r)] then
        if not origin[r.from_node] then
          origin[r.from_node] = true
          origin[#origin + 1] = r.from_node
        end
      end
    end
    for _, n in ipairs(origin) do
      if n ~= client and n ~= server then
        if not client then client = n elseif not server then server = n end
      end
    end
  end
  if not (client and server) then
    error("ladder: cannot tell both ends of " .. flow .. " from the data", 0)
  end
  return client, server
end

-- The text of a sequence or acknowledgment number.
local function number(mode, rel, abs, letter)
  if mode == "absolute" or rel == nil then
    return abs ~= nil and tostring(abs) or "?"
  end
  if mode == "symbolic" then
    return rel == 0 and letter or (letter .. "+" .. rel)
  end
  return tostring(rel)
end

local function label(seg, from, opts)
  local mode = opts.numbers or (opts.symbolic and "symbolic") or "relative"
  local letters = opts.letters or { "x", "y" }
  local own, peer = letters[from], letters[3 - from]
  local parts = { (seg.flags and seg.flags ~= "") and seg.flags or "(no flags)" }
  parts[#parts + 1] = "seq=" .. number(mode, seg.rel_seq, seg.seq, own)
  if has_flag(seg.flags, "ACK") then
    parts[#parts + 1] = "ack=" .. number(mode, seg.rel_ack, seg.ack, peer)
  end
  if seg.len and seg.len > 0 then parts[#parts + 1] = "len=" .. seg.len end
  if opts.window and seg.win then parts[#parts + 1] = "win=" .. seg.win end
  return table.concat(parts, " ")
end

local function check_opts(opts)
  local known = {
    numbers = true, symbolic = true, letters = true, window = true,
    times = true, decimals = true, from = true, to = true, conn = true,
    client = true, server = true, width = true, title = true,
    -- SVG only
    scale = true, step = true, px_per_s = true,
  }
  for k in pairs(opts) do
    if not known[k] then error("ladder: unknown option '" .. tostring(k) .. "'", 0) end
  end
  local n = opts.numbers
  if n ~= nil and n ~= "relative" and n ~= "absolute" and n ~= "symbolic" then
    error("ladder: numbers must be 'relative', 'absolute' or 'symbolic'", 0)
  end
  local t = opts.times
  if t ~= nil and t ~= "send" and t ~= "both" then
    error("ladder: times must be 'send' or 'both'", 0)
  end
  local sc = opts.scale
  if sc ~= nil and sc ~= "events" and sc ~= "linear" then
    error("ladder: scale must be 'events' or 'linear'", 0)
  end
end

-- ladder.build(timeline, segments, flow [, opts]) -> model
-- The diagram as data, shared by the text and the SVG drawings:
--   model.flow, model.ends[1|2] = { node =, addr = } (1 client, 2 server),
--   model.isn[1|2] (absolute ISNs when known),
--   model.events: in drawing order, each
--     { kind = "state", time =, side = 1|2, state = "SYN_SENT" } or
--     { kind = "segment", time = send time, from = 1|2, label =,
--       arrival = time | nil, lost = bool, lost_at = time | nil,
--       reason = "loss" | ..., row = the segment row when sent }.
local function build(timeline, segments, flow, opts)
  opts = opts or {}
  check_opts(opts)
  timeline = load(timeline, "timeline")
  segments = load(segments, "segments")
  if type(flow) == "table" then flow = flow.flow end
  flow = flow or only_flow(timeline, segments)
  local client_ep, server_ep = split_flow(flow)
  if not client_ep then
    error("ladder: flow must look like 10.0.0.1:49152-10.0.0.2:80, not '" .. tostring(flow) .. "'", 0)
  end

  -- Timeline rows of this connection (both ends), indexed by their place
  -- in the whole timeline: that order is the order things happened in.
  local flow_rows, pos = {}, {}
  for i, r in ipairs(timeline) do
    if r.flow == flow and r.event ~= "cwnd" then
      flow_rows[#flow_rows + 1] = r
      pos[r] = i
    end
  end
  local segs = {}
  for i, r in ipairs(segments) do
    if r.flow == flow then
      segs[#segs + 1] = r
      pos[r] = i
    end
  end
  if #flow_rows == 0 and #segs == 0 then
    error("ladder: no rows for flow " .. flow, 0)
  end
  local client, server = find_ends(timeline, flow, flow_rows, segs, server_ep, opts)
  local side_of = { [client] = CLIENT, [server] = SERVER }

  -- The time window: given, or the life of one connection id and of the
  -- peer's connections that overlap it (a flow can be used again after
  -- TIME_WAIT: each use is one pair of ids).
  local from, to = opts.from, opts.to
  if opts.conn and not (from or to) then
    local span = {}
    for _, r in ipairs(flow_rows) do
      local s = span[r.conn]
      if not s then
        s = { node = r.node, first = r.time_s, last = r.time_s }
        span[r.conn] = s
      end
      s.first, s.last = math.min(s.first, r.time_s), math.max(s.last, r.time_s)
    end
    local own = span[opts.conn]
    if not own then
      error("ladder: no timeline rows of conn " .. tostring(opts.conn) .. " in flow " .. flow, 0)
    end
    from, to = own.first, own.last
    for id, s in pairs(span) do
      if id ~= opts.conn and s.node ~= own.node and s.first <= own.last and s.last >= own.first then
        from, to = math.min(from, s.first), math.max(to, s.last)
      end
    end
  end
  local function inside(t)
    return (from == nil or t >= from) and (to == nil or t <= to)
  end

  local events = {}

  -- States entered. The server's LISTEN belongs to its listener, a
  -- connection of its own (flow "addr:port" without a peer): the last
  -- time it entered LISTEN before this connection's first row.
  local first_server_row
  for _, r in ipairs(flow_rows) do
    if r.node == server then first_server_row = r break end
  end
  local listen
  for i, r in ipairs(timeline) do
    if r.node == server and r.to_state == "LISTEN" and listens_for(r.flow, server_ep)
        and r.from_state ~= "LISTEN"
        and (first_server_row == nil or i < pos[first_server_row])
        and (to == nil or r.time_s <= to) then
      listen = { kind = "state", time = r.time_s, side = SERVER, state = "LISTEN", o1 = i, o2 = 0 }
    end
  end
  if listen then events[#events + 1] = listen end
  for _, r in ipairs(flow_rows) do
    local side = side_of[r.node]
    if side and r.from_state ~= r.to_state and r.to_state and inside(r.time_s) then
      events[#events + 1] = {
        kind = "state", time = r.time_s, side = side, state = r.to_state, o1 = pos[r], o2 = 0,
      }
    end
  end

  -- Segments: pair every send by an end with its arrival at the other end
  -- or its loss anywhere on the way.
  local arrows, pending = {}, {}
  local function take(key, pred)
    for i, a in ipairs(pending) do
      if a.key == key and pred(a) then
        table.remove(pending, i)
        return a
      end
    end
  end
  for _, r in ipairs(segs) do
    local from_side, to_side = side_of[r.from_node], side_of[r.to_node]
    local key = seg_key(r)
    if r.action == "sent" and from_side then
      local a = { from = from_side, time = r.time_s, key = key, row = r, o2 = pos[r] }
      arrows[#arrows + 1] = a
      pending[#pending + 1] = a
    elseif r.action == "received" and to_side then
      local a = take(key, function(a) return a.from ~= to_side end)
      if a then a.arrival = r.time_s end
    elseif r.action == "dropped" then
      -- A full queue at an end drops the segment before it is on the
      -- wire: there is no "sent" row to pair it with.
      local a
      if not (r.reason == "queue" and from_side) then
        a = take(key, function(a) return from_side == nil or a.from == from_side end)
      end
      if not a and from_side then
        a = { from = from_side, time = r.time_s, key = key, row = r, o2 = pos[r] }
        arrows[#arrows + 1] = a
      end
      if a then
        a.lost, a.lost_at, a.reason = true, r.time_s, r.reason
      end
    end
  end

  -- The timeline's "snd" rows place each segment among the state changes
  -- of the same instant (a FIN leaves after FIN_WAIT_1 is entered).
  local snd = {}
  for _, r in ipairs(flow_rows) do
    if r.event == "snd" and side_of[r.node] then snd[#snd + 1] = r end
  end
  local used = {}
  for _, a in ipairs(arrows) do
    local node = a.from == CLIENT and client or server
    local k = snd_key(a.row)
    for i, r in ipairs(snd) do
      if not used[i] and r.node == node and snd_key(r) == k and r.time_s <= a.time then
        used[i] = true
        a.o1 = pos[r]
        break
      end
    end
    a.o1 = a.o1 or math.huge
    if inside(a.time) then
      a.kind = "segment"
      a.label = label(a.row, a.from, opts)
      events[#events + 1] = a
    end
  end

  table.sort(events, function(p, q)
    if p.time ~= q.time then return p.time < q.time end
    if p.o1 ~= q.o1 then return p.o1 < q.o1 end
    return p.o2 < q.o2
  end)

  -- Initial sequence numbers, for the legend of symbolic numbers.
  local isn = {}
  for _, a in ipairs(arrows) do
    local r = a.row
    if not isn[a.from] and r.seq and r.rel_seq then
      isn[a.from] = (r.seq - r.rel_seq) % 4294967296
    end
  end

  return {
    flow = flow,
    ends = {
      { node = client, addr = client_ep },
      { node = server, addr = server_ep },
    },
    isn = isn,
    events = events,
  }
end
ladder.build = public(build)

-- The number of decimals that keeps every shown time apart (at least
-- six, microseconds, at most nine: tcplab's times are whole nanoseconds).
function ladder.decimals(times)
  for d = 6, 9 do
    local seen, clash = {}, false
    for t in pairs(times) do
      local s = ("%." .. d .. "f"):format(t)
      if seen[s] then clash = true break end
      seen[s] = true
    end
    if not clash then return d end
  end
  return 9
end

-- Every time the drawing shows, as a set.
local function shown_times(model, opts)
  local times = {}
  for _, e in ipairs(model.events) do
    times[e.time] = true
    if opts.times == "both" then
      if e.arrival then times[e.arrival] = true end
      if e.lost_at then times[e.lost_at] = true end
    end
  end
  return times
end

-- --------------------------------------------------------- text drawing

local STATE_W = 12 -- "SYN_RECEIVED", the longest state name
local INNER_W = 46 -- the space between the two lines, at least

local function rtrim(s) return (s:gsub("%s+$", "")) end

-- The arrow between the lines, exactly w characters.
local function arrow_text(e, w)
  local body = "-- " .. e.label .. " "
  if not e.lost then
    if e.from == CLIENT then
      return body .. ("-"):rep(w - #body - 1) .. ">"
    end
    return "<" .. ("-"):rep(w - #body - 1) .. (" " .. e.label .. " --")
  end
  -- Half way, or a short shaft past the label when the label is longer.
  local reach = math.max(w // 2, #body + 4)
  if e.from == CLIENT then
    return body .. ("-"):rep(reach - #body - 1) .. "X" .. (" "):rep(w - reach)
  end
  local tail = " " .. e.label .. " --"
  return (" "):rep(w - reach) .. "X" .. ("-"):rep(reach - #tail - 1) .. tail
end

-- ladder.text(timeline, segments, flow [, opts]) -> string
--   timeline, segments  rows (tables) or paths of timeline.csv/segments.csv
--   flow          "10.0.0.1:49152-10.0.0.2:80" or a table with .flow;
--                 nil when the data hold one connection only
--   opts.numbers  "relative" (default, as Wireshark shows them),
--                 "absolute", or "symbolic" (x+1, y+1)
--   opts.symbolic true is numbers = "symbolic"
--   opts.letters  the symbols of the two ISNs, default { "x", "y" }
--   opts.window   true adds each segment's window field
--   opts.times    "send" (default): arrows at their send time;
--                 "both": the arrival (or loss) time noted beside each
--   opts.decimals digits after the point (default: the fewest from 6 up
--                 that keep all times apart)
--   opts.from, opts.to  only events in this time window (seconds)
--   opts.conn     only the life of this connection id and its peer's
--                 (when a flow was used more than once)
--   opts.client, opts.server  node names of the two ends, when the data
--                 cannot tell (simultaneous open with no listener)
--   opts.width    the least width between the two lines (default 46)
--   opts.title    a first line
local render_text

ladder.text = public(function(timeline, segments, flow, opts)
  opts = opts or {}
  return render_text(build(timeline, segments, flow, opts), opts)
end)

-- ladder.render_text(model [, opts]) -> string: the text of a built model.
function render_text(model, opts)
  opts = opts or {}
  local inner = opts.width or INNER_W
  for _, e in ipairs(model.events) do
    if e.kind == "segment" then inner = math.max(inner, #e.label + 8) end
  end
  local d = opts.decimals or ladder.decimals(shown_times(model, opts))
  local tfmt = "%." .. d .. "f"
  local tw = #"time (s)"
  for _, e in ipairs(model.events) do
    tw = math.max(tw, #tfmt:format(e.time))
  end

  local out = {}
  if opts.title then out[#out + 1] = opts.title end

  -- Header: names and addresses centred over the two lines.
  local left = tw + 1 + STATE_W + 1 -- column of the left line, from 0
  local right = left + inner + 1
  local function header(first, a, b)
    local line = first .. (" "):rep(math.max(0, left - #a // 2 - #first)) .. a
    local pad = right - #b // 2 - #line
    return rtrim(line .. (" "):rep(math.max(1, pad)) .. b)
  end
  out[#out + 1] = header("time (s)", model.ends[1].node, model.ends[2].node)
  out[#out + 1] = header("", model.ends[1].addr, model.ends[2].addr)

  local blank = (" "):rep(inner)
  for _, e in ipairs(model.events) do
    local lstate, mid, rnote = "", blank, ""
    if e.kind == "state" then
      if e.side == CLIENT then lstate = e.state else rnote = e.state end
    else
      mid = arrow_text(e, inner)
      if e.lost then
        rnote = "lost"
        if opts.times == "both" then rnote = rnote .. " " .. tfmt:format(e.lost_at) end
        if e.reason then rnote = rnote .. " (" .. e.reason .. ")" end
      elseif opts.times == "both" then
        rnote = e.arrival and ("arrives " .. tfmt:format(e.arrival)) or "never arrives"
      end
    end
    out[#out + 1] = rtrim(("%" .. tw .. "s %" .. STATE_W .. "s |%s| %s"):format(
      tfmt:format(e.time), lstate, mid, rnote))
  end

  if (opts.numbers or (opts.symbolic and "symbolic")) == "symbolic" then
    local l = opts.letters or { "x", "y" }
    local function isn(side)
      return model.isn[side] and tostring(model.isn[side]) or "?"
    end
    out[#out + 1] = ("%s = %s (%s's ISN), %s = %s (%s's ISN)"):format(
      l[1], isn(CLIENT), model.ends[1].node, l[2], isn(SERVER), model.ends[2].node)
  end
  return table.concat(out, "\n") .. "\n"
end
ladder.render_text = public(render_text)

-- ---------------------------------------------------------- SVG drawing

-- ladder.svg(timeline, segments, flow [, opts]) -> string
-- The same diagram as an SVG document; see tcplab.svg for its options.
-- (Loaded here, not at the top: tcplab.svg itself requires this module.)
local function svg_doc(timeline, segments, flow, opts)
  opts = opts or {}
  return require("tcplab.svg").ladder(build(timeline, segments, flow, opts), opts)
end
ladder.svg = public(svg_doc)

-- ladder.write_svg(path, timeline, segments, flow [, opts]) -> true | nil, message
ladder.write_svg = public(function(path, timeline, segments, flow, opts)
  local doc = svg_doc(timeline, segments, flow, opts)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(doc)
  f:close()
  if not ok then return nil, path .. ": " .. tostring(werr) end
  return true
end)

return ladder
