/* Trace rows: segments seen on links, flows, cells and CSV files. */
#include "sim-impl.h"

#include <ns3/ipv4-header.h>
#include <ns3/ipv4-route.h>
#include <ns3/ipv4-routing-protocol.h>
#include <ns3/ipv4.h>
#include <ns3/simulator.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

using namespace ns3;

namespace tcplab {

std::string FormatTime(tcplab_time_t t) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRIu64 ".%09" PRIu64, t / 1000000000u,
           t % 1000000000u);
  return buf;
}

std::string FormatEndpoint(tcplab_endpoint e) {
  char buf[32];
  snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", (e.addr >> 24) & 255u,
           (e.addr >> 16) & 255u, (e.addr >> 8) & 255u, e.addr & 255u,
           static_cast<unsigned>(e.port));
  return buf;
}

static bool SeqLt(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}

WireSegment ParseFrame(Ptr<const Packet> p, bool withPpp) {
  WireSegment w;
  uint32_t size = p->GetSize();
  uint8_t buf[128];
  // Headers only: the payload's bytes are not needed, its length is.
  uint32_t n = p->CopyData(buf, size < sizeof buf ? size : sizeof buf);
  uint32_t off = 0;
  if (withPpp) {
    if (n < 2 || buf[0] != 0x00 || buf[1] != 0x21) {
      return w; // not IPv4 over PPP
    }
    off = 2;
  }
  if (n < off + 20 || (buf[off] >> 4) != 4) {
    return w;
  }
  uint32_t ihl = (buf[off] & 15u) * 4u;
  uint32_t total = (static_cast<uint32_t>(buf[off + 2]) << 8) | buf[off + 3];
  if (buf[off + 9] != 6 || ihl < 20 || n < off + ihl + 20 || total < ihl + 20 ||
      size < off + total) {
    return w;
  }
  auto be32 = [&](uint32_t i) {
    return (static_cast<uint32_t>(buf[i]) << 24) |
           (static_cast<uint32_t>(buf[i + 1]) << 16) |
           (static_cast<uint32_t>(buf[i + 2]) << 8) | buf[i + 3];
  };
  w.ipLen = total;
  w.src = be32(off + 12);
  w.dst = be32(off + 16);
  uint32_t t = off + ihl;
  w.sport = static_cast<uint16_t>((buf[t] << 8) | buf[t + 1]);
  w.dport = static_cast<uint16_t>((buf[t + 2] << 8) | buf[t + 3]);
  w.seq = be32(t + 4);
  w.ack = be32(t + 8);
  uint32_t doff = (buf[t + 12] >> 4) * 4u;
  w.flags = buf[t + 13] & 0x3f;
  w.win = static_cast<uint16_t>((buf[t + 14] << 8) | buf[t + 15]);
  if (doff < 20 || doff > total - ihl) {
    return w;
  }
  w.len = total - ihl - doff;
  w.ok = true;
  return w;
}

/* --------------------------------------------------------------- flows */

int Sim::FlowFor(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                 uint8_t flags) {
  bool srcLow = src < dst || (src == dst && sport < dport);
  auto key = srcLow ? std::make_tuple(src, sport, dst, dport)
                    : std::make_tuple(dst, dport, src, sport);
  auto it = m_flowIndex.find(key);
  if (it != m_flowIndex.end()) {
    return it->second;
  }
  // A segment of a connection no endpoint told us about: the SYN's
  // sender opened it; without a SYN, guess the ephemeral (higher) port.
  bool srcClient;
  if (flags & TCPLAB_SYN) {
    srcClient = !(flags & TCPLAB_ACK);
  } else {
    srcClient = sport > dport;
  }
  Flow f;
  f.client =
      srcClient ? tcplab_endpoint{src, sport} : tcplab_endpoint{dst, dport};
  f.server =
      srcClient ? tcplab_endpoint{dst, dport} : tcplab_endpoint{src, sport};
  f.name = FormatEndpoint(f.client) + "-" + FormatEndpoint(f.server);
  int id = static_cast<int>(flows.size());
  flows.push_back(f);
  m_flowIndex[key] = id;
  return id;
}

int Sim::FlowForConn(const ConnRec &c) {
  bool active = c.role == TCPLAB_ROLE_ACTIVE;
  tcplab_endpoint client = active ? c.local : c.remote;
  tcplab_endpoint server = active ? c.remote : c.local;
  return FlowFor(client.addr, client.port, server.addr, server.port,
                 TCPLAB_SYN);
}

/* ------------------------------------------------------------ segments */

void Sim::RecordSegment(int link, int dir, tcplab_sim_action action,
                        const WireSegment &w, const char *reason,
                        bool injected) {
  int flowId = FlowFor(w.src, w.sport, w.dst, w.dport, w.flags);
  Flow &f = flows[flowId];
  int s = (f.client.addr == w.src && f.client.port == w.sport) ? 0 : 1;
  tcplab_time_t now = Now();
  const LinkRec &l = links[link];
  if (action == TCPLAB_SIM_SENT && !injected) {
    if ((w.flags & TCPLAB_SYN) && !(w.flags & TCPLAB_ACK) && s == 0 &&
        (!f.isnKnown[0] || f.isn[0] != w.seq || f.synTx[0] == 0)) {
      // A new incarnation of the 4-tuple: start its counters afresh.
      if (f.isnKnown[0] && f.isn[0] != w.seq) {
        f.isnKnown[1] = false;
      }
      for (int i = 0; i < 2; i++) {
        f.synTx[i] = f.retrans[i] = 0;
        f.acked[i] = 0;
        f.anySent[i] = false;
      }
      f.synRcvdAt = TCPLAB_TIME_NEVER;
    }
    if (w.flags & TCPLAB_SYN) {
      f.isn[s] = w.seq;
      f.isnKnown[s] = true;
      if (++f.synTx[s] > 1) {
        f.retrans[s]++;
      }
      f.sndMax[s] = w.seq + 1;
      f.anySent[s] = true;
    } else if (f.anySent[s]) {
      uint32_t end = w.seq + w.len + ((w.flags & TCPLAB_FIN) ? 1u : 0u);
      if ((w.len > 0 || (w.flags & TCPLAB_FIN)) && SeqLt(w.seq, f.sndMax[s])) {
        f.retrans[s]++;
      }
      if (SeqLt(f.sndMax[s], end)) {
        f.sndMax[s] = end;
      }
    }
  }
  if (action == TCPLAB_SIM_RECEIVED) {
    int r = 1 - s;
    if ((w.flags & TCPLAB_ACK) && f.isnKnown[r]) {
      uint32_t rel = w.ack - f.isn[r];
      uint64_t bytes = rel > 0 ? rel - 1u : 0u;
      if (bytes > f.acked[r]) {
        f.acked[r] = bytes;
      }
    }
    if ((w.flags & TCPLAB_SYN) && !(w.flags & TCPLAB_ACK) && s == 0 &&
        f.synRcvdAt == TCPLAB_TIME_NEVER) {
      f.synRcvdAt = now;
      f.synRcvdSeq = w.seq;
    }
    NodeRec &to = nodes[l.end[1 - dir].node];
    to.lastRx = w;
    to.lastRxTime = now;
    to.lastRxFlow = flowId;
    to.lastRxLink = link;
  }
  SegmentRow row;
  row.time = now;
  row.link = link;
  row.fromNode = l.end[dir].node;
  row.toNode = l.end[1 - dir].node;
  row.action = action;
  row.flow = flowId;
  row.flags = w.flags;
  row.seq = w.seq;
  row.ack = w.ack;
  row.hasRelSeq = f.isnKnown[s];
  row.relSeq = w.seq - f.isn[s];
  row.hasRelAck = f.isnKnown[1 - s] && (w.flags & TCPLAB_ACK);
  row.relAck = w.ack - f.isn[1 - s];
  row.len = w.len;
  row.win = w.win;
  row.reason = reason ? reason : "";
  row.ipLen = w.ipLen;
  row.injected = injected;
  segments.push_back(row);
}

void Sim::OnDeviceTx(int link, int dir, Ptr<const Packet> p) {
  WireSegment w = ParseFrame(p, true);
  if (w.ok) {
    RecordSegment(link, dir, TCPLAB_SIM_SENT, w, "",
                  m_injectedUids.count(p->GetUid()) != 0);
  }
}

void Sim::OnDeviceRx(int link, int dir, Ptr<const Packet> p) {
  WireSegment w = ParseFrame(p, true);
  if (w.ok) {
    RecordSegment(link, dir, TCPLAB_SIM_RECEIVED, w, "",
                  m_injectedUids.count(p->GetUid()) != 0);
  }
}

void Sim::OnDrop(int link, int dir, Ptr<const Packet> p, bool withPpp,
                 const char *reason) {
  WireSegment w = ParseFrame(p, withPpp);
  if (w.ok) {
    RecordSegment(link, dir, TCPLAB_SIM_DROPPED, w, reason,
                  m_injectedUids.count(p->GetUid()) != 0);
  }
}

void Sim::OnNodeDrop(int node, Ptr<const Packet> p) {
  // The traffic-control layer drops when the device's queue is full: find
  // the link the packet was routed to.
  WireSegment w = ParseFrame(p, false);
  if (!w.ok) {
    return;
  }
  Ptr<Ipv4> ipv4 = nodes[node].node->GetObject<Ipv4>();
  Ipv4Header h;
  h.SetDestination(Ipv4Address(w.dst));
  h.SetSource(Ipv4Address(w.src));
  h.SetProtocol(6);
  Socket::SocketErrno err;
  Ptr<Ipv4Route> route =
      ipv4->GetRoutingProtocol()->RouteOutput(nullptr, h, nullptr, err);
  if (!route) {
    return;
  }
  auto it = m_devLink.find(PeekPointer(route->GetOutputDevice()));
  if (it == m_devLink.end()) {
    return;
  }
  RecordSegment(it->second.first, it->second.second, TCPLAB_SIM_DROPPED, w,
                "queue", false);
}

void Sim::OnMalformed(int node, Ptr<const Packet> p, Ipv4Address src,
                      Ipv4Address dst, std::string reason) {
  int link = nodes[node].lastRxLink;
  if (link < 0) {
    return;
  }
  uint8_t buf[TCPLAB_HEADER_MAX];
  uint32_t n = p->CopyData(buf, sizeof buf);
  if (n < 20) {
    return;
  }
  WireSegment w;
  w.ok = true;
  w.src = src.Get();
  w.dst = dst.Get();
  w.sport = static_cast<uint16_t>((buf[0] << 8) | buf[1]);
  w.dport = static_cast<uint16_t>((buf[2] << 8) | buf[3]);
  w.seq = (static_cast<uint32_t>(buf[4]) << 24) | (buf[5] << 16) |
          (buf[6] << 8) | buf[7];
  w.ack = (static_cast<uint32_t>(buf[8]) << 24) | (buf[9] << 16) |
          (buf[10] << 8) | buf[11];
  w.flags = buf[13] & 0x3f;
  w.win = static_cast<uint16_t>((buf[14] << 8) | buf[15]);
  uint32_t doff = (buf[12] >> 4) * 4u;
  w.len = p->GetSize() > doff ? p->GetSize() - doff : 0;
  w.ipLen = p->GetSize() + 20;
  int end = links[link].end[0].node == node ? 0 : 1;
  static const std::string checksum = "checksum";
  const char *why = reason == checksum ? "checksum" : "malformed";
  RecordSegment(link, 1 - end, TCPLAB_SIM_DROPPED, w, why, false);
}

/* -------------------------------------------------------------- tables */

static const char *const kTimelineCols[] = {
    "time_s", "node",  "conn", "flow", "from_state", "to_state",
    "event",  "flags", "seq",  "ack",  "rel_seq",    "rel_ack"};
static const char *const kSegmentCols[] = {
    "time_s", "link", "from_node", "to_node", "action", "flow", "flags",
    "seq",    "ack",  "rel_seq",   "rel_ack", "len",    "win",  "reason"};
static const char *const kConnCols[] = {
    "conn",        "node",       "role",           "flow",
    "local",       "remote",     "open_s",         "established_s",
    "handshake_s", "syn_tx",     "close_s",        "closed_s",
    "final_state", "bytes_sent", "bytes_received", "retransmissions",
    "error"};
static const char *const kCwndCols[] = {"time_s", "node", "conn",
                                        "flow",   "cwnd", "ssthresh"};

int TableColumns(tcplab_sim_table t) {
  switch (EnumValue(t)) {
  case TCPLAB_SIM_TIMELINE: return 12;
  case TCPLAB_SIM_SEGMENTS: return 14;
  case TCPLAB_SIM_CONNECTIONS: return 17;
  case TCPLAB_SIM_CWND: return 6;
  }
  return -1;
}

const char *TableColumnName(tcplab_sim_table t, int col) {
  if (col < 0 || col >= TableColumns(t)) {
    return nullptr;
  }
  switch (EnumValue(t)) {
  case TCPLAB_SIM_TIMELINE: return kTimelineCols[col];
  case TCPLAB_SIM_SEGMENTS: return kSegmentCols[col];
  case TCPLAB_SIM_CONNECTIONS: return kConnCols[col];
  case TCPLAB_SIM_CWND: return kCwndCols[col];
  }
  return nullptr;
}

const std::vector<int> &Sim::ConnRows() const {
  if (m_connRowsFor != conns.size()) {
    m_connRows.clear();
    for (const ConnRec &c : conns) {
      if (!c.isListener) {
        m_connRows.push_back(c.id);
      }
    }
    m_connRowsFor = conns.size();
  }
  return m_connRows;
}

int64_t Sim::Rows(tcplab_sim_table t) const {
  switch (EnumValue(t)) {
  case TCPLAB_SIM_TIMELINE: return static_cast<int64_t>(timeline.size());
  case TCPLAB_SIM_SEGMENTS: return static_cast<int64_t>(segments.size());
  case TCPLAB_SIM_CONNECTIONS: return static_cast<int64_t>(ConnRows().size());
  case TCPLAB_SIM_CWND: return static_cast<int64_t>(cwnd.size());
  }
  return -1;
}

static std::string Num(uint64_t v) {
  return std::to_string(v);
}

static std::string Flags(uint8_t f) {
  char buf[32];
  tcplab_flags_format(f, buf, sizeof buf);
  return buf;
}

static std::string TimeOrEmpty(tcplab_time_t t) {
  return t == TCPLAB_TIME_NEVER ? "" : FormatTime(t);
}

std::string Sim::CellText(tcplab_sim_table t, int64_t row, int col) {
  if (t == TCPLAB_SIM_TIMELINE) {
    const TimelineRow &r = timeline[static_cast<size_t>(row)];
    switch (col) {
    case 0: return FormatTime(r.time);
    case 1: return nodes[r.node].name;
    case 2: return Num(static_cast<uint64_t>(r.conn));
    case 3:
      return r.flow >= 0 ? flows[r.flow].name
                         : FormatEndpoint({0, r.listenerPort});
    case 4: return tcplab_state_name(r.from);
    case 5: return tcplab_state_name(r.to);
    case 6: return tcplab_event_name(r.event);
    case 7: return r.hasSegment ? Flags(r.flags) : "";
    case 8: return r.hasSegment ? Num(r.seq) : "";
    case 9: return r.hasSegment ? Num(r.ack) : "";
    case 10: return r.hasRelSeq ? Num(r.relSeq) : "";
    case 11: return r.hasRelAck ? Num(r.relAck) : "";
    }
  } else if (t == TCPLAB_SIM_SEGMENTS) {
    const SegmentRow &r = segments[static_cast<size_t>(row)];
    static const char *const actions[] = {"sent", "received", "dropped"};
    switch (col) {
    case 0: return FormatTime(r.time);
    case 1: return links[r.link].name;
    case 2: return nodes[r.fromNode].name;
    case 3: return nodes[r.toNode].name;
    case 4: return actions[r.action];
    case 5: return flows[r.flow].name;
    case 6: return Flags(r.flags);
    case 7: return Num(r.seq);
    case 8: return Num(r.ack);
    case 9: return r.hasRelSeq ? Num(r.relSeq) : "";
    case 10: return r.hasRelAck ? Num(r.relAck) : "";
    case 11: return Num(r.len);
    case 12: return Num(r.win);
    case 13: return r.reason;
    }
  } else if (t == TCPLAB_SIM_CWND) {
    const CwndRow &r = cwnd[static_cast<size_t>(row)];
    switch (col) {
    case 0: return FormatTime(r.time);
    case 1: return nodes[r.node].name;
    case 2: return Num(static_cast<uint64_t>(r.conn));
    case 3: return flows[r.flow].name;
    case 4: return Num(r.cwnd);
    // Not set yet: RFC 5681's "arbitrarily high" is no number to plot.
    case 5: return r.ssthresh == TCPLAB_WINDOW_MAX ? "" : Num(r.ssthresh);
    }
  } else {
    int id = ConnRows()[static_cast<size_t>(row)];
    struct tcplab_sim_conn_info ci;
    ConnInfo(id, &ci);
    switch (col) {
    case 0: return Num(static_cast<uint64_t>(id));
    case 1: return nodes[ci.node].name;
    case 2: return ci.role == TCPLAB_ROLE_ACTIVE ? "active" : "passive";
    case 3: return ci.flow;
    case 4: return FormatEndpoint(ci.local);
    case 5: return FormatEndpoint(ci.remote);
    case 6: return TimeOrEmpty(ci.open);
    case 7: return TimeOrEmpty(ci.established);
    case 8: return TimeOrEmpty(ci.handshake);
    case 9: return Num(ci.syn_tx);
    case 10: return TimeOrEmpty(ci.close);
    case 11: return TimeOrEmpty(ci.closed);
    case 12: return tcplab_state_name(ci.state);
    case 13: return Num(ci.bytes_sent);
    case 14: return Num(ci.bytes_received);
    case 15: return Num(ci.retransmissions);
    case 16: return tcplab_error_name(ci.error);
    }
  }
  return "";
}

const char *Sim::Cell(tcplab_sim_table t, int64_t row, int col) {
  if (row < 0 || row >= Rows(t) || col < 0 || col >= TableColumns(t)) {
    return nullptr;
  }
  m_cell = CellText(t, row, col);
  return m_cell.c_str();
}

void Sim::TimelineRowOut(int64_t row,
                         struct tcplab_sim_timeline_row *out) const {
  const TimelineRow &r = timeline.at(static_cast<size_t>(row));
  out->time = r.time;
  out->node = r.node;
  out->conn = r.conn;
  out->flow = r.flow >= 0 ? flows[r.flow].name.c_str() : "";
  out->from = r.from;
  out->to = r.to;
  out->event = r.event;
  out->has_segment = r.hasSegment;
  out->flags = r.flags;
  out->seq = r.seq;
  out->ack = r.ack;
  out->has_rel_seq = r.hasRelSeq;
  out->has_rel_ack = r.hasRelAck;
  out->rel_seq = r.relSeq;
  out->rel_ack = r.relAck;
}

void Sim::SegmentRowOut(int64_t row, struct tcplab_sim_segment_row *out) const {
  const SegmentRow &r = segments.at(static_cast<size_t>(row));
  out->time = r.time;
  out->link = r.link;
  out->from_node = r.fromNode;
  out->to_node = r.toNode;
  out->action = r.action;
  out->flow = flows[r.flow].name.c_str();
  out->flags = r.flags;
  out->seq = r.seq;
  out->ack = r.ack;
  out->has_rel_seq = r.hasRelSeq;
  out->has_rel_ack = r.hasRelAck;
  out->rel_seq = r.relSeq;
  out->rel_ack = r.relAck;
  out->len = r.len;
  out->win = r.win;
  out->reason = r.reason;
  out->ip_len = r.ipLen;
  out->injected = r.injected;
}

void Sim::CwndRowOut(int64_t row, struct tcplab_sim_cwnd_row *out) const {
  const CwndRow &r = cwnd.at(static_cast<size_t>(row));
  out->time = r.time;
  out->node = r.node;
  out->conn = r.conn;
  out->flow = flows[r.flow].name.c_str();
  out->cwnd = r.cwnd;
  out->has_ssthresh = r.ssthresh != TCPLAB_WINDOW_MAX;
  out->ssthresh = r.ssthresh;
}

/* ----------------------------------------------------------------- CSV */

static void CsvField(std::string &out, const std::string &v) {
  // RFC 4180 2.6/2.7: quote fields with a comma, quote or line break, and
  // double the quotes inside.
  if (v.find_first_of(",\"\r\n") == std::string::npos) {
    out += v;
    return;
  }
  out += '"';
  for (char ch : v) {
    if (ch == '"') {
      out += '"';
    }
    out += ch;
  }
  out += '"';
}

static void MakeDirs(const std::string &path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST) {
        throw SimError(TCPLAB_SIM_ERR_IO, "write_csv: cannot create " + cur +
                                              ": " + strerror(errno));
      }
    }
    if (i < path.size()) {
      cur += path[i];
    }
  }
}

void Sim::WriteCsv(const std::string &dir) {
  if (dir.empty()) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "write_csv: empty directory name");
  }
  MakeDirs(dir);
  static const struct {
    tcplab_sim_table table;
    const char *file;
  } files[] = {{TCPLAB_SIM_TIMELINE, "timeline.csv"},
               {TCPLAB_SIM_SEGMENTS, "segments.csv"},
               {TCPLAB_SIM_CONNECTIONS, "connections.csv"},
               {TCPLAB_SIM_CWND, "cwnd.csv"}};
  for (const auto &f : files) {
    std::string path = dir + "/" + f.file;
    FILE *fp = fopen(path.c_str(), "wb");
    if (!fp) {
      throw SimError(TCPLAB_SIM_ERR_IO, "write_csv: cannot write " + path +
                                            ": " + strerror(errno));
    }
    std::string line;
    int cols = TableColumns(f.table);
    for (int c = 0; c < cols; c++) {
      if (c) {
        line += ',';
      }
      line += TableColumnName(f.table, c);
    }
    line += "\r\n";
    bool ok = fwrite(line.data(), 1, line.size(), fp) == line.size();
    int64_t rows = Rows(f.table);
    for (int64_t r = 0; r < rows && ok; r++) {
      line.clear();
      for (int c = 0; c < cols; c++) {
        if (c) {
          line += ',';
        }
        CsvField(line, CellText(f.table, r, c));
      }
      line += "\r\n";
      ok = fwrite(line.data(), 1, line.size(), fp) == line.size();
    }
    if (fclose(fp) != 0 || !ok) {
      throw SimError(TCPLAB_SIM_ERR_IO, "write_csv: error writing " + path);
    }
  }
}

} // namespace tcplab
