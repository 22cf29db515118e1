// zl-wg pubkey | show | sync: the operator's view of the node's mesh.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "libcni/conf.h"
#include "libcni/conflist.h"
#include "libcni/env.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libnet/core/names.h"
#include "plugins/zl-wg/mesh.h"
#include "plugins/zl-wg/names.h"
#include "plugins/zl-wg/wg.h"

namespace zl::wg {
namespace {

constexpr const char* kUsage =
    "usage: zl-wg pubkey <network | conflist>   print the node's public key (creates the key if absent)\n"
    "       zl-wg show [<interface>] [--json]     peers, endpoints, handshakes, transfer\n"
    "       zl-wg sync [--dry-run] <conflist>    reconcile the mesh from a conflist, without a pod\n"
    "                                            (--dry-run: print the plan, change nothing)\n";

// stdio, not iostreams: iostream's static initialisation is a measurable share of a
// plugin exec under emulation, and this binary is also the CNI plugin.
void out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

int fail_msg(const std::string& m) {
  std::fprintf(stderr, "zl-wg: %s\n", m.c_str());
  return 1;
}

struct Loaded {
  cni::NetConf conf;   // the zl-wg plugin's config as a runtime would pass it
  std::string bridge;  // zl-bridge's bridge in the same conflist, if any
};

// The zl-wg plugin of a conflist, as a runtime would hand it to the plugin.
Result<Loaded> load_conflist(const std::string& path) {
  auto list = cni::load_conflist(path);
  if (!list) return std::move(list).error();
  auto wg = list->plugin("zl-wg");
  if (!wg) return std::move(wg).error();
  Loaded out{.conf = std::move(*wg), .bridge = {}};
  if (auto br = list->plugin("zl-bridge")) {
    auto name = cni::get_string(br->root(), "bridge", "bridge");
    out.bridge = name && *name ? **name : net::bridge_name(list->name);
  }
  return out;
}

int cmd_pubkey(const std::string& arg) {
  std::string key_file;
  if (arg.find('/') != std::string::npos || arg.ends_with(".conflist")) {
    // Only the key's location matters here: peers may not be known yet.
    auto l = load_conflist(arg);
    if (!l) return fail_msg(l.error().msg);
    auto kf = cni::get_path(l->conf.root(), "privateKeyFile", "privateKeyFile", default_key_file(l->conf.name));
    if (!kf) return fail_msg(kf.error().msg);
    key_file = std::move(*kf);
  } else {
    if (!cni::valid_identifier(arg)) return fail_msg("network name \"" + arg + "\" is not valid");
    key_file = default_key_file(arg);
  }
  auto k = net::load_or_create_key(key_file);
  if (!k) return fail_msg(k.error().msg);
  out(net::key_to_base64(k->public_key()) + "\n");
  return 0;
}

int cmd_sync(const std::string& path, bool dry_run) {
  auto l = load_conflist(path);
  if (!l) return fail_msg(l.error().msg);
  auto config = parse_config(l->conf);
  if (!config) return fail_msg(config.error().msg);
  std::vector<net::IpAddr> prefsrc = gateway_addrs(l->bridge);
  auto rep = reconcile(*config, prefsrc, dry_run ? Mode::kCheck : Mode::kApply);
  if (!rep) return fail_msg(rep.error().msg);
  if (dry_run) {
    std::string o;
    for (const auto& line : rep->changes) o += line + "\n";
    out(o.empty() ? config->ifname + ": in sync, nothing to do\n" : o);
    return 0;
  }
  out(config->ifname + " (" + rep->backend + "): peers added " + std::to_string(rep->peers_added) + ", updated " +
      std::to_string(rep->peers_updated) + ", removed " + std::to_string(rep->peers_removed) + "; routes added " +
      std::to_string(rep->routes_added) + ", removed " + std::to_string(rep->routes_removed) +
      (rep->set_messages ? "" : "; device unchanged") + "\n");
  return 0;
}

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string ago(int64_t sec) {
  if (sec == 0) return "never";
  int64_t d = static_cast<int64_t>(std::time(nullptr)) - sec;
  if (d < 0) d = 0;
  return std::to_string(d) + (d == 1 ? " second ago" : " seconds ago");
}

// The names zl-meshd wrote for a device's peers. A missing file: none; a bad one: none, and
// one warning line (show still works without them).
std::map<net::Key, PeerName> names_of(const std::string& ifname) {
  std::map<net::Key, PeerName> out;
  auto names = read_peer_names(ifname);
  if (!names) {
    std::fprintf(stderr, "zl-wg: warning: peer names not shown: %s\n", cni::printable(names.error().msg).c_str());
    return out;
  }
  for (auto& n : *names) out[n.public_key] = std::move(n);
  return out;
}

using Names = std::map<std::string, std::map<net::Key, PeerName>>;  // per device

// One peer of --json; `dn` its device's names.
void write_peer(cni::JWriter& w, const net::wg::Peer& p, const std::map<net::Key, PeerName>& dn) {
  w.StartObject();
  w.Key("publicKey");
  w.String(net::key_to_base64(p.public_key));
  w.Key("endpoint");
  if (p.endpoint) {
    w.String(p.endpoint->str());
  } else {
    w.Null();
  }
  w.Key("allowedIPs");
  w.StartArray();
  for (const auto& a : p.allowed_ips) w.String(a.str());
  w.EndArray();
  w.Key("latestHandshake");
  w.Int64(p.handshake_sec);
  w.Key("rxBytes");
  w.Uint64(p.rx_bytes);
  w.Key("txBytes");
  w.Uint64(p.tx_bytes);
  w.Key("persistentKeepalive");
  w.Uint(p.keepalive);
  auto n = dn.find(p.public_key);
  w.Key("node");
  if (n != dn.end()) {
    w.String(n->second.node);
  } else {
    w.Null();
  }
  w.Key("up");
  if (n != dn.end()) {
    w.Bool(n->second.up);
  } else {
    w.Null();
  }
  w.EndObject();
}

// The --json form; "node" and "up" are null for peers the names file does not name.
std::string show_json(const std::vector<net::wg::Device>& devices, Names& names) {
  rapidjson::StringBuffer sb;
  cni::JWriter w(sb);
  w.StartObject();
  w.Key("interfaces");
  w.StartArray();
  for (const auto& d : devices) {
    w.StartObject();
    w.Key("name");
    w.String(d.name);
    w.Key("publicKey");
    w.String(d.public_key ? net::key_to_base64(*d.public_key) : "");
    w.Key("listenPort");
    w.Uint(d.listen_port);
    w.Key("fwmark");
    w.Uint(d.fwmark);
    w.Key("peers");
    w.StartArray();
    for (const auto& p : d.peers) write_peer(w, p, names[d.name]);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string show_text(const std::vector<net::wg::Device>& devices, Names& names) {
  std::string o;
  for (const auto& d : devices) {
    if (!o.empty()) o += "\n";
    o += "interface: " + d.name + "\n";
    if (d.public_key) o += "  public key: " + net::key_to_base64(*d.public_key) + "\n";
    if (d.listen_port) o += "  listening port: " + std::to_string(d.listen_port) + "\n";
    if (d.fwmark) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%x", d.fwmark);
      o += std::string("  fwmark: ") + hex + "\n";
    }
    for (const auto& p : d.peers) {
      o += "\npeer: " + net::key_to_base64(p.public_key) + "\n";
      const auto& dn = names[d.name];
      if (auto n = dn.find(p.public_key); n != dn.end()) {
        o += "  node: " + n->second.node + (n->second.up ? " (up)" : " (down)") + "\n";
      }
      if (p.preshared_key) o += "  preshared key: (hidden)\n";
      if (p.endpoint) o += "  endpoint: " + p.endpoint->str() + "\n";
      o += "  allowed ips: ";
      if (p.allowed_ips.empty()) o += "(none)";
      for (size_t i = 0; i < p.allowed_ips.size(); ++i) o += (i ? ", " : "") + p.allowed_ips[i].str();
      o += "\n  latest handshake: " + ago(p.handshake_sec) + "\n";
      o += "  transfer: " + human_bytes(p.rx_bytes) + " received, " + human_bytes(p.tx_bytes) + " sent\n";
      if (p.keepalive) o += "  persistent keepalive: every " + std::to_string(p.keepalive) + " seconds\n";
    }
  }
  return o;
}

int cmd_show(const std::string& only, bool json) {
  auto rtnl = net::NlSock::open();
  if (!rtnl) return fail_msg(rtnl.error().msg);
  auto links = net::link_list(*rtnl);
  if (!links) return fail_msg(links.error().msg);
  std::vector<net::wg::Device> devices;
  for (const auto& l : *links) {
    if (!only.empty() && l.name != only) continue;
    Result<std::unique_ptr<net::wg::Backend>> b = Error{};
    if (l.kind == "wireguard") {
      b = net::wg::open_kernel();
    } else if (struct stat st{}; l.kind == "tun" && ::stat(("/var/run/wireguard/" + l.name + ".sock").c_str(), &st) == 0) {
      b = net::wg::open_userspace();
    } else {
      continue;
    }
    if (!b) return fail_msg(b.error().msg);
    auto d = (*b)->get(l.name);
    if (!d) return fail_msg(d.error().msg);
    d->name = l.name;
    devices.push_back(std::move(*d));
  }
  if (!only.empty() && devices.empty()) return fail_msg("no WireGuard interface \"" + only + "\"");
  Names names;
  for (const auto& d : devices) names[d.name] = names_of(d.name);
  out(json ? show_json(devices, names) : show_text(devices, names));
  return 0;
}

}  // namespace

int cli(int argc, char** argv) {
  std::string cmd = argv[1];
  if (cmd == "pubkey" && argc == 3) return cmd_pubkey(argv[2]);
  if (cmd == "sync" && argc == 3) return cmd_sync(argv[2], false);
  if (cmd == "sync" && argc == 4 && std::string_view(argv[2]) == "--dry-run") return cmd_sync(argv[3], true);
  if (cmd == "show" && argc <= 4) {
    std::string only;
    bool json = false;
    for (int i = 2; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--json") {
        json = true;
      } else if (only.empty() && a[0] != '-') {
        only = a;
      } else {
        std::fputs(kUsage, stderr);
        return 2;
      }
    }
    return cmd_show(only, json);
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace zl::wg
