#include "plugins/zl-wg/meshd/local.h"

#include <cerrno>

#include "libcni/errors.h"
#include "libcni/json.h"
#include "libnet/core/file.h"

namespace zl::meshd {

using cni::JVal;
using cni::JWriter;

namespace {

void write_peer(JWriter& w, const MeshPeer& p, bool full) {
  w.StartObject();
  if (full) cni::write_key_string(w, "node", p.node);
  cni::write_key_string(w, "publicKey", net::key_to_base64(p.record.public_key));
  if (p.record.endpoint) cni::write_key_string(w, "endpoint", p.record.endpoint->str());
  w.Key(full ? "subnets" : "allowedIPs");  // the state keeps the node record's names
  w.StartArray();
  for (const auto& s : p.record.subnets) w.String(s.str().c_str());
  w.EndArray();
  if (p.record.keepalive) {
    w.Key("persistentKeepalive");
    w.Int(p.record.keepalive);
  }
  if (p.record.behind_nat) {
    w.Key("behindNAT");
    w.Bool(true);
  }
  if (full) {
    w.Key("up");
    w.Bool(p.up);
  }
  w.EndObject();
}

void write_health(JWriter& w, const Health& h) {
  w.Key("etcd");
  w.StartObject();
  cni::write_key_string(w, "endpoint", h.endpoint);
  w.Key("connected");
  w.Bool(h.connected);
  w.Key("lastContact");
  w.Int64(h.last_contact);
  w.Key("lastSync");
  w.Int64(h.last_sync);
  w.Key("revision");
  w.Int64(h.revision);
  w.Key("requests");
  w.Uint64(h.requests);
  cni::write_key_string(w, "lastError", h.last_error);
  w.EndObject();
}

Result<MeshPeer> read_peer(const JVal& v) {
  if (!v.IsObject()) return cni::fail(cni::kErrDecode, "peers: expected objects");
  MeshPeer p;
  auto node = cni::get_string(v, "node", "node");
  if (!node || !*node) return cni::fail(cni::kErrDecode, "peers: no node");
  p.node = **node;
  auto up = cni::get_bool(v, "up", "up");
  p.up = up && up->value_or(false);
  auto r = decode_node(cni::to_json(v));
  if (!r) return std::move(r).error();
  p.record = std::move(*r);
  return p;
}

}  // namespace

std::string state_file(const std::string& state_dir) { return state_dir + "/state.json"; }
std::string instance_lock_file(const std::string& state_dir) { return state_dir + "/agent.lock"; }

Result<std::optional<net::FileLock>> lock_instance(const std::string& state_dir) {
  if (auto s = net::make_dirs(state_dir, 0700); !s) return std::move(s).error();
  return net::FileLock::try_acquire(instance_lock_file(state_dir));
}

std::string peers_json(const std::vector<MeshPeer>& peers) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("peers");
  w.StartArray();
  for (const auto& p : peers) write_peer(w, p, false);
  w.EndArray();
  w.EndObject();
  return cni::buffer_text(sb) + "\n";
}

std::string encode_state(const LastKnown& s) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  cni::write_key_string(w, "node", s.node);
  cni::write_key_string(w, "publicKey", net::key_to_base64(s.public_key));
  w.Key("subnets");
  w.StartArray();
  for (const auto& n : s.subnets) w.String(n.str().c_str());
  w.EndArray();
  w.Key("peers");
  w.StartArray();
  for (const auto& p : s.peers) write_peer(w, p, true);
  w.EndArray();
  write_health(w, s.health);
  w.Key("skipped");
  w.StartArray();
  for (const auto& k : s.skipped) w.String(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
  w.EndArray();
  w.EndObject();
  return cni::buffer_text(sb) + "\n";
}

Result<LastKnown> decode_state(const std::string& text) {
  auto doc = cni::parse_json(text, "state");
  if (!doc) return std::move(doc).error();
  const JVal& o = **doc;
  if (!o.IsObject()) return cni::fail(cni::kErrDecode, "state: not an object");
  LastKnown s;
  auto node = cni::get_string(o, "node", "node");
  if (!node || !*node) return cni::fail(cni::kErrDecode, "state: no node");
  s.node = **node;
  auto key = cni::get_string(o, "publicKey", "publicKey");
  auto k = key && *key ? net::key_from_base64(**key) : Result<net::Key>(cni::fail(cni::kErrDecode, "no key"));
  if (!k) return cni::fail(cni::kErrDecode, "state: publicKey: " + k.error().msg);
  s.public_key = *k;
  auto subs = cni::get_array(o, "subnets", "subnets");
  if (!subs) return std::move(subs).error();
  if (*subs) {
    for (const auto& v : (*subs)->GetArray()) {
      auto n = v.IsString() ? net::IpNet::parse(v.GetString()) : std::nullopt;
      if (!n) return cni::fail(cni::kErrDecode, "state: subnets: " + cni::json_snippet(v));
      s.subnets.push_back(*n);
    }
  }
  auto peers = cni::get_array(o, "peers", "peers");
  if (!peers) return std::move(peers).error();
  if (*peers) {
    for (const auto& v : (*peers)->GetArray()) {
      auto p = read_peer(v);
      if (!p) return p.error().wrap("state");
      s.peers.push_back(std::move(*p));
    }
  }
  auto skipped = cni::get_array(o, "skipped", "skipped");
  if (skipped && *skipped) {
    for (const auto& v : (*skipped)->GetArray()) {
      if (v.IsString()) s.skipped.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  if (const JVal* e = cni::member(o, "etcd"); e && e->IsObject()) {
    auto ep = cni::get_string(*e, "endpoint", "endpoint");
    if (ep && *ep) s.health.endpoint = **ep;
    auto c = cni::get_bool(*e, "connected", "connected");
    s.health.connected = c && c->value_or(false);
    for (auto [name, dst] : {std::pair{"lastContact", &s.health.last_contact}, {"lastSync", &s.health.last_sync},
                          {"revision", &s.health.revision}}) {
      auto n = cni::get_int(*e, name, name, 0, INT64_MAX);
      if (n && *n) *dst = **n;
    }
    auto req = cni::get_int(*e, "requests", "requests", 0, INT64_MAX);
    if (req && *req) s.health.requests = static_cast<uint64_t>(**req);
    auto le = cni::get_string(*e, "lastError", "lastError");
    if (le && *le) s.health.last_error = **le;
  }
  return s;
}

Result<std::optional<LastKnown>> load_state(const std::string& state_dir) {
  auto text = net::read_file(state_file(state_dir), {.follow_symlink = false, .must_own = true, .forbidden_mode = 022});
  if (!text) {
    if (text.error().sys == ENOENT) return std::optional<LastKnown>();
    return std::move(text).error();
  }
  auto s = decode_state(*text);
  if (!s) return s.error().wrap(state_file(state_dir));
  return std::optional<LastKnown>(std::move(*s));
}

Status save_state(const std::string& state_dir, const LastKnown& s) {
  auto w = write_if_changed(state_file(state_dir), encode_state(s));
  if (!w) return std::move(w).error();
  return {};
}

Result<bool> write_if_changed(const std::string& path, const std::string& text) {
  auto old = net::read_file(path, {.follow_symlink = false});
  if (old && *old == text) return false;
  if (auto s = net::make_dirs(net::dir_of(path), 0755); !s) return std::move(s).error();
  if (auto s = net::write_file_atomic(path, text, 0600); !s) return std::move(s).error();
  return true;
}

}  // namespace zl::meshd
