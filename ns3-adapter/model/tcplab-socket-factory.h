/*
 * TcplabSocketFactory: the TcpSocketFactory of a node whose TCP is
 * tcplab's, so Socket::CreateSocket(node, TcpSocketFactory::GetTypeId())
 * and ns-3's applications get TcplabSockets.
 */
#ifndef TCPLAB_SOCKET_FACTORY_H
#define TCPLAB_SOCKET_FACTORY_H

#include <ns3/tcp-socket-factory.h>

namespace ns3 {

class TcplabL4Protocol;

class TcplabSocketFactory : public TcpSocketFactory {
public:
  static TypeId GetTypeId();

  void SetTcp(Ptr<TcplabL4Protocol> tcp);
  Ptr<Socket> CreateSocket() override;

protected:
  void DoDispose() override;

private:
  Ptr<TcplabL4Protocol> m_tcp;
};

} // namespace ns3

#endif /* TCPLAB_SOCKET_FACTORY_H */
