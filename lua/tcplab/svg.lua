-- tcplab.svg: the ladder diagram of one connection as an SVG document.
--
-- It draws the model that tcplab.ladder builds: the client's and the
-- server's time lines side by side, every segment a slanted arrow from
-- (sender, send time) to (receiver, arrival time), a lost segment an
-- arrow that ends in a cross half way, the states in boxes beside the
-- lines where they are entered, and a time axis at the left.
--
-- Time runs down. By default (scale = "events") every instant at which
-- something happens has a row, evenly spaced: a handshake of 40 ms and a
-- TIME_WAIT of 60 s stay readable in one picture, and the axis gives each
-- row its time. scale = "linear" places events at their true times.

local ladder = require("tcplab.ladder")
local palette = require("tcplab.plot").state_colors

local svg = {}

local CHAR_W = 7.2 -- width of one character of the 12 px monospace font
local FONT = 12

-- Text and attribute values are escaped the same way.
function svg.escape(s)
  return (tostring(s):gsub("[&<>\"']", {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;",
  }))
end

-- Coordinates with one decimal, never "-0.0", so output is stable.
local function n(v)
  local s = ("%.1f"):format(v)
  if s == "-0.0" then s = "0.0" end
  return s
end

-- Tick spacing for a linear axis: 1, 2 or 5 times a power of ten, about
-- eight ticks over the span.
local function tick_step(span)
  if span <= 0 then return 1 end
  local raw = span / 8
  local p = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs({ 1, 2, 5, 10 }) do
    if m * p >= raw then return m * p end
  end
  return 10 * p
end

-- Rows of the "events" scale. Events of one instant share a row, as in a
-- textbook figure where a segment leaves from the point where its
-- cause arrived, unless they would overlap (two states of one side, two
-- segments from one side); then the later one starts a new row. An
-- arrival or loss at an instant with no event gets a row of its own.
-- Returns the rows ({ time = }) and two maps: event -> row index and,
-- for every segment, the index of the row where its arrow ends.
local function event_rows(events)
  local rows, row_of, cur = {}, {}, nil
  for _, e in ipairs(events) do
    local slot = (e.kind == "state" and "state" or "segment") .. (e.side or e.from)
    if not cur or cur.time ~= e.time or cur.used[slot] then
      cur = { time = e.time, used = {}, sides = {} }
      rows[#rows + 1] = cur
    end
    cur.used[slot] = true
    cur.sides[e.side or e.from] = true
    row_of[e] = cur
  end

  local function end_time(e)
    if e.kind ~= "segment" then return nil end
    return e.lost and e.lost_at or e.arrival
  end
  local function index_of()
    local index = {}
    for i, r in ipairs(rows) do index[r] = i end
    return index
  end

  -- Ends that need a row of their own: no row of that instant after the
  -- one the arrow starts from.
  local index = index_of()
  local extra, seen = {}, {}
  for _, e in ipairs(events) do
    local t = end_time(e)
    if t and not seen[t] then
      local found = false
      for j = index[row_of[e]] + 1, #rows do
        if rows[j].time > t then break end
        if rows[j].time == t then found = true break end
      end
      if not found then
        seen[t] = true
        extra[#extra + 1] = { time = t, used = {}, sides = {} }
      end
    end
  end
  table.sort(extra, function(a, b) return a.time < b.time end)
  local merged, k = {}, 1
  for _, r in ipairs(rows) do
    while extra[k] and extra[k].time < r.time do
      merged[#merged + 1] = extra[k]
      k = k + 1
    end
    merged[#merged + 1] = r
  end
  for i = k, #extra do merged[#merged + 1] = extra[i] end
  rows = merged
  index = index_of()

  -- An arrow ends on the first row of its instant after its start,
  -- preferring one where the receiver does something (the state its
  -- arrival makes it enter).
  local ends, at = {}, {}
  for _, e in ipairs(events) do
    at[e] = index[row_of[e]]
    local t = end_time(e)
    if t then
      local to = 3 - e.from
      local first, own
      for j = at[e] + 1, #rows do
        local r = rows[j]
        if r.time > t then break end
        if r.time == t then
          first = first or j
          if r.sides[to] then own = own or j end
        end
      end
      ends[e] = own or first
    end
  end
  return rows, at, ends
end

-- svg.ladder(model [, opts]) -> string
--   model         from tcplab.ladder.build
--   opts.scale    "events" (default: a row per instant, evenly spaced)
--                 or "linear" (true times)
--   opts.step     pixels per row (default 30)
--   opts.px_per_s pixels per second for scale = "linear" (default: as
--                 tall as the events scale would be)
--   opts.decimals, opts.numbers, ... as for ladder.text (numbers are
--                 already in the model's labels)
--   opts.title    a line of text above the diagram
function svg.ladder(model, opts)
  opts = opts or {}
  local scale = opts.scale or "events"
  if scale ~= "events" and scale ~= "linear" then
    error("svg.ladder: scale must be 'events' or 'linear'", 2)
  end
  local step = opts.step or 30
  local events = model.events

  -- Horizontal layout: time axis, client's states, the two lines with the
  -- arrows between them, server's states.
  local longest = 0
  for _, e in ipairs(events) do
    if e.kind == "segment" then longest = math.max(longest, #e.label) end
  end
  local axis_x = 84
  local left_x = axis_x + 12 + 12 * CHAR_W + 24
  local inner = math.max(420, longest * CHAR_W + 100)
  local right_x = left_x + inner
  local width = right_x + 12 + 12 * CHAR_W + 40
  local line_x = { left_x, right_x }
  local head = opts.title and 24 or 0
  local top = head + 70

  -- Vertical layout.
  local times = {}
  for _, e in ipairs(events) do
    times[e.time] = true
    if e.arrival then times[e.arrival] = true end
    if e.lost_at then times[e.lost_at] = true end
  end
  local tfmt = "%." .. (opts.decimals or ladder.decimals(times)) .. "f"
  local y_of, end_y, ticks, bottom = {}, {}, {}, top
  if scale == "events" then
    local rows, at, ends = event_rows(events)
    for i, r in ipairs(rows) do
      local y = top + (i - 1) * step
      ticks[#ticks + 1] = { y = y, text = tfmt:format(r.time) }
      bottom = y
    end
    for e, i in pairs(at) do y_of[e] = top + (i - 1) * step end
    for e, j in pairs(ends) do end_y[e] = top + (j - 1) * step end
  else
    local t0, t1 = math.huge, -math.huge
    for t in pairs(times) do
      t0, t1 = math.min(t0, t), math.max(t1, t)
    end
    if t0 > t1 then t0, t1 = 0, 0 end
    local span = t1 - t0
    local pxs = opts.px_per_s or (span > 0 and (step * math.max(#events - 1, 1)) / span or 1)
    local function y(t) return top + (t - t0) * pxs end
    for _, e in ipairs(events) do
      y_of[e] = y(e.time)
      local t = e.lost and e.lost_at or e.arrival
      if e.kind == "segment" and t then end_y[e] = y(t) end
    end
    -- Ticks as multiples of the step, not sums of it, so that float
    -- error does not creep into their labels.
    local dt = tick_step(span)
    for k = math.ceil(t0 / dt - 1e-9), math.floor(t1 / dt + 1e-9) do
      ticks[#ticks + 1] = { y = y(k * dt), text = tfmt:format(k * dt) }
    end
    bottom = y(t1)
  end
  local height = bottom + step + 16

  local out = {}
  local function add(s) out[#out + 1] = s end
  add('<?xml version="1.0" encoding="UTF-8"?>')
  add(('<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="monospace" font-size="%d">')
    :format(n(width), n(height), n(width), n(height), FONT))
  add("<title>" .. svg.escape("TCP connection " .. model.flow) .. "</title>")
  add('<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>')
  add(('<rect x="0" y="0" width="%s" height="%s" fill="white"/>'):format(n(width), n(height)))
  if opts.title then
    add(('<text x="%s" y="18" text-anchor="middle" font-weight="bold">%s</text>')
      :format(n(width / 2), svg.escape(opts.title)))
  end

  -- Ends and their time lines.
  for side = 1, 2 do
    local x = line_x[side]
    add(('<text x="%s" y="%s" text-anchor="middle" font-weight="bold">%s</text>')
      :format(n(x), n(head + 22), svg.escape(model.ends[side].node)))
    add(('<text x="%s" y="%s" text-anchor="middle">%s</text>')
      :format(n(x), n(head + 38), svg.escape(model.ends[side].addr)))
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#222" stroke-width="2"/>')
      :format(n(x), n(top - 16), n(x), n(height - 8)))
  end

  -- Time axis.
  add(('<text x="%s" y="%s" text-anchor="end">time (s)</text>'):format(n(axis_x), n(head + 38)))
  add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#888"/>')
    :format(n(axis_x), n(top - 16), n(axis_x), n(height - 8)))
  for _, t in ipairs(ticks) do
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#888"/>')
      :format(n(axis_x - 4), n(t.y), n(axis_x), n(t.y)))
    add(('<text x="%s" y="%s" text-anchor="end" font-size="11">%s</text>')
      :format(n(axis_x - 7), n(t.y + 4), t.text))
  end

  -- Segments.
  for _, e in ipairs(events) do
    if e.kind == "segment" then
      local xs, xr = line_x[e.from], line_x[3 - e.from]
      local ys = y_of[e]
      local ye = end_y[e]
      local x2, y2, colour = xr, ye, "#222"
      local attrs = ' marker-end="url(#head)"'
      if e.lost then
        x2, y2, colour, attrs = (xs + xr) / 2, (ys + ye) / 2, "#c62828", ""
      elseif not ye then
        -- Still on its way when the run ended: no arrival to point at.
        y2, attrs = ys + step / 2, ' marker-end="url(#head)" stroke-dasharray="6 4"'
      end
      add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"%s/>')
        :format(n(xs), n(ys), n(x2), n(y2), colour, attrs))
      if e.lost then
        for _, d in ipairs({ { -5, -5, 5, 5 }, { -5, 5, 5, -5 } }) do
          add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"/>')
            :format(n(x2 + d[1]), n(y2 + d[2]), n(x2 + d[3]), n(y2 + d[4]), colour))
        end
        add(('<text x="%s" y="%s" text-anchor="middle" font-size="11" fill="%s">%s</text>')
          :format(n(x2), n(y2 + 18), colour, svg.escape("lost" .. (e.reason and (" (" .. e.reason .. ")") or ""))))
      end
      -- The label along the arrow, read left to right whichever way it
      -- points.
      local lx, ly, rx, ry = xs, ys, x2, y2
      if lx > rx then lx, ly, rx, ry = rx, ry, lx, ly end
      local angle = math.deg(math.atan(ry - ly, rx - lx))
      local cx, cy = (xs + x2) / 2, (ys + y2) / 2
      add(('<text x="%s" y="%s" text-anchor="middle" fill="%s" transform="rotate(%s %s %s)">%s</text>')
        :format(n(cx), n(cy - 5), colour, n(angle), n(cx), n(cy), svg.escape(e.label)))
    end
  end

  -- States, drawn last so that they sit on top. In the linear scale two
  -- states of one side at nearly the same time are moved apart.
  local last_y = {}
  for _, e in ipairs(events) do
    if e.kind == "state" then
      local y = y_of[e]
      if last_y[e.side] and y < last_y[e.side] + 20 then y = last_y[e.side] + 20 end
      last_y[e.side] = y
      local w = #e.state * CHAR_W + 12
      local x = e.side == 1 and (left_x - 8 - w) or (right_x + 8)
      local colour = palette[e.state] or "#999999"
      add(('<rect x="%s" y="%s" width="%s" height="18" rx="4" fill="%s" fill-opacity="0.35" stroke="%s"/>')
        :format(n(x), n(y - 9), n(w), colour, colour))
      add(('<text x="%s" y="%s" text-anchor="middle">%s</text>')
        :format(n(x + w / 2), n(y + 4), svg.escape(e.state)))
    end
  end

  add("</svg>")
  return table.concat(out, "\n") .. "\n"
end

return svg
