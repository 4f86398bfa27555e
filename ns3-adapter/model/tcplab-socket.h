/*
 * TcplabSocket: an ns-3 stream socket over one tcplab core connection or
 * listener, so ns-3's own applications (BulkSend, PacketSink, OnOff) run
 * over tcplab unchanged.
 *
 * It derives from TcpSocket so that code which looks for a TcpSocket
 * (and the TcpSocket attribute defaults) works as with ns-3's own TCP. The
 * TcpSocket attributes the core does not model per socket (congestion
 * window, delayed ACK, ...) are stored and reported but have no effect;
 * the core's behaviour is set per node through TcplabL4Protocol::SetConfig.
 */
#ifndef TCPLAB_SOCKET_H
#define TCPLAB_SOCKET_H

#include <ns3/ipv4-address.h>
#include <ns3/tcp-socket.h>
#include <ns3/traced-callback.h>
#include <ns3/traced-value.h>

#include <tcplab/core.h>

namespace ns3 {

class Node;
class TcplabL4Protocol;

class TcplabSocket : public TcpSocket {
public:
  static TypeId GetTypeId();

  TcplabSocket();
  ~TcplabSocket() override;

  void SetNode(Ptr<Node> node);
  void SetTcp(Ptr<TcplabL4Protocol> tcp);

  /* Sends RST (in a synchronized state) and ends the connection. */
  int Abort();

  /* The core connection, NULL before Connect/accept and after it ended. */
  struct tcplab_conn *GetConn() const;
  /* The connection's counters; after it ended, the last ones it had.
   * NULL if the socket never had a connection. */
  const struct tcplab_conn_stats *GetConnStats() const;
  /* The core's state of the connection (or listener). */
  enum tcplab_state GetCoreState() const;
  /* The core's connection id (0 if none yet). */
  uint64_t GetConnId() const;

  /* Socket */
  enum SocketErrno GetErrno() const override;
  enum SocketType GetSocketType() const override;
  Ptr<Node> GetNode() const override;
  int Bind() override;
  int Bind6() override;
  int Bind(const Address &address) override;
  int Close() override;
  int ShutdownSend() override;
  int ShutdownRecv() override;
  int Connect(const Address &address) override;
  int Listen() override;
  /* The core's free send space; the whole buffer before Connect, 0 once
   * the socket can send no more (shut down, closed, ended). */
  uint32_t GetTxAvailable() const override;
  /* Send flag: the data is urgent (RFC 9293 3.8.5), as MSG_OOB is for
   * BSD sockets. ns-3's own TCP has no urgent data. */
  static constexpr uint32_t URGENT = 1;
  /* The "Urgent" trace source: octets of urgent data ahead of the
   * reader, each time the peer's urgent pointer is new or advances. */
  typedef void (*UrgentCallback)(uint32_t pending);
  int Send(Ptr<Packet> p, uint32_t flags) override;
  int SendTo(Ptr<Packet> p, uint32_t flags, const Address &toAddress) override;
  /* In-order bytes the core holds unread, whether or not the receive
   * callback has announced them yet. */
  uint32_t GetRxAvailable() const override;
  Ptr<Packet> Recv(uint32_t maxSize, uint32_t flags) override;
  Ptr<Packet> RecvFrom(uint32_t maxSize, uint32_t flags,
                       Address &fromAddress) override;
  int GetSockName(Address &address) const override;
  int GetPeerName(Address &address) const override;
  bool SetAllowBroadcast(bool allowBroadcast) override;
  bool GetAllowBroadcast() const override;

  /* Called by TcplabL4Protocol for the core's callbacks. */
  void CoreAcceptable(struct tcplab_listener *l);
  void CoreConnected();
  void CoreReadable();
  void CorePeerClosed();
  void CoreUrgent(size_t pending);
  void CoreClosed(int error);
  void CoreTrace(const struct tcplab_trace_event *ev);
  /* Tells the application about data the peer acknowledged since the
   * last call (data-sent and send callbacks). */
  void FlushAcked();
  /* The stack is going away: forget the core objects without calls. */
  void Detach();

protected:
  void DoDispose() override;
  void NotifyConstructionCompleted() override;

private:
  /* TcpSocket attributes: stored only (see the class comment). */
  void SetSndBufSize(uint32_t size) override;
  uint32_t GetSndBufSize() const override;
  void SetRcvBufSize(uint32_t size) override;
  uint32_t GetRcvBufSize() const override;
  void SetSegSize(uint32_t size) override;
  uint32_t GetSegSize() const override;
  void SetInitialSSThresh(uint32_t threshold) override;
  uint32_t GetInitialSSThresh() const override;
  void SetInitialCwnd(uint32_t cwnd) override;
  uint32_t GetInitialCwnd() const override;
  void SetConnTimeout(Time timeout) override;
  Time GetConnTimeout() const override;
  void SetSynRetries(uint32_t count) override;
  uint32_t GetSynRetries() const override;
  void SetDataRetries(uint32_t retries) override;
  uint32_t GetDataRetries() const override;
  void SetDelAckTimeout(Time timeout) override;
  Time GetDelAckTimeout() const override;
  void SetDelAckMaxCount(uint32_t count) override;
  uint32_t GetDelAckMaxCount() const override;
  void SetTcpNoDelay(bool noDelay) override;
  bool GetTcpNoDelay() const override;
  void SetPersistTimeout(Time timeout) override;
  Time GetPersistTimeout() const override;

  int SetError(int coreError);
  /* DataRetries given after construction is R2 for this connection. */
  void ApplyDataRetries();
  void Release();
  uint32_t SendBufferCap() const;
  tcplab_time_t Now() const;

  Ptr<Node> m_node;
  Ptr<TcplabL4Protocol> m_tcp;
  struct tcplab_conn *m_conn;
  struct tcplab_listener *m_listener;
  struct tcplab_conn_stats m_stats; /* last counters seen */
  bool m_hadConn;
  uint64_t m_connId;
  Ipv4Address m_localAddress;
  uint16_t m_localPort;
  enum SocketErrno m_errno;
  bool m_shutdownSend;
  bool m_shutdownRecv;
  bool m_closeCalled;
  bool m_closeNotified;
  bool m_established; /* the handshake completed once */
  bool m_ackNotifyQueued;
  uint64_t m_acked; /* sent bytes acknowledged, as last told to the app */
  uint32_t m_backlog;

  /* TcpSocket attribute values (stored only). */
  uint32_t m_sndBufSize, m_rcvBufSize, m_segSize, m_ssThresh, m_initialCwnd;
  Time m_connTimeout, m_delAckTimeout, m_persistTimeout;
  uint32_t m_synRetries, m_dataRetries, m_delAckMaxCount;
  bool m_noDelay;
  bool m_constructed = false;    /* attribute defaults are set */
  bool m_dataRetriesSet = false; /* DataRetries given: the connection's R2 */

  TracedValue<TcpStates_t> m_state;
  TracedCallback<const struct tcplab_trace_event *> m_traceEvent;
  TracedCallback<uint32_t> m_urgent;
};

/* The TcpSocket state closest to a core state (SYN_RECEIVED -> SYN_RCVD). */
TcpSocket::TcpStates_t TcplabToTcpState(enum tcplab_state state);

} // namespace ns3

#endif /* TCPLAB_SOCKET_H */
