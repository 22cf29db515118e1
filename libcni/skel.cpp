#include "libcni/skel.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <exception>
#include <cstdlib>

#include "libcni/errors.h"
#include "libcni/version.h"
#include "libnet/core/log.h"

namespace zl::cni {
namespace {

// At most one byte more than any JSON we accept: a larger input fails as "too large"
// instead of exhausting memory.
std::string read_stdin() {
  std::string s;
  char buf[65536];
  while (s.size() <= kMaxJsonBytes) {
    ssize_t n = ::read(STDIN_FILENO, buf, std::min(sizeof buf, kMaxJsonBytes + 1 - s.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}

std::string version_json(std::string_view version) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("cniVersion");
  w.String(version.data(), static_cast<rapidjson::SizeType>(version.size()));
  w.Key("supportedVersions");
  w.StartArray();
  for (auto v : kSupportedVersions) w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// The version to answer VERSION in: the request's if it parses, else the latest.
std::string requested_version(const std::string& data) {
  auto doc = parse_json(data, "stdin");
  if (doc && (*doc)->IsObject()) {
    auto v = get_string(**doc, "cniVersion", "cniVersion");
    if (v && *v && parse_version(**v)) return **v;
  }
  return std::string(kLatestVersion);
}

}  // namespace

std::string_view Context::cni_arg(std::string_view key) const {
  for (const auto& [k, v] : env.cni_args)
    if (k == key) return v;
  return {};
}

std::string error_json(std::string_view version, int code, std::string_view raw_msg, std::string_view raw_details) {
  // Messages quote what we were given, which may be neither UTF-8 nor short.
  const std::string msg = printable(raw_msg, 4096), details = printable(raw_details, 4096);
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  w.StartObject();
  w.Key("cniVersion");
  w.String(version.data(), static_cast<rapidjson::SizeType>(version.size()));
  w.Key("code");
  w.Int(code);
  w.Key("msg");
  w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
  if (!details.empty()) {
    w.Key("details");
    w.String(details.data(), static_cast<rapidjson::SizeType>(details.size()));
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

namespace {

// What the negotiated version allows: CHECK from 0.4.0, GC and STATUS from 1.1.0.
Status command_allowed(const Env& env, const NetConf& conf) {
  const std::string& version = conf.cni_version;
  const auto cmd = env.command;
  if (cmd == Command::kCheck && !version_at_least(version, "0.4.0")) {
    return fail(kErrIncompatibleVersion, "cniVersion " + version + " does not support CHECK (needs 0.4.0+)");
  }
  if ((cmd == Command::kGc || cmd == Command::kStatus) && !version_at_least(version, "1.1.0")) {
    return fail(kErrIncompatibleVersion,
                "cniVersion " + version + " does not support " + env.command_name + " (needs 1.1.0+)");
  }
  if (cmd == Command::kGc && !conf.has_valid_attachments) {
    return fail(kErrInvalidConfig, "GC: cni.dev/valid-attachments is missing");
  }
  return {};
}

// Runs the plugin's handler for the command; `out` gets ADD's result.
Status run_handler(const Plugin& plugin, const Context& ctx, std::string& out) {
  const auto cmd = ctx.env.command;
  if (cmd == Command::kAdd) {
    if (!plugin.add) return fail(kErrInternal, "ADD is not implemented");
    auto r = plugin.add(ctx);
    if (!r) return std::move(r).error();
    out = result_json(*r, ctx.conf.cni_version);
    return {};
  }
  const auto& fn = cmd == Command::kDel     ? plugin.del
                   : cmd == Command::kCheck ? plugin.check
                   : cmd == Command::kGc    ? plugin.gc
                                            : plugin.status;
  return fn ? fn(ctx) : Status{};
}

}  // namespace

int dispatch(const Plugin& plugin, const EnvLookup& lookup, std::string stdin_data, std::string& out) {
  std::string version(kLatestVersion);
  auto failed = [&](const Error& e) {
    int code = error_code(e);
    net::log("error " + std::to_string(code) + ": " + e.msg);
    out = error_json(version, code, e.msg);
    return 1;
  };

  auto env = parse_env(lookup, plugin.cni_args);
  if (!env) {
    // The runtime still speaks the config's version; answer in it when we can.
    if (auto v = requested_version(stdin_data); is_supported_version(v)) version = v;
    return failed(env.error());
  }
  if (env->command == Command::kVersion) {
    out = version_json(requested_version(stdin_data));
    return 0;
  }
  auto conf = parse_netconf(stdin_data, env->command == Command::kGc);
  if (!conf) {
    // Report config errors in the config's own version when it has a usable one.
    std::string requested = conf.error().code == kErrIncompatibleVersion ? "" : requested_version(stdin_data);
    if (is_supported_version(requested)) version = requested;
    return failed(conf.error());
  }
  version = conf->cni_version;
  if (auto s = command_allowed(*env, *conf); !s) return failed(s.error());
  Context ctx{std::move(*env), std::move(*conf)};
  if (auto s = run_handler(plugin, ctx, out); !s) return failed(s.error());
  return 0;
}

int run(const Plugin& plugin) {
  net::log_init(plugin.name);
  ::signal(SIGPIPE, SIG_IGN);  // a delegate that exits early must not kill us mid-write
  std::string out;
  int rc;
  try {
    rc = dispatch(plugin, [](const char* k) { return std::getenv(k); }, read_stdin(), out);
  } catch (const std::exception& e) {  // e.g. bad_alloc: still a CNI error, never a crash
    out = error_json(kLatestVersion, kErrInternal, std::string("internal error: ") + e.what());
    rc = 1;
  }
  if (out.empty()) return rc;  // DEL, CHECK, GC, STATUS print nothing on success
  out += '\n';
  for (std::string_view s = out; !s.empty();) {
    ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 1;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return rc;
}

}  // namespace zl::cni
