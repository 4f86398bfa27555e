#include "tcplab-socket-factory.h"

#include "tcplab-l4-protocol.h"

#include <ns3/log.h>
#include <ns3/socket.h>

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("TcplabSocketFactory");
NS_OBJECT_ENSURE_REGISTERED(TcplabSocketFactory);

TypeId TcplabSocketFactory::GetTypeId() {
  static TypeId tid = TypeId("ns3::TcplabSocketFactory")
                          .SetParent<TcpSocketFactory>()
                          .SetGroupName("Internet");
  return tid;
}

void TcplabSocketFactory::SetTcp(Ptr<TcplabL4Protocol> tcp) {
  m_tcp = tcp;
}

Ptr<Socket> TcplabSocketFactory::CreateSocket() {
  return m_tcp->CreateSocket();
}

void TcplabSocketFactory::DoDispose() {
  m_tcp = nullptr;
  TcpSocketFactory::DoDispose();
}

} // namespace ns3
