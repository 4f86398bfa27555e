-- Experiment 17's claim, checked in its CSV files: nothing the client
-- sends before its urgent byte carries URG; from then on every segment
-- up to the urgent byte does, the zero-window probes included; the first
-- of them is a probe into the shut window, and the moment it arrives the
-- server's application is told of 10001 urgent bytes ahead, long before
-- its reading resumes at 20 s; it then reads all 10001 bytes, the urgent
-- "!" last.
return function(X)
  local segments = X.read("segments")
  local m = X.metrics()
  local URGENT_AT, READ_AT = 5 * X.S, 20 * X.S

  local sent = X.where(segments, { from_node = "client", action = "sent" })
  local first_urg
  for _, s in ipairs(sent) do
    local urg = s.flags:find("URG", 1, true) ~= nil
    if s.time_ns < URGENT_AT then
      X.check(not urg, "no URG before the urgent byte is sent (" .. s.time_s .. " s)")
    elseif s.len > 0 then
      X.check(urg, "URG on every data segment or probe after it (" .. s.time_s .. " s)")
      first_urg = first_urg or s
    end
  end
  X.check(first_urg ~= nil, "a segment with URG")
  X.eq(first_urg.len, 1, "the first is a one-octet probe")
  X.eq(first_urg.rel_seq, 4001, "... into the window shut at 4000")
  X.check(first_urg.time_ns < READ_AT, "... while the window is shut")
  local answer
  for _, s in ipairs(X.where(segments, { from_node = "server", action = "sent" })) do
    if s.time_ns > first_urg.time_ns then answer = s break end
  end
  X.eq(answer.win, 0, "the probe is answered with the window still shut")

  local arrived = X.first(segments, { from_node = "client", action = "received", seq = first_urg.seq,
    flags = first_urg.flags })
  X.check(arrived.time_ns > first_urg.time_ns and arrived.time_ns < first_urg.time_ns + 21 * 1000000,
    "the probe arrives one link delay (20 ms) later")
  X.eq(X.ns(tostring(m.told_s)), arrived.time_ns, "the application is told when it arrives")
  X.eq(m.told_bytes, 10001, "... of 10001 urgent bytes ahead of its reading")
  X.check(arrived.time_ns < READ_AT, "... before it reads again")
  X.eq(m.bytes_received, 10001, "all 10001 bytes read")
  X.eq(m.last_byte, "!", "the urgent byte last")

  X.nonempty("ladder.svg")
end
