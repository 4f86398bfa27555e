-- Checks experiments/13-close-loses-data.lua: data arriving after close()
-- is answered with a RST that acknowledges none of it (RFC 1122
-- 4.2.2.13); the client ends in FIN_WAIT_2 -> CLOSED with data_lost, the
-- server with reset, and the rest of the reply is never sent. With
-- rst_on_data_loss off, the data is acknowledged and dropped and both
-- sides close normally.

local E = dofile(arg[0]:match("^(.*)/") .. "/expect.lua")

local function check_reset(label, p)
  local output, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSED" },
    "client states: no TIME_WAIT")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "CLOSED" },
    "server states: no LAST_ACK")
  E.eq(E.cause(R, "client", "FIN_WAIT_1", flow), "app_close", "FIN_WAIT_1: the client called close")

  -- The server's first data segment reaches the client after its close.
  local first
  for _, s in ipairs(E.where(R.segments, { from_node = "server", action = "received" })) do
    if s.len > 0 then first = first or s end
  end
  E.check(first and first.rel_seq == 1, "the server's first data segment (seq=y+1) reaches the client")
  local t_close = E.entered(R, "client", "FIN_WAIT_1", flow)
  E.check(first and first.t > t_close, "it arrives after the client's close")

  -- Answered at once by RST|ACK seq=x+2+request ack=y+1: none of it taken.
  local rst = E.first(E.sent(R, "client"), { flags = "RST|ACK" })
  E.check(rst ~= nil, "the client sends a RST")
  E.eq(rst.t, first.t, "the RST leaves the instant the data arrives")
  E.eq(rst.rel_seq, 2 + p.request, "RST seq = x+2+request (after the client's FIN)")
  E.eq(rst.rel_ack, 1, "RST ack = y+1: none of the data was accepted")
  E.eq(E.entered(R, "client", "CLOSED", flow), rst.t, "the client is CLOSED when it sends the RST")
  E.eq(E.entered(R, "server", "CLOSED", flow), rst.t + p.delay_ns + E.ser(rst, p.bps),
    "the server is CLOSED when the RST arrives")

  -- The rest of the reply is lost: the server sent one chunk's segments only.
  local data = 0
  for _, s in ipairs(E.sent(R, "server")) do data = data + s.len end
  E.check(data > 0 and data < p.chunks * p.chunk_bytes, "the server's reply is cut short",
    ("%d of %d bytes sent"):format(data, p.chunks * p.chunk_bytes))
  E.eq(#E.where(R.segments, { action = "dropped" }), 0, "no segment was lost: the RST is TCP's own doing")

  local cc = E.first(R.connections, { node = "client" })
  local sc = E.first(R.connections, { node = "server" })
  E.eq(cc.error, "data_lost", "connections.csv: client error data_lost")
  E.eq(sc.error, "reset", "connections.csv: server error reset")
  E.eq(cc.final_state, "CLOSED", "connections.csv: client final state")
  E.eq(cc.bytes_received, 0, "connections.csv: the client took none of the reply")
  E.eq(R.metrics.read_after_close, 0, "metrics: the client's application read nothing")
  E.eq(R.metrics.client_error, "data_lost", "metrics: the client's on_end saw data_lost")
  E.eq(R.metrics.server_error, "reset", "metrics: the server's on_end saw reset")

  E.printed(output, { "-- RST|ACK seq=x+" .. (2 + p.request) .. " ack=y+1 --" }, "the ladder")
  E.nonempty(dir .. "/states.png", "state timeline plot")
  E.nonempty(dir .. "/ladder.svg", "ladder SVG")
end

local function check_plain(label, p)
  local _, dir = E.run(label, p.sets)
  local R = E.results(dir)
  local flow = R.connections[1].flow
  local reply = p.chunks * p.chunk_bytes

  E.same(E.states(R, "client", flow),
    { "CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED" },
    "client states without the RST")
  E.same(E.states(R, "server", flow),
    { "LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSED" },
    "server states without the RST")
  E.eq(#E.where(R.segments, { flags = "RST|ACK" }) + #E.where(R.segments, { flags = "RST" }), 0,
    "no RST at all")
  local acks = E.sent(R, "client")
  E.eq(acks[#acks].rel_ack, reply + 2, "the client acknowledges the whole reply and the FIN (y+2+reply)")
  local cc = E.first(R.connections, { node = "client" })
  local sc = E.first(R.connections, { node = "server" })
  E.eq(cc.error, nil, "connections.csv: no error on the client")
  E.eq(sc.error, nil, "connections.csv: no error on the server")
  E.eq(sc.bytes_sent, reply, "the server believes its whole reply was delivered")
  E.eq(R.metrics.read_after_close, 0, "yet the client's application read none of it")
end

local defaults = { chunks = 5, chunk_bytes = 1000 }
check_reset("defaults", { sets = {}, delay_ns = 20000000, bps = 10000000,
  request = 100, chunks = 5, chunk_bytes = 1000 })
-- Another delay and request size: the same relations.
check_reset("slower", { sets = { delay = "50ms", request = 10 }, delay_ns = 50000000,
  bps = 10000000, request = 10, chunks = 5, chunk_bytes = 1000 })
check_plain("no-reset", { sets = { rst_on_data_loss = false }, chunks = defaults.chunks,
  chunk_bytes = defaults.chunk_bytes })
E.done()
