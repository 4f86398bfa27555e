/*
 * tcplab-bench-lifecycles: the same workload over tcplab's TCP, ns-3's
 * native TCP and plain UDP, on a dumbbell.
 *
 * Workload: `--conns` connection lifecycles (handshake, 1 KB each way,
 * close through TIME_WAIT) spread over `--pairs` client/server pairs,
 * each pair running its lifecycles one after the other (the next starts
 * when the client has its 1 KB answer and closes). The simulation runs
 * until no event remains, so every TIME_WAIT is served.
 *
 * Modes, each in its own child process so that its peak memory is its
 * own (the parent reads the child's maximum resident set size):
 *   tcplab        tcplab's core (TcplabL4Protocol), default settings
 *   tcplab-small  the same with 16 KiB socket buffers
 *   native        ns-3's TcpL4Protocol with its defaults (MSL 120 s)
 *   native-msl    the same with tcplab's MSL (30 s)
 *   udp           the packets of one tcplab lifecycle (same number,
 *                 directions and sizes), replayed over UDP turn by turn:
 *                 ns-3's own packet machinery, the floor
 *
 * Output: one line per mode and the ratios the benchmark's goals name.
 */
#include <tcplab-l4-protocol.h>

#include <ns3/boolean.h>
#include <ns3/config.h>
#include <ns3/double.h>
#include <ns3/global-value.h>
#include <ns3/inet-socket-address.h>
#include <ns3/internet-stack-helper.h>
#include <ns3/ipv4-address-helper.h>
#include <ns3/ipv4-global-routing-helper.h>
#include <ns3/ipv4-l3-protocol.h>
#include <ns3/node-container.h>
#include <ns3/packet.h>
#include <ns3/point-to-point-helper.h>
#include <ns3/point-to-point-net-device.h>
#include <ns3/simulator.h>
#include <ns3/socket.h>
#include <ns3/string.h>
#include <ns3/tcp-socket-factory.h>
#include <ns3/traffic-control-helper.h>
#include <ns3/udp-socket-factory.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace ns3;

namespace {

const uint32_t kBytes = 1024; /* each way */
const uint16_t kPort = 80;

struct Options {
  int conns = 10000;
  int pairs = 10;
};

struct Result {
  double wallS = 0;
  uint64_t events = 0;
  uint64_t done = 0;    /* lifecycles completed at the client */
  uint64_t packets = 0; /* IP packets sent by the hosts */
  double simS = 0;      /* simulated time at the end */
  long maxRssKb = 0;
};

/* One packet of a lifecycle: who sends it and its IP size. */
struct Step {
  bool fromClient;
  uint32_t ipSize;
};

/* The lifecycle's packets, recorded by the tcplab run for the udp run. */
std::vector<Step> g_pattern;

/* ---------------------------------------------------------- topology */

struct Dumbbell {
  NodeContainer clients, servers, routers;
  std::vector<Ipv4Address> serverAddr;
};

Dumbbell Build(int pairs, bool tcplab, uint32_t bufBytes) {
  Dumbbell d;
  d.clients.Create(pairs);
  d.servers.Create(pairs);
  d.routers.Create(2);
  InternetStackHelper stack;
  stack.SetIpv6StackInstall(false);
  if (tcplab) {
    stack.SetTcp("ns3::TcplabL4Protocol");
  }
  stack.Install(d.clients);
  stack.Install(d.servers);
  stack.Install(d.routers);
  if (tcplab && bufBytes) {
    NodeContainer hosts(d.clients, d.servers);
    for (uint32_t i = 0; i < hosts.GetN(); i++) {
      Ptr<TcplabL4Protocol> l4 = hosts.Get(i)->GetObject<TcplabL4Protocol>();
      tcplab_config cfg = l4->GetConfig();
      cfg.snd_buf = cfg.rcv_buf = bufBytes;
      l4->SetConfig(cfg);
    }
  }
  PointToPointHelper access, bottleneck;
  access.SetDeviceAttribute("DataRate", StringValue("100Mbps"));
  access.SetChannelAttribute("Delay", StringValue("1ms"));
  bottleneck.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
  bottleneck.SetChannelAttribute("Delay", StringValue("10ms"));
  Ipv4AddressHelper addr;
  addr.SetBase("10.0.0.0", "255.255.255.0");
  addr.Assign(bottleneck.Install(d.routers.Get(0), d.routers.Get(1)));
  for (int i = 0; i < pairs; i++) {
    addr.NewNetwork();
    addr.Assign(access.Install(d.clients.Get(i), d.routers.Get(0)));
    addr.NewNetwork();
    Ipv4InterfaceContainer s =
        addr.Assign(access.Install(d.routers.Get(1), d.servers.Get(i)));
    d.serverAddr.push_back(s.GetAddress(1));
  }
  // As the sim's links: no queue disc in front of the devices. ns-3
  // 3.37's default (FqCoDel) keeps a class per flow it ever saw, which
  // costs every mode per connection and says nothing about TCP.
  TrafficControlHelper tch;
  NodeContainer all(d.clients, d.servers, d.routers);
  for (uint32_t i = 0; i < all.GetN(); i++) {
    for (uint32_t k = 0; k < all.Get(i)->GetNDevices(); k++) {
      Ptr<NetDevice> dev = all.Get(i)->GetDevice(k);
      if (DynamicCast<PointToPointNetDevice>(dev)) { // not the loopback
        tch.Uninstall(dev);
      }
    }
  }
  Ipv4GlobalRoutingHelper::PopulateRoutingTables();
  return d;
}

uint64_t g_packets;
void CountTx(Ptr<const Packet>, Ptr<Ipv4>, uint32_t) {
  g_packets++;
}

void CountHostPackets(const Dumbbell &d) {
  NodeContainer hosts(d.clients, d.servers);
  for (uint32_t i = 0; i < hosts.GetN(); i++) {
    hosts.Get(i)->GetObject<Ipv4L3Protocol>()->TraceConnectWithoutContext(
        "Tx", MakeCallback(&CountTx));
  }
}

/* ------------------------------------------------------ TCP workload */

struct TcpPair {
  Ptr<Node> client;
  Address server;
  int left = 0; /* lifecycles still to start */
  uint64_t *done = nullptr;
  uint32_t got = 0;   /* reply bytes of the current lifecycle */
  Ptr<Socket> socket; /* the current client socket */
};

std::vector<uint8_t> g_payload(kBytes, 'x');

void StartLifecycle(TcpPair *p);

void ClientConnected(TcpPair *, Ptr<Socket> s) {
  s->Send(Create<Packet>(g_payload.data(), kBytes));
}

void ClientRecv(TcpPair *p, Ptr<Socket> s) {
  while (Ptr<Packet> pk = s->Recv()) {
    p->got += pk->GetSize();
  }
  if (p->got >= kBytes && p->socket == s) {
    s->Close(); /* the client closes first: TIME_WAIT is on its side */
    (*p->done)++;
    p->socket = nullptr;
    StartLifecycle(p);
  }
}

void Ignore(Ptr<Socket>) {}

void StartLifecycle(TcpPair *p) {
  if (p->left == 0) {
    return;
  }
  p->left--;
  p->got = 0;
  Ptr<Socket> s =
      Socket::CreateSocket(p->client, TcpSocketFactory::GetTypeId());
  p->socket = s;
  s->Bind();
  s->SetConnectCallback(MakeBoundCallback(&ClientConnected, p),
                        MakeCallback(&Ignore));
  s->SetRecvCallback(MakeBoundCallback(&ClientRecv, p));
  s->Connect(p->server);
}

struct ServerConn {
  uint32_t got = 0;
};

void ServerRecv(Ptr<Socket> s) {
  uint32_t n = 0;
  while (Ptr<Packet> pk = s->Recv()) {
    n += pk->GetSize();
  }
  // 1 KB may come in more than one segment (ns-3's TCP sends 536 bytes).
  static std::map<Socket *, uint32_t> got;
  uint32_t &g = got[PeekPointer(s)];
  g += n;
  if (g >= kBytes) {
    got.erase(PeekPointer(s));
    s->Send(Create<Packet>(g_payload.data(), kBytes));
  }
}

void ServerPeerClosed(Ptr<Socket> s) {
  s->Close();
}

bool AcceptAll(Ptr<Socket>, const Address &) {
  return true;
}

void ServerAccept(Ptr<Socket> s, const Address &) {
  s->SetRecvCallback(MakeCallback(&ServerRecv));
  s->SetCloseCallbacks(MakeCallback(&ServerPeerClosed), MakeCallback(&Ignore));
}

/* Records the IP sizes of the first lifecycle of the first pair. */
uint16_t g_firstPort;
void RecordStep(bool fromClient, Ptr<const Packet> p, Ptr<Ipv4>, uint32_t) {
  uint8_t b[64];
  uint32_t n = p->CopyData(b, sizeof b);
  uint32_t ihl = (b[0] & 15u) * 4u;
  if (n < 20 || b[9] != 6 || n < ihl + 4) {
    return;
  }
  uint16_t sport = static_cast<uint16_t>(b[ihl] << 8 | b[ihl + 1]);
  uint16_t dport = static_cast<uint16_t>(b[ihl + 2] << 8 | b[ihl + 3]);
  if (g_firstPort == 0 && fromClient) {
    g_firstPort = sport;
  }
  if ((fromClient ? sport : dport) == g_firstPort) {
    g_pattern.push_back({fromClient, p->GetSize()});
  }
}

Result RunTcp(const Options &o, bool tcplab, uint32_t bufBytes, bool record) {
  Result r;
  Dumbbell d = Build(o.pairs, tcplab, bufBytes);
  CountHostPackets(d);
  if (record) {
    d.clients.Get(0)->GetObject<Ipv4L3Protocol>()->TraceConnectWithoutContext(
        "Tx", MakeBoundCallback(&RecordStep, true));
    d.servers.Get(0)->GetObject<Ipv4L3Protocol>()->TraceConnectWithoutContext(
        "Tx", MakeBoundCallback(&RecordStep, false));
  }
  std::vector<Ptr<Socket>> listeners;
  for (int i = 0; i < o.pairs; i++) {
    Ptr<Socket> l =
        Socket::CreateSocket(d.servers.Get(i), TcpSocketFactory::GetTypeId());
    l->Bind(InetSocketAddress(Ipv4Address::GetAny(), kPort));
    l->Listen();
    l->SetAcceptCallback(MakeCallback(&AcceptAll), MakeCallback(&ServerAccept));
    listeners.push_back(l);
  }
  std::vector<TcpPair> pairs(o.pairs);
  for (int i = 0; i < o.pairs; i++) {
    pairs[i].client = d.clients.Get(i);
    pairs[i].server = InetSocketAddress(d.serverAddr[i], kPort);
    pairs[i].left = o.conns / o.pairs + (i < o.conns % o.pairs ? 1 : 0);
    pairs[i].done = &r.done;
    Simulator::Schedule(MilliSeconds(i), &StartLifecycle, &pairs[i]);
  }
  Simulator::Run();
  r.simS = Simulator::Now().GetSeconds();
  r.events = Simulator::GetEventCount();
  r.packets = g_packets;
  Simulator::Destroy();
  return r;
}

/* ------------------------------------------------------ UDP workload */

/* The lifecycle's packets in turns: consecutive packets of one side. */
struct Turn {
  bool fromClient;
  std::vector<uint32_t> payloads;
};
std::vector<Turn> g_turns;

struct UdpPair {
  Ptr<Socket> client, server;
  Address serverAddr, clientAddr;
  int left = 0;
  uint64_t *done = nullptr;
  size_t turn = 0;     /* the turn under way */
  size_t received = 0; /* packets of it received so far */
};

void SendTurn(UdpPair *p) {
  const Turn &t = g_turns[p->turn];
  for (uint32_t size : t.payloads) {
    Ptr<Packet> pk = Create<Packet>(size);
    if (t.fromClient) {
      p->client->SendTo(pk, 0, p->serverAddr);
    } else {
      p->server->SendTo(pk, 0, p->clientAddr);
    }
  }
}

void StartUdpLifecycle(UdpPair *p) {
  if (p->left == 0) {
    return;
  }
  p->left--;
  p->turn = 0;
  p->received = 0;
  SendTurn(p);
}

void UdpRecv(UdpPair *p, Ptr<Socket> s) {
  Address from;
  while (Ptr<Packet> pk = s->RecvFrom(from)) {
    if (s == p->server) {
      p->clientAddr = from;
    }
    if (++p->received < g_turns[p->turn].payloads.size()) {
      continue;
    }
    p->received = 0;
    p->turn++;
    if (p->turn == g_turns.size()) {
      (*p->done)++;
      StartUdpLifecycle(p);
    } else {
      SendTurn(p);
    }
  }
}

Result RunUdp(const Options &o) {
  Result r;
  g_turns.clear();
  for (const Step &s : g_pattern) {
    if (g_turns.empty() || g_turns.back().fromClient != s.fromClient) {
      g_turns.push_back({s.fromClient, {}});
    }
    g_turns.back().payloads.push_back(s.ipSize - 20 - 8);
  }
  Dumbbell d = Build(o.pairs, false, 0);
  CountHostPackets(d);
  std::vector<UdpPair> pairs(o.pairs);
  for (int i = 0; i < o.pairs; i++) {
    UdpPair &p = pairs[i];
    p.server =
        Socket::CreateSocket(d.servers.Get(i), UdpSocketFactory::GetTypeId());
    p.server->Bind(InetSocketAddress(Ipv4Address::GetAny(), kPort));
    p.client =
        Socket::CreateSocket(d.clients.Get(i), UdpSocketFactory::GetTypeId());
    p.client->Bind();
    p.serverAddr = InetSocketAddress(d.serverAddr[i], kPort);
    p.server->SetRecvCallback(MakeBoundCallback(&UdpRecv, &p));
    p.client->SetRecvCallback(MakeBoundCallback(&UdpRecv, &p));
    p.left = o.conns / o.pairs + (i < o.conns % o.pairs ? 1 : 0);
    p.done = &r.done;
    Simulator::Schedule(MilliSeconds(i), &StartUdpLifecycle, &p);
  }
  Simulator::Run();
  r.simS = Simulator::Now().GetSeconds();
  r.events = Simulator::GetEventCount();
  r.packets = g_packets;
  Simulator::Destroy();
  return r;
}

/* --------------------------------------------------------- the runs */

Result RunMode(const std::string &mode, const Options &o) {
  GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
  if (mode == "native-msl") {
    tcplab_config cfg;
    tcplab_config_default(&cfg);
    Config::SetDefault("ns3::TcpSocketBase::MaxSegLifetime",
                       DoubleValue(static_cast<double>(cfg.msl) / 1e9));
  }
  auto t0 = std::chrono::steady_clock::now();
  Result r;
  if (mode == "tcplab") {
    r = RunTcp(o, true, 0, true);
  } else if (mode == "tcplab-small") {
    r = RunTcp(o, true, 16384, false);
  } else if (mode == "native" || mode == "native-msl") {
    r = RunTcp(o, false, 0, false);
  } else {
    r = RunUdp(o);
  }
  r.wallS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count();
  return r;
}

/* Runs a mode in a child; its result comes back through a pipe, its
 * peak memory from wait4. The tcplab child also sends the pattern. */
bool RunChild(const std::string &mode, const Options &o, Result *out) {
  int fd[2];
  if (pipe(fd) != 0) {
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    Result r = RunMode(mode, o);
    std::string msg = std::to_string(r.wallS) + " " + std::to_string(r.events) +
                      " " + std::to_string(r.done) + " " +
                      std::to_string(r.packets) + " " + std::to_string(r.simS);
    for (const Step &s : g_pattern) {
      msg += std::string(" ") + (s.fromClient ? "c" : "s") +
             std::to_string(s.ipSize);
    }
    msg += "\n";
    ssize_t w = write(fd[1], msg.data(), msg.size());
    _exit(w == static_cast<ssize_t>(msg.size()) ? 0 : 1);
  }
  close(fd[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd[0]);
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return false;
  }
  out->maxRssKb = ru.ru_maxrss;
  char *p = &text[0];
  out->wallS = strtod(p, &p);
  out->events = strtoull(p, &p, 10);
  out->done = strtoull(p, &p, 10);
  out->packets = strtoull(p, &p, 10);
  out->simS = strtod(p, &p);
  if (mode == "tcplab") {
    g_pattern.clear();
    while (*p == ' ') {
      p++;
      bool c = *p++ == 'c';
      g_pattern.push_back({c, static_cast<uint32_t>(strtoul(p, &p, 10))});
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  std::vector<std::string> modes = {"tcplab", "tcplab-small", "native",
                                    "native-msl", "udp"};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--conns" && i + 1 < argc) {
      o.conns = atoi(argv[++i]);
    } else if (a == "--pairs" && i + 1 < argc) {
      o.pairs = atoi(argv[++i]);
    } else if (a == "--mode" && i + 1 < argc) {
      modes = {argv[++i]};
    } else {
      fprintf(stderr,
              "usage: %s [--conns N] [--pairs P] [--mode M]\n"
              "Runs N connection lifecycles (handshake, 1 KB each way, close "
              "through TIME_WAIT) on a dumbbell of P pairs over tcplab's TCP, "
              "ns-3's TCP and UDP.\n",
              argv[0]);
      return 2;
    }
  }
  if (o.conns < 1 || o.pairs < 1 || o.pairs > 200) {
    fprintf(stderr, "conns must be >= 1 and pairs in [1, 200]\n");
    return 2;
  }
  if (modes.size() == 1) {
    /* One mode in this process (for profilers). */
    Result r = RunMode(modes[0], o);
    printf("%s: %.3f s, %llu events, %llu done\n", modes[0].c_str(), r.wallS,
           static_cast<unsigned long long>(r.events),
           static_cast<unsigned long long>(r.done));
    return 0;
  }
  printf("%d lifecycles on a dumbbell of %d pairs\n\n", o.conns, o.pairs);
  printf("%-13s %9s %11s %9s %10s %9s %10s\n", "mode", "wall_s", "events",
         "peak_MB", "done", "packets", "sim_s");
  std::vector<Result> res(modes.size());
  for (size_t m = 0; m < modes.size(); m++) {
    if (!RunChild(modes[m], o, &res[m])) {
      fprintf(stderr, "mode %s failed\n", modes[m].c_str());
      return 1;
    }
    const Result &r = res[m];
    printf("%-13s %9.3f %11llu %9.1f %10llu %9llu %10.3f\n", modes[m].c_str(),
           r.wallS, static_cast<unsigned long long>(r.events),
           r.maxRssKb / 1024.0, static_cast<unsigned long long>(r.done),
           static_cast<unsigned long long>(r.packets), r.simS);
    fflush(stdout);
  }
  const Result &a = res[0], &as = res[1], &b = res[2], &bm = res[3],
               &c = res[4];
  printf("\nratios (higher is better for tcplab):\n");
  printf("  wall   native/tcplab %.2f   native-msl/tcplab %.2f   "
         "native-msl/tcplab-small %.2f\n",
         b.wallS / a.wallS, bm.wallS / a.wallS, bm.wallS / as.wallS);
  printf("  memory native-msl/tcplab %.2f   native-msl/tcplab-small %.2f\n",
         static_cast<double>(bm.maxRssKb) / a.maxRssKb,
         static_cast<double>(bm.maxRssKb) / as.maxRssKb);
  printf("  events native-msl/tcplab %.2f\n",
         static_cast<double>(bm.events) / a.events);
  printf("  tcplab/udp wall %.2f   tcplab-small/udp wall %.2f\n",
         a.wallS / c.wallS, as.wallS / c.wallS);
  return 0;
}
