-- Experiment 14: the congestion window in slow start, fast retransmit
-- and fast recovery (RFC 5681, RFC 6582, RFC 6928)
--
-- Claim. A sender does not put the receiver's whole window on the path
-- at once: its congestion window (cwnd) caps what it has in flight.
--
--   * cwnd starts at 10 segments (RFC 6928) when the connection is
--     established.
--   * In slow start every ACK of new data adds one segment (RFC 5681
--     3.1: at most one per ACK, however much it acknowledges). When
--     every segment is acknowledged (delayed_ack = false) that doubles
--     cwnd each round trip: the first 10 segments bring 10 ACKs, and
--     cwnd is 20 segments. With delayed ACKs (the default) one ACK
--     comes for every second segment, so cwnd grows by about half: the
--     first 10 segments bring 6 ACKs and cwnd is 16 segments. (The first
--     segment is acknowledged at once: that ACK tells the client the
--     whole receive window, which the SYN|ACK could not, since a SYN's
--     window is never scaled, RFC 7323 2.2.)
--   * One segment is lost. Every segment after it makes the receiver
--     repeat its ACK. At the third duplicate the sender resends the
--     lost segment at once (fast retransmit, RFC 5681 3.2; it leaves
--     as soon as the link has sent what was queued before it), without
--     waiting for its retransmission timeout, and halves: ssthresh =
--     half of cwnd (what was in flight, without what limited transmit
--     added), cwnd = ssthresh + 3 segments, the three that left the
--     network.
--   * Each further duplicate ACK means another segment left the
--     network: cwnd grows by one segment (inflation), so new data keeps
--     flowing. The ACK that repairs the loss sets cwnd to
--     min(ssthresh, FlightSize + 1 segment) (RFC 6582 3.2, step 3).
--   * From ssthresh on, congestion avoidance adds SMSS*SMSS/cwnd per
--     ACK: about one segment per round trip instead of per ACK.
--
-- What to look at: cwnd.png (cwnd and ssthresh in segments against
-- time: the steep slow start, the drop to half, the tooth of inflation,
-- the shallow line after), cwnd.csv (one row per change), and the ladder
-- of the loss: the dropped segment, the duplicate ACKs, the
-- retransmission when the third arrives.
--
-- Knobs: delay, rate, bytes (sent by the client), lose (which full-size
-- data segment of the client's is dropped, counted from 1), delayed_ack,
-- tcp ("ns3" runs the client on ns-3's own TCP: compare its cwnd.png;
-- ns-3 3.37's NewReno adds a segment for every segment an ACK covers).
-- Output in tcplab.out: the four CSV files, cwnd.png, states.png,
-- ladder.svg.

local tcplab = require("tcplab")
local param = tcplab.param

local delay = param("delay", "20ms")
local rate = param("rate", "100Mbps") -- fast: cwnd, not the link, limits the client
local bytes = param("bytes", 300000)
local lose = param("lose", 30)
local delayed_ack = param("delayed_ack", true)
local tcp = param("tcp", "tcplab")
local MSS = 1460 -- the nodes' default MSS (1460 octets) on both sides

local sim = tcplab.sim{}
local client = sim:node("client", { tcp = tcp, mss = MSS })
local server = sim:node("server", { delayed_ack = delayed_ack })
local link = sim:link(client, server, { rate = rate, delay = delay })
link:drop{ from = client, flags = "ACK", len = MSS, nth = lose }

local received = 0
server:listen(80, {
  on_data = function(c) received = received + #c:read() end,
  on_close = function(c) c:close() end,
})
local conn = client:connect(server, 80, { at = 1.0 })
conn:send(bytes, { at = 1.1 })
conn:close{ at = 1.1 }
sim:run()

-- The ladder from the lost segment leaving to its retransmission.
local lost = tcplab.where(sim:segments(), { action = "dropped" })[1]
if not lost then
  error(("no segment was lost: the client sent fewer than lose = %d full-size segments; "
    .. "send more bytes"):format(lose), 0)
end
local sent = tcplab.where(sim:segments(), { action = "sent", from_node = "client", seq = lost.seq })
print(sim:ladder(conn, { symbolic = true, from = sent[1].time_s, to = sent[2].time_s,
  title = "One segment lost: duplicate ACKs, then fast retransmit at the third" }))
print()

-- The client's congestion state: where the loss was found, and before.
local rows = conn:cwnd()
local at_loss
for i, r in ipairs(rows) do
  if r.ssthresh and not at_loss then at_loss = i end
end
-- ns-3's TCP reports ssthresh and cwnd apart: take the last row of that
-- instant.
local settled = at_loss
while rows[settled + 1] and rows[settled + 1].time_s == rows[at_loss].time_s do
  settled = settled + 1
end
local function segs(b) return ("%.1f"):format(b / MSS) end
print(("cwnd in segments of %d bytes: %s when established, %s when the third duplicate "
  .. "ACK came; then ssthresh %s and cwnd %s; %s at the end")
  :format(MSS, segs(rows[1].cwnd), segs(rows[at_loss - 1].cwnd), segs(rows[settled].ssthresh),
    segs(rows[settled].cwnd), segs(rows[#rows].cwnd)))

assert(sim:write_csv(tcplab.out))
sim:plot_cwnd(tcplab.out .. "/cwnd.png", {
  node = "client", segments = MSS,
  title = "Congestion window: slow start, one loss, fast recovery, congestion avoidance",
})
sim:ladder_svg(conn, tcplab.out .. "/ladder.svg", { symbolic = true })
sim:plot_states(tcplab.out .. "/states.png", { title = "Connection states" })

local info = conn:info()
return {
  bytes_received = received,
  initial_cwnd = rows[1].cwnd,
  cwnd_at_loss = rows[at_loss - 1].cwnd,
  ssthresh = rows[at_loss].ssthresh,
  final_cwnd = rows[#rows].cwnd,
  retransmissions = info.retransmissions,
  fast_retransmits = info.fast_retransmits,
  timeouts = info.timeouts,
  dup_acks = info.dup_acks,
}
