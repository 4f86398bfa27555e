/* Topology, impairments, injection, pcap and running. */
#include "sim-impl.h"

#include "tcplab-l4-protocol.h"

#include <ns3/boolean.h>
#include <ns3/data-rate.h>
#include <ns3/double.h>
#include <ns3/global-value.h>
#include <ns3/inet-socket-address.h>
#include <ns3/internet-stack-helper.h>
#include <ns3/ipv4-address-helper.h>
#include <ns3/ipv4-global-routing-helper.h>
#include <ns3/ipv4-header.h>
#include <ns3/ipv4-route.h>
#include <ns3/ipv4-routing-protocol.h>
#include <ns3/ipv4.h>
#include <ns3/log.h>
#include <ns3/node-container.h>
#include <ns3/point-to-point-channel.h>
#include <ns3/queue-size.h>
#include <ns3/queue.h>
#include <ns3/rng-seed-manager.h>
#include <ns3/simulator.h>
#include <ns3/traffic-control-helper.h>
#include <ns3/traffic-control-layer.h>

#include <cstring>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("TcplabSim");

namespace tcplab {

NS_OBJECT_ENSURE_REGISTERED(LinkImpairment);

static uint64_t Mix64(uint64_t x) {
  // splitmix64's finalizer: unrelated keys for neighbouring inputs.
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* ------------------------------------------------------- simulation */

Sim::Sim(uint64_t seed) : m_seed(seed) {
  // Real checksums: the core verifies them, and native TCP writes 0
  // without this, which tcplab would drop.
  GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
  // One fixed seed and the run number from the user's seed: the runs
  // are independent substreams of one generator, as ns-3 recommends.
  RngSeedManager::SetSeed(1);
  RngSeedManager::SetRun(seed);
}

Sim::~Sim() {
  conns.clear();
  for (auto &l : links) {
    for (auto &e : l.end) {
      if (e.impair) {
        e.impair->sim = nullptr;
      }
    }
  }
  links.clear();
  nodes.clear();
  m_pcapHelpers.clear();
  // Resets time, node ids and the event queue for the next simulation.
  Simulator::Destroy();
}

int64_t Sim::NextStream() {
  return m_stream++;
}

int Sim::FindNode(const std::string &name) const {
  auto it = m_nodeIndex.find(name);
  return it == m_nodeIndex.end() ? TCPLAB_SIM_ERR_NOTFOUND : it->second;
}

/* Connects a trace source; a misspelt name would otherwise fail quietly
 * and leave rows out. */
template <typename T, typename CB>
static void Hook(Ptr<T> obj, const char *name, CB cb) {
  if (!obj->TraceConnectWithoutContext(name, cb)) {
    throw SimError(TCPLAB_SIM_ERR_INTERNAL,
                   std::string("no trace source ") + name);
  }
}

static void CoreTraceThunk(Sim *sim, int node, const tcplab_trace_event *ev) {
  sim->OnCoreTrace(node, ev);
}

static void MalformedThunk(Sim *sim, int node, Ptr<const Packet> p,
                           Ipv4Address src, Ipv4Address dst,
                           std::string reason) {
  sim->OnMalformed(node, p, src, dst, reason);
}

static void NodeDropThunk(Sim *sim, int node, Ptr<const Packet> p) {
  sim->OnNodeDrop(node, p);
}

int Sim::AddNode(const std::string &name, bool router,
                 const tcplab_sim_node_opts *opts) {
  if (name.empty()) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "node: the name must not be empty");
  }
  if (m_nodeIndex.count(name)) {
    throw SimError(TCPLAB_SIM_ERR_NAME, "node: '" + name + "' exists");
  }
  int kind = opts ? EnumValue(opts->tcp) : TCPLAB_SIM_TCP_TCPLAB;
  bool native = kind == TCPLAB_SIM_TCP_NS3;
  if (kind != TCPLAB_SIM_TCP_NS3 && kind != TCPLAB_SIM_TCP_TCPLAB) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "node: unknown tcp kind");
  }
  int id = static_cast<int>(nodes.size());
  tcplab_config cfg;
  tcplab_config_default(&cfg);
  bool hasConfig = opts && opts->config;
  if (hasConfig) {
    cfg = *opts->config;
  }
  if (cfg.seed == 0) {
    cfg.seed = Mix64(m_seed ^ Mix64(static_cast<uint64_t>(id) + 1));
  }
  const char *why = nullptr;
  if (tcplab_config_check(&cfg, &why) != TCPLAB_OK) {
    throw SimError(TCPLAB_SIM_ERR_INVAL,
                   std::string("node: ") + (why ? why : "bad config"));
  }

  NodeRec rec;
  rec.name = name;
  rec.router = router;
  rec.native = native;
  rec.hasConfig = hasConfig;
  rec.config = cfg;
  rec.node = CreateObject<Node>();
  InternetStackHelper stack;
  stack.SetIpv6StackInstall(false);
  if (!native) {
    stack.SetTcp("ns3::TcplabL4Protocol");
  }
  stack.Install(rec.node);
  m_stream += stack.AssignStreams(NodeContainer(rec.node), m_stream);
  if (!native) {
    Ptr<TcplabL4Protocol> l4 = rec.node->GetObject<TcplabL4Protocol>();
    std::string err;
    if (!l4->SetConfig(cfg, &err)) {
      throw SimError(TCPLAB_SIM_ERR_INVAL, "node: " + err);
    }
    Hook(l4, "Trace", MakeBoundCallback(&CoreTraceThunk, this, id));
    Hook(l4, "Malformed", MakeBoundCallback(&MalformedThunk, this, id));
  }
  if (Ptr<TrafficControlLayer> tc =
          rec.node->GetObject<TrafficControlLayer>()) {
    Hook(tc, "TcDrop", MakeBoundCallback(&NodeDropThunk, this, id));
  }
  nodes.push_back(rec);
  m_nodeIndex[name] = id;
  m_routesDirty = true;
  return id;
}

/* ------------------------------------------------------------ links */

static void TxThunk(Sim *sim, int link, int dir, Ptr<const Packet> p) {
  sim->OnDeviceTx(link, dir, p);
}

static void RxThunk(Sim *sim, int link, int dir, Ptr<const Packet> p) {
  sim->OnDeviceRx(link, dir, p);
}

static void QueueDropThunk(Sim *sim, int link, int dir, Ptr<const Packet> p) {
  sim->OnDrop(link, dir, p, true, "queue");
}

int Sim::AddLink(int a, int b, const tcplab_sim_link_opts *opts) {
  if (a < 0 || b < 0 || a >= static_cast<int>(nodes.size()) ||
      b >= static_cast<int>(nodes.size())) {
    throw SimError(TCPLAB_SIM_ERR_NOTFOUND, "link: no such node");
  }
  if (a == b) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "link: both ends are one node");
  }
  tcplab_sim_link_opts o{};
  if (opts) {
    o = *opts;
  }
  if (o.rate_bps == 0) {
    o.rate_bps = 10000000;
  }
  if (o.queue_packets == 0) {
    o.queue_packets = 100;
  }
  if (!(o.loss >= 0 && o.loss <= 1)) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "link: loss must be in [0, 1]");
  }
  if (o.delay > TCPLAB_S(1000000)) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "link: delay is too large");
  }
  int id = static_cast<int>(links.size());
  if (id >= 65536) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "link: at most 65536 links");
  }
  std::string name = o.name ? o.name : nodes[a].name + "-" + nodes[b].name;
  if (name.empty()) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "link: the name must not be empty");
  }
  if (m_linkIndex.count(name)) {
    if (o.name) {
      throw SimError(TCPLAB_SIM_ERR_NAME, "link: '" + name + "' exists");
    }
    int k = 2;
    while (m_linkIndex.count(name + "#" + std::to_string(k))) {
      k++;
    }
    name += "#" + std::to_string(k);
  }

  PointToPointHelper p2p;
  p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(o.rate_bps)));
  p2p.SetChannelAttribute("Delay", TimeValue(NanoSeconds(o.delay)));
  p2p.SetQueue(
      "ns3::DropTailQueue<Packet>", "MaxSize",
      QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, o.queue_packets)));
  NetDeviceContainer devs = p2p.Install(nodes[a].node, nodes[b].node);
  char base[32];
  snprintf(base, sizeof base, "10.%d.%d.0", id / 256, id % 256);
  Ipv4AddressHelper addr;
  addr.SetBase(base, "255.255.255.0");
  Ipv4InterfaceContainer ifs = addr.Assign(devs);
  // No queue disc in front of the device: the link's queue is the one
  // the user sized, and its drops are the link's.
  TrafficControlHelper tch;
  tch.Uninstall(devs);

  LinkRec rec;
  rec.name = name;
  rec.delay = o.delay;
  rec.rate[0] = rec.rate[1] = o.rate_bps;
  int ends[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    LinkEnd &e = rec.end[i];
    e.node = ends[i];
    e.dev = DynamicCast<PointToPointNetDevice>(devs.Get(i));
    e.addr = ifs.GetAddress(i).Get();
    nodes[ends[i]].addrs.push_back(e.addr);
    Ptr<LinkImpairment> em = CreateObject<LinkImpairment>();
    em->sim = this;
    em->link = id;
    em->dir = 1 - i;
    em->rxDevice = e.dev;
    em->propDelay = o.delay;
    em->rateBps = o.rate_bps;
    em->loss = o.loss;
    em->rng = CreateObject<UniformRandomVariable>();
    em->rng->SetStream(NextStream());
    e.dev->SetReceiveErrorModel(em);
    m_devLink[PeekPointer(e.dev)] = {id, i};
    e.impair = em;
    Hook(e.dev, "PhyTxBegin", MakeBoundCallback(&TxThunk, this, id, i));
    Hook(e.dev, "PhyRxEnd", MakeBoundCallback(&RxThunk, this, id, 1 - i));
    Hook(e.dev->GetQueue(), "Drop",
         MakeBoundCallback(&QueueDropThunk, this, id, i));
  }
  links.push_back(rec);
  m_linkIndex[name] = id;
  m_routesDirty = true;
  return id;
}

int Sim::LinkEndOf(int link, int node) const {
  if (link < 0 || link >= static_cast<int>(links.size())) {
    throw SimError(TCPLAB_SIM_ERR_NOTFOUND, "no such link");
  }
  for (int i = 0; i < 2; i++) {
    if (links[link].end[i].node == node) {
      return i;
    }
  }
  throw SimError(TCPLAB_SIM_ERR_INVAL, "the node is not on this link");
}

LinkImpairment &Sim::Impair(int link, int fromDir) {
  // Segments from end d are judged where they arrive, at end 1-d.
  return *links[link].end[1 - fromDir].impair;
}

void Sim::SetDirection(int link, int from, uint64_t rate, uint32_t queue) {
  int d = LinkEndOf(link, from);
  LinkEnd &e = links[link].end[d];
  if (rate) {
    e.dev->SetDataRate(DataRate(rate));
    links[link].rate[d] = rate;
    Impair(link, d).rateBps = rate;
  }
  if (queue) {
    e.dev->GetQueue()->SetMaxSize(QueueSize(QueueSizeUnit::PACKETS, queue));
  }
}

int Sim::Dumbbell(const struct tcplab_sim_dumbbell &d, int *clients,
                  int *servers) {
  if (d.n < 1 || d.n > 20000) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "dumbbell: n must be in [1, 20000]");
  }
  std::string p = d.prefix ? d.prefix : "";
  int left = AddNode(p + "left", true, nullptr);
  int right = AddNode(p + "right", true, nullptr);
  int bottleneck = AddLink(left, right, &d.bottleneck);
  for (int i = 0; i < d.n; i++) {
    int c = AddNode(p + "c" + std::to_string(i + 1), false, &d.client);
    int s = AddNode(p + "s" + std::to_string(i + 1), false, &d.server);
    tcplab_sim_link_opts acc = d.access;
    acc.name = nullptr;
    AddLink(c, left, &acc);
    AddLink(right, s, &acc);
    if (clients) {
      clients[i] = c;
    }
    if (servers) {
      servers[i] = s;
    }
  }
  return bottleneck;
}

/* ------------------------------------------------------ impairments */

void Sim::SetLoss(int link, int from, double p) {
  if (!(p >= 0 && p <= 1)) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "loss: p must be in [0, 1]");
  }
  for (int d = 0; d < 2; d++) {
    if (from < 0 || LinkEndOf(link, from) == d) {
      Impair(link, d).loss = p;
    }
  }
}

void Sim::SetGilbert(int link, int from, double p, double r, double h,
                     double k) {
  for (double v : {p, r, h, k}) {
    if (!(v >= 0 && v <= 1)) {
      throw SimError(TCPLAB_SIM_ERR_INVAL,
                     "gilbert: p, r, h and k must be in [0, 1]");
    }
  }
  for (int d = 0; d < 2; d++) {
    if (from < 0 || LinkEndOf(link, from) == d) {
      LinkImpairment &m = Impair(link, d);
      m.gilbert = true;
      m.bad = false;
      m.geP = p;
      m.geR = r;
      m.geH = h;
      m.geK = k;
    }
  }
}

int Sim::AddRule(int link, const tcplab_sim_match &m, bool delay,
                 tcplab_time_t by) {
  int d = LinkEndOf(link, m.from);
  if (m.flags < 0 || m.flags > 0x3f) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "rule: unknown flags");
  }
  if (m.before && m.before <= m.after) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "rule: before must be after 'after'");
  }
  if (delay && by == 0) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "delay: 'by' must be > 0");
  }
  Rule r;
  r.match = m;
  if (r.match.nth == 0) {
    r.match.nth = 1;
  }
  r.delay = delay;
  r.by = by;
  LinkImpairment &im = Impair(link, d);
  im.rules.push_back(r);
  return static_cast<int>(im.rules.size()) - 1;
}

TypeId LinkImpairment::GetTypeId() {
  static TypeId tid = TypeId("ns3::TcplabLinkImpairment")
                          .SetParent<ErrorModel>()
                          .SetGroupName("Network")
                          .AddConstructor<LinkImpairment>();
  return tid;
}

LinkImpairment::LinkImpairment() = default;

void LinkImpairment::DoReset() {
  bad = false;
}

static bool RuleMatches(const tcplab_sim_match &m, const WireSegment &w,
                        tcplab_time_t sentAt) {
  if (!w.ok) {
    return false;
  }
  uint8_t want = static_cast<uint8_t>(m.flags);
  if (m.exact) {
    if ((w.flags & ~TCPLAB_PSH) != (want & ~TCPLAB_PSH)) {
      return false;
    }
  } else if ((w.flags & want) != want) {
    return false;
  }
  if (m.len >= 0 && static_cast<int64_t>(w.len) != m.len) {
    return false;
  }
  if (sentAt < m.after || (m.before && sentAt >= m.before)) {
    return false;
  }
  return true;
}

bool LinkImpairment::DoCorrupt(Ptr<Packet> p) {
  if (p->GetUid() == passUid) {
    passUid = UINT64_MAX;
    return false;
  }
  if (!sim || (rules.empty() && !gilbert && loss <= 0)) {
    return false;
  }
  if (!rules.empty()) {
    WireSegment w = ParseFrame(p, true);
    // Rules speak of the time a segment was sent: it arrives after its
    // serialization and the propagation delay.
    tcplab_time_t now = Simulator::Now().GetNanoSeconds();
    tcplab_time_t tx =
        DataRate(rateBps).CalculateBytesTxTime(p->GetSize()).GetNanoSeconds();
    tcplab_time_t sentAt = now >= tx + propDelay ? now - tx - propDelay : 0;
    for (Rule &r : rules) {
      if (!RuleMatches(r.match, w, sentAt)) {
        continue;
      }
      r.seen++;
      if (!r.match.every && r.seen != r.match.nth) {
        continue;
      }
      if (r.delay) {
        Simulator::Schedule(NanoSeconds(r.by), &LinkImpairment::Redeliver,
                            Ptr<LinkImpairment>(this), p->Copy());
      } else {
        sim->OnDrop(link, dir, p, true, "rule");
      }
      return true;
    }
  }
  if (gilbert) {
    double u = rng->GetValue();
    bad = bad ? !(u < geR) : (u < geP);
    double keep = bad ? geH : geK;
    if (rng->GetValue() >= keep) {
      sim->OnDrop(link, dir, p, true, "burst");
      return true;
    }
  }
  if (loss > 0 && rng->GetValue() < loss) {
    sim->OnDrop(link, dir, p, true, "loss");
    return true;
  }
  return false;
}

void LinkImpairment::Redeliver(Ptr<Packet> p) {
  if (!sim) {
    return;
  }
  passUid = p->GetUid();
  rxDevice->Receive(p);
}

/* --------------------------------------------------------- injection */

void Sim::Inject(int link, const tcplab_sim_inject &in) {
  int d = LinkEndOf(link, in.from);
  if (in.flags < 0 || in.flags > 0x3f) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "inject: unknown flags");
  }
  if (in.len > 65495 || (in.len && !in.payload)) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "inject: bad payload");
  }
  if (in.conn > 0) {
    Conn(in.conn); // throws for an unknown id
  }
  if (in.at != TCPLAB_SIM_NOW && in.at < Now()) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "inject: 'at' is in the past");
  }
  std::string payload(static_cast<const char *>(in.payload ? in.payload : ""),
                      in.len);
  tcplab_sim_inject spec = in;
  auto send = [this, link, d, spec, payload]() {
    LinkRec &l = links[link];
    LinkEnd &src = l.end[d];
    LinkEnd &dst = l.end[1 - d];
    tcplab_endpoint s{src.addr, spec.sport}, t{dst.addr, spec.dport};
    uint32_t seqBase = 0, ackBase = 0;
    if (spec.conn > 0) {
      const ConnRec &c = Conn(spec.conn);
      bool local = c.node == spec.from;
      s = local ? c.local : c.remote;
      t = local ? c.remote : c.local;
      if (c.flow >= 0) {
        const Flow &f = flows[c.flow];
        int side = (f.client.addr == s.addr && f.client.port == s.port) ? 0 : 1;
        seqBase = f.isnKnown[side] ? f.isn[side] : 0;
        ackBase = f.isnKnown[1 - side] ? f.isn[1 - side] : 0;
      }
    }
    tcplab_segment seg{};
    seg.sport = s.port;
    seg.dport = t.port;
    seg.seq = spec.seq_absolute ? spec.seq : seqBase + spec.seq;
    seg.ack = spec.ack_absolute ? spec.ack : ackBase + spec.ack;
    seg.flags = static_cast<uint8_t>(spec.flags);
    seg.wnd = spec.window ? spec.window : 65535;
    seg.payload = reinterpret_cast<const uint8_t *>(payload.data());
    seg.len = payload.size();
    std::vector<uint8_t> buf(TCPLAB_HEADER_MAX + payload.size());
    size_t n =
        tcplab_segment_encode(&seg, s.addr, t.addr, buf.data(), buf.size());
    if (spec.corrupt_checksum && n >= 18) {
      buf[16] ^= 0xff; // the checksum field's first byte
    }
    Ptr<Packet> p = Create<Packet>(buf.data(), static_cast<uint32_t>(n));
    Ipv4Header h;
    h.SetSource(Ipv4Address(s.addr));
    h.SetDestination(Ipv4Address(t.addr));
    h.SetProtocol(6);
    h.SetPayloadSize(static_cast<uint16_t>(n));
    h.SetTtl(64);
    h.EnableChecksum();
    p->AddHeader(h);
    m_injectedUids[p->GetUid()] = true;
    src.dev->Send(p, dst.dev->GetAddress(), 0x0800);
  };
  Simulator::Schedule(Delay(in.at), send);
}

/* --------------------------------------------------------------- pcap */

void Sim::EnablePcap(int link, const std::string &prefix) {
  if (link < 0 || link >= static_cast<int>(links.size())) {
    throw SimError(TCPLAB_SIM_ERR_NOTFOUND, "pcap: no such link");
  }
  if (prefix.empty()) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "pcap: empty prefix");
  }
  auto helper = std::make_unique<PointToPointHelper>();
  for (auto &e : links[link].end) {
    std::string file = prefix + "-" + nodes[e.node].name + ".pcap";
    FILE *probe = fopen(file.c_str(), "wb");
    if (!probe) {
      throw SimError(TCPLAB_SIM_ERR_IO, "pcap: cannot write " + file);
    }
    fclose(probe);
    helper->EnablePcap(file, e.dev, false, true);
  }
  m_pcapHelpers.push_back(std::move(helper));
}

/* ---------------------------------------------------------------- run */

void Sim::RoutesIfNeeded() {
  if (!m_routesDirty) {
    return;
  }
  if (!m_routesBuilt) {
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();
    m_routesBuilt = true;
  } else {
    Ipv4GlobalRoutingHelper::RecomputeRoutingTables();
  }
  m_routesDirty = false;
}

void Sim::Run(tcplab_time_t until) {
  if (running || callbackDepth > 0) {
    throw SimError(TCPLAB_SIM_ERR_STATE, "run: already running");
  }
  tcplab_time_t now = Now();
  if (until != TCPLAB_TIME_NEVER && until < now) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "run: 'until' is in the past");
  }
  RoutesIfNeeded();
  EventId stop;
  if (until != TCPLAB_TIME_NEVER) {
    // Our own stop event, removed afterwards, so that a stop requested
    // by a callback does not leave a stale one for the next run.
    stop = Simulator::Schedule(NanoSeconds(until - now),
                               []() { Simulator::Stop(); });
  }
  running = true;
  try {
    Simulator::Run();
  } catch (...) {
    running = false;
    Simulator::Remove(stop);
    throw;
  }
  running = false;
  Simulator::Remove(stop);
}

void Sim::Stop() {
  Simulator::Stop();
}

tcplab_time_t Sim::Now() const {
  return static_cast<tcplab_time_t>(Simulator::Now().GetNanoSeconds());
}

uint64_t Sim::Events() const {
  return Simulator::GetEventCount();
}

} // namespace tcplab
