// zl-meshd run | leave | status: the operator's commands.
#include "plugins/zl-wg/meshd/cli.h"

#include <csignal>
#include <cstdio>
#include <ctime>

#include "libnet/core/log.h"
#include "plugins/zl-wg/meshd/agent.h"
#include "plugins/zl-wg/meshd/local.h"

namespace zl::meshd {
namespace {

constexpr const char* kUsage =
    "usage: zl-meshd run <conflist> [options]      join the mesh and keep this node in sync (foreground)\n"
    "       zl-meshd leave <conflist> [options]    remove a stopped node (default: this one) from the mesh\n"
    "       zl-meshd status <conflist> [--json]    nodes, subnets, up/down, last sync, etcd health\n"
    "options: --etcd URL[,URL…]  --node NAME  --state-dir DIR  --no-device\n";

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

struct Args {
  std::string cmd, conflist;
  Overrides o;
  AgentOptions agent;
  bool json = false;
};

bool parse_args(int argc, char** argv, Args& a) {
  if (argc < 3) return false;
  a.cmd = argv[1];
  a.conflist = argv[2];
  for (int i = 3; i < argc; i++) {
    std::string f = argv[i];
    bool has_value = i + 1 < argc;
    if (f == "--etcd" && has_value) a.o.endpoints = split(argv[++i]);
    else if (f == "--node" && has_value) a.o.node = argv[++i];
    else if (f == "--state-dir" && has_value) a.o.state_dir = argv[++i];
    else if (f == "--no-device") a.agent.device = false;
    else if (f == "--json") a.json = true;
    else return false;
  }
  return true;
}

std::string ago(int64_t t) {
  if (t == 0) return "never";
  return std::to_string(static_cast<int64_t>(::time(nullptr)) - t) + "s ago";
}

int status(const MeshConfig& cfg, bool json) {
  auto st = load_state(cfg.state_dir);
  if (!st) {
    std::fprintf(stderr, "zl-meshd: %s\n", st.error().msg.c_str());
    return 1;
  }
  if (!*st) {
    std::fprintf(stderr, "zl-meshd: no state in %s: the agent has not run here\n", cfg.state_dir.c_str());
    return 1;
  }
  const LastKnown& s = **st;
  if (json) {
    std::fputs(encode_state(s).c_str(), stdout);
    return 0;
  }
  std::string subs;
  for (const auto& n : s.subnets) subs += (subs.empty() ? "" : ", ") + n.str();
  std::printf("network %s, node %s, subnets %s\n", cfg.network.c_str(), s.node.c_str(), subs.c_str());
  std::printf("etcd: %s via %s, revision %lld, last contact %s, last sync %s%s%s\n",
              s.health.connected ? "connected" : "unreachable", s.health.endpoint.c_str(),
              static_cast<long long>(s.health.revision), ago(s.health.last_contact).c_str(),
              ago(s.health.last_sync).c_str(), s.health.last_error.empty() ? "" : ": ", s.health.last_error.c_str());
  std::printf("%-20s %-5s %-24s %s\n", "NODE", "STATE", "ENDPOINT", "SUBNETS");
  for (const auto& p : s.peers) {
    std::string ps;
    for (const auto& n : p.record.subnets) ps += (ps.empty() ? "" : ",") + n.str();
    std::printf("%-20s %-5s %-24s %s\n", p.node.c_str(), p.up ? "up" : "down",
                p.record.endpoint ? p.record.endpoint->str().c_str() : "-", ps.c_str());
  }
  for (const auto& k : s.skipped) std::printf("skipped record %s\n", k.c_str());
  return 0;
}

}  // namespace

int cli(int argc, char** argv) {
  Args a;
  if (!parse_args(argc, argv, a)) return usage();
  net::log_init("zl-meshd");
  auto cfg = load_mesh_config(a.conflist, a.o);
  if (!cfg) {
    std::fprintf(stderr, "zl-meshd: %s\n", cfg.error().msg.c_str());
    return 1;
  }
  if (a.cmd == "status") return status(*cfg, a.json);
  if (a.cmd == "leave") {
    std::string node = a.o.node.empty() ? cfg->node : a.o.node;
    if (auto s = leave(*cfg, node, a.agent); !s) {
      std::fprintf(stderr, "zl-meshd: leave %s: %s\n", node.c_str(), s.error().msg.c_str());
      return 1;
    }
    std::printf("node %s left the mesh\n", node.c_str());
    return 0;
  }
  if (a.cmd != "run") return usage();
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return run_agent(*cfg, a.agent, &g_stop);
}

}  // namespace zl::meshd
