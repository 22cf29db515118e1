#include "plugins/zl-ipam/store.h"

#include "libcni/errors.h"
#include "libcni/json.h"

namespace zl::ipam {

using cni::fail;
using cni::kErrDecode;

Result<State> parse_state(std::string_view text, const std::string& what) {
  auto doc = cni::parse_json(text, what);
  if (!doc) return std::move(doc).error();
  const cni::JVal& root = **doc;
  auto bad = [&](const std::string& why) { return fail(kErrDecode, what + ": " + why); };
  if (!root.IsObject()) return bad("not an object");
  State s;
  if (auto* lr = cni::member(root, "lastReserved")) {
    if (!lr->IsArray()) return bad("lastReserved is not a list");
    for (const auto& e : lr->GetArray()) {
      if (e.IsNull()) {
        s.last_reserved.emplace_back();
        continue;
      }
      auto a = e.IsString() ? net::IpAddr::parse(std::string_view(e.GetString(), e.GetStringLength())) : std::nullopt;
      if (!a) return bad("lastReserved: bad address " + cni::json_snippet(e));
      s.last_reserved.emplace_back(*a);
    }
  }
  // Every state we write has "allocations"; without it this is some other file, not ours to overwrite.
  const cni::JVal* al = cni::member(root, "allocations");
  if (!al) return bad("not a zl-ipam state (no allocations list)");
  if (!al->IsArray()) return bad("allocations is not a list");
  s.allocations.reserve(al->Size());
  for (const auto& e : al->GetArray()) {
    const cni::JVal* ip = cni::member(e, "ip");
    const cni::JVal* id = cni::member(e, "containerID");
    const cni::JVal* ifn = cni::member(e, "ifname");
    if (!ip || !id || !ifn || !ip->IsString() || !id->IsString() || !ifn->IsString()) {
      return bad("bad allocation " + cni::json_snippet(e));
    }
    auto a = net::IpAddr::parse(std::string_view(ip->GetString(), ip->GetStringLength()));
    if (!a) return bad("bad allocation address " + cni::json_snippet(*ip));
    s.allocations.push_back({*a, std::string(id->GetString(), id->GetStringLength()),
                             std::string(ifn->GetString(), ifn->GetStringLength())});
  }
  return s;
}

std::string serialize_state(const State& s) {
  rapidjson::StringBuffer sb;
  cni::JWriter w(sb);
  w.StartObject();
  w.Key("lastReserved");
  w.StartArray();
  for (const auto& a : s.last_reserved) {
    if (a) {
      w.String(a->str());
    } else {
      w.Null();
    }
  }
  w.EndArray();
  w.Key("allocations");
  w.StartArray();
  for (const auto& a : s.allocations) {
    w.StartObject();
    w.Key("ip");
    w.String(a.ip.str());
    w.Key("containerID");
    w.String(a.container_id);
    w.Key("ifname");
    w.String(a.ifname);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string out(sb.GetString(), sb.GetSize());
  out += '\n';
  return out;
}

static std::string state_path(const Config& c) { return c.data_dir + "/" + c.network + ".json"; }

static Result<State> load(const std::string& path) {
  auto text = net::read_file(path);
  if (!text) {
    if (text.error().sys == ENOENT) return State{};
    return std::move(text).error();
  }
  return parse_state(*text, path);
}

Result<Store> Store::open(const Config& config) {
  if (auto s = net::make_dirs(config.data_dir, 0700); !s) return std::move(s).error();
  Store st;
  auto lock = net::FileLock::acquire(config.data_dir + "/" + config.network + ".lock");
  if (!lock) return std::move(lock).error();
  st.lock_ = std::move(*lock);
  st.path_ = state_path(config);
  auto state = load(st.path_);
  if (!state) return std::move(state).error();
  st.state_ = std::move(*state);
  return st;
}

Result<State> Store::peek(const Config& config) { return load(state_path(config)); }

Status Store::commit() { return net::write_file_atomic(path_, serialize_state(state_), 0600); }

}  // namespace zl::ipam
