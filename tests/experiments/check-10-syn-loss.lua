-- Experiment 10's claim, checked in its CSV files: every handshake takes
-- one round trip (2d plus the serialization of the SYN and the SYN|ACK)
-- plus exactly 0, 1, 3, 7, 15, ... s, the level given by how many SYNs
-- were sent (2^(n-1) - 1 s for n SYNs), for all 20 runs at each of the
-- loss rates 0, 0.1, ..., 0.5; the example run's SYNs leave 1, 3, 7, ...
-- s after the first; the summary agrees with the runs.
return function(X)
  local S = X.S
  local runs = X.read("runs")
  local summary = X.read("summary")

  -- 2 x 20 ms of propagation, plus two 50-byte frames (PPP 2 + IPv4 20 +
  -- TCP 20 + MSS and window scale options 8) at 10 Mbit/s, 40 us each.
  local BASE = 2 * 20000000 + 2 * (50 * 8 * 1000000000 // 10000000)
  X.eq(BASE, 40080000, "expected one-round-trip latency")

  local LOSSES = { 0, 0.1, 0.2, 0.3, 0.4, 0.5 }
  X.eq(#runs, #LOSSES * 20, "runs in runs.csv")
  local seen_levels, per_loss = {}, {}
  for i, r in ipairs(runs) do
    local want_loss = LOSSES[(i - 1) // 20 + 1]
    X.eq(r.loss, want_loss, "run " .. i .. " loss rate")
    X.eq(r.seed, (i - 1) % 20 + 1, "run " .. i .. " seed")
    per_loss[r.loss] = per_loss[r.loss] or {}
    table.insert(per_loss[r.loss], r)
    if r.handshake_ns then
      local late = r.handshake_ns - BASE
      local level = ((1 << (r.syn_tx - 1)) - 1) * S
      X.eq(late, level, ("run %d (loss %s, seed %d, %d SYNs): latency - 2d"):format(i, r.loss, r.seed, r.syn_tx))
      X.eq(r.state, "ESTABLISHED", "run " .. i .. " state")
      seen_levels[late // S] = true
      if r.loss == 0 then X.eq(r.syn_tx, 1, "run " .. i .. ": no loss, one SYN") end
    else
      -- Given up: the first SYN and all syn_retries = 6 retransmissions lost.
      X.eq(r.syn_tx, 7, "run " .. i .. " gave up after 7 SYNs")
      X.check(r.loss > 0, "run " .. i .. " failed without loss")
    end
  end
  -- With seeds 1..20 the runs land on the levels 0, 1, 3, 7 and 15 s.
  for _, l in ipairs { 0, 1, 3, 7, 15 } do
    X.check(seen_levels[l], ("some handshake is exactly %d s late"):format(l))
  end
  for l in pairs(seen_levels) do
    X.check(l == 0 or l == 1 or l == 3 or l == 7 or l == 15 or l == 31 or l == 63, "unexpected level " .. l)
  end

  -- summary.csv: one row per loss rate, agreeing with runs.csv.
  X.eq(#summary, #LOSSES, "rows in summary.csv")
  for _, s in ipairs(summary) do
    local list = per_loss[s.loss] or {}
    X.eq(s.runs, #list, "summary runs at loss " .. s.loss)
    local n, sum, levels = 0, 0, 0
    for _, r in ipairs(list) do
      if r.handshake_ns then n, sum = n + 1, sum + r.handshake_ns end
    end
    for _, l in ipairs { 0, 1, 3, 7, 15, 31, 63 } do levels = levels + (s[("late_%d_s"):format(l)] or 0) end
    X.eq(s.connected, n, "summary connected at loss " .. s.loss)
    X.eq(levels, n, "summary level counts at loss " .. s.loss)
    X.check(n > 0 and math.abs(s.mean_s - sum / n / S) < 1e-9, "summary mean at loss " .. s.loss)
  end

  -- The example run (the slowest handshake): its SYNs leave at the first
  -- one's time plus 0, 1, 3, 7, ... s, and the last one gets through.
  local segments = X.read("segments")
  local syns = X.where(segments, { from_node = "client", action = "sent", flags = "SYN" })
  X.check(#syns >= 2, "the example run retransmitted its SYN")
  for k, syn in ipairs(syns) do
    X.eq(syn.time_ns - syns[1].time_ns, ((1 << (k - 1)) - 1) * S, "example SYN " .. k .. " offset")
    X.eq(syn.seq, syns[1].seq, "example SYN " .. k .. " retransmits the same seq")
  end
  local lost = X.where(segments, { from_node = "client", action = "dropped", flags = "SYN" })
  X.eq(#lost, #syns - 1, "example: every SYN but the last lost")
  for _, d in ipairs(lost) do X.eq(d.reason, "loss", "example: lost to the random loss") end
  local conn = X.first(X.read("connections"), { node = "client", role = "active" })
  X.eq(conn.handshake_ns, BASE + syns[#syns].time_ns - syns[1].time_ns, "example handshake latency")
  X.eq(conn.syn_tx, #syns, "example syn_tx")

  local m = X.metrics()
  X.eq(m.runs, 120, "metric runs")
  X.nonempty("latency.png")
  X.nonempty("latencies.png")
  print(("120 simulations took about %d s of wall time"):format(X.elapsed))
end
