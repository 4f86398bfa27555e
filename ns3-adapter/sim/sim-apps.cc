/* Application actions and connection bookkeeping. */
#include "sim-impl.h"

#include "tcplab-socket.h"

#include <ns3/double.h>
#include <ns3/inet-socket-address.h>
#include <ns3/log.h>
#include <ns3/nstime.h>
#include <ns3/simulator.h>
#include <ns3/tcp-socket-factory.h>
#include <ns3/uinteger.h>

#include <algorithm>
#include <cstring>

using namespace ns3;

namespace tcplab {

ConnRec &Sim::Conn(int conn) {
  if (conn < 1 || conn > static_cast<int>(conns.size())) {
    throw SimError(TCPLAB_SIM_ERR_NOTFOUND, "no such connection");
  }
  return conns[conn - 1];
}

const ConnRec &Sim::Conn(int conn) const {
  return const_cast<Sim *>(this)->Conn(conn);
}

Time Sim::Delay(tcplab_time_t at) const {
  if (at == TCPLAB_SIM_NOW) {
    return Time(0);
  }
  tcplab_time_t now = Now();
  if (at < now) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "'at' is in the past");
  }
  return NanoSeconds(at - now);
}

int Sim::NewConn(int node, bool listener) {
  ConnRec c;
  c.id = static_cast<int>(conns.size()) + 1;
  c.node = node;
  c.isListener = listener;
  c.native = nodes[node].native;
  conns.push_back(c);
  return c.id;
}

static void CheckHost(const Sim &sim, int node, const char *what) {
  if (node < 0 || node >= static_cast<int>(sim.nodes.size())) {
    throw SimError(TCPLAB_SIM_ERR_NOTFOUND,
                   std::string(what) + ": no such node");
  }
  if (sim.nodes[node].router) {
    throw SimError(TCPLAB_SIM_ERR_INVAL,
                   std::string(what) + ": a router runs no application");
  }
}

/* Callback thunks: ns-3 callbacks bound to the simulation and an id. */
static bool AcceptRequestThunk(Ptr<Socket>, const Address &) {
  return true;
}
static void AcceptThunk(Sim *sim, int listener, Ptr<Socket> s,
                        const Address &from);
static void RecvThunk(Sim *sim, int conn, Ptr<Socket>);
static void SendThunk(Sim *sim, int conn, Ptr<Socket>, uint32_t);
static void ConnectedThunk(Sim *sim, int conn, Ptr<Socket>);
static void ConnectFailedThunk(Sim *sim, int conn, Ptr<Socket>);
static void NormalCloseThunk(Sim *sim, int conn, Ptr<Socket>);
static void ErrorCloseThunk(Sim *sim, int conn, Ptr<Socket>);
static void NativeStateThunk(Sim *sim, int conn, TcpSocket::TcpStates_t from,
                             TcpSocket::TcpStates_t to) {
  sim->OnNativeState(conn, from, to);
}
static void NativeCwndThunk(Sim *sim, int conn, uint32_t, uint32_t cwnd) {
  sim->OnNativeCongestion(conn, &cwnd, nullptr);
}
static void NativeSsthreshThunk(Sim *sim, int conn, uint32_t,
                                uint32_t ssthresh) {
  sim->OnNativeCongestion(conn, nullptr, &ssthresh);
}

/* Counts nesting so destroy() and run() can refuse inside callbacks, and
 * so that actions asked for now from a callback run inside it. */
struct InCallback {
  Sim *sim;
  explicit InCallback(Sim *s) : sim(s) {
    sim->callbackDepth++;
  }
  ~InCallback() {
    sim->callbackDepth--;
  }
};

/* Marks the application call under way, so that the native state changes
 * it causes are put down to it. Calls nest: an action asked for inside a
 * callback runs there, and that callback may come from another action. */
struct AppCall {
  Sim &sim;
  int savedConn;
  tcplab_event savedEvent;
  AppCall(Sim &s, int conn, tcplab_event ev)
      : sim(s), savedConn(s.m_appConn), savedEvent(s.m_appEvent) {
    sim.m_appConn = conn;
    sim.m_appEvent = ev;
  }
  ~AppCall() {
    sim.m_appConn = savedConn;
    sim.m_appEvent = savedEvent;
  }
  AppCall(const AppCall &) = delete;
  AppCall &operator=(const AppCall &) = delete;
};

/* An action asked for now from inside a callback runs before the callback
 * returns, as a socket call in a real program does: the transport is then
 * still handling the segment that caused the callback, and the core sends
 * the ACK it owes for it only after its notifications, so a reply or a
 * close made here carries that ACK (a close inside peer_closed answers the
 * FIN with one FIN|ACK). An explicit time, even the current one, is an
 * event of its own, as is everything asked for before the run. */
template <typename F> void Sim::Act(tcplab_time_t at, F action) {
  if (at == TCPLAB_SIM_NOW && callbackDepth > 0) {
    action();
    return;
  }
  Simulator::Schedule(Delay(at), action);
}

template <typename F> void Sim::ActLive(int id, tcplab_time_t at, F action) {
  Act(at, [this, id, action]() {
    ConnRec &c = Conn(id);
    if (!c.ended) {
      action(c);
    }
  });
}

void Sim::ApplyNativeConfig(int node, Ptr<Socket> s) {
  const NodeRec &n = nodes[node];
  if (!n.native || !n.hasConfig) {
    return;
  }
  const tcplab_config &cfg = n.config;
  s->SetAttributeFailSafe("MaxSegLifetime",
                          DoubleValue(static_cast<double>(cfg.msl) / 1e9));
  s->SetAttributeFailSafe("ConnTimeout",
                          TimeValue(NanoSeconds(cfg.rto_initial)));
  s->SetAttributeFailSafe("MinRto", TimeValue(NanoSeconds(cfg.rto_min)));
  // ns-3 3.37's "ConnCount" counts every SYN, the first included.
  s->SetAttributeFailSafe("ConnCount", UintegerValue(cfg.syn_retries + 1));
  s->SetAttributeFailSafe("DataRetries", UintegerValue(cfg.retries));
  s->SetAttributeFailSafe("SegmentSize", UintegerValue(cfg.mss));
  s->SetAttributeFailSafe("SndBufSize", UintegerValue(cfg.snd_buf));
  s->SetAttributeFailSafe("RcvBufSize", UintegerValue(cfg.rcv_buf));
}

/* ------------------------------------------------------------ listen */

int Sim::Listen(int node, uint16_t port, unsigned backlog) {
  CheckHost(*this, node, "listen");
  if (port == 0) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "listen: port must be > 0");
  }
  if (backlog == 0) {
    backlog = 128;
  }
  if (backlog > 65535) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "listen: backlog must be <= 65535");
  }
  Ptr<Socket> s =
      Socket::CreateSocket(nodes[node].node, TcpSocketFactory::GetTypeId());
  ApplyNativeConfig(node, s);
  if (!nodes[node].native) {
    s->SetAttribute("Backlog", UintegerValue(backlog));
  }
  if (s->Bind(InetSocketAddress(Ipv4Address::GetAny(), port)) != 0) {
    s->Close();
    throw SimError(TCPLAB_SIM_ERR_STATE, "listen: port in use");
  }
  int id = NewConn(node, true);
  m_pendingListener = id;
  int rc = s->Listen();
  m_pendingListener = 0;
  if (rc != 0) {
    conns.pop_back();
    s->Close();
    throw SimError(TCPLAB_SIM_ERR_STATE, "listen: port in use");
  }
  ConnRec &c = Conn(id);
  c.role = TCPLAB_ROLE_PASSIVE;
  c.socket = s;
  c.local = {0, port};
  c.open = Now();
  c.opened = true;
  c.state = TCPLAB_LISTEN;
  if (c.native) {
    AddTimeline(c, TCPLAB_CLOSED, TCPLAB_LISTEN, TCPLAB_EV_APP_LISTEN, false, 0,
                0, 0, false, 0, false, 0);
  }
  s->SetAcceptCallback(MakeCallback(&AcceptRequestThunk),
                       MakeBoundCallback(&AcceptThunk, this, id));
  return id;
}

static void AcceptThunk(Sim *sim, int listener, Ptr<Socket> s,
                        const Address &from) {
  sim->HandleAccept(listener, s, from);
}

void Sim::HandleAccept(int listener, Ptr<Socket> s, const Address &from) {
  InCallback guard(this);
  ConnRec &l = Conn(listener);
  int id = 0;
  Ptr<TcplabSocket> ts = DynamicCast<TcplabSocket>(s);
  if (ts) {
    auto it = m_coreConn.find({l.node, ts->GetConnId()});
    if (it != m_coreConn.end()) {
      id = it->second;
    }
  }
  if (id == 0) {
    id = NewConn(l.node, false);
    ConnRec &c = Conn(id);
    c.role = TCPLAB_ROLE_PASSIVE;
    Address local;
    s->GetSockName(local);
    InetSocketAddress la = InetSocketAddress::ConvertFrom(local);
    InetSocketAddress ra = InetSocketAddress::ConvertFrom(from);
    c.local = {la.GetIpv4().Get(), la.GetPort()};
    c.remote = {ra.GetIpv4().Get(), ra.GetPort()};
    c.flow = FlowForConn(c);
    if (!ts) {
      // ns-3's TCP forks the socket before we can watch it: rebuild the
      // handshake's two transitions from what the link delivered.
      const Flow &f = flows[c.flow];
      c.open = f.synRcvdAt;
      c.established = Now();
      c.state = TCPLAB_ESTABLISHED;
      AddTimeline(c, TCPLAB_LISTEN, TCPLAB_SYN_RECEIVED, TCPLAB_EV_RCV,
                  f.synRcvdAt != TCPLAB_TIME_NEVER, TCPLAB_SYN, f.synRcvdSeq, 0,
                  f.isnKnown[0], f.synRcvdSeq - f.isn[0], false, 0);
      AddTimelineAt(f.synRcvdAt == TCPLAB_TIME_NEVER ? Now() : f.synRcvdAt);
      const NodeRec &n = nodes[c.node];
      bool seg = n.lastRxTime == Now() && n.lastRxFlow == c.flow;
      AddTimeline(c, TCPLAB_SYN_RECEIVED, TCPLAB_ESTABLISHED, TCPLAB_EV_RCV,
                  seg, n.lastRx.flags, n.lastRx.seq, n.lastRx.ack,
                  seg && f.isnKnown[0], n.lastRx.seq - f.isn[0],
                  seg && f.isnKnown[1] && (n.lastRx.flags & TCPLAB_ACK),
                  n.lastRx.ack - f.isn[1]);
    }
  }
  ConnRec &c = Conn(id);
  c.listener = listener;
  c.socket = s;
  c.opened = true;
  c.connected = true;
  // A native accepted socket is a copy of its listener, settings and all
  // (and ns-3 aborts on a segment size change once connected).
  AttachSocket(c);
  // Data can come with the handshake's last segment, and the core reports
  // the connection before the data. Take it now, before the application
  // can act: a close in the accept callback would make the core discard
  // bytes it has already acknowledged. Announced after the accept.
  size_t early = TakeReceived(id);
  if (cb.accept) {
    cb.accept(cbUser, Handle(), listener, id);
  }
  if (early && cb.data) {
    cb.data(cbUser, Handle(), id, early);
  }
  Flush(id);
}

/* ----------------------------------------------------------- connect */

int Sim::Connect(int node, int peer, uint16_t port, tcplab_time_t at,
                 uint16_t lport) {
  CheckHost(*this, node, "connect");
  CheckHost(*this, peer, "connect");
  if (port == 0) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "connect: port must be > 0");
  }
  Delay(at); // refuse a time in the past before creating anything
  int id = NewConn(node, false);
  ConnRec &c = Conn(id);
  c.role = TCPLAB_ROLE_ACTIVE;
  c.remote = {nodes[peer].addrs.empty() ? 0 : nodes[peer].addrs[0], port};
  Act(at, [this, id, peer, port, lport]() {
    const NodeRec &p = nodes[peer];
    DoConnect(id, p.addrs.empty() ? 0 : p.addrs[0], port, lport);
  });
  return id;
}

static int ErrnoToError(Socket::SocketErrno e) {
  switch (e) {
  case Socket::ERROR_ADDRINUSE: return TCPLAB_ERR_ADDRINUSE;
  case Socket::ERROR_ADDRNOTAVAIL: return TCPLAB_ERR_NOPORTS;
  default: return TCPLAB_ERR_INVAL;
  }
}

void Sim::DoConnect(int id, uint32_t raddr, uint16_t rport, uint16_t lport) {
  ConnRec &c0 = Conn(id);
  c0.opened = true;
  c0.open = Now();
  c0.remote = {raddr, rport};
  Ptr<Socket> s =
      Socket::CreateSocket(nodes[c0.node].node, TcpSocketFactory::GetTypeId());
  ApplyNativeConfig(c0.node, s);
  if (c0.hasRetries) {
    s->SetAttribute("DataRetries", UintegerValue(c0.retries));
  }
  c0.socket = s;
  int rc = s->Bind(InetSocketAddress(Ipv4Address::GetAny(), lport));
  if (rc == 0) {
    AttachSocket(c0);
    s->SetConnectCallback(MakeBoundCallback(&ConnectedThunk, this, id),
                          MakeBoundCallback(&ConnectFailedThunk, this, id));
    int savedPending = m_pendingActive;
    m_pendingActive = id;
    {
      AppCall call(*this, id, TCPLAB_EV_APP_CONNECT);
      rc =
          raddr ? s->Connect(InetSocketAddress(Ipv4Address(raddr), rport)) : -1;
    }
    m_pendingActive = savedPending;
  }
  ConnRec &c = Conn(id); // the trace may have grown the vector
  if (rc != 0) {
    int err = raddr ? ErrnoToError(s->GetErrno()) : TCPLAB_ERR_INVAL;
    s->Close();
    c.socket = nullptr;
    EndConn(c, err);
    return;
  }
  if (c.native) {
    Address local;
    s->GetSockName(local);
    InetSocketAddress la = InetSocketAddress::ConvertFrom(local);
    c.local = {la.GetIpv4().Get(), la.GetPort()};
    if (c.flow < 0) {
      c.flow = FlowForConn(c);
    }
  }
}

static void UrgentThunk(Sim *sim, int conn, uint32_t pending) {
  sim->HandleUrgent(conn, pending);
}

/* The socket counts from its own reader; the application reads from the
 * record, which may still hold data taken from the socket earlier. */
void Sim::HandleUrgent(int id, uint32_t pending) {
  InCallback guard(this);
  const ConnRec &c = Conn(id);
  size_t held = c.received.size() - c.receivedRead;
  if (cb.urgent) {
    cb.urgent(cbUser, Handle(), id, pending + held);
  }
}

void Sim::AttachSocket(ConnRec &c) {
  Ptr<Socket> s = c.socket;
  int id = c.id;
  s->SetRecvCallback(MakeBoundCallback(&RecvThunk, this, id));
  s->SetSendCallback(MakeBoundCallback(&SendThunk, this, id));
  s->SetCloseCallbacks(MakeBoundCallback(&NormalCloseThunk, this, id),
                       MakeBoundCallback(&ErrorCloseThunk, this, id));
  if (!c.native) {
    s->TraceConnectWithoutContext("Urgent",
                                  MakeBoundCallback(&UrgentThunk, this, id));
  }
  if (c.native) {
    s->TraceConnectWithoutContext(
        "State", MakeBoundCallback(&NativeStateThunk, this, id));
    s->TraceConnectWithoutContext(
        "CongestionWindow", MakeBoundCallback(&NativeCwndThunk, this, id));
    s->TraceConnectWithoutContext(
        "SlowStartThreshold",
        MakeBoundCallback(&NativeSsthreshThunk, this, id));
  }
}

static void ConnectedThunk(Sim *sim, int conn, Ptr<Socket>) {
  sim->HandleConnected(conn, true);
}
static void ConnectFailedThunk(Sim *sim, int conn, Ptr<Socket>) {
  sim->HandleConnected(conn, false);
}

void Sim::HandleConnected(int id, bool ok) {
  InCallback guard(this);
  ConnRec &c = Conn(id);
  if (!ok) {
    return; // the state trace reports the end with its reason
  }
  c.connected = true;
  if (c.native && c.established == TCPLAB_TIME_NEVER) {
    c.established = Now();
  }
  if (cb.connected) {
    cb.connected(cbUser, Handle(), id);
  }
  Flush(id);
}

/* ------------------------------------------------------- data and close */

static void RecvThunk(Sim *sim, int conn, Ptr<Socket>) {
  sim->HandleRecv(conn);
}

void Sim::HandleRecv(int id) {
  if (Conn(id).readingStopped) {
    return; /* the data stays in the transport, filling its window */
  }
  InCallback guard(this);
  size_t total = TakeReceived(id);
  if (total && cb.data) {
    cb.data(cbUser, Handle(), id, total);
  }
}

/* Moves what the socket holds into the connection's record, where
 * tcplab_sim_recv finds it; returns the number of bytes. */
size_t Sim::TakeReceived(int id) {
  Ptr<Socket> s = Conn(id).socket;
  if (!s) {
    return 0;
  }
  size_t total = 0;
  while (Ptr<Packet> p = s->Recv(65536, 0)) {
    uint32_t n = p->GetSize();
    if (n == 0) {
      break;
    }
    ConnRec &c = Conn(id);
    size_t at = c.received.size();
    c.received.resize(at + n);
    p->CopyData(reinterpret_cast<uint8_t *>(&c.received[at]), n);
    total += n;
  }
  ConnRec &c = Conn(id);
  if (c.native) {
    c.bytesReceived += total;
  }
  return total;
}

static void SendThunk(Sim *sim, int conn, Ptr<Socket>, uint32_t) {
  sim->Flush(conn);
}

static void NormalCloseThunk(Sim *sim, int conn, Ptr<Socket>) {
  sim->HandleNormalClose(conn);
}
static void ErrorCloseThunk(Sim *sim, int conn, Ptr<Socket>) {
  sim->HandleErrorClose(conn);
}

void Sim::HandleNormalClose(int id) {
  InCallback guard(this);
  ConnRec &c = Conn(id);
  // Both TCPs report the peer's FIN here first; a later call (the end of
  // the connection) is not a second FIN.
  if (c.peerClosedSeen || c.ended) {
    return;
  }
  if (c.readingStopped) {
    // An application learns of the FIN by reading to the end of the
    // stream: not while it does not read.
    c.peerClosedWaiting = true;
    return;
  }
  c.peerClosedSeen = true;
  if (cb.peer_closed) {
    cb.peer_closed(cbUser, Handle(), id);
  }
}

void Sim::HandleErrorClose(int id) {
  // tcplab's state trace reports every end with its reason. ns-3's TCP
  // gives up on data (DataRetries) without a change of state: the end is
  // known only from this call.
  ConnRec &c = Conn(id);
  if (!c.native || c.ended || c.isListener) {
    return;
  }
  AddTimeline(c, c.state, TCPLAB_CLOSED, TCPLAB_EV_GAVE_UP, false, 0, 0, 0,
              false, 0, false, 0);
  c.state = TCPLAB_CLOSED;
  EndConn(c, TCPLAB_ERR_TIMEDOUT);
}

/* Hands pending application data to the socket as its buffer allows, and
 * then the shutdown or close that waited for it. */
void Sim::Flush(int id) {
  ConnRec *c = &Conn(id);
  Ptr<Socket> s = c->socket;
  if (!s || c->ended || !c->connected) {
    return;
  }
  std::vector<uint8_t> buf;
  while (!c->pending.empty() && !c->closeDone && !c->shutdownDone) {
    uint32_t avail = s->GetTxAvailable();
    if (avail == 0) {
      return;
    }
    Chunk &ch = c->pending.front();
    uint64_t left = ch.generated ? ch.generated : ch.bytes.size();
    uint32_t n = static_cast<uint32_t>(
        std::min<uint64_t>({left, avail, static_cast<uint64_t>(65536)}));
    buf.resize(n);
    if (ch.generated) {
      for (uint32_t i = 0; i < n; i++) {
        buf[i] = static_cast<uint8_t>((c->streamOffset + i) % 251);
      }
    } else {
      memcpy(buf.data(), ch.bytes.data(), n);
    }
    int sent = s->Send(Create<Packet>(buf.data(), n),
                       ch.urgent ? TcplabSocket::URGENT : 0);
    c = &Conn(id);
    if (sent <= 0) {
      return;
    }
    c->streamOffset += static_cast<uint64_t>(sent);
    Chunk &front = c->pending.front();
    if (front.generated) {
      front.generated -= static_cast<uint64_t>(sent);
      if (front.generated == 0) {
        c->pending.pop_front();
      }
    } else {
      front.bytes.erase(0, static_cast<size_t>(sent));
      if (front.bytes.empty()) {
        c->pending.pop_front();
      }
    }
  }
  if (c->wantShutdown && !c->shutdownDone && !c->closeDone) {
    DoShutdown(id);
    c = &Conn(id);
  }
  if (c->wantClose && !c->closeDone) {
    DoClose(id);
  }
}

void Sim::NoteClosing(ConnRec &c, tcplab_time_t at) {
  c.closingFrom = std::min(c.closingFrom, at == TCPLAB_SIM_NOW ? Now() : at);
}

void Sim::QueueSend(int id, Chunk chunk, tcplab_time_t at) {
  ConnRec &c = Conn(id);
  if (c.isListener) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "send: a listener sends nothing");
  }
  if (chunk.urgent && c.native) {
    throw SimError(TCPLAB_SIM_ERR_STATE,
                   "send: ns-3's native TCP has no urgent data");
  }
  if (c.wantShutdown || c.wantClose) {
    throw SimError(TCPLAB_SIM_ERR_STATE, "send: the connection is closing");
  }
  tcplab_time_t when = at == TCPLAB_SIM_NOW ? Now() : at;
  if (when >= c.closingFrom) {
    throw SimError(
        TCPLAB_SIM_ERR_STATE,
        "send at " + FormatTime(when) +
            " s: the connection is shut down, closed or aborted at " +
            FormatTime(c.closingFrom) + " s; data must be sent before");
  }
  ActLive(id, at, [this, id, chunk](ConnRec &c) {
    if (c.wantShutdown || c.wantClose) {
      // Ordered this way by callbacks, so found only now. Dropping the
      // data quietly would hide it from the user.
      throw SimError(TCPLAB_SIM_ERR_STATE,
                     "send at " + FormatTime(Now()) + " s on connection #" +
                         std::to_string(c.id) +
                         ": the connection was shut down or closed at " +
                         FormatTime(c.closingFrom) +
                         " s; data must be sent before");
    }
    c.pending.push_back(chunk);
    Flush(id);
  });
}

void Sim::Shutdown(int id, tcplab_time_t at) {
  ConnRec &c = Conn(id);
  if (c.isListener) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "shutdown: not on a listener");
  }
  NoteClosing(c, at);
  ActLive(id, at, [this, id](ConnRec &c) {
    c.wantShutdown = true;
    Flush(id);
  });
}

void Sim::DoShutdown(int id) {
  ConnRec &c = Conn(id);
  c.shutdownDone = true;
  if (c.closeAt == TCPLAB_TIME_NEVER) {
    c.closeAt = Now();
  }
  Ptr<Socket> s = c.socket;
  AppCall call(*this, id, TCPLAB_EV_APP_SHUTDOWN);
  s->ShutdownSend();
}

void Sim::Close(int id, tcplab_time_t at) {
  ConnRec &c = Conn(id);
  if (!c.isListener) {
    NoteClosing(c, at);
  }
  ActLive(id, at, [this, id](ConnRec &c) {
    if (c.isListener) {
      if (c.socket) {
        Ptr<Socket> s = c.socket;
        {
          AppCall call(*this, id, TCPLAB_EV_APP_CLOSE);
          s->Close();
        }
        ConnRec &l = Conn(id);
        if (l.native) {
          AddTimeline(l, TCPLAB_LISTEN, TCPLAB_CLOSED, TCPLAB_EV_APP_CLOSE,
                      false, 0, 0, 0, false, 0, false, 0);
        }
        l.socket = nullptr;
        l.state = TCPLAB_CLOSED;
        l.closeAt = l.closed = Now();
        l.ended = true;
      }
      return;
    }
    c.wantClose = true;
    if (c.opened && !c.connected && c.socket && c.pending.empty()) {
      DoClose(id); // nothing waits for the handshake: close in SYN_SENT
      return;
    }
    Flush(id);
  });
}

void Sim::DoClose(int id) {
  ConnRec &c = Conn(id);
  c.closeDone = true;
  if (c.closeAt == TCPLAB_TIME_NEVER) {
    c.closeAt = Now();
  }
  Ptr<Socket> s = c.socket;
  if (!s) {
    return;
  }
  AppCall call(*this, id, TCPLAB_EV_APP_CLOSE);
  s->Close();
}

void Sim::SetReading(int id, bool on, tcplab_time_t at) {
  if (Conn(id).isListener) {
    throw SimError(TCPLAB_SIM_ERR_INVAL,
                   "reading: a listener reads nothing; use the connections "
                   "it accepts");
  }
  ActLive(id, at, [this, id, on](ConnRec &c) {
    c.readingStopped = !on;
    if (on && c.socket) {
      HandleRecv(id); // what waited, read at once
    }
    if (on && Conn(id).peerClosedWaiting) {
      Conn(id).peerClosedWaiting = false;
      HandleNormalClose(id); // then the end of the stream
    }
  });
}

void Sim::SetRetries(int id, uint32_t retries) {
  ConnRec &c = Conn(id);
  if (retries > 255 && retries != TCPLAB_SIM_RETRIES_NEVER) {
    throw SimError(TCPLAB_SIM_ERR_INVAL,
                   "retries must be in [0, 255] or never");
  }
  if (c.ended) {
    throw SimError(TCPLAB_SIM_ERR_STATE, "retries: the connection has ended");
  }
  c.hasRetries = true;
  c.retries = retries;
  if (c.socket) {
    // A listener's socket hands it to the sockets it accepts.
    c.socket->SetAttribute("DataRetries", UintegerValue(retries));
  }
}

void Sim::Abort(int id, tcplab_time_t at) {
  ConnRec &c = Conn(id);
  if (c.isListener) {
    throw SimError(TCPLAB_SIM_ERR_INVAL, "abort: not on a listener");
  }
  if (c.native) {
    throw SimError(TCPLAB_SIM_ERR_STATE,
                   "abort: ns-3's native TCP has no abort (RST) call");
  }
  NoteClosing(c, at);
  ActLive(id, at, [this](ConnRec &c) {
    c.pending.clear();
    Ptr<TcplabSocket> s = DynamicCast<TcplabSocket>(c.socket);
    if (!s) {
      return;
    }
    c.closeDone = true;
    if (c.closeAt == TCPLAB_TIME_NEVER) {
      c.closeAt = Now();
    }
    s->Abort();
  });
}

void Sim::At(tcplab_time_t at, void *arg) {
  Time delay = Delay(at);
  Simulator::Schedule(delay, [this, arg]() { FireTimer(arg); });
}

void Sim::FireTimer(void *arg) {
  InCallback guard(this);
  if (cb.timer) {
    cb.timer(cbUser, Handle(), arg);
  }
}

int64_t Sim::Recv(int id, void *buf, size_t cap) {
  ConnRec &c = Conn(id);
  size_t left = c.received.size() - c.receivedRead;
  size_t n = std::min(left, cap);
  if (n) {
    memcpy(buf, c.received.data() + c.receivedRead, n);
    c.receivedRead += n;
    if (c.receivedRead == c.received.size()) {
      c.received.clear();
      c.receivedRead = 0;
    }
  }
  return static_cast<int64_t>(n);
}

/* ------------------------------------------------------------ the end */

void Sim::EndConn(ConnRec &c, int error) {
  if (c.ended) {
    return;
  }
  c.ended = true;
  c.error = error;
  c.state = TCPLAB_CLOSED;
  if (c.closed == TCPLAB_TIME_NEVER) {
    c.closed = Now();
  }
  c.pending.clear();
  int id = c.id;
  // Tell the application once the current event is done: the transport
  // may be in the middle of processing a segment.
  Simulator::ScheduleNow([this, id, error]() {
    ConnRec &c = Conn(id);
    c.socket = nullptr;
    InCallback guard(this);
    if (cb.ended) {
      cb.ended(cbUser, Handle(), id, error);
    }
  });
}

/* --------------------------------------------------- tcplab's traces */

/* Which end of its flow a connection is: 0 for the flow's client, 1 for
 * its server. Not the role: in a simultaneous open both ends are active,
 * and the flow's client is the one whose SYN was seen first. */
int Sim::FlowSide(const ConnRec &c) const {
  const Flow &f = flows[c.flow];
  return f.client.addr == c.local.addr && f.client.port == c.local.port ? 0 : 1;
}

void Sim::OnCoreTrace(int node, const tcplab_trace_event *ev) {
  int id = 0;
  if (!ev->conn) {
    auto key = std::make_pair(node, ev->id);
    auto it = m_coreListener.find(key);
    if (it == m_coreListener.end()) {
      if (!m_pendingListener) {
        return; // a listener opened by a direct user of the model
      }
      id = m_pendingListener;
      m_coreListener[key] = id;
      Conn(id).coreId = ev->id;
    } else {
      id = it->second;
    }
    ConnRec &l = Conn(id);
    l.local = ev->local;
    l.state = ev->to;
    if (ev->from != ev->to) {
      AddTimeline(l, ev->from, ev->to, ev->event, false, 0, 0, 0, false, 0,
                  false, 0);
    }
    return;
  }

  const struct tcplab_conn_stats *st = tcplab_conn_stats(ev->conn);
  auto key = std::make_pair(node, ev->id);
  auto it = m_coreConn.find(key);
  if (it == m_coreConn.end()) {
    if (st->role == TCPLAB_ROLE_ACTIVE && m_pendingActive) {
      id = m_pendingActive;
    } else {
      id = NewConn(node, false);
      ConnRec &c = Conn(id);
      c.opened = true;
      if (st->role == TCPLAB_ROLE_PASSIVE) {
        if (tcplab_listener *l = tcplab_conn_listener(ev->conn)) {
          auto li = m_coreListener.find({node, tcplab_listener_id(l)});
          if (li != m_coreListener.end()) {
            c.listener = li->second;
          }
        }
      }
    }
    m_coreConn[key] = id;
  } else {
    id = it->second;
  }
  ConnRec &c = Conn(id);
  c.coreId = ev->id;
  c.role = st->role;
  c.local = ev->local;
  c.remote = ev->remote;
  c.state = ev->to;
  c.open = st->opened;
  c.established = st->established;
  c.closeAt = st->close_called;
  c.closed = st->closed;
  c.bytesReceived = st->bytes_received;
  c.counters = *st;
  if (c.flow < 0) {
    c.flow = FlowForConn(c);
  }
  // The flow's ISNs (for segments.csv) are what each end really sent; a
  // connection's idea of its peer's ISN can be an old duplicate SYN's, so
  // only its own ISN is taken from it. Its timeline rows use its own view.
  Flow &f = flows[c.flow];
  int side = FlowSide(c);
  f.isn[side] = ev->iss;
  f.isnKnown[side] = true;
  if (ev->event == TCPLAB_EV_CWND) {
    cwnd.push_back({Now(), c.node, c.id, c.flow, ev->cwnd, ev->ssthresh});
  }
  if (ev->from != ev->to) {
    bool seg = ev->event == TCPLAB_EV_RCV || ev->event == TCPLAB_EV_SND;
    bool ackFlag = (ev->flags & TCPLAB_ACK) != 0;
    bool snd = ev->event == TCPLAB_EV_SND;
    uint32_t relSeq = ev->seq - (snd ? ev->iss : ev->irs);
    uint32_t relAck = ev->ack - (snd ? ev->irs : ev->iss);
    bool seqKnown = seg && (snd || ev->irs_valid);
    bool ackKnown = seg && ackFlag && (!snd || ev->irs_valid);
    AddTimeline(c, ev->from, ev->to, ev->event, seg, ev->flags, ev->seq,
                ev->ack, seqKnown, relSeq, ackKnown, relAck);
  }
  // A passive child reset in SYN_RECEIVED "returns to LISTEN" (RFC 9293
  // 3.10.7.4): the listener lives on, the connection is gone.
  bool gone = ev->to == TCPLAB_CLOSED ||
              (ev->to == TCPLAB_LISTEN && ev->from != TCPLAB_LISTEN);
  if (gone && ev->from != ev->to) {
    tcplab_state last = ev->to;
    EndConn(c, ev->error);
    c.state = last;
  }
}

/* ------------------------------------------------ ns-3's native TCP */

static tcplab_state FromNative(TcpSocket::TcpStates_t s) {
  switch (s) {
  case TcpSocket::CLOSED: return TCPLAB_CLOSED;
  case TcpSocket::LISTEN: return TCPLAB_LISTEN;
  case TcpSocket::SYN_SENT: return TCPLAB_SYN_SENT;
  case TcpSocket::SYN_RCVD: return TCPLAB_SYN_RECEIVED;
  case TcpSocket::ESTABLISHED: return TCPLAB_ESTABLISHED;
  case TcpSocket::CLOSE_WAIT: return TCPLAB_CLOSE_WAIT;
  case TcpSocket::LAST_ACK: return TCPLAB_LAST_ACK;
  case TcpSocket::FIN_WAIT_1: return TCPLAB_FIN_WAIT_1;
  case TcpSocket::FIN_WAIT_2: return TCPLAB_FIN_WAIT_2;
  case TcpSocket::CLOSING: return TCPLAB_CLOSING;
  case TcpSocket::TIME_WAIT: return TCPLAB_TIME_WAIT;
  default: return TCPLAB_CLOSED;
  }
}

void Sim::OnNativeState(int id, TcpSocket::TcpStates_t fromN,
                        TcpSocket::TcpStates_t toN) {
  ConnRec &c = Conn(id);
  tcplab_state from = FromNative(fromN), to = FromNative(toN);
  if (from == to || c.ended) {
    return;
  }
  if (c.flow < 0 && c.socket) {
    // ns-3 binds the endpoint before it sends the SYN.
    Address local;
    c.socket->GetSockName(local);
    InetSocketAddress la = InetSocketAddress::ConvertFrom(local);
    c.local = {la.GetIpv4().Get(), la.GetPort()};
    if (c.local.port) {
      c.flow = FlowForConn(c);
    }
  }
  // ns-3 does not say why a state changed: an application call of ours,
  // the segment that just arrived at the node, or a timer.
  tcplab_event ev = TCPLAB_EV_SND;
  bool seg = false;
  const NodeRec &n = nodes[c.node];
  if (m_appConn == id) {
    ev = m_appEvent;
  } else if (from == TCPLAB_TIME_WAIT && to == TCPLAB_CLOSED) {
    ev = TCPLAB_EV_TIMER_TIME_WAIT;
  } else if (n.lastRxTime == Now() && n.lastRxFlow == c.flow && c.flow >= 0) {
    ev = TCPLAB_EV_RCV;
    seg = true;
  } else if (to == TCPLAB_CLOSED) {
    ev = TCPLAB_EV_GAVE_UP;
  }
  uint8_t flags = seg ? n.lastRx.flags : 0;
  uint32_t seq = seg ? n.lastRx.seq : 0, ack = seg ? n.lastRx.ack : 0;
  bool seqKnown = false, ackKnown = false;
  uint32_t relSeq = 0, relAck = 0;
  if (seg) {
    const Flow &f = flows[c.flow];
    int peer = 1 - FlowSide(c);
    seqKnown = f.isnKnown[peer];
    relSeq = seq - f.isn[peer];
    ackKnown = f.isnKnown[1 - peer] && (flags & TCPLAB_ACK);
    relAck = ack - f.isn[1 - peer];
  }
  AddTimeline(c, from, to, ev, seg, flags, seq, ack, seqKnown, relSeq, ackKnown,
              relAck);
  c.state = to;
  if (to == TCPLAB_ESTABLISHED && c.established == TCPLAB_TIME_NEVER) {
    c.established = Now();
  }
  if (to == TCPLAB_CLOSED) {
    int err = TCPLAB_OK;
    bool rst = seg && (flags & TCPLAB_RST);
    if (rst) {
      err = from == TCPLAB_SYN_SENT ? TCPLAB_ERR_REFUSED : TCPLAB_ERR_RESET;
    } else if (ev == TCPLAB_EV_GAVE_UP && !c.closeDone) {
      err = TCPLAB_ERR_TIMEDOUT;
    }
    EndConn(c, err);
  }
}

/* ns-3's TCP reports cwnd and ssthresh apart, each as it is set: a row
 * when the pair differs from the last row's. Its ssthresh starts at
 * 2^32 - 1, "not set" as tcplab's 2^30 is. A passive socket is attached
 * after its handshake, so its first window may come unreported. */
void Sim::OnNativeCongestion(int id, const uint32_t *newCwnd,
                             const uint32_t *ssthresh) {
  ConnRec &c = Conn(id);
  if (newCwnd) {
    c.nativeCwnd = *newCwnd;
  }
  if (ssthresh) {
    c.nativeSsthresh = std::min(*ssthresh, TCPLAB_WINDOW_MAX);
  }
  // Nothing recorded yet is cwnd 0, which no row has.
  bool same = c.nativeCwnd == c.nativeRowCwnd &&
              c.nativeSsthresh == c.nativeRowSsthresh;
  if (c.flow >= 0 && !c.ended && c.nativeCwnd > 0 && !same) {
    cwnd.push_back(
        {Now(), c.node, c.id, c.flow, c.nativeCwnd, c.nativeSsthresh});
    c.nativeRowCwnd = c.nativeCwnd;
    c.nativeRowSsthresh = c.nativeSsthresh;
  }
}

void Sim::AddTimeline(const ConnRec &c, tcplab_state from, tcplab_state to,
                      tcplab_event ev, bool hasSeg, uint8_t flags, uint32_t seq,
                      uint32_t ack, bool relKnownSeq, uint32_t relSeq,
                      bool relKnownAck, uint32_t relAck) {
  TimelineRow r;
  r.time = Now();
  r.node = c.node;
  r.conn = c.id;
  r.flow = c.isListener ? -1 : c.flow;
  r.from = from;
  r.to = to;
  r.event = ev;
  r.hasSegment = hasSeg;
  r.flags = hasSeg ? flags : 0;
  r.seq = hasSeg ? seq : 0;
  r.ack = hasSeg ? ack : 0;
  r.hasRelSeq = hasSeg && relKnownSeq;
  r.hasRelAck = hasSeg && relKnownAck;
  r.relSeq = r.hasRelSeq ? relSeq : 0;
  r.relAck = r.hasRelAck ? relAck : 0;
  r.listenerPort = c.isListener ? c.local.port : 0;
  timeline.push_back(r);
}

/* Puts a row rebuilt after the fact (native passive opens) in time order. */
void Sim::AddTimelineAt(tcplab_time_t at) {
  TimelineRow r = timeline.back();
  timeline.pop_back();
  r.time = at;
  auto pos = timeline.end();
  while (pos != timeline.begin() && (pos - 1)->time > at) {
    --pos;
  }
  timeline.insert(pos, r);
}

/* --------------------------------------------------------------- info */

void Sim::ConnInfo(int id, struct tcplab_sim_conn_info *out) const {
  const ConnRec &c = Conn(id);
  memset(out, 0, sizeof *out);
  out->id = c.id;
  out->node = c.node;
  out->listener = c.listener;
  out->is_listener = c.isListener;
  out->native = c.native;
  out->role = c.role;
  out->state = c.state;
  out->flow = c.flow >= 0 ? flows[c.flow].name.c_str() : "";
  out->local = c.local;
  out->remote = c.remote;
  out->open = c.open;
  out->established = c.established;
  out->close = c.closeAt;
  out->closed = c.closed;
  out->handshake = c.established != TCPLAB_TIME_NEVER &&
                           c.open != TCPLAB_TIME_NEVER &&
                           c.established >= c.open
                       ? c.established - c.open
                       : TCPLAB_TIME_NEVER;
  out->syn_tx = c.counters.syn_tx;
  out->retransmissions = c.counters.retransmissions;
  out->bytes_sent = c.counters.bytes_sent;
  out->bytes_received = c.bytesReceived;
  out->error = c.error;
  out->counters = c.counters;
  if (c.native && c.flow >= 0) {
    const Flow &f = flows[c.flow];
    int side = FlowSide(c);
    out->syn_tx = f.synTx[side];
    out->retransmissions = f.retrans[side];
    out->bytes_sent = std::min<uint64_t>(f.acked[side], c.streamOffset);
  }
}

} // namespace tcplab
