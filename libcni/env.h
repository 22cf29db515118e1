// The CNI_* environment: parsing and validation per command.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libnet/core/result.h"

namespace zl::cni {

// CNI_ARGS keys runtimes commonly send; plugins that delegate must accept each other's.
inline constexpr std::string_view kCommonCniArgs[] = {
    "IP", "MAC", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"};

enum class Command { kAdd, kDel, kCheck, kGc, kStatus, kVersion };

struct Env {
  Command command = Command::kVersion;
  std::string command_name;  // as given: "ADD", …
  std::string container_id, netns, ifname, args, path;
  std::vector<std::pair<std::string, std::string>> cni_args;  // parsed CNI_ARGS, known keys only
};

using EnvLookup = std::function<const char*(const char*)>;

// Reads and validates CNI_* for the command named by CNI_COMMAND (code 4 on any problem).
// `known_args` are the CNI_ARGS keys the plugin understands; others are rejected
// unless IgnoreUnknown is true.
Result<Env> parse_env(const EnvLookup& lookup, std::span<const std::string_view> known_args);

// "K=V;K2=V2" → pairs; code 4 for malformed pairs or unknown keys (unless IgnoreUnknown=1|true).
Result<std::vector<std::pair<std::string, std::string>>> parse_cni_args(
    std::string_view s, std::span<const std::string_view> known_args);

// Interface name rules of the kernel: 1-15 bytes, not "." or "..", no '/', ':' or whitespace.
Status validate_ifname(std::string_view name);
// Container IDs and network names: [A-Za-z0-9][A-Za-z0-9_.-]*
bool valid_identifier(std::string_view s);

}  // namespace zl::cni
