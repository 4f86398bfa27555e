-- tcplab.csv: read and write RFC 4180 CSV files such as tcplab's
-- timeline.csv, segments.csv, connections.csv and cwnd.csv.
--
-- Reading gives a list of rows, each a table keyed by the header's column
-- names. By default cells are typed the way the tables of the tcplab
-- module are: a cell that is a decimal number becomes a Lua number (an
-- integer when written without a fraction or exponent), an empty cell
-- becomes nil, anything else stays a string. Writing takes the rows and
-- the column order, and quotes only what has to be quoted.

local csv = {}

-- The columns of tcplab's four files, in file order (DESIGN.md, "CSV
-- files"), for writing rows in the same layout.
csv.columns = {
  timeline = {
    "time_s", "node", "conn", "flow", "from_state", "to_state", "event",
    "flags", "seq", "ack", "rel_seq", "rel_ack",
  },
  segments = {
    "time_s", "link", "from_node", "to_node", "action", "flow", "flags",
    "seq", "ack", "rel_seq", "rel_ack", "len", "win", "reason",
  },
  connections = {
    "conn", "node", "role", "flow", "local", "remote", "open_s",
    "established_s", "handshake_s", "syn_tx", "close_s", "closed_s",
    "final_state", "bytes_sent", "bytes_received", "retransmissions",
    "error",
  },
  cwnd = { "time_s", "node", "conn", "flow", "cwnd", "ssthresh" },
}

-- ------------------------------------------------------------- reading

-- Splits text into records of raw string fields. Returns the list of
-- records, or nil and a message naming the line where the text stops
-- being CSV. Accepts CRLF and bare LF line ends (RFC 4180 asks for CRLF,
-- files edited by hand often have LF) and a last line without an end.
local function split(text)
  local records, record, field = {}, {}, {}
  local pos, len, line = 1, #text, 1
  -- A UTF-8 byte order mark, as some spreadsheets write, is not data.
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end
  if pos > len then return records end
  while true do
    local c = text:sub(pos, pos)
    if c == '"' then
      -- A quoted field runs to the next quote not doubled; it may hold
      -- commas, quotes (doubled) and line ends.
      local start_line = line
      pos = pos + 1
      while true do
        local q = text:find('"', pos, true)
        if not q then
          return nil, ("line %d: quoted field not closed"):format(start_line)
        end
        local chunk = text:sub(pos, q - 1)
        local _, nl = chunk:gsub("\n", "")
        line = line + nl
        field[#field + 1] = chunk
        if text:sub(q + 1, q + 1) == '"' then
          field[#field + 1] = '"'
          pos = q + 2
        else
          pos = q + 1
          break
        end
      end
      local after = text:sub(pos, pos)
      if after ~= "," and after ~= "\r" and after ~= "\n" and after ~= "" then
        return nil, ("line %d: text after a closing quote"):format(line)
      end
    elseif c == "," then
      record[#record + 1] = table.concat(field)
      field = {}
      pos = pos + 1
    elseif c == "\r" or c == "\n" or c == "" then
      record[#record + 1] = table.concat(field)
      field = {}
      records[#records + 1] = record
      record = {}
      if c == "" then break end
      if c == "\r" and text:sub(pos + 1, pos + 1) == "\n" then pos = pos + 1 end
      pos = pos + 1
      line = line + 1
      if pos > len then break end
    else
      -- Plain characters up to the next delimiter, in one piece.
      local stop = text:find('[,\r\n"]', pos) or len + 1
      if text:sub(stop, stop) == '"' then
        return nil, ("line %d: quote inside an unquoted field"):format(line)
      end
      field[#field + 1] = text:sub(pos, stop - 1)
      pos = stop
    end
  end
  return records
end

-- Decimal numbers only: tonumber alone would also turn "0x1F", " 12" or
-- "1e" look-alikes in names into numbers.
local function to_number(s)
  if s:match("^[-+]?%d+$") then
    return math.tointeger(tonumber(s)) or tonumber(s)
  end
  if s:match("^[-+]?%d*%.?%d*[eE][-+]?%d+$") or s:match("^[-+]?%d*%.%d*$") then
    if s:match("%d") then return tonumber(s) end
  end
  return nil
end

-- csv.parse(text [, opts]) -> rows, header | nil, message
--   opts.typed   (default true) convert cells as described at the top;
--                false keeps every cell a string, empty ones as "".
--   opts.strings a list of column names never converted to numbers
--                (e.g. { "node" } when nodes are named "1", "2", ...).
--   opts.header  (default true) the first record names the columns;
--                false returns every record as a list of strings.
function csv.parse(text, opts)
  opts = opts or {}
  local records, err = split(text)
  if not records then return nil, err end
  if opts.header == false then return records end
  local header = records[1]
  if not header then return {}, {} end
  local typed = opts.typed ~= false
  local keep = {}
  for _, name in ipairs(opts.strings or {}) do keep[name] = true end
  local rows = {}
  for i = 2, #records do
    local rec = records[i]
    -- A blank line (most often the last one) is no row.
    if not (#rec == 1 and rec[1] == "" and #header > 1) then
      if #rec ~= #header then
        return nil, ("record %d: %d fields, the header has %d"):format(
          i, #rec, #header)
      end
      local row = {}
      for j, name in ipairs(header) do
        local cell = rec[j]
        if typed then
          if cell == "" then
            cell = nil
          elseif not keep[name] then
            cell = to_number(cell) or cell
          end
        end
        row[name] = cell
      end
      rows[#rows + 1] = row
    end
  end
  return rows, header
end

-- csv.read(path [, opts]) -> rows, header | nil, message
-- Reads a whole file; opts as for csv.parse. Errors name the file.
function csv.read(path, opts)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local rows, header = csv.parse(text, opts)
  if not rows then return nil, path .. ": " .. header end
  return rows, header
end

-- ------------------------------------------------------------- writing

-- csv.number(v) -> string: integers as they are, floats with as few
-- digits as give back the same number, so that a file read and written
-- again is unchanged.
function csv.number(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v or v == math.huge or v == -math.huge then return tostring(v) end
  for digits = 15, 17 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

local function quote(s)
  if s:find('[,"\r\n]') or s:match("^%s") or s:match("%s$") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

-- csv.format(rows, columns [, opts]) -> text
--   columns      the column names, in order (the header row).
--   opts.formats per-column string.format patterns for numbers, e.g.
--                { time_s = "%.9f" } to write times as tcplab does.
--   opts.eol     line end, "\r\n" (RFC 4180, the default) or "\n".
--   opts.header  (default true) write the header row.
-- nil cells are written empty, booleans as true/false.
local function format_rows(rows, columns, opts)
  opts = opts or {}
  local formats = opts.formats or {}
  local eol = opts.eol or "\r\n"
  local out = {}
  local function line(cells) out[#out + 1] = table.concat(cells, ",") .. eol end
  if opts.header ~= false then
    local cells = {}
    for i, name in ipairs(columns) do cells[i] = quote(name) end
    line(cells)
  end
  for r, row in ipairs(rows) do
    local cells = {}
    for i, name in ipairs(columns) do
      local v = row[name]
      local t = type(v)
      if v == nil then
        cells[i] = ""
      elseif t == "number" then
        cells[i] = formats[name] and formats[name]:format(v) or csv.number(v)
      elseif t == "string" then
        cells[i] = quote(v)
      elseif t == "boolean" then
        cells[i] = tostring(v)
      else
        error(("csv: row %d, column %s: cannot write a %s"):format(r, name, t), 0)
      end
    end
    line(cells)
  end
  return table.concat(out)
end

-- A cell that cannot be written is an error at the caller's line.
-- csv.rows(rows, what, who) -> rows: a list of rows as given, or read
-- from a tcplab CSV path (node and link names kept as text). Errors name
-- who asked ("ladder", "plot") and what the rows were for.
function csv.rows(rows, what, who)
  if type(rows) == "string" then
    local t, err = csv.read(rows, { strings = { "node", "from_node", "to_node", "link" } })
    if not t then error(who .. ": cannot read " .. what .. ": " .. err, 0) end
    return t
  end
  if type(rows) ~= "table" then
    error(("%s: %s must be a list of rows or a CSV path, not %s"):format(
      who, what, type(rows)), 0)
  end
  return rows
end

function csv.format(rows, columns, opts)
  local ok, text = pcall(format_rows, rows, columns, opts)
  if not ok then error(text, 2) end
  return text
end

-- csv.write(path, rows, columns [, opts]) -> true | nil, message
-- Writes the rows as csv.format does.
function csv.write(path, rows, columns, opts)
  local ok, text = pcall(format_rows, rows, columns, opts)
  if not ok then error(text, 2) end
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local written, werr = f:write(text)
  f:close()
  if not written then return nil, path .. ": " .. tostring(werr) end
  return true
end

return csv
