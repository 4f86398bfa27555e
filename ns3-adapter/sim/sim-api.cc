/* The C API of sim.h: argument checks, and no exception crosses it. */
#include "sim-impl.h"

#include "tcplab-l4-protocol.h"

#include <exception>
#include <new>
#include <string>

using tcplab::SimError;

namespace {

thread_local std::string g_lastError;
tcplab_sim *g_current = nullptr; // ns-3 has one simulator per process

int Fail(int code, const std::string &msg) {
  g_lastError = msg;
  return code;
}

/* Runs f, turning every exception into an error code and a message. */
template <typename F> int Guard(const char *what, F f) {
  try {
    return f();
  } catch (const SimError &e) {
    return Fail(e.code, e.what());
  } catch (const std::bad_alloc &) {
    return Fail(TCPLAB_SIM_ERR_INTERNAL, std::string(what) + ": out of memory");
  } catch (const std::exception &e) {
    return Fail(TCPLAB_SIM_ERR_INTERNAL, std::string(what) + ": " + e.what());
  } catch (...) {
    return Fail(TCPLAB_SIM_ERR_INTERNAL,
                std::string(what) + ": unexpected failure");
  }
}

bool ValidTable(const tcplab_sim_table &t) {
  int v = tcplab::EnumValue(t);
  return v >= TCPLAB_SIM_TIMELINE && v <= TCPLAB_SIM_CWND;
}

bool Valid(const tcplab_sim *sim) {
  return sim && sim == g_current;
}

#define CHECK_SIM(sim, what)                                                   \
  do {                                                                         \
    if (!Valid(sim)) {                                                         \
      return Fail(TCPLAB_SIM_ERR_INVAL,                                        \
                  std::string(what) + ": not a live simulation");              \
    }                                                                          \
  } while (0)

/* One row of table t as a struct, through the Sim's `fill` for it. */
template <typename Out>
int RowOut(const tcplab_sim *sim, tcplab_sim_table t, int64_t row, Out *out,
           const char *what, void (tcplab::Sim::*fill)(int64_t, Out *) const) {
  CHECK_SIM(sim, what);
  if (!out || row < 0 || row >= sim->Rows(t)) {
    return Fail(TCPLAB_SIM_ERR_INVAL, std::string(what) + ": row out of range");
  }
  return Guard(what, [&]() {
    (sim->*fill)(row, out);
    return TCPLAB_SIM_OK;
  });
}

} // namespace

extern "C" {

const char *tcplab_sim_strerror(int code) {
  switch (code) {
  case TCPLAB_SIM_OK: return "success";
  case TCPLAB_SIM_ERR_INVAL: return "invalid argument";
  case TCPLAB_SIM_ERR_EXISTS: return "a simulation already exists";
  case TCPLAB_SIM_ERR_NOTFOUND: return "no such node, link or connection";
  case TCPLAB_SIM_ERR_STATE: return "not allowed now";
  case TCPLAB_SIM_ERR_NAME: return "name already taken";
  case TCPLAB_SIM_ERR_IO: return "input/output error";
  case TCPLAB_SIM_ERR_INTERNAL: return "internal error";
  default: return tcplab_strerror(code);
  }
}

const char *tcplab_sim_last_error(void) {
  return g_lastError.c_str();
}

int tcplab_sim_create(uint64_t seed, tcplab_sim **out) {
  if (!out) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "create: out is NULL");
  }
  *out = nullptr;
  if (g_current) {
    return Fail(TCPLAB_SIM_ERR_EXISTS,
                "create: a simulation already exists; destroy it first "
                "(ns-3 runs one simulation per process)");
  }
  return Guard("create", [&]() {
    *out = new tcplab_sim(seed);
    g_current = *out;
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_destroy(tcplab_sim *sim) {
  if (!sim) {
    return TCPLAB_SIM_OK;
  }
  CHECK_SIM(sim, "destroy");
  if (sim->running || sim->callbackDepth > 0) {
    return Fail(TCPLAB_SIM_ERR_STATE,
                "destroy: not allowed while the simulation runs");
  }
  return Guard("destroy", [&]() {
    g_current = nullptr;
    delete sim;
    return TCPLAB_SIM_OK;
  });
}

void tcplab_sim_set_callbacks(tcplab_sim *sim,
                              const struct tcplab_sim_callbacks *cb,
                              void *user) {
  if (!Valid(sim)) {
    return;
  }
  sim->cb = cb ? *cb : tcplab_sim_callbacks{};
  sim->cbUser = user;
}

/* --------------------------------------------------------------- nodes */

int tcplab_sim_node(tcplab_sim *sim, const char *name,
                    const struct tcplab_sim_node_opts *opts) {
  CHECK_SIM(sim, "node");
  if (!name) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "node: name is NULL");
  }
  return Guard("node", [&]() { return sim->AddNode(name, false, opts); });
}

int tcplab_sim_router(tcplab_sim *sim, const char *name) {
  CHECK_SIM(sim, "router");
  if (!name) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "router: name is NULL");
  }
  return Guard("router", [&]() { return sim->AddNode(name, true, nullptr); });
}

int tcplab_sim_node_find(const tcplab_sim *sim, const char *name) {
  CHECK_SIM(sim, "node_find");
  if (!name) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "node_find: name is NULL");
  }
  int id = sim->FindNode(name);
  return id < 0 ? Fail(id, std::string("no node named '") + name + "'") : id;
}

int tcplab_sim_node_count(const tcplab_sim *sim) {
  CHECK_SIM(sim, "node_count");
  return static_cast<int>(sim->nodes.size());
}

const char *tcplab_sim_node_name(const tcplab_sim *sim, int node) {
  if (!Valid(sim) || node < 0 || node >= static_cast<int>(sim->nodes.size())) {
    return nullptr;
  }
  return sim->nodes[node].name.c_str();
}

int tcplab_sim_node_addr(const tcplab_sim *sim, int node, uint32_t *addr) {
  CHECK_SIM(sim, "node_addr");
  if (node < 0 || node >= static_cast<int>(sim->nodes.size()) || !addr) {
    return Fail(TCPLAB_SIM_ERR_NOTFOUND, "node_addr: no such node");
  }
  if (sim->nodes[node].addrs.empty()) {
    return Fail(TCPLAB_SIM_ERR_STATE, "node_addr: the node has no link yet");
  }
  *addr = sim->nodes[node].addrs[0];
  return TCPLAB_SIM_OK;
}

int tcplab_sim_node_stats(const tcplab_sim *sim, int node,
                          struct tcplab_stack_stats *out) {
  CHECK_SIM(sim, "node_stats");
  if (node < 0 || node >= static_cast<int>(sim->nodes.size()) || !out) {
    return Fail(TCPLAB_SIM_ERR_NOTFOUND, "node_stats: no such node");
  }
  if (sim->nodes[node].native) {
    return Fail(TCPLAB_SIM_ERR_STATE, "node_stats: the node runs ns-3's TCP");
  }
  return Guard("node_stats", [&]() {
    auto l4 = sim->nodes[node].node->GetObject<ns3::TcplabL4Protocol>();
    *out = *tcplab_stack_stats(l4->GetStack());
    return TCPLAB_SIM_OK;
  });
}

/* --------------------------------------------------------------- links */

int tcplab_sim_link(tcplab_sim *sim, int a, int b,
                    const struct tcplab_sim_link_opts *opts) {
  CHECK_SIM(sim, "link");
  return Guard("link", [&]() { return sim->AddLink(a, b, opts); });
}

int tcplab_sim_link_count(const tcplab_sim *sim) {
  CHECK_SIM(sim, "link_count");
  return static_cast<int>(sim->links.size());
}

const char *tcplab_sim_link_name(const tcplab_sim *sim, int link) {
  if (!Valid(sim) || link < 0 || link >= static_cast<int>(sim->links.size())) {
    return nullptr;
  }
  return sim->links[link].name.c_str();
}

int tcplab_sim_link_direction(tcplab_sim *sim, int link, int from,
                              uint64_t rate_bps, uint32_t queue_packets) {
  CHECK_SIM(sim, "link_direction");
  return Guard("link_direction", [&]() {
    sim->SetDirection(link, from, rate_bps, queue_packets);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_dumbbell(tcplab_sim *sim, const struct tcplab_sim_dumbbell *d,
                        int *clients, int *servers) {
  CHECK_SIM(sim, "dumbbell");
  if (!d) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "dumbbell: NULL description");
  }
  return Guard("dumbbell",
               [&]() { return sim->Dumbbell(*d, clients, servers); });
}

int tcplab_sim_link_loss(tcplab_sim *sim, int link, int from, double p) {
  CHECK_SIM(sim, "loss");
  return Guard("loss", [&]() {
    sim->SetLoss(link, from, p);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_link_gilbert(tcplab_sim *sim, int link, int from, double p,
                            double r, double h, double k) {
  CHECK_SIM(sim, "gilbert");
  return Guard("gilbert", [&]() {
    sim->SetGilbert(link, from, p, r, h, k);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_link_drop(tcplab_sim *sim, int link,
                         const struct tcplab_sim_match *m) {
  CHECK_SIM(sim, "drop");
  if (!m) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "drop: NULL match");
  }
  return Guard("drop", [&]() { return sim->AddRule(link, *m, false, 0); });
}

int tcplab_sim_link_delay(tcplab_sim *sim, int link,
                          const struct tcplab_sim_match *m, tcplab_time_t by) {
  CHECK_SIM(sim, "delay");
  if (!m) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "delay: NULL match");
  }
  return Guard("delay", [&]() { return sim->AddRule(link, *m, true, by); });
}

int tcplab_sim_link_inject(tcplab_sim *sim, int link,
                           const struct tcplab_sim_inject *in) {
  CHECK_SIM(sim, "inject");
  if (!in) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "inject: NULL segment");
  }
  return Guard("inject", [&]() {
    sim->Inject(link, *in);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_link_pcap(tcplab_sim *sim, int link, const char *prefix) {
  CHECK_SIM(sim, "pcap");
  if (!prefix) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "pcap: prefix is NULL");
  }
  return Guard("pcap", [&]() {
    sim->EnablePcap(link, prefix);
    return TCPLAB_SIM_OK;
  });
}

/* -------------------------------------------------------- applications */

int tcplab_sim_listen(tcplab_sim *sim, int node, uint16_t port,
                      unsigned backlog) {
  CHECK_SIM(sim, "listen");
  return Guard("listen", [&]() { return sim->Listen(node, port, backlog); });
}

int tcplab_sim_connect(tcplab_sim *sim, int node, int peer, uint16_t port,
                       tcplab_time_t at, uint16_t local_port) {
  CHECK_SIM(sim, "connect");
  return Guard("connect", [&]() {
    return sim->Connect(node, peer, port, at, local_port);
  });
}

int tcplab_sim_send(tcplab_sim *sim, int conn, const void *data, size_t len,
                    tcplab_time_t at) {
  CHECK_SIM(sim, "send");
  if (len && !data) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "send: data is NULL");
  }
  return Guard("send", [&]() {
    tcplab::Chunk ch;
    ch.bytes.assign(static_cast<const char *>(data ? data : ""), len);
    if (len) {
      sim->QueueSend(conn, std::move(ch), at);
    } else {
      sim->Conn(conn);
    }
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_send_urgent(tcplab_sim *sim, int conn, const void *data,
                           size_t len, uint64_t count, tcplab_time_t at) {
  CHECK_SIM(sim, "send");
  return Guard("send", [&]() {
    tcplab::Chunk ch;
    ch.urgent = true;
    if (data) {
      ch.bytes.assign(static_cast<const char *>(data), len);
    } else {
      ch.generated = count;
    }
    if (data ? len : count) {
      sim->QueueSend(conn, std::move(ch), at);
    } else {
      sim->Conn(conn);
    }
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_send_generated(tcplab_sim *sim, int conn, uint64_t count,
                              tcplab_time_t at) {
  CHECK_SIM(sim, "send");
  return Guard("send", [&]() {
    tcplab::Chunk ch;
    ch.generated = count;
    if (count) {
      sim->QueueSend(conn, std::move(ch), at);
    } else {
      sim->Conn(conn);
    }
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_shutdown(tcplab_sim *sim, int conn, tcplab_time_t at) {
  CHECK_SIM(sim, "shutdown");
  return Guard("shutdown", [&]() {
    sim->Shutdown(conn, at);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_close(tcplab_sim *sim, int conn, tcplab_time_t at) {
  CHECK_SIM(sim, "close");
  return Guard("close", [&]() {
    sim->Close(conn, at);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_abort(tcplab_sim *sim, int conn, tcplab_time_t at) {
  CHECK_SIM(sim, "abort");
  return Guard("abort", [&]() {
    sim->Abort(conn, at);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_stop_reading(tcplab_sim *sim, int conn, tcplab_time_t at) {
  CHECK_SIM(sim, "stop_reading");
  return Guard("stop_reading", [&]() {
    sim->SetReading(conn, false, at);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_start_reading(tcplab_sim *sim, int conn, tcplab_time_t at) {
  CHECK_SIM(sim, "start_reading");
  return Guard("start_reading", [&]() {
    sim->SetReading(conn, true, at);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_set_retries(tcplab_sim *sim, int conn, uint32_t retries) {
  CHECK_SIM(sim, "set_retries");
  return Guard("set_retries", [&]() {
    sim->SetRetries(conn, retries);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_at(tcplab_sim *sim, tcplab_time_t at, void *arg) {
  CHECK_SIM(sim, "at");
  return Guard("at", [&]() {
    sim->At(at, arg);
    return TCPLAB_SIM_OK;
  });
}

int64_t tcplab_sim_recv(tcplab_sim *sim, int conn, void *buf, size_t cap) {
  CHECK_SIM(sim, "recv");
  if (cap && !buf) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "recv: buf is NULL");
  }
  int64_t n = 0;
  int rc = Guard("recv", [&]() {
    n = sim->Recv(conn, buf, cap);
    return TCPLAB_SIM_OK;
  });
  return rc < 0 ? rc : n;
}

int tcplab_sim_conn_count(const tcplab_sim *sim) {
  CHECK_SIM(sim, "conn_count");
  return static_cast<int>(sim->conns.size());
}

int tcplab_sim_conn_info(const tcplab_sim *sim, int conn,
                         struct tcplab_sim_conn_info *out) {
  CHECK_SIM(sim, "conn_info");
  if (!out) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "conn_info: out is NULL");
  }
  return Guard("conn_info", [&]() {
    sim->ConnInfo(conn, out);
    return TCPLAB_SIM_OK;
  });
}

/* ----------------------------------------------------------------- run */

int tcplab_sim_run(tcplab_sim *sim, tcplab_time_t until) {
  CHECK_SIM(sim, "run");
  return Guard("run", [&]() {
    sim->Run(until);
    return TCPLAB_SIM_OK;
  });
}

int tcplab_sim_stop(tcplab_sim *sim) {
  CHECK_SIM(sim, "stop");
  if (!sim->running) {
    return Fail(TCPLAB_SIM_ERR_STATE, "stop: the simulation is not running");
  }
  return Guard("stop", [&]() {
    sim->Stop();
    return TCPLAB_SIM_OK;
  });
}

tcplab_time_t tcplab_sim_now(const tcplab_sim *sim) {
  return Valid(sim) ? sim->Now() : 0;
}

uint64_t tcplab_sim_events(const tcplab_sim *sim) {
  return Valid(sim) ? sim->Events() : 0;
}

/* -------------------------------------------------------------- traces */

int64_t tcplab_sim_rows(const tcplab_sim *sim, enum tcplab_sim_table t) {
  CHECK_SIM(sim, "rows");
  if (!ValidTable(t)) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "rows: unknown table");
  }
  int64_t n = sim->Rows(t);
  return n < 0 ? Fail(TCPLAB_SIM_ERR_INVAL, "rows: unknown table") : n;
}

int tcplab_sim_columns(enum tcplab_sim_table t) {
  if (!ValidTable(t)) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "columns: unknown table");
  }
  int n = tcplab::TableColumns(t);
  return n < 0 ? Fail(TCPLAB_SIM_ERR_INVAL, "columns: unknown table") : n;
}

const char *tcplab_sim_column_name(enum tcplab_sim_table t, int col) {
  if (!ValidTable(t)) {
    return nullptr;
  }
  return tcplab::TableColumnName(t, col);
}

const char *tcplab_sim_cell(tcplab_sim *sim, enum tcplab_sim_table t,
                            int64_t row, int col) {
  if (!Valid(sim) || !ValidTable(t)) {
    return nullptr;
  }
  const char *text = nullptr;
  Guard("cell", [&]() {
    text = sim->Cell(t, row, col);
    return TCPLAB_SIM_OK;
  });
  return text;
}

int tcplab_sim_timeline_row(const tcplab_sim *sim, int64_t row,
                            struct tcplab_sim_timeline_row *out) {
  return RowOut(sim, TCPLAB_SIM_TIMELINE, row, out, "timeline_row",
                &tcplab::Sim::TimelineRowOut);
}

int tcplab_sim_segment_row(const tcplab_sim *sim, int64_t row,
                           struct tcplab_sim_segment_row *out) {
  return RowOut(sim, TCPLAB_SIM_SEGMENTS, row, out, "segment_row",
                &tcplab::Sim::SegmentRowOut);
}

int tcplab_sim_cwnd_row(const tcplab_sim *sim, int64_t row,
                        struct tcplab_sim_cwnd_row *out) {
  return RowOut(sim, TCPLAB_SIM_CWND, row, out, "cwnd_row",
                &tcplab::Sim::CwndRowOut);
}

int tcplab_sim_write_csv(tcplab_sim *sim, const char *dir) {
  CHECK_SIM(sim, "write_csv");
  if (!dir) {
    return Fail(TCPLAB_SIM_ERR_INVAL, "write_csv: dir is NULL");
  }
  return Guard("write_csv", [&]() {
    sim->WriteCsv(dir);
    return TCPLAB_SIM_OK;
  });
}

} // extern "C"
