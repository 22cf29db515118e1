#include "plugins/zl-wg/names.h"

#include <algorithm>
#include <cerrno>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "libcni/json.h"
#include "libnet/core/file.h"

namespace zl::wg {
namespace {

using cni::fail;
using cni::kErrInvalidConfig;

constexpr size_t kMaxNamesBytes = size_t{16} << 20;
constexpr size_t kMaxNodeBytes = 253;

// A node name is shown on terminals: no control characters, valid UTF-8, bounded.
bool good_node(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNodeBytes && s.find_first_of("\n\t") == std::string::npos &&
         cni::printable(s, kMaxNodeBytes + 8) == s;
}

// One entry of the file, `where` naming it in errors.
Result<PeerName> parse_entry(const cni::JVal& e, const std::string& where) {
  if (!e.IsObject()) return fail(kErrInvalidConfig, where + ": expected an object, got " + cni::json_snippet(e));
  auto key = cni::get_string(e, "publicKey", where + ".publicKey");
  if (!key) return std::move(key).error();
  if (!*key) return fail(kErrInvalidConfig, where + ".publicKey: missing");
  auto k = net::key_from_base64(**key);
  if (!k) return fail(kErrInvalidConfig, where + ".publicKey \"" + cni::printable(**key) + "\": " + k.error().msg);
  auto node = cni::get_string(e, "node", where + ".node");
  if (!node) return std::move(node).error();
  if (!*node || !good_node(**node)) {
    return fail(kErrInvalidConfig, where + ".node: expected 1-253 bytes of printable text, got " +
                                       (*node ? "\"" + cni::printable(**node) + "\"" : std::string("nothing")));
  }
  auto up = cni::get_bool(e, "up", where + ".up");
  if (!up) return std::move(up).error();
  return PeerName{*k, **node, up->value_or(true)};
}

Status no_duplicates(const std::vector<PeerName>& names, const std::string& where) {
  std::vector<net::Key> keys;
  for (const auto& n : names) keys.push_back(n.public_key);
  std::sort(keys.begin(), keys.end());
  auto dup = std::adjacent_find(keys.begin(), keys.end());
  if (dup != keys.end()) return fail(kErrInvalidConfig, where + ": peer " + net::key_to_base64(*dup) + " is listed twice");
  return {};
}

}  // namespace

std::string peer_names_file(const std::string& ifname) { return std::string(kNamesDir) + "/" + ifname + ".names.json"; }

Status write_peer_names(const std::string& ifname, const std::vector<PeerName>& names) {
  if (auto s = cni::validate_ifname(ifname); !s) return fail(kErrInvalidConfig, "peer names: interface: " + s.error().msg);
  const std::string path = peer_names_file(ifname);
  for (const auto& n : names) {
    if (!good_node(n.node)) {
      return fail(kErrInvalidConfig, path + ": node name \"" + cni::printable(n.node) + "\" of peer " +
                                         net::key_to_base64(n.public_key) + ": expected 1-253 bytes of printable text");
    }
  }
  if (auto s = no_duplicates(names, path); !s) return s;
  rapidjson::StringBuffer sb;
  cni::JWriter w(sb);
  w.StartObject();
  w.Key("peers");
  w.StartArray();
  for (const auto& n : names) {
    w.StartObject();
    w.Key("publicKey");
    w.String(net::key_to_base64(n.public_key));
    w.Key("node");
    w.String(n.node.data(), static_cast<rapidjson::SizeType>(n.node.size()));
    w.Key("up");
    w.Bool(n.up);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  if (auto s = net::make_dirs(kNamesDir, 0755); !s) return s;
  return net::write_file_atomic(path, std::string(sb.GetString(), sb.GetSize()) + "\n", 0644);
}

Result<std::vector<PeerName>> read_peer_names(const std::string& ifname) {
  std::vector<PeerName> out;  // a missing file: no names
  if (auto s = cni::validate_ifname(ifname); !s) return fail(kErrInvalidConfig, "peer names: interface: " + s.error().msg);
  const std::string path = peer_names_file(ifname);
  auto text = net::read_file(path, {.follow_symlink = false}, kMaxNamesBytes);
  if (!text && text.error().sys == ENOENT) return out;
  if (!text) return std::move(text).error();
  return parse_peer_names(*text, path);
}

Result<std::vector<PeerName>> parse_peer_names(std::string_view text, const std::string& where) {
  std::vector<PeerName> out;
  auto doc = cni::parse_json(text, where);
  if (!doc) return std::move(doc).error();
  const cni::JVal* list = (*doc)->IsObject() ? cni::member(**doc, "peers") : nullptr;
  if (!list || !list->IsArray()) return fail(kErrInvalidConfig, where + ": expected {\"peers\": [...]}");
  size_t i = 0;
  for (const auto& e : list->GetArray()) {
    auto n = parse_entry(e, where + " peers[" + std::to_string(i++) + "]");
    if (!n) return std::move(n).error();
    out.push_back(std::move(*n));
  }
  if (auto s = no_duplicates(out, where); !s) return std::move(s).error();
  return out;
}

}  // namespace zl::wg
