#include "libcni/env.h"

#include <algorithm>
#include <cctype>

#include "libcni/errors.h"
#include "libcni/json.h"

namespace zl::cni {
namespace {

struct CommandInfo {
  std::string_view name;
  Command cmd;
  bool need_container, need_netns, need_ifname, need_path;
};

constexpr CommandInfo kCommands[] = {
    {"ADD", Command::kAdd, true, true, true, true},
    {"DEL", Command::kDel, true, false, true, true},
    {"CHECK", Command::kCheck, true, true, true, true},
    {"GC", Command::kGc, false, false, false, true},
    {"STATUS", Command::kStatus, false, false, false, true},
    {"VERSION", Command::kVersion, false, false, false, false},
};

bool parse_bool(std::string_view v, bool& out) {
  std::string l(v);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "1" || l == "true") return out = true, true;
  if (l == "0" || l == "false") return out = false, true;
  return false;
}

}  // namespace

bool valid_identifier(std::string_view s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-'; });
}

Status validate_ifname(std::string_view name) {
  std::string q = "interface name \"" + printable(name) + "\"";
  if (name.empty()) return fail(kErrInvalidEnv, "interface name is empty");
  if (name.size() > 15) return fail(kErrInvalidEnv, q + ": longer than 15 bytes");
  if (name == "." || name == "..") return fail(kErrInvalidEnv, q + ": not allowed");
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || std::isspace(c) || c == 0) {
      return fail(kErrInvalidEnv, q + ": must not contain '/', ':' or whitespace");
    }
  }
  // The kernel takes any other bytes, but the name goes into results and the IPAM state, which
  // are JSON: not UTF-8, it would make them unreadable.
  if (!valid_utf8(name)) return fail(kErrInvalidEnv, q + ": not UTF-8");
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> parse_cni_args(
    std::string_view s, std::span<const std::string_view> known_args) {
  std::vector<std::pair<std::string, std::string>> all;
  bool ignore_unknown = false;
  while (!s.empty()) {
    auto semi = s.find(';');
    std::string_view kv = s.substr(0, semi);
    s = semi == std::string_view::npos ? std::string_view{} : s.substr(semi + 1);
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(kErrInvalidEnv, "CNI_ARGS: \"" + std::string(kv) + "\" is not KEY=VALUE");
    }
    std::string key(kv.substr(0, eq)), val(kv.substr(eq + 1));
    if (key == "IgnoreUnknown") {
      if (!parse_bool(val, ignore_unknown)) {
        return fail(kErrInvalidEnv, "CNI_ARGS: IgnoreUnknown=\"" + val + "\": must be true, false, 1 or 0");
      }
      continue;
    }
    all.emplace_back(std::move(key), std::move(val));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& kv : all) {
    auto& [k, v] = kv;
    if (std::find(known_args.begin(), known_args.end(), k) != known_args.end()) {
      // A key given twice: the last one wins, as in the reference plugins' args loader.
      auto same = std::find_if(out.begin(), out.end(), [&](const auto& o) { return o.first == kv.first; });
      if (same != out.end()) {
        same->second = std::move(v);
      } else {
        out.emplace_back(std::move(k), std::move(v));
      }
    } else if (!ignore_unknown) {
      return fail(kErrInvalidEnv, "CNI_ARGS: unknown key \"" + k + "\" (set IgnoreUnknown=1 to allow it)");
    }
  }
  return out;
}

Result<Env> parse_env(const EnvLookup& lookup, std::span<const std::string_view> known_args) {
  auto get = [&](const char* k) -> std::string {
    const char* v = lookup(k);
    return v ? v : "";
  };
  Env env;
  env.command_name = get("CNI_COMMAND");
  if (env.command_name.empty()) return fail(kErrInvalidEnv, "CNI_COMMAND is not set");
  const CommandInfo* info = nullptr;
  for (const auto& c : kCommands)
    if (c.name == env.command_name) info = &c;
  if (!info) return fail(kErrInvalidEnv, "CNI_COMMAND \"" + env.command_name + "\": unknown command");
  env.command = info->cmd;
  env.container_id = get("CNI_CONTAINERID");
  env.netns = get("CNI_NETNS");
  env.ifname = get("CNI_IFNAME");
  env.args = get("CNI_ARGS");
  env.path = get("CNI_PATH");

  std::vector<std::string> missing;
  if (info->need_container && env.container_id.empty()) missing.emplace_back("CNI_CONTAINERID");
  if (info->need_netns && env.netns.empty()) missing.emplace_back("CNI_NETNS");
  if (info->need_ifname && env.ifname.empty()) missing.emplace_back("CNI_IFNAME");
  if (info->need_path && env.path.empty()) missing.emplace_back("CNI_PATH");
  if (!missing.empty()) {
    std::string m;
    for (const auto& s : missing) m += (m.empty() ? "" : ", ") + s;
    return fail(kErrInvalidEnv, "required environment variables missing for " + env.command_name + ": " + m);
  }
  if (!env.container_id.empty() && !valid_identifier(env.container_id)) {
    return fail(kErrInvalidEnv, "CNI_CONTAINERID \"" + printable(env.container_id) +
                                    "\": must start with a letter or digit and contain only letters, digits, '_', '.', '-'");
  }
  if (!valid_utf8(env.netns)) {
    return fail(kErrInvalidEnv, "CNI_NETNS \"" + printable(env.netns) + "\": not UTF-8 (it goes into the result as the sandbox)");
  }
  if (!env.ifname.empty() || info->need_ifname) {
    if (auto s = validate_ifname(env.ifname); !s) return std::move(s).error().wrap("CNI_IFNAME");
  }
  if (!env.args.empty()) {
    auto a = parse_cni_args(env.args, known_args);
    if (!a) return std::move(a).error();
    env.cni_args = std::move(*a);
  }
  return env;
}

}  // namespace zl::cni
