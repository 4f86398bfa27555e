#include "tcplab-socket.h"

#include "tcplab-l4-protocol.h"

#include <ns3/boolean.h>
#include <ns3/inet-socket-address.h>
#include <ns3/log.h>
#include <ns3/node.h>
#include <ns3/packet.h>
#include <ns3/simulator.h>
#include <ns3/uinteger.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("TcplabSocket");
NS_OBJECT_ENSURE_REGISTERED(TcplabSocket);

TypeId TcplabSocket::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::TcplabSocket")
          .SetParent<TcpSocket>()
          .SetGroupName("Internet")
          .AddConstructor<TcplabSocket>()
          .AddAttribute("Backlog",
                        "Listen backlog: connections in SYN_RECEIVED plus "
                        "established ones not yet accepted",
                        UintegerValue(128),
                        MakeUintegerAccessor(&TcplabSocket::m_backlog),
                        MakeUintegerChecker<uint32_t>(1, 65535))
          .AddTraceSource("State", "TCP state, as TcpSocketBase's",
                          MakeTraceSourceAccessor(&TcplabSocket::m_state),
                          "ns3::TcpStatesTracedValueCallback")
          .AddTraceSource("Trace", "Every core trace event of this connection",
                          MakeTraceSourceAccessor(&TcplabSocket::m_traceEvent),
                          "ns3::TcplabL4Protocol::CoreTraceCallback")
          .AddTraceSource("Urgent",
                          "The peer's urgent pointer is new or advanced: "
                          "octets of urgent data ahead of the reader",
                          MakeTraceSourceAccessor(&TcplabSocket::m_urgent),
                          "ns3::TcplabSocket::UrgentCallback");
  return tid;
}

TcpSocket::TcpStates_t TcplabToTcpState(enum tcplab_state state) {
  switch (state) {
  case TCPLAB_CLOSED: return TcpSocket::CLOSED;
  case TCPLAB_LISTEN: return TcpSocket::LISTEN;
  case TCPLAB_SYN_SENT: return TcpSocket::SYN_SENT;
  case TCPLAB_SYN_RECEIVED: return TcpSocket::SYN_RCVD;
  case TCPLAB_ESTABLISHED: return TcpSocket::ESTABLISHED;
  case TCPLAB_FIN_WAIT_1: return TcpSocket::FIN_WAIT_1;
  case TCPLAB_FIN_WAIT_2: return TcpSocket::FIN_WAIT_2;
  case TCPLAB_CLOSE_WAIT: return TcpSocket::CLOSE_WAIT;
  case TCPLAB_CLOSING: return TcpSocket::CLOSING;
  case TCPLAB_LAST_ACK: return TcpSocket::LAST_ACK;
  case TCPLAB_TIME_WAIT: return TcpSocket::TIME_WAIT;
  }
  return TcpSocket::CLOSED;
}

TcplabSocket::TcplabSocket()
    : m_conn(nullptr), m_listener(nullptr), m_stats(), m_hadConn(false),
      m_connId(0), m_localAddress(Ipv4Address::GetAny()), m_localPort(0),
      m_errno(ERROR_NOTERROR), m_shutdownSend(false), m_shutdownRecv(false),
      m_closeCalled(false), m_closeNotified(false), m_established(false),
      m_ackNotifyQueued(false), m_acked(0), m_backlog(128), m_sndBufSize(0),
      m_rcvBufSize(0), m_segSize(0), m_ssThresh(0), m_initialCwnd(0),
      m_synRetries(0), m_dataRetries(0), m_delAckMaxCount(0), m_noDelay(false),
      m_state(TcpSocket::CLOSED) {
  NS_LOG_FUNCTION(this);
}

TcplabSocket::~TcplabSocket() {
  NS_LOG_FUNCTION(this);
}

void TcplabSocket::SetNode(Ptr<Node> node) {
  m_node = node;
}

void TcplabSocket::SetTcp(Ptr<TcplabL4Protocol> tcp) {
  m_tcp = tcp;
}

tcplab_time_t TcplabSocket::Now() const {
  return Simulator::Now().GetNanoSeconds();
}

struct tcplab_conn *TcplabSocket::GetConn() const {
  return m_conn;
}

const struct tcplab_conn_stats *TcplabSocket::GetConnStats() const {
  if (m_conn) {
    return tcplab_conn_stats(m_conn);
  }
  return m_hadConn ? &m_stats : nullptr;
}

enum tcplab_state TcplabSocket::GetCoreState() const {
  if (m_conn) {
    return tcplab_conn_state(m_conn);
  }
  return m_listener ? TCPLAB_LISTEN : TCPLAB_CLOSED;
}

uint64_t TcplabSocket::GetConnId() const {
  return m_connId;
}

int TcplabSocket::SetError(int coreError) {
  switch (coreError) {
  case TCPLAB_ERR_INVAL: m_errno = ERROR_INVAL; break;
  case TCPLAB_ERR_ADDRINUSE: m_errno = ERROR_ADDRINUSE; break;
  case TCPLAB_ERR_NOPORTS: m_errno = ERROR_ADDRNOTAVAIL; break;
  case TCPLAB_ERR_WOULDBLOCK: m_errno = ERROR_AGAIN; break;
  case TCPLAB_ERR_CLOSING: m_errno = ERROR_SHUTDOWN; break;
  case TCPLAB_ERR_STATE: m_errno = ERROR_NOTCONN; break;
  default: m_errno = ERROR_INVAL; break;
  }
  return -1;
}

/* Drops the protocol's reference once neither a connection nor a listener
 * needs this socket any more. */
void TcplabSocket::Release() {
  if (m_tcp && !m_conn && !m_listener) {
    m_tcp->RemoveSocket(this);
  }
}

uint32_t TcplabSocket::SendBufferCap() const {
  return m_tcp ? m_tcp->GetConfig().snd_buf : 0;
}

/* ---------------------------------------------------------- Socket */

enum Socket::SocketErrno TcplabSocket::GetErrno() const {
  return m_errno;
}

enum Socket::SocketType TcplabSocket::GetSocketType() const {
  return NS3_SOCK_STREAM;
}

Ptr<Node> TcplabSocket::GetNode() const {
  return m_node;
}

int TcplabSocket::Bind() {
  m_localAddress = Ipv4Address::GetAny();
  m_localPort = 0;
  return 0;
}

int TcplabSocket::Bind6() {
  m_errno = ERROR_AFNOSUPPORT;
  return -1;
}

int TcplabSocket::Bind(const Address &address) {
  NS_LOG_FUNCTION(this << address);
  if (!InetSocketAddress::IsMatchingType(address)) {
    m_errno = ERROR_AFNOSUPPORT;
    return -1;
  }
  if (m_conn || m_listener) {
    m_errno = ERROR_INVAL;
    return -1;
  }
  InetSocketAddress inet = InetSocketAddress::ConvertFrom(address);
  m_localAddress = inet.GetIpv4();
  m_localPort = inet.GetPort();
  return 0;
}

int TcplabSocket::Listen() {
  NS_LOG_FUNCTION(this);
  if (m_conn || m_listener) {
    m_errno = ERROR_INVAL;
    return -1;
  }
  Ptr<TcplabSocket> self(this);
  struct tcplab_listener *l = nullptr;
  int rc = tcplab_stack_listen(m_tcp->GetStack(), Now(), m_localAddress.Get(),
                               m_localPort, m_backlog, &l);
  m_tcp->Reschedule();
  if (rc != TCPLAB_OK) {
    return SetError(rc);
  }
  m_listener = l;
  m_connId = tcplab_listener_id(l);
  tcplab_listener_set_user_data(l, this);
  m_tcp->AddSocket(this);
  m_state = TcpSocket::LISTEN;
  return 0;
}

int TcplabSocket::Connect(const Address &address) {
  NS_LOG_FUNCTION(this << address);
  if (!InetSocketAddress::IsMatchingType(address)) {
    m_errno = ERROR_AFNOSUPPORT;
    return -1;
  }
  if (m_conn || m_listener || m_hadConn) {
    m_errno = ERROR_ISCONN;
    return -1;
  }
  InetSocketAddress inet = InetSocketAddress::ConvertFrom(address);
  Ipv4Address local = m_localAddress;
  if (local == Ipv4Address::GetAny() &&
      !m_tcp->SelectSource(inet.GetIpv4(), &local)) {
    m_errno = ERROR_NOROUTETOHOST;
    return -1;
  }
  Ptr<TcplabSocket> self(this);
  m_tcp->AddSocket(this);
  struct tcplab_conn *c = nullptr;
  // The SYN leaves inside this call; the trace events it produces find
  // the socket through the user data, set as soon as the handle exists.
  int rc =
      tcplab_stack_connect(m_tcp->GetStack(), Now(), local.Get(), m_localPort,
                           inet.GetIpv4().Get(), inet.GetPort(), &c);
  if (rc != TCPLAB_OK) {
    m_tcp->Reschedule();
    Release();
    return SetError(rc);
  }
  m_conn = c;
  m_hadConn = true;
  ApplyDataRetries();
  m_connId = tcplab_conn_id(c);
  m_stats = *tcplab_conn_stats(c);
  tcplab_conn_set_user_data(c, this);
  m_state = TcplabToTcpState(tcplab_conn_state(c));
  m_tcp->Reschedule();
  return 0;
}

uint32_t TcplabSocket::GetTxAvailable() const {
  if (m_conn) {
    // The core's own free space is exact at every moment, also while it
    // is still processing the ACK that freed it.
    return static_cast<uint32_t>(std::min<size_t>(
        tcplab_conn_send_space(m_conn), std::numeric_limits<uint32_t>::max()));
  }
  // Before a connect the whole buffer is free, as with TcpSocketBase;
  // once the connection is gone nothing more can be sent.
  return m_hadConn ? 0 : SendBufferCap();
}

int TcplabSocket::Send(Ptr<Packet> p, uint32_t flags) {
  NS_LOG_FUNCTION(this << p << flags);
  if (!m_conn) {
    m_errno = m_hadConn ? ERROR_SHUTDOWN : ERROR_NOTCONN;
    return -1;
  }
  if (m_shutdownSend || m_closeCalled) {
    m_errno = ERROR_SHUTDOWN;
    return -1;
  }
  uint32_t size = p->GetSize();
  if (size == 0) {
    return 0;
  }
  // All or nothing, as TcpSocketBase: applications keep what was refused.
  if (size > GetTxAvailable()) {
    m_errno = ERROR_MSGSIZE;
    return -1;
  }
  std::vector<uint8_t> bytes(size);
  p->CopyData(bytes.data(), size);
  Ptr<TcplabSocket> self(this);
  int rc = (flags & URGENT)
               ? tcplab_conn_send_urgent(m_conn, Now(), bytes.data(), size)
               : tcplab_conn_send(m_conn, Now(), bytes.data(), size);
  m_tcp->Reschedule();
  if (rc < 0) {
    return SetError(rc);
  }
  return rc;
}

int TcplabSocket::SendTo(Ptr<Packet> p, uint32_t flags, const Address &to) {
  (void)to;
  return Send(p, flags);
}

uint32_t TcplabSocket::GetRxAvailable() const {
  // What the core holds, also before it has said so: an accepted
  // connection's first data can come with the handshake's last segment,
  // and the core reports the connection before the data.
  if (!m_conn) {
    return 0;
  }
  return static_cast<uint32_t>(std::min<size_t>(
      tcplab_conn_readable(m_conn), std::numeric_limits<uint32_t>::max()));
}

Ptr<Packet> TcplabSocket::Recv(uint32_t maxSize, uint32_t flags) {
  NS_LOG_FUNCTION(this << maxSize << flags);
  (void)flags;
  uint32_t avail = GetRxAvailable();
  if (avail == 0 || maxSize == 0) {
    m_errno = ERROR_AGAIN;
    return nullptr;
  }
  uint32_t want = std::min(maxSize, avail);
  // The packet is made from the receive buffer itself, in one piece or,
  // where the buffer wraps, two: no copy in between.
  const void *data;
  size_t n = tcplab_conn_peek(m_conn, 0, &data);
  n = std::min<size_t>(n, want);
  Ptr<Packet> p = Create<Packet>(static_cast<const uint8_t *>(data),
                                 static_cast<uint32_t>(n));
  if (n < want) {
    size_t rest = tcplab_conn_peek(m_conn, n, &data);
    rest = std::min<size_t>(rest, want - n);
    p->AddAtEnd(Create<Packet>(static_cast<const uint8_t *>(data),
                               static_cast<uint32_t>(rest)));
  }
  Ptr<TcplabSocket> self(this);
  tcplab_conn_consume(m_conn, Now(), p->GetSize());
  m_tcp->Reschedule();
  return p;
}

Ptr<Packet> TcplabSocket::RecvFrom(uint32_t maxSize, uint32_t flags,
                                   Address &fromAddress) {
  Ptr<Packet> p = Recv(maxSize, flags);
  if (p) {
    GetPeerName(fromAddress);
  }
  return p;
}

int TcplabSocket::GetSockName(Address &address) const {
  if (m_conn) {
    struct tcplab_endpoint e = tcplab_conn_local(m_conn);
    address = InetSocketAddress(Ipv4Address(e.addr), e.port);
  } else {
    address = InetSocketAddress(m_localAddress, m_localPort);
  }
  return 0;
}

int TcplabSocket::GetPeerName(Address &address) const {
  if (!m_conn) {
    const_cast<TcplabSocket *>(this)->m_errno = ERROR_NOTCONN;
    return -1;
  }
  struct tcplab_endpoint e = tcplab_conn_remote(m_conn);
  address = InetSocketAddress(Ipv4Address(e.addr), e.port);
  return 0;
}

bool TcplabSocket::SetAllowBroadcast(bool allowBroadcast) {
  return !allowBroadcast; // a stream socket cannot broadcast
}

bool TcplabSocket::GetAllowBroadcast() const {
  return false;
}

int TcplabSocket::ShutdownSend() {
  NS_LOG_FUNCTION(this);
  if (m_shutdownSend) {
    return 0;
  }
  m_shutdownSend = true;
  if (!m_conn || m_closeCalled) {
    return 0; // a listener passes the flag on to accepted sockets
  }
  enum tcplab_state st = tcplab_conn_state(m_conn);
  if (st == TCPLAB_SYN_SENT || st == TCPLAB_SYN_RECEIVED) {
    return 0; // sent once the connection is established
  }
  Ptr<TcplabSocket> self(this);
  int rc = tcplab_conn_shutdown(m_conn, Now());
  m_tcp->Reschedule();
  return rc == TCPLAB_OK ? 0 : SetError(rc);
}

int TcplabSocket::ShutdownRecv() {
  m_shutdownRecv = true;
  return 0;
}

int TcplabSocket::Close() {
  NS_LOG_FUNCTION(this);
  Ptr<TcplabSocket> self(this);
  if (m_listener) {
    struct tcplab_listener *l = m_listener;
    m_listener = nullptr;
    tcplab_listener_set_user_data(l, nullptr);
    tcplab_listener_close(l, Now());
    m_tcp->Reschedule();
    m_state = TcpSocket::CLOSED;
    Release();
    return 0;
  }
  if (!m_conn) {
    Release();
    return 0;
  }
  if (m_closeCalled) {
    return 0;
  }
  m_closeCalled = true;
  int rc = tcplab_conn_close(m_conn, Now());
  m_tcp->Reschedule();
  return rc == TCPLAB_OK ? 0 : SetError(rc);
}

int TcplabSocket::Abort() {
  NS_LOG_FUNCTION(this);
  if (!m_conn) {
    m_errno = ERROR_NOTCONN;
    return -1;
  }
  Ptr<TcplabSocket> self(this);
  m_closeCalled = true;
  int rc = tcplab_conn_abort(m_conn, Now());
  m_tcp->Reschedule();
  return rc == TCPLAB_OK ? 0 : SetError(rc);
}

/* ------------------------------------------------- core callbacks */

void TcplabSocket::CoreAcceptable(struct tcplab_listener *l) {
  Ptr<TcplabSocket> self(this);
  struct tcplab_conn *c = nullptr;
  while (m_listener == l && tcplab_listener_accept(l, &c) == TCPLAB_OK) {
    Ptr<TcplabSocket> child = CreateObject<TcplabSocket>();
    child->SetNode(m_node);
    child->SetTcp(m_tcp);
    // Accepted sockets inherit the listener's shutdown flags, as forked
    // TcpSocketBase sockets do: no FIN for that, but the peer's FIN then
    // closes the socket (PacketSink relies on it).
    child->m_shutdownSend = m_shutdownSend;
    child->m_shutdownRecv = m_shutdownRecv;
    child->m_conn = c;
    child->m_hadConn = true;
    // As a forked TcpSocketBase, the child keeps the listener's R2.
    child->m_dataRetries = m_dataRetries;
    child->m_dataRetriesSet = m_dataRetriesSet;
    child->ApplyDataRetries();
    child->m_established = true;
    child->m_connId = tcplab_conn_id(c);
    child->m_stats = *tcplab_conn_stats(c);
    child->m_state = TcplabToTcpState(tcplab_conn_state(c));
    tcplab_conn_set_user_data(c, PeekPointer(child));
    m_tcp->AddSocket(child);
    struct tcplab_endpoint r = tcplab_conn_remote(c);
    InetSocketAddress from(Ipv4Address(r.addr), r.port);
    if (NotifyConnectionRequest(from)) {
      NotifyNewConnectionCreated(child, from);
    } else {
      child->Abort();
    }
  }
}

void TcplabSocket::CoreConnected() {
  Ptr<TcplabSocket> self(this);
  m_established = true;
  NotifyConnectionSucceeded();
  if (m_conn && m_shutdownSend && !m_closeCalled) {
    m_shutdownSend = false;
    ShutdownSend();
  }
  if (m_conn && GetTxAvailable() > 0) {
    NotifySend(GetTxAvailable());
  }
}

void TcplabSocket::CoreReadable() {
  Ptr<TcplabSocket> self(this);
  if (m_shutdownRecv) {
    // Nobody will read: consume, so the window stays open as in ns-3.
    while (GetRxAvailable() > 0) {
      if (!Recv(65536, 0)) {
        break;
      }
    }
    return;
  }
  NotifyDataRecv();
}

void TcplabSocket::CoreUrgent(size_t pending) {
  m_urgent(static_cast<uint32_t>(
      std::min<size_t>(pending, std::numeric_limits<uint32_t>::max())));
}

void TcplabSocket::CorePeerClosed() {
  Ptr<TcplabSocket> self(this);
  if (!m_closeNotified) {
    m_closeNotified = true;
    NotifyNormalClose();
  }
  // As TcpSocketBase: an application that shut down sending has nothing
  // more to say, so the peer's FIN closes the socket.
  if (m_conn && m_shutdownSend && !m_closeCalled) {
    Close();
  }
}

void TcplabSocket::CoreClosed(int error) {
  Ptr<TcplabSocket> self(this);
  m_stats = *tcplab_conn_stats(m_conn);
  // The state trace has already said CLOSED: whether the handshake ever
  // completed tells a failed connect from a later error.
  bool synSent = !m_established;
  m_conn = nullptr;
  m_state = TcpSocket::CLOSED;
  // Ended by our own application's abort() or close() (a close that lost
  // received data resets, as TcpSocketBase's does): not an error for it.
  bool own = error == TCPLAB_OK || error == TCPLAB_ERR_ABORTED ||
             error == TCPLAB_ERR_DATA_LOST;
  if (synSent && !own) {
    NotifyConnectionFailed();
  } else if (!own && !m_closeNotified) {
    m_closeNotified = true;
    NotifyErrorClose();
  } else if (!m_closeNotified) {
    m_closeNotified = true;
    NotifyNormalClose();
  }
  Release();
}

void TcplabSocket::CoreTrace(const struct tcplab_trace_event *ev) {
  m_state = TcplabToTcpState(ev->to);
  m_traceEvent(ev);
  if (ev->event != TCPLAB_EV_RCV || !m_conn) {
    return;
  }
  uint64_t acked = tcplab_conn_stats(m_conn)->bytes_sent;
  if (acked != m_acked && !m_ackNotifyQueued) {
    // The core is still processing the segment: tell the application
    // once it is done, when it may call the core again.
    m_ackNotifyQueued = true;
    m_tcp->QueueAckNotify(this);
  }
}

void TcplabSocket::FlushAcked() {
  m_ackNotifyQueued = false;
  uint64_t acked = m_conn ? tcplab_conn_stats(m_conn)->bytes_sent : m_acked;
  if (acked == m_acked) {
    return;
  }
  uint32_t delta = static_cast<uint32_t>(acked - m_acked);
  m_acked = acked;
  NotifyDataSent(delta);
  if (m_conn && !m_closeCalled && !m_shutdownSend && GetTxAvailable() > 0) {
    NotifySend(GetTxAvailable());
  }
}

void TcplabSocket::Detach() {
  if (m_conn) {
    m_stats = *tcplab_conn_stats(m_conn);
  }
  m_conn = nullptr;
  m_listener = nullptr;
}

void TcplabSocket::DoDispose() {
  NS_LOG_FUNCTION(this);
  if (m_conn) {
    tcplab_conn_set_user_data(m_conn, nullptr);
    m_conn = nullptr;
  }
  if (m_listener) {
    tcplab_listener_set_user_data(m_listener, nullptr);
    m_listener = nullptr;
  }
  m_tcp = nullptr;
  m_node = nullptr;
  TcpSocket::DoDispose();
}

/* ------------------------------------- TcpSocket attributes (stored) */

void TcplabSocket::SetSndBufSize(uint32_t size) {
  m_sndBufSize = size;
}
uint32_t TcplabSocket::GetSndBufSize() const {
  return m_tcp ? m_tcp->GetConfig().snd_buf : m_sndBufSize;
}
void TcplabSocket::SetRcvBufSize(uint32_t size) {
  m_rcvBufSize = size;
}
uint32_t TcplabSocket::GetRcvBufSize() const {
  return m_tcp ? m_tcp->GetConfig().rcv_buf : m_rcvBufSize;
}
void TcplabSocket::SetSegSize(uint32_t size) {
  m_segSize = size;
}
uint32_t TcplabSocket::GetSegSize() const {
  return m_tcp ? m_tcp->GetConfig().mss : m_segSize;
}
void TcplabSocket::SetInitialSSThresh(uint32_t threshold) {
  m_ssThresh = threshold;
}
uint32_t TcplabSocket::GetInitialSSThresh() const {
  return m_ssThresh;
}
void TcplabSocket::SetInitialCwnd(uint32_t cwnd) {
  m_initialCwnd = cwnd;
}
uint32_t TcplabSocket::GetInitialCwnd() const {
  return m_initialCwnd;
}
void TcplabSocket::SetConnTimeout(Time timeout) {
  m_connTimeout = timeout;
}
Time TcplabSocket::GetConnTimeout() const {
  return m_tcp ? NanoSeconds(m_tcp->GetConfig().rto_initial) : m_connTimeout;
}
void TcplabSocket::SetSynRetries(uint32_t count) {
  m_synRetries = count;
}
uint32_t TcplabSocket::GetSynRetries() const {
  return m_tcp ? m_tcp->GetConfig().syn_retries : m_synRetries;
}
void TcplabSocket::NotifyConstructionCompleted() {
  TcpSocket::NotifyConstructionCompleted();
  m_constructed = true;
}
/* The attribute's default, set during construction, leaves the node's
 * `retries` in force; a value given afterwards is this connection's R2
 * (RFC 9293 3.8.3, MUST-21): above 255 is 255, UINT32_MAX never ends. */
void TcplabSocket::SetDataRetries(uint32_t retries) {
  m_dataRetries = retries;
  if (m_constructed) {
    m_dataRetriesSet = true;
    ApplyDataRetries();
  }
}
uint32_t TcplabSocket::GetDataRetries() const {
  if (m_dataRetriesSet || !m_tcp) {
    return m_dataRetries;
  }
  return m_tcp->GetConfig().retries;
}
void TcplabSocket::ApplyDataRetries() {
  if (m_conn && m_dataRetriesSet) {
    tcplab_conn_set_retries(m_conn, m_dataRetries == UINT32_MAX
                                        ? TCPLAB_RETRIES_NEVER
                                        : std::min(m_dataRetries, 255u));
  }
}
void TcplabSocket::SetDelAckTimeout(Time timeout) {
  m_delAckTimeout = timeout;
}
Time TcplabSocket::GetDelAckTimeout() const {
  return m_delAckTimeout;
}
void TcplabSocket::SetDelAckMaxCount(uint32_t count) {
  m_delAckMaxCount = count;
}
uint32_t TcplabSocket::GetDelAckMaxCount() const {
  return m_delAckMaxCount;
}
void TcplabSocket::SetTcpNoDelay(bool noDelay) {
  m_noDelay = noDelay;
  if (m_conn) {
    tcplab_conn_set_nagle(m_conn, !noDelay);
  }
}
bool TcplabSocket::GetTcpNoDelay() const {
  return m_noDelay;
}
void TcplabSocket::SetPersistTimeout(Time timeout) {
  m_persistTimeout = timeout;
}
Time TcplabSocket::GetPersistTimeout() const {
  return m_persistTimeout;
}

} // namespace ns3
