// The plugin skeleton: env + stdin → command handler → JSON answer on stdout.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "libcni/conf.h"
#include "libcni/env.h"
#include "libcni/types.h"

namespace zl::cni {

struct Context {
  Env env;
  NetConf conf;
  // CNI_ARGS value for `key` (known keys only), or "" when absent.
  std::string_view cni_arg(std::string_view key) const;
};

// Build it with designated initializers (`.add = cmd_add, .del = cmd_del, …`): del, check, gc
// and status share a type, so positional initialization could swap two of them silently.
struct Plugin {
  std::string_view name;                       // for logs: "zl-ipam"
  std::span<const std::string_view> cni_args;  // CNI_ARGS keys understood (IgnoreUnknown implied)
  std::function<Result<CniResult>(const Context&)> add;
  std::function<Status(const Context&)> del;
  std::function<Status(const Context&)> check;
  std::function<Status(const Context&)> gc;
  std::function<Status(const Context&)> status;
};

// Runs one CNI invocation with the process environment and stdin; returns the exit code.
// Every failure is printed as a CNI error on stdout (exit 1); diagnostics go to stderr.
int run(const Plugin& plugin);

// Testable core of run(): env lookup and stdin given, answer written to `out`.
int dispatch(const Plugin& plugin, const EnvLookup& lookup, std::string stdin_data, std::string& out);

// {"cniVersion","code","msg","details"} — details only when non-empty.
std::string error_json(std::string_view version, int code, std::string_view msg, std::string_view details = {});

}  // namespace zl::cni
