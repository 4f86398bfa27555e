-- Experiment 11's claim, checked in its CSV files: every one of the 300
-- client connections (one per 0.1 s) closes actively and spends exactly
-- 2*MSL = 10 s in TIME_WAIT; the number of client connections in
-- TIME_WAIT levels off at rate x 2*MSL = 100 (within +-1 at the instants
-- when one leaves and the next enters) for the whole steady stretch; the
-- server, the passive closer, has none; time_wait.csv is exactly the
-- count computed here from timeline.csv.
return function(X)
  local S = X.S
  local timeline, conns = X.read("timeline"), X.read("connections")
  local RATE, TWO_MSL, PLATEAU = 10, 10 * S, 100

  local clients = X.where(conns, { node = "client", role = "active" })
  X.eq(#clients, 300, "client connections")
  for i, c in ipairs(clients) do
    X.eq(c.open_ns, S + (i - 1) * S // RATE, "connection " .. i .. " opens on schedule")
    -- Both ends close inside their callbacks: the client's FIN rides on
    -- the handshake's ACK and the server's FIN on the ACK of it, so the
    -- client goes from FIN_WAIT_1 straight to TIME_WAIT.
    X.eq(X.states(timeline, "client", c.conn),
      "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > TIME_WAIT > CLOSED",
      "connection " .. i .. " states (active close)")
    local tw = X.first(timeline, { node = "client", conn = c.conn, to_state = "TIME_WAIT" })
    local out = X.first(timeline, { node = "client", conn = c.conn, from_state = "TIME_WAIT" })
    X.eq(out.event, "timer_time_wait", "connection " .. i .. " leaves TIME_WAIT by its timer")
    X.eq(out.time_ns - tw.time_ns, TWO_MSL, "connection " .. i .. " TIME_WAIT lasts 2*MSL")
  end
  X.eq(#X.where(timeline, { node = "server", to_state = "TIME_WAIT" }), 0, "the server never enters TIME_WAIT")
  for _, s in ipairs(X.where(conns, { node = "server", role = "passive" })) do
    X.eq(X.states(timeline, "server", s.conn), "LISTEN > SYN_RECEIVED > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
      "server connection " .. s.conn .. " states (passive close)")
  end

  -- The count, from timeline.csv, compared with the experiment's CSV.
  local counts = X.where(X.read("time_wait"), { node = "client" })
  local n, i, peak = 0, 0, 0
  local first_out, last_in
  for _, r in ipairs(timeline) do
    if r.node == "client" and (r.to_state == "TIME_WAIT") ~= (r.from_state == "TIME_WAIT") then
      n = n + (r.to_state == "TIME_WAIT" and 1 or -1)
      i = i + 1
      local row = counts[i] or {}
      X.check(row.time_ns == r.time_ns and row.time_wait == n,
        ("time_wait.csv row %d: expected %s %d, got %s %s"):format(i, r.time_s, n, row.time_s, row.time_wait))
      peak = math.max(peak, n)
      if r.from_state == "TIME_WAIT" then first_out = first_out or r.time_ns end
      if r.to_state == "TIME_WAIT" then last_in = r.time_ns end
    end
  end
  X.eq(#counts, i, "rows in time_wait.csv")
  X.eq(n, 0, "every TIME_WAIT ends")
  X.check(math.abs(peak - PLATEAU) <= 1, ("peak %d = rate x 2*MSL = %d (+-1)"):format(peak, PLATEAU))
  -- Steady state: from the first exit to the last entry, always 100 +- 1.
  local steady = 0
  for _, r in ipairs(counts) do
    if r.time_ns >= first_out and r.time_ns <= last_in then
      steady = steady + 1
      X.check(math.abs(r.time_wait - PLATEAU) <= 1,
        ("count at %s s is %d, not %d +- 1"):format(r.time_s, r.time_wait, PLATEAU))
    end
  end
  X.check(steady >= 300, "the plateau lasts (" .. steady .. " changes on it)")
  X.eq(first_out, counts[1].time_ns + TWO_MSL, "the plateau starts 2*MSL after the first entry")

  local m = X.metrics()
  X.eq(m.expected_plateau, PLATEAU, "metric expected_plateau")
  X.check(math.abs(m.peak_time_wait - PLATEAU) <= 1, "metric peak_time_wait")
  X.eq(m.server_time_wait, 0, "metric server_time_wait")
  X.nonempty("time_wait.png")
end
