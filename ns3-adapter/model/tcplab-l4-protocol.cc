#include "tcplab-l4-protocol.h"

#include "tcplab-socket-factory.h"
#include "tcplab-socket.h"

#include <ns3/boolean.h>
#include <ns3/global-value.h>
#include <ns3/ipv4-header.h>
#include <ns3/ipv4-route.h>
#include <ns3/ipv4-routing-protocol.h>
#include <ns3/ipv4.h>
#include <ns3/log.h>
#include <ns3/node.h>
#include <ns3/packet.h>
#include <ns3/simulator.h>

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("TcplabL4Protocol");
NS_OBJECT_ENSURE_REGISTERED(TcplabL4Protocol);

TypeId TcplabL4Protocol::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::TcplabL4Protocol")
          .SetParent<IpL4Protocol>()
          .SetGroupName("Internet")
          .AddConstructor<TcplabL4Protocol>()
          .AddTraceSource(
              "Trace",
              "Every trace event of the core stack: state "
              "transitions and segments sent and received",
              MakeTraceSourceAccessor(&TcplabL4Protocol::m_traceEvent),
              "ns3::TcplabL4Protocol::CoreTraceCallback")
          .AddTraceSource(
              "Malformed", "A segment the core's decoder rejected (dropped)",
              MakeTraceSourceAccessor(&TcplabL4Protocol::m_malformedTrace),
              "ns3::TcplabL4Protocol::MalformedCallback");
  return tid;
}

TcplabL4Protocol::TcplabL4Protocol()
    : m_stack(nullptr), m_timerAt(TCPLAB_TIME_NEVER), m_malformed(0),
      m_nextSocket(0) {
  NS_LOG_FUNCTION(this);
  tcplab_config_default(&m_config);
}

TcplabL4Protocol::~TcplabL4Protocol() {
  DeleteStack();
}

void TcplabL4Protocol::SetNode(Ptr<Node> node) {
  m_node = node;
}

Ptr<Node> TcplabL4Protocol::GetNode() const {
  return m_node;
}

bool TcplabL4Protocol::SetConfig(const struct tcplab_config &cfg,
                                 std::string *why) {
  const char *msg = nullptr;
  if (tcplab_config_check(&cfg, &msg) != TCPLAB_OK) {
    if (why) {
      *why = msg ? msg : "invalid configuration";
    }
    return false;
  }
  if (m_stack) {
    const struct tcplab_stack_stats *st = tcplab_stack_stats(m_stack);
    if (st->conns_total > 0 || !m_sockets.empty()) {
      if (why) {
        *why = "the stack is already in use";
      }
      return false;
    }
    DeleteStack();
  }
  m_config = cfg;
  return true;
}

const struct tcplab_config &TcplabL4Protocol::GetConfig() const {
  return m_config;
}

struct tcplab_stack *TcplabL4Protocol::GetStack() {
  if (!m_stack) {
    struct tcplab_callbacks cb = {};
    cb.output = &TcplabL4Protocol::CoreOutput;
    cb.trace = &TcplabL4Protocol::CoreTrace;
    cb.acceptable = &TcplabL4Protocol::CoreAcceptable;
    cb.connected = &TcplabL4Protocol::CoreConnected;
    cb.readable = &TcplabL4Protocol::CoreReadable;
    cb.peer_closed = &TcplabL4Protocol::CorePeerClosed;
    cb.urgent = &TcplabL4Protocol::CoreUrgent;
    cb.closed = &TcplabL4Protocol::CoreClosed;
    int rc = tcplab_stack_new(&m_config, &cb, nullptr, this, &m_stack);
    // The config was checked in SetConfig; only memory can fail here.
    NS_ABORT_MSG_IF(rc != TCPLAB_OK,
                    "tcplab_stack_new: " << tcplab_strerror(rc));
  }
  return m_stack;
}

uint64_t TcplabL4Protocol::GetMalformedCount() const {
  return m_malformed;
}

Ptr<Socket> TcplabL4Protocol::CreateSocket() {
  NS_LOG_FUNCTION(this);
  Ptr<TcplabSocket> socket = CreateObject<TcplabSocket>();
  socket->SetNode(m_node);
  socket->SetTcp(this);
  AddSocket(socket);
  return socket;
}

void TcplabL4Protocol::AddSocket(Ptr<TcplabSocket> socket) {
  if (m_socketIndex.count(PeekPointer(socket))) {
    return;
  }
  uint64_t key = m_nextSocket++;
  m_sockets[key] = socket;
  m_socketIndex[PeekPointer(socket)] = key;
}

void TcplabL4Protocol::RemoveSocket(Ptr<TcplabSocket> socket) {
  auto it = m_socketIndex.find(PeekPointer(socket));
  if (it == m_socketIndex.end()) {
    return;
  }
  m_sockets.erase(it->second);
  m_socketIndex.erase(it);
}

bool TcplabL4Protocol::SelectSource(Ipv4Address dst, Ipv4Address *src) const {
  Ptr<Ipv4> ipv4 = m_node ? m_node->GetObject<Ipv4>() : nullptr;
  if (!ipv4 || !ipv4->GetRoutingProtocol()) {
    return false;
  }
  Ipv4Header header;
  header.SetDestination(dst);
  header.SetProtocol(PROT_NUMBER);
  Socket::SocketErrno err;
  Ptr<Ipv4Route> route =
      ipv4->GetRoutingProtocol()->RouteOutput(nullptr, header, nullptr, err);
  if (!route) {
    return false;
  }
  *src = route->GetSource();
  return true;
}

void TcplabL4Protocol::Reschedule() {
  if (!m_stack) {
    return;
  }
  tcplab_time_t at = tcplab_stack_next_expiry(m_stack);
  if (at == m_timerAt && (at == TCPLAB_TIME_NEVER || m_timer.IsRunning())) {
    return;
  }
  // Remove, not Cancel: a cancelled event would stay in the scheduler
  // until its time, and RTO timers move on every ACK.
  Simulator::Remove(m_timer);
  m_timerAt = at;
  if (at == TCPLAB_TIME_NEVER) {
    return;
  }
  tcplab_time_t now = Simulator::Now().GetNanoSeconds();
  Time delay = NanoSeconds(at > now ? at - now : 0);
  m_timer = Simulator::Schedule(delay, &TcplabL4Protocol::HandleExpiry, this);
}

EventId TcplabL4Protocol::GetExpiryEvent() const {
  return m_timer;
}

void TcplabL4Protocol::QueueAckNotify(Ptr<TcplabSocket> socket) {
  m_ackNotify.push_back(socket);
}

void TcplabL4Protocol::FlushAckNotify() {
  while (!m_ackNotify.empty()) {
    std::vector<Ptr<TcplabSocket>> sockets;
    sockets.swap(m_ackNotify);
    for (auto &socket : sockets) {
      socket->FlushAcked();
    }
  }
}

void TcplabL4Protocol::HandleExpiry() {
  m_timerAt = TCPLAB_TIME_NEVER;
  if (!m_stack) {
    return;
  }
  Ptr<TcplabL4Protocol> self(this);
  tcplab_stack_handle_expiry(m_stack, Simulator::Now().GetNanoSeconds());
  Reschedule();
  FlushAckNotify();
}

int TcplabL4Protocol::GetProtocolNumber() const {
  return PROT_NUMBER;
}

IpL4Protocol::RxStatus
TcplabL4Protocol::Receive(Ptr<Packet> p, const Ipv4Header &header,
                          Ptr<Ipv4Interface> incomingInterface) {
  NS_LOG_FUNCTION(this << p << header << incomingInterface);
  Ptr<TcplabL4Protocol> self(this);
  struct tcplab_stack *s = GetStack();
  uint32_t len = p->GetSize();
  if (m_rxBuffer.size() < len) {
    m_rxBuffer.resize(len);
  }
  p->CopyData(m_rxBuffer.data(), len);
  const struct tcplab_stack_stats *st = tcplab_stack_stats(s);
  uint64_t rstBefore = st->rst_sent;
  uint64_t badSumBefore = st->malformed[TCPLAB_MALFORMED_CHECKSUM];
  uint32_t src = header.GetSource().Get();
  uint32_t dst = header.GetDestination().Get();
  int rc = tcplab_stack_input(s, Simulator::Now().GetNanoSeconds(), src, dst,
                              m_rxBuffer.data(), len);
  Reschedule();
  FlushAckNotify();
  if (rc == TCPLAB_ERR_MALFORMED) {
    m_malformed++;
    bool badSum = st->malformed[TCPLAB_MALFORMED_CHECKSUM] != badSumBefore;
    enum tcplab_malformed why = TCPLAB_MALFORMED_CHECKSUM;
    if (!badSum) {
      struct tcplab_segment seg;
      why =
          tcplab_segment_decode(m_rxBuffer.data(), len, src, dst, false, &seg);
    }
    NS_LOG_LOGIC("malformed segment dropped: " << tcplab_malformed_name(why));
    m_malformedTrace(p, header.GetSource(), header.GetDestination(),
                     tcplab_malformed_name(why));
    return badSum ? IpL4Protocol::RX_CSUM_FAILED : IpL4Protocol::RX_OK;
  }
  // Ipv4L3Protocol answers RX_ENDPOINT_UNREACH with ICMP; a TCP answers
  // segments to no connection with RST itself (RFC 9293 3.10.7.1).
  if (st->rst_sent != rstBefore) {
    return IpL4Protocol::RX_ENDPOINT_CLOSED;
  }
  return IpL4Protocol::RX_OK;
}

IpL4Protocol::RxStatus TcplabL4Protocol::Receive(Ptr<Packet> p,
                                                 const Ipv6Header &header,
                                                 Ptr<Ipv6Interface> iface) {
  NS_LOG_FUNCTION(this << p << iface);
  (void)header;
  // The core speaks IPv4 only.
  return IpL4Protocol::RX_ENDPOINT_CLOSED;
}

void TcplabL4Protocol::SetDownTarget(DownTargetCallback cb) {
  m_downTarget = cb;
}

void TcplabL4Protocol::SetDownTarget6(DownTargetCallback6 cb) {
  m_downTarget6 = cb;
}

IpL4Protocol::DownTargetCallback TcplabL4Protocol::GetDownTarget() const {
  return m_downTarget;
}

IpL4Protocol::DownTargetCallback6 TcplabL4Protocol::GetDownTarget6() const {
  return m_downTarget6;
}

void TcplabL4Protocol::NotifyNewAggregate() {
  NS_LOG_FUNCTION(this);
  Ptr<Node> node = GetObject<Node>();
  Ptr<Ipv4> ipv4 = GetObject<Ipv4>();
  if (!m_node && node && ipv4) {
    // The core always writes and verifies real checksums; ns-3 computes
    // them (for its own TCP, too) only with this global on.
    GlobalValue::Bind("ChecksumEnabled", BooleanValue(true));
    SetNode(node);
    Ptr<TcplabSocketFactory> factory = CreateObject<TcplabSocketFactory>();
    factory->SetTcp(this);
    node->AggregateObject(factory);
  }
  if (ipv4 && m_downTarget.IsNull()) {
    ipv4->Insert(this);
    SetDownTarget(MakeCallback(&Ipv4::Send, ipv4));
  }
  IpL4Protocol::NotifyNewAggregate();
}

void TcplabL4Protocol::DeleteStack() {
  for (auto &entry : m_sockets) {
    entry.second->Detach();
  }
  if (m_stack) {
    tcplab_stack_del(m_stack);
    m_stack = nullptr;
  }
  m_timerAt = TCPLAB_TIME_NEVER;
}

void TcplabL4Protocol::DoDispose() {
  NS_LOG_FUNCTION(this);
  Simulator::Remove(m_timer);
  DeleteStack();
  m_ackNotify.clear();
  m_sockets.clear();
  m_socketIndex.clear();
  m_node = nullptr;
  m_downTarget.Nullify();
  m_downTarget6.Nullify();
  IpL4Protocol::DoDispose();
}

/* ------------------------------------------------- core callbacks */

void TcplabL4Protocol::CoreOutput(void *user, tcplab_time_t now, uint32_t src,
                                  uint32_t dst, const uint8_t *bytes,
                                  size_t len) {
  (void)now;
  TcplabL4Protocol *self = static_cast<TcplabL4Protocol *>(user);
  if (self->m_downTarget.IsNull()) {
    return;
  }
  Ptr<Packet> p = Create<Packet>(bytes, static_cast<uint32_t>(len));
  self->m_downTarget(p, Ipv4Address(src), Ipv4Address(dst), PROT_NUMBER,
                     nullptr);
}

void TcplabL4Protocol::CoreTrace(void *user,
                                 const struct tcplab_trace_event *ev) {
  TcplabL4Protocol *self = static_cast<TcplabL4Protocol *>(user);
  self->m_traceEvent(ev);
  if (ev->conn) {
    if (auto *socket =
            static_cast<TcplabSocket *>(tcplab_conn_user_data(ev->conn))) {
      socket->CoreTrace(ev);
    }
  }
}

void TcplabL4Protocol::CoreAcceptable(void *user, struct tcplab_listener *l) {
  (void)user;
  if (auto *socket =
          static_cast<TcplabSocket *>(tcplab_listener_user_data(l))) {
    socket->CoreAcceptable(l);
  }
}

void TcplabL4Protocol::CoreConnected(void *user, struct tcplab_conn *c) {
  (void)user;
  if (auto *socket = static_cast<TcplabSocket *>(tcplab_conn_user_data(c))) {
    socket->CoreConnected();
  }
}

void TcplabL4Protocol::CoreReadable(void *user, struct tcplab_conn *c,
                                    size_t avail) {
  (void)user;
  (void)avail; // the socket asks the core when the application reads
  if (auto *socket = static_cast<TcplabSocket *>(tcplab_conn_user_data(c))) {
    socket->CoreReadable();
  }
}

void TcplabL4Protocol::CoreUrgent(void *user, struct tcplab_conn *c,
                                  size_t pending) {
  (void)user;
  if (auto *socket = static_cast<TcplabSocket *>(tcplab_conn_user_data(c))) {
    socket->CoreUrgent(pending);
  }
}

void TcplabL4Protocol::CorePeerClosed(void *user, struct tcplab_conn *c) {
  (void)user;
  if (auto *socket = static_cast<TcplabSocket *>(tcplab_conn_user_data(c))) {
    socket->CorePeerClosed();
  }
}

void TcplabL4Protocol::CoreClosed(void *user, struct tcplab_conn *c,
                                  int error) {
  (void)user;
  if (auto *socket = static_cast<TcplabSocket *>(tcplab_conn_user_data(c))) {
    tcplab_conn_set_user_data(c, nullptr);
    socket->CoreClosed(error);
  }
}

} // namespace ns3
