#include "plugins/zl-wg/meshd/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "libcni/conflist.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "plugins/zl-wg/meshd/records.h"

namespace zl::meshd {

using cni::fail;
using cni::JVal;
using cni::kErrInvalidConfig;

namespace {

constexpr std::array kMeshKeys{"etcd", "prefix", "node", "clusterCIDR", "subnetLength", "clusterCIDRv6",
                               "subnetLengthV6", "endpoint", "behindNAT", "persistentKeepalive", "leaseTTL",
                               "keepaliveInterval", "resyncInterval", "nodeGC", "stateDir"};
constexpr std::array kEtcdKeys{"endpoints", "caFile", "certFile", "keyFile", "user", "passwordFile"};

template <size_t N>
Status known_keys(const JVal& obj, const std::array<const char*, N>& keys, const std::string& path) {
  for (const auto& m : obj.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      return fail(kErrInvalidConfig, path + ": unknown key \"" + cni::printable(k) + "\"");
    }
  }
  return {};
}

Result<std::string> opt_path(const JVal& obj, const char* key, const std::string& path) {
  auto s = cni::get_string(obj, key, path + "." + key);
  if (!s) return std::move(s).error();
  if (!*s) return std::string();
  if (auto v = cni::validate_path(**s, path + "." + key); !v) return std::move(v).error();
  return **s;
}

Status parse_etcd(const JVal& e, EtcdOptions& o) {
  if (auto s = known_keys(e, kEtcdKeys, "mesh.etcd"); !s) return s;
  auto eps = cni::get_array(e, "endpoints", "mesh.etcd.endpoints");
  if (!eps) return std::move(eps).error();
  if (*eps) {
    for (const auto& v : (*eps)->GetArray()) {
      std::string s = v.IsString() ? v.GetString() : "";
      if (!s.starts_with("http://") && !s.starts_with("https://")) {
        return fail(kErrInvalidConfig, "mesh.etcd.endpoints: " + cni::json_snippet(v) + " is not an http(s):// URL");
      }
      o.endpoints.push_back(s);
    }
  }
  for (auto [key, dst] : {std::pair{"caFile", &o.ca_file}, {"certFile", &o.cert_file}, {"keyFile", &o.key_file}}) {
    auto p = opt_path(e, key, "mesh.etcd");
    if (!p) return std::move(p).error();
    *dst = *p;
  }
  auto user = cni::get_string(e, "user", "mesh.etcd.user");
  if (!user) return std::move(user).error();
  o.user = user->value_or("");
  auto pwf = opt_path(e, "passwordFile", "mesh.etcd");
  if (!pwf) return std::move(pwf).error();
  if (!pwf->empty()) {
    auto pw = net::read_file(*pwf, {.follow_symlink = false, .must_own = true, .forbidden_mode = 077}, 4096);
    if (!pw) return fail(kErrInvalidConfig, "mesh.etcd.passwordFile: " + pw.error().msg);
    while (!pw->empty() && (pw->back() == '\n' || pw->back() == '\r')) pw->pop_back();
    o.password = std::move(*pw);
  }
  return {};
}

Result<net::IpNet> pod_space(const JVal& m, const char* key, int family) {
  auto s = cni::get_string(m, key, std::string("mesh.") + key);
  if (!s) return std::move(s).error();
  if (!*s) return fail(kErrInvalidConfig, std::string("mesh.") + key + ": missing");
  auto n = net::IpNet::parse(**s);
  if (!n || n->addr.family != family || n->masked() != *n) {
    return fail(kErrInvalidConfig, std::string("mesh.") + key + " \"" + cni::printable(**s) + "\": not an " +
                                       (family == AF_INET ? "IPv4" : "IPv6") + " prefix");
  }
  return *n;
}

Status parse_timers(const JVal& m, MeshConfig& out) {
  struct Num { const char* key; int* dst; int64_t min, max; };
  for (const Num& n : {Num{"persistentKeepalive", &out.keepalive, 0, 65535}, Num{"leaseTTL", &out.lease_ttl, 5, 3600},
                       Num{"keepaliveInterval", &out.keepalive_interval, 1, 1200},
                       Num{"resyncInterval", &out.resync_interval, 10, 86400},
                       Num{"nodeGC", &out.node_gc, 0, 365 * 86400}}) {
    auto v = cni::get_int(m, n.key, std::string("mesh.") + n.key, n.min, n.max);
    if (!v) return std::move(v).error();
    if (*v) *n.dst = static_cast<int>(**v);
  }
  if (out.keepalive_interval * 2 > out.lease_ttl) {
    return fail(kErrInvalidConfig, "mesh.keepaliveInterval " + std::to_string(out.keepalive_interval) +
                                       ": must be at most half of leaseTTL " + std::to_string(out.lease_ttl));
  }
  return {};
}

Status parse_spaces(const JVal& m, MeshConfig& out) {
  auto v4 = pod_space(m, "clusterCIDR", AF_INET);
  if (!v4) return std::move(v4).error();
  out.cluster_cidr = *v4;
  auto len = subnet_length(m, "subnetLength", "mesh.subnetLength", out.cluster_cidr);
  if (!len) return std::move(len).error();
  out.subnet_len = *len;
  if (cni::member(m, "clusterCIDRv6")) {
    auto v6 = pod_space(m, "clusterCIDRv6", AF_INET6);
    if (!v6) return std::move(v6).error();
    out.cluster_cidr6 = *v6;
    auto l6 = subnet_length(m, "subnetLengthV6", "mesh.subnetLengthV6", *v6);
    if (!l6) return std::move(l6).error();
    out.subnet_len6 = *l6;
  }
  return {};
}

}  // namespace

Status parse_mesh_object(const JVal& m, MeshConfig& out) {
  if (!m.IsObject()) return fail(kErrInvalidConfig, "mesh: expected an object, got " + cni::json_snippet(m));
  if (auto s = known_keys(m, kMeshKeys, "mesh"); !s) return s;
  auto etcd = cni::get_object(m, "etcd", "mesh.etcd");
  if (!etcd) return std::move(etcd).error();
  if (!*etcd) return fail(kErrInvalidConfig, "mesh.etcd: missing");
  if (auto s = parse_etcd(**etcd, out.etcd); !s) return s;
  if (auto s = parse_spaces(m, out); !s) return s;
  if (auto s = parse_timers(m, out); !s) return s;
  auto prefix = cni::get_string(m, "prefix", "mesh.prefix");
  if (!prefix) return std::move(prefix).error();
  out.prefix = prefix->value_or("/zl-cni/v1/" + out.network + "/");
  if (out.prefix.empty() || out.prefix.back() != '/') {
    return fail(kErrInvalidConfig, "mesh.prefix \"" + cni::printable(out.prefix) + "\": must end in /");
  }
  auto node = cni::get_string(m, "node", "mesh.node");
  if (!node) return std::move(node).error();
  if (*node) out.node = **node;
  auto ep = cni::get_string(m, "endpoint", "mesh.endpoint");
  if (!ep) return std::move(ep).error();
  if (*ep) {
    auto e = wg::parse_endpoint(**ep, "mesh.endpoint", false);
    if (!e) return std::move(e).error();
    out.endpoint = *e;
  }
  auto nat = cni::get_bool(m, "behindNAT", "mesh.behindNAT");
  if (!nat) return std::move(nat).error();
  out.behind_nat = nat->value_or(false);
  auto sd = cni::get_path(m, "stateDir", "mesh.stateDir", "/var/lib/zl-cni/mesh/" + out.network);
  if (!sd) return std::move(sd).error();
  out.state_dir = *sd;
  return {};
}

namespace {

// zl-ipam's subnetFile paths in zl-bridge's IPAM ranges, in order.
Result<std::vector<std::string>> subnet_files(const cni::NetConf& bridge) {
  std::vector<std::string> out;
  if (!bridge.ipam) return out;
  const JVal* ranges = cni::member(*bridge.ipam, "ranges");
  if (!ranges || !ranges->IsArray()) return out;
  for (const auto& set : ranges->GetArray()) {
    if (!set.IsArray()) continue;
    for (const auto& r : set.GetArray()) {
      if (!r.IsObject()) continue;
      auto f = cni::get_string(r, "subnetFile", "ipam.ranges.subnetFile");
      if (!f) return std::move(f).error();
      if (*f) out.push_back(**f);
    }
  }
  return out;
}

Status take_bridge(const cni::Conflist& cl, MeshConfig& out) {
  auto br = cl.plugin("zl-bridge");
  if (!br) return {};  // a mesh without local pods (a gateway node) is fine
  auto name = cni::get_string(br->root(), "bridge", "bridge");
  if (!name) return std::move(name).error();
  out.bridge = name->value_or("");
  auto files = subnet_files(*br);
  if (!files) return std::move(files).error();
  out.subnet_files = std::move(*files);
  if (out.subnet_files.size() > (out.cluster_cidr6 ? 2u : 1u)) {
    return fail(kErrInvalidConfig, cl.path + ": more subnetFile ranges than pod spaces (IPv4 first, then IPv6)");
  }
  return {};
}

}  // namespace

Result<MeshConfig> load_mesh_config(const std::string& path, const Overrides& o) {
  auto cl = cni::load_conflist(path);
  if (!cl) return std::move(cl).error();
  auto wgc = cl->plugin("zl-wg");
  if (!wgc) return std::move(wgc).error();
  MeshConfig out;
  out.network = cl->name;
  const JVal* mesh = cni::member(wgc->root(), "mesh");
  if (!mesh) return fail(kErrInvalidConfig, path + ": the zl-wg plugin has no \"mesh\" object");
  if (auto s = parse_mesh_object(*mesh, out); !s) return std::move(s).error().wrap(path);
  if (!o.endpoints.empty()) out.etcd.endpoints = o.endpoints;
  if (out.etcd.endpoints.empty()) return fail(kErrInvalidConfig, path + ": mesh.etcd.endpoints: none given");
  if (!o.node.empty()) out.node = o.node;
  if (out.node.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) out.node = host;
  }
  if (!valid_node_name(out.node)) {
    return fail(kErrInvalidConfig, "node name \"" + cni::printable(out.node) + "\": 1-63 of [A-Za-z0-9._-]");
  }
  if (!o.state_dir.empty()) out.state_dir = o.state_dir;
  if (auto s = take_bridge(*cl, out); !s) return std::move(s).error();
  // The device settings, without reading the peers file: the agent is the one who writes it.
  auto device_only = wg::parse_device_config(*wgc);
  if (!device_only) return std::move(device_only).error();
  out.wg = std::move(*device_only);
  if (out.wg.peers_file.empty()) return fail(kErrInvalidConfig, path + ": zl-wg needs a peersFile for zl-meshd to write");
  out.wg_conf = wgc->raw;
  return out;
}

}  // namespace zl::meshd
