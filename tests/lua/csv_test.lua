-- tcplab.csv: RFC 4180 reading and writing, typed cells, tcplab's files.
local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/runner.lua")
local csv = require("tcplab.csv")

local FIX = T.dir .. "/fixtures/"

T.test("reads tcplab's timeline.csv with typed cells", function()
  local rows, header = assert(csv.read(FIX .. "close/timeline.csv"))
  T.eq(#header, 12, "columns")
  for i, name in ipairs(csv.columns.timeline) do T.eq(header[i], name, "column " .. i) end
  T.eq(#rows, 26, "rows")
  local listen = rows[1]
  T.eq(listen.time_s, 0.0, "time of LISTEN")
  T.eq(math.type(listen.time_s), "float", "times are floats")
  T.eq(listen.node, "server", "node")
  T.eq(listen.conn, 1, "conn")
  T.eq(math.type(listen.conn), "integer", "conn is an integer")
  T.eq(listen.flow, "10.0.0.2:80", "listener flow stays a string")
  T.eq(listen.flags, nil, "empty cell is nil")
  local syn = rows[3]
  T.eq(syn.event, "snd", "event")
  T.eq(syn.flags, "SYN", "flags")
  T.eq(syn.seq, 2903734310, "seq above 2^31 is an exact integer")
  T.eq(math.type(syn.seq), "integer", "seq is an integer")
  T.eq(syn.rel_seq, 0, "rel_seq")
  T.eq(syn.rel_ack, nil, "no rel_ack on a SYN")
  T.eq(rows[#rows].time_s, 62.5200336, "time with 9 decimals")
end)

T.test("reads segments.csv and connections.csv", function()
  local segs = assert(csv.read(FIX .. "lost_fin/segments.csv"))
  local dropped
  for _, r in ipairs(segs) do
    if r.action == "dropped" then dropped = r end
  end
  T.ok(dropped, "a dropped segment")
  T.eq(dropped.reason, "rule", "reason")
  T.eq(dropped.from_node, "server", "dropped on the server's side")
  T.eq(dropped.len, 0, "len")
  T.eq(dropped.win, 32768, "win")
  local conns = assert(csv.read(FIX .. "close/connections.csv"))
  T.eq(#conns, 2, "two connections")
  T.eq(conns[1].role, "client", "role")
  T.eq(conns[1].handshake_s, 0.04008, "client handshake: one RTT plus two serializations")
  T.eq(conns[1].error, nil, "no error")
  T.eq(conns[2].bytes_sent, 300, "bytes_sent")
end)

T.test("quoted fields: commas, quotes, line ends, empty strings", function()
  local text = 'a,b,c\r\n"x,y","say ""hi""","two\r\nlines"\r\n"",plain,"  padded "\r\n'
  local rows = assert(csv.parse(text))
  T.eq(#rows, 2, "rows")
  T.eq(rows[1].a, "x,y", "comma inside quotes")
  T.eq(rows[1].b, 'say "hi"', "doubled quotes")
  T.eq(rows[1].c, "two\r\nlines", "line end inside quotes kept as is")
  T.eq(rows[2].a, nil, "empty quoted field is empty")
  T.eq(rows[2].c, "  padded ", "spaces kept")
end)

T.test("LF line ends, no final line end, BOM, blank lines", function()
  local rows = assert(csv.parse("\239\187\191x,y\n1,2\n\n3,4"))
  T.eq(#rows, 2, "rows")
  T.eq(rows[1].x, 1, "BOM is not part of the first column's name")
  T.eq(rows[2].y, 4, "last line without a line end")
end)

T.test("typing: decimal numbers only; strings on request; raw mode", function()
  local text = "n,f,e,h,s,name\n-12,0.5,1e3,0x10,12a,007\n"
  local r = assert(csv.parse(text))[1]
  T.eq(r.n, -12, "negative integer")
  T.eq(math.type(r.n), "integer", "integer")
  T.eq(r.f, 0.5, "float")
  T.eq(r.e, 1000.0, "exponent")
  T.eq(r.h, "0x10", "hexadecimal stays text")
  T.eq(r.s, "12a", "not a number")
  T.eq(r.name, 7, "digits become a number by default")
  r = assert(csv.parse(text, { strings = { "name" } }))[1]
  T.eq(r.name, "007", "kept as text when asked")
  r = assert(csv.parse("a,b\n1,\n", { typed = false }))[1]
  T.eq(r.a, "1", "raw text")
  T.eq(r.b, "", "raw empty")
end)

T.test("malformed input is an error with its line", function()
  local rows, err = csv.parse('a,b\n1,"open\n2,3\n')
  T.eq(rows, nil, "unterminated quote")
  T.ok(err:find("line 2", 1, true), err)
  rows, err = csv.parse('a,b\n1,x"y\n')
  T.eq(rows, nil, "quote inside a field")
  T.ok(err:find("line 2", 1, true), err)
  rows, err = csv.parse('a,b\n1,"x"y\n')
  T.eq(rows, nil, "text after a closing quote")
  rows, err = csv.parse('a,b\n1,2,3\n')
  T.eq(rows, nil, "too many fields")
  T.ok(err:find("3 fields", 1, true), err)
  rows, err = csv.read(T.dir .. "/no-such-file.csv")
  T.eq(rows, nil, "missing file")
  T.ok(err:find("no-such-file", 1, true), err)
end)

T.test("format: quotes only what needs it, CRLF, column order", function()
  local text = csv.format({
    { b = 'say "hi"', a = 1, c = nil, d = true },
    { a = 2.5, b = "x,y", c = "multi\nline", d = false },
  }, { "a", "b", "c", "d" })
  T.eq(text, 'a,b,c,d\r\n1,"say ""hi""",,true\r\n2.5,"x,y","multi\nline",false\r\n', "text")
  T.eq(csv.format({ { t = 1.5 } }, { "t" }, { formats = { t = "%.9f" }, eol = "\n" }),
    "t\n1.500000000\n", "per-column format and LF")
  T.raises(function() csv.format({ { a = {} } }, { "a" }) end, "cannot write a table", "table cell")
  local _, err = pcall(function() csv.write(T.out("bad.csv"), { { a = print } }, { "a" }) end)
  T.ok(tostring(err):find("csv_test.lua:%d+: csv: row 1, column a: cannot write a function"), err)
end)

T.test("round trip: a tcplab file read and written back is unchanged", function()
  for _, f in ipairs({ "handshake/timeline.csv", "close/segments.csv", "lost_fin/connections.csv" }) do
    local original = T.read(FIX .. f)
    local kind = f:match("/(%a+)%.csv$")
    local rows = assert(csv.parse(original, { typed = false }))
    T.eq(csv.format(rows, csv.columns[kind]), original, f .. " (text cells)")
    -- Typed cells lose the 9 decimals of times, which formats restore.
    rows = assert(csv.parse(original))
    local formats = {}
    for _, c in ipairs(csv.columns[kind]) do
      if c:match("_s$") then formats[c] = "%.9f" end
    end
    T.eq(csv.format(rows, csv.columns[kind], { formats = formats }), original, f .. " (typed cells)")
  end
end)

T.test("round trip through a file, awkward values included", function()
  local rows = {
    { name = "a,b", note = '"quoted"', n = 3, x = 0.1 },
    { name = "line\r\nbreak", note = "", n = -7, x = 1e-9 },
    { name = " lead", note = nil, n = 0, x = 123456789.123 },
  }
  local path = T.out("roundtrip.csv")
  assert(csv.write(path, rows, { "name", "note", "n", "x" }))
  local back = assert(csv.read(path))
  T.eq(#back, 3, "rows")
  for i, r in ipairs(rows) do
    T.eq(back[i].name, r.name, "name " .. i)
    T.eq(back[i].note, (r.note ~= "" and r.note) or nil, "note " .. i)
    T.eq(back[i].n, r.n, "n " .. i)
    T.eq(back[i].x, r.x, "x " .. i .. " keeps every bit")
  end
end)

T.run()
