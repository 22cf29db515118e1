#include "plugins/zl-wg/meshd/records.h"

#include <algorithm>

#include "libcni/errors.h"
#include "libcni/json.h"
#include "libnet/core/names.h"
#include "plugins/zl-wg/config.h"

namespace zl::meshd {

using cni::JVal;
using cni::JWriter;

namespace {

Error bad(const std::string& why) { return Error::make(cni::kErrInvalidConfig, why); }

Result<std::unique_ptr<rapidjson::Document>> parse_record(const std::string& value, const char* what) {
  if (value.size() > kMaxRecordBytes) return bad(std::string(what) + ": " + std::to_string(value.size()) + " bytes");
  auto doc = cni::parse_json(value, what);
  if (!doc) return std::move(doc).error();
  if (!(*doc)->IsObject()) return bad(std::string(what) + ": not an object");
  return doc;
}

Result<net::Key> get_key(const JVal& o, const char* what) {
  auto s = cni::get_string(o, "publicKey", std::string(what) + ".publicKey");
  if (!s) return std::move(s).error();
  if (!*s) return bad(std::string(what) + ": no publicKey");
  auto k = net::key_from_base64(**s);
  if (!k) return bad(std::string(what) + ".publicKey: " + k.error().msg);
  return *k;
}

Result<net::IpNet> get_prefix(const JVal& o, const char* key) {
  auto s = cni::get_string(o, key, key);
  if (!s) return std::move(s).error();
  auto n = *s ? net::IpNet::parse(**s) : std::nullopt;
  if (!n || n->masked() != *n) return bad(std::string(key) + ": not a prefix");
  return *n;
}

}  // namespace

std::string encode(const ClusterRecord& r) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  cni::write_key_string(w, "clusterCIDR", r.cidr.str());
  w.Key("subnetLength");
  w.Int(r.len);
  if (r.cidr6) {
    cni::write_key_string(w, "clusterCIDRv6", r.cidr6->str());
    w.Key("subnetLengthV6");
    w.Int(r.len6);
  }
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string encode(const SubnetRecord& r) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  cni::write_key_string(w, "node", r.node);
  cni::write_key_string(w, "publicKey", net::key_to_base64(r.public_key));
  w.EndObject();
  return cni::buffer_text(sb);
}

std::string encode(const NodeRecord& r) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  cni::write_key_string(w, "publicKey", net::key_to_base64(r.public_key));
  if (r.endpoint) cni::write_key_string(w, "endpoint", r.endpoint->str());
  w.Key("subnets");
  w.StartArray();
  for (const auto& s : r.subnets) w.String(s.str().c_str());
  w.EndArray();
  w.Key("persistentKeepalive");
  w.Int(r.keepalive);
  w.Key("behindNAT");
  w.Bool(r.behind_nat);
  w.EndObject();
  return cni::buffer_text(sb);
}

Result<int> subnet_length(const JVal& obj, std::string_view key, std::string_view path, const net::IpNet& space) {
  const bool v4 = space.addr.is_v4();
  auto len = cni::get_int(obj, key, path, space.len, v4 ? 30 : 120);
  if (!len) return std::move(len).error();
  return static_cast<int>(len->value_or(std::max(v4 ? 24 : 64, space.len)));
}

Result<ClusterRecord> decode_cluster(const std::string& value) {
  auto doc = parse_record(value, "config");
  if (!doc) return std::move(doc).error();
  const JVal& o = **doc;
  ClusterRecord r;
  auto c4 = get_prefix(o, "clusterCIDR");
  if (!c4) return std::move(c4).error();
  if (!c4->addr.is_v4()) return bad("clusterCIDR: not IPv4");
  r.cidr = *c4;
  auto len = subnet_length(o, "subnetLength", "subnetLength", r.cidr);
  if (!len) return std::move(len).error();
  r.len = *len;
  if (cni::member(o, "clusterCIDRv6")) {
    auto c6 = get_prefix(o, "clusterCIDRv6");
    if (!c6) return std::move(c6).error();
    if (c6->addr.is_v4()) return bad("clusterCIDRv6: not IPv6");
    r.cidr6 = *c6;
    auto l6 = subnet_length(o, "subnetLengthV6", "subnetLengthV6", *c6);
    if (!l6) return std::move(l6).error();
    r.len6 = *l6;
  }
  return r;
}

Result<SubnetRecord> decode_subnet(const std::string& value) {
  auto doc = parse_record(value, "subnet");
  if (!doc) return std::move(doc).error();
  SubnetRecord r;
  auto node = cni::get_string(**doc, "node", "node");
  if (!node) return std::move(node).error();
  if (!*node || (*node)->empty()) return bad("subnet: no node");
  r.node = **node;
  auto k = get_key(**doc, "subnet");
  if (!k) return std::move(k).error();
  r.public_key = *k;
  return r;
}

Result<NodeRecord> decode_node(const std::string& value) {
  auto doc = parse_record(value, "node");
  if (!doc) return std::move(doc).error();
  const JVal& o = **doc;
  NodeRecord r;
  auto k = get_key(o, "node");
  if (!k) return std::move(k).error();
  r.public_key = *k;
  auto ep = cni::get_string(o, "endpoint", "endpoint");
  if (!ep) return std::move(ep).error();
  if (*ep) {
    auto e = wg::parse_endpoint(**ep, "endpoint", false);  // records never make us resolve names
    if (!e) return std::move(e).error();
    r.endpoint = *e;
  }
  auto subs = cni::get_array(o, "subnets", "subnets");
  if (!subs) return std::move(subs).error();
  if (*subs) {
    for (const auto& s : (*subs)->GetArray()) {
      auto n = s.IsString() ? net::IpNet::parse(s.GetString()) : std::nullopt;
      if (!n || n->masked() != *n) return bad("subnets: " + cni::json_snippet(s) + " is not a prefix");
      r.subnets.push_back(*n);
    }
  }
  auto ka = cni::get_int(o, "persistentKeepalive", "persistentKeepalive", 0, 65535);
  if (!ka) return std::move(ka).error();
  r.keepalive = static_cast<int>(ka->value_or(0));
  auto nat = cni::get_bool(o, "behindNAT", "behindNAT");
  if (!nat) return std::move(nat).error();
  r.behind_nat = nat->value_or(false);
  return r;
}

namespace {

// The space a subnet of this family must come from, and its length.
bool in_space(const ClusterRecord& c, const net::IpNet& n) {
  if (n.addr.is_v4()) return n.len == c.len && c.cidr.contains(n.addr);
  return c.cidr6 && n.len == c.len6 && c.cidr6->contains(n.addr);
}

void take_subnets(const Keys& keys, const Self& self, const std::map<std::string, KeyValue>& kvs, View& v) {
  std::string p = keys.subnets();
  for (auto it = kvs.lower_bound(p); it != kvs.end() && it->first.starts_with(p); ++it) {
    std::string cidr = it->first.substr(p.size());
    auto n = net::IpNet::parse(cidr);
    if (!n || n->masked() != *n || n->str() != cidr || !in_space(self.cluster, *n)) {
      v.skipped.push_back("subnets/" + cni::printable(cidr, 64) + ": not a subnet of the cluster's pod space");
      continue;
    }
    auto r = decode_subnet(it->second.value);
    if (!r) {
      v.skipped.push_back("subnets/" + cidr + ": " + r.error().msg);
      continue;
    }
    v.subnets.emplace(cidr, std::move(*r));
  }
}

// A node record whose subnets are all owned by it (name and key): sound.
std::optional<std::string> check_node(const View& v, const std::string& name, const NodeRecord& r) {
  for (const auto& s : r.subnets) {
    auto it = v.subnets.find(s.str());
    if (it == v.subnets.end()) return "subnet " + s.str() + " is not claimed";
    if (it->second.node != name || it->second.public_key != r.public_key) {
      return "subnet " + s.str() + " belongs to " + cni::printable(it->second.node, 64);
    }
  }
  return std::nullopt;
}

}  // namespace

bool valid_node_name(const std::string& n) {
  if (n.empty() || n.size() > 63) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

View build_view(const Keys& keys, const Self& self, const std::map<std::string, KeyValue>& kvs) {
  View v;
  take_subnets(keys, self, kvs, v);
  std::string np = keys.nodes(), ap = keys.alive();
  std::map<net::Key, std::string> by_key;
  for (auto it = kvs.lower_bound(np); it != kvs.end() && it->first.starts_with(np); ++it) {
    std::string name = it->first.substr(np.size());
    std::string what = "nodes/" + cni::printable(name, 64);
    if (!valid_node_name(name)) {
      v.skipped.push_back(what + ": not a node name");
      continue;
    }
    auto r = decode_node(it->second.value);
    if (!r) {
      v.skipped.push_back(what + ": " + r.error().msg);
      continue;
    }
    if (name != self.node && r->public_key == self.public_key) {
      v.skipped.push_back(what + ": claims this node's public key");
      continue;
    }
    if (auto why = check_node(v, name, *r)) {
      v.skipped.push_back(what + ": " + *why);
      continue;
    }
    if (auto [at, fresh] = by_key.emplace(r->public_key, name); !fresh) {
      v.skipped.push_back(what + ": same public key as " + at->second);
      continue;
    }
    v.nodes.emplace(name, std::move(*r));
  }
  for (auto it = kvs.lower_bound(ap); it != kvs.end() && it->first.starts_with(ap); ++it) {
    v.alive.insert(it->first.substr(ap.size()));
  }
  return v;
}

std::vector<MeshPeer> peers_of(const View& v, const Self& self) {
  std::vector<MeshPeer> out;
  for (const auto& [name, r] : v.nodes) {
    if (name == self.node) continue;
    out.push_back(MeshPeer{.node = name, .record = r, .up = v.alive.count(name) > 0});
  }
  return out;
}

std::optional<net::IpNet> pick_free(const net::IpNet& space, int len, const std::set<std::string>& taken,
                                    const std::string& node) {
  int bits = len - space.len;
  if (bits < 0 || bits > 62) return std::nullopt;
  uint64_t count = uint64_t{1} << bits;
  uint64_t start = net::stable_hash(node) % count;
  int shift = space.addr.bits() - len;
  net::u128 base = space.network().to_u128();
  // Far more subnets than nodes in any real mesh: probing from the hash finds one at once.
  for (uint64_t i = 0; i < count && i < (uint64_t{1} << 20); i++) {
    uint64_t idx = (start + i) % count;
    net::IpNet n{net::IpAddr::from_u128(space.addr.family, base + (static_cast<net::u128>(idx) << shift)), len};
    if (!taken.count(n.str())) return n;
  }
  return std::nullopt;
}

}  // namespace zl::meshd
