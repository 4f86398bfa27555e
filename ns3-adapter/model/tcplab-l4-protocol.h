/*
 * TcplabL4Protocol: tcplab's sans-IO TCP core as an ns-3 transport.
 *
 * One core stack per node, registered with Ipv4L3Protocol under protocol
 * number 6 in place of ns-3's TcpL4Protocol. The core reports a single
 * next expiry; this class keeps exactly one ns-3 event for it and moves
 * that event after every call into the core.
 *
 * Installing it turns on ns-3's ChecksumEnabled global: the core writes
 * and verifies real checksums, and ns-3's own TCP on other nodes must
 * write them too for the two to talk.
 */
#ifndef TCPLAB_L4_PROTOCOL_H
#define TCPLAB_L4_PROTOCOL_H

#include <ns3/event-id.h>
#include <ns3/ip-l4-protocol.h>
#include <ns3/ipv4-address.h>
#include <ns3/ptr.h>
#include <ns3/traced-callback.h>

#include <tcplab/core.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ns3 {

class Node;
class Socket;
class TcplabSocket;

class TcplabL4Protocol : public IpL4Protocol {
public:
  static TypeId GetTypeId();
  static const uint8_t PROT_NUMBER = 6;

  TcplabL4Protocol();
  ~TcplabL4Protocol() override;

  void SetNode(Ptr<Node> node);
  Ptr<Node> GetNode() const;

  /*
   * Replaces the core configuration. Allowed while the stack has no
   * listener or connection (the core fixes its config at creation).
   * Returns false and sets *why when cfg is out of range or it is too late.
   */
  bool SetConfig(const struct tcplab_config &cfg, std::string *why = nullptr);
  const struct tcplab_config &GetConfig() const;

  /* The node's core stack, created on first use. */
  struct tcplab_stack *GetStack();
  /* Segments the core's decoder rejected (dropped), by reason. */
  uint64_t GetMalformedCount() const;

  Ptr<Socket> CreateSocket();

  /* Moves the one pending expiry event to the core's next expiry. Every
   * caller of a core function calls this afterwards. */
  void Reschedule();

  /* The one pending expiry event (for tests: it must sit at the core's
   * next expiry). */
  EventId GetExpiryEvent() const;

  /* Sockets are kept alive here while their connection or listener is. */
  void AddSocket(Ptr<TcplabSocket> socket);
  void RemoveSocket(Ptr<TcplabSocket> socket);

  /* Runs TcplabSocket::FlushAcked once the current core call returns. */
  void QueueAckNotify(Ptr<TcplabSocket> socket);

  /* Source address for a connection to dst, from the routing table. */
  bool SelectSource(Ipv4Address dst, Ipv4Address *src) const;

  /* IpL4Protocol */
  int GetProtocolNumber() const override;
  RxStatus Receive(Ptr<Packet> p, const Ipv4Header &header,
                   Ptr<Ipv4Interface> incomingInterface) override;
  RxStatus Receive(Ptr<Packet> p, const Ipv6Header &header,
                   Ptr<Ipv6Interface> incomingInterface) override;
  void SetDownTarget(DownTargetCallback cb) override;
  void SetDownTarget6(DownTargetCallback6 cb) override;
  DownTargetCallback GetDownTarget() const override;
  DownTargetCallback6 GetDownTarget6() const override;

  /* Signature of the "Trace" source: every core trace event. */
  typedef void (*CoreTraceCallback)(const struct tcplab_trace_event *ev);
  /* Signature of the "Malformed" source: a rejected segment and why. */
  typedef void (*MalformedCallback)(Ptr<const Packet> segment, Ipv4Address src,
                                    Ipv4Address dst, std::string reason);

protected:
  void DoDispose() override;
  void NotifyNewAggregate() override;

private:
  static void CoreOutput(void *user, tcplab_time_t now, uint32_t src,
                         uint32_t dst, const uint8_t *bytes, size_t len);
  static void CoreTrace(void *user, const struct tcplab_trace_event *ev);
  static void CoreAcceptable(void *user, struct tcplab_listener *l);
  static void CoreConnected(void *user, struct tcplab_conn *c);
  static void CoreReadable(void *user, struct tcplab_conn *c, size_t avail);
  static void CorePeerClosed(void *user, struct tcplab_conn *c);
  static void CoreUrgent(void *user, struct tcplab_conn *c, size_t pending);
  static void CoreClosed(void *user, struct tcplab_conn *c, int error);

  void HandleExpiry();
  void FlushAckNotify();
  void DeleteStack();

  Ptr<Node> m_node;
  DownTargetCallback m_downTarget;
  DownTargetCallback6 m_downTarget6;
  struct tcplab_config m_config;
  struct tcplab_stack *m_stack;
  EventId m_timer;
  tcplab_time_t m_timerAt; /* when m_timer fires; NEVER if none */
  std::vector<uint8_t> m_rxBuffer;
  std::vector<Ptr<TcplabSocket>> m_ackNotify;
  uint64_t m_malformed;
  /* Ordered by creation so disposal order is deterministic. */
  std::map<uint64_t, Ptr<TcplabSocket>> m_sockets;
  std::map<TcplabSocket *, uint64_t> m_socketIndex;
  uint64_t m_nextSocket;

  TracedCallback<const struct tcplab_trace_event *> m_traceEvent;
  TracedCallback<Ptr<const Packet>, Ipv4Address, Ipv4Address, std::string>
      m_malformedTrace;
};

} // namespace ns3

#endif /* TCPLAB_L4_PROTOCOL_H */
