-- Checks experiments/14-congestion-window.lua in cwnd.csv, read against
-- the segments that moved cwnd (segments.csv): cwnd starts at 10
-- segments; grows one segment per ACK of new data in slow start (after
-- the first 10 segments' ACKs: 20 segments without delayed ACKs, 16
-- with, the first segment's ACK leaving at once); at the third
-- duplicate ACK the lost segment is resent at once,
-- ssthresh = cwnd / 2 and cwnd = ssthresh + 3 segments; each further
-- duplicate adds a segment; the repairing ACK sets cwnd to
-- min(ssthresh, FlightSize + 1 segment); then one segment per ACK below
-- ssthresh and SMSS*SMSS/cwnd per ACK above it.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local MSS = 1460

local function check(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow
  local rows = E.where(R.cwnd, { node = "client", flow = flow })
  E.check(#rows > 0, "cwnd.csv has the client's rows")

  -- The ACKs the client received, and the data it put on the wire.
  local acks = E.where(R.segments, { action = "received", from_node = "server", flags = "ACK" })
  local data = {}
  for _, s in ipairs(E.sent(R, "client")) do
    if s.len > 0 then data[#data + 1] = s end
  end

  E.eq(rows[1].cwnd, 10 * MSS, "cwnd starts at 10 segments (RFC 6928)")
  E.eq(rows[1].ssthresh, nil, "ssthresh is not set yet (empty)")
  E.eq(rows[1].t, E.entered(R, "client", "ESTABLISHED", flow), "from the moment the client is ESTABLISHED")
  local srows = E.where(R.cwnd, { node = "server", flow = flow })
  E.eq(#srows, 1, "the server, which sends no data, has one row")
  E.eq(srows[1] and srows[1].cwnd, 10 * MSS, "its cwnd is 10 segments too")

  -- The lost segment and its duplicate ACKs: ACKs that repeat the
  -- acknowledgment of everything before it.
  local lost = E.first(R.segments, { action = "dropped" })
  E.eq(lost and lost.len, MSS, "one full-size data segment is lost")
  local same = E.where(acks, { rel_ack = lost.rel_seq })
  local dups = { table.unpack(same, 2) }
  E.check(#dups >= 3, "at least three duplicate ACKs come back", #dups .. " duplicates")
  local third = dups[3]

  -- Slow start: one segment per ACK of new data before the third duplicate.
  local k = 1
  while rows[k + 1] and rows[k + 1].t < third.t do k = k + 1 end
  local new_acks, highest = {}, 1
  for _, a in ipairs(acks) do
    if a.t < third.t and a.rel_ack > highest then
      new_acks[#new_acks + 1] = a
      highest = a.rel_ack
    end
  end
  E.eq(k - 1, #new_acks, "slow start: one cwnd change per ACK of new data")
  local ss_ok = true
  for i = 2, k do
    if rows[i].cwnd ~= rows[i - 1].cwnd + MSS or rows[i].t ~= new_acks[i - 1].t or rows[i].ssthresh then
      ss_ok = false
    end
  end
  E.check(ss_ok, "slow start: each of those ACKs adds exactly one segment, whatever it acknowledges")
  local flight1
  for i = 2, k do
    if new_acks[i - 1].rel_ack >= 1 + 10 * MSS then
      flight1 = flight1 or rows[i].cwnd
    end
  end
  E.eq(flight1, p.after_first_flight * MSS,
    ("the first 10 segments acknowledged: cwnd is %d segments"):format(p.after_first_flight))
  local first_data = E.first(R.segments, { action = "received", from_node = "client", rel_seq = 1, len = MSS })
  local first_ack = E.first(E.sent(R, "server"), { rel_ack = 1 + MSS })
  E.eq(first_ack and first_ack.t, first_data.t, "the first segment is acknowledged the moment it arrives")

  -- Fast retransmit at the third duplicate.
  local resent = E.where(data, { rel_seq = lost.rel_seq })
  E.eq(#resent, 2, "the lost segment is sent twice")
  -- On the wire it follows what the link was sending or had queued when
  -- the third duplicate arrived: it leaves when the link is free.
  local before
  for _, s in ipairs(E.sent(R, "client")) do
    if s.t < resent[2].t then before = s end
  end
  E.eq(resent[2].t, math.max(third.t, before.t + E.ser(before, p.bps)),
    "resent when the third duplicate ACK arrives, as soon as the link is free")
  local fr = rows[k + 1]
  E.eq(fr.t, third.t, "cwnd.csv: a row at that moment")
  E.eq(fr.ssthresh, math.max(rows[k].cwnd // 2, 2 * MSS), "ssthresh = half of cwnd (RFC 5681 (4), RFC 6582)")
  E.eq(fr.cwnd, fr.ssthresh + 3 * MSS, "cwnd = ssthresh + 3 segments")

  -- Inflation: one segment per further duplicate.
  local m = k + 2
  local inflate_ok = true
  for i = 4, #dups do
    local r = rows[m]
    if not r or r.t ~= dups[i].t or r.cwnd ~= rows[m - 1].cwnd + MSS or r.ssthresh ~= fr.ssthresh then
      inflate_ok = false
    end
    m = m + 1
  end
  E.check(inflate_ok, ("each of the %d further duplicates adds one segment"):format(#dups - 3))

  -- The ACK that repairs the loss: cwnd = min(ssthresh, FlightSize + MSS).
  local repair
  for _, a in ipairs(acks) do
    if a.rel_ack > lost.rel_seq then repair = repair or a end
  end
  local snd_max = 0
  for _, s in ipairs(data) do
    if s.t < repair.t then snd_max = math.max(snd_max, s.rel_seq + s.len) end
  end
  local exit = rows[m]
  E.eq(exit and exit.t, repair.t, "cwnd.csv: a row when the repairing ACK arrives")
  E.eq(exit.cwnd, math.min(fr.ssthresh, snd_max - repair.rel_ack + MSS),
    "it deflates cwnd to min(ssthresh, FlightSize + 1 segment) (RFC 6582 3.2)")

  -- After: one segment per ACK below ssthresh, SMSS*SMSS/cwnd above.
  local ca, after_ok = 0, true
  for i = m + 1, #rows do
    local prev, r = rows[i - 1].cwnd, rows[i]
    local want = prev < fr.ssthresh and prev + MSS or prev + math.max(1, MSS * MSS // prev)
    if prev >= fr.ssthresh then ca = ca + 1 end
    if r.cwnd ~= want or r.ssthresh ~= fr.ssthresh then after_ok = false end
  end
  E.check(after_ok, "then one segment per ACK up to ssthresh, SMSS*SMSS/cwnd per ACK from it")
  E.check(ca > 10, "congestion avoidance is seen", ca .. " rows")

  local cc = E.first(R.connections, { node = "client" })
  E.eq(cc.retransmissions, 1, "connections.csv: one retransmission, no timeout")
  E.eq(cc.bytes_sent, p.bytes, "every byte was delivered")
  E.eq(R.metrics.ssthresh, fr.ssthresh, "metrics: ssthresh")
  E.eq(R.metrics.dup_acks, #dups, "conn:info(): the duplicate ACKs counted")
  E.eq(R.metrics.fast_retransmits, 1, "conn:info(): one fast retransmission")
  E.eq(R.metrics.timeouts, 0, "conn:info(): no retransmission timeout")
  E.printed(output, { "fast retransmit at the third" }, "the ladder")
  E.nonempty(dir .. "/cwnd.png", "cwnd plot")
  E.nonempty(dir .. "/states.png", "state timeline plot")
end

-- The same path with the client on ns-3's own TCP: its rows are there
-- to compare (its algorithm is ns-3's, so only what both share is checked).
local function check_ns3(label)
  local _, dir = E.run(label, { tcp = "ns3" })
  local R = E.results(dir)
  local rows = E.where(R.cwnd, { node = "client" })
  E.eq(rows[1] and rows[1].cwnd, 10 * MSS, "ns-3: cwnd starts at 10 segments too")
  E.eq(rows[1].t, E.entered(R, "client", "ESTABLISHED", R.connections[1].flow), "ns-3: from ESTABLISHED")
  local set
  for _, r in ipairs(rows) do set = set or r.ssthresh end
  E.check(set ~= nil, "ns-3: the loss sets ssthresh")
  E.eq(E.first(R.connections, { node = "client" }).retransmissions, 1, "ns-3: one retransmission")
  E.nonempty(dir .. "/cwnd.png", "ns-3: cwnd plot")
end

local BPS = 100000000
check("defaults", { sets = {}, bytes = 300000, bps = BPS, after_first_flight = 16 })
check("no-delayed-ack", { sets = { delayed_ack = false }, bytes = 300000, bps = BPS,
  after_first_flight = 20 })
check("other-loss", { sets = { lose = 50, bytes = 500000, delay = "10ms" }, bytes = 500000,
  bps = BPS, after_first_flight = 16 })
check_ns3("ns3-client")
E.done()
