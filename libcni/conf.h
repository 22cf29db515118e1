// The network configuration on stdin: common keys, prevResult, runtimeConfig, args.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/json.h"
#include "libcni/types.h"

namespace zl::cni {

struct Attachment {
  std::string container_id, ifname;
  bool operator==(const Attachment&) const = default;
};

struct NetConf {
  std::string raw;  // the bytes as received; delegates get them unchanged
  std::unique_ptr<rapidjson::Document> doc;
  std::string cni_version, name, type;
  const JVal* ipam = nullptr;            // "ipam" object, if any
  std::string ipam_type;                 // ipam.type
  const JVal* runtime_config = nullptr;  // "runtimeConfig" object, if any
  const JVal* args = nullptr;            // "args" object, if any
  std::optional<CniResult> prev_result;
  Dns dns;
  std::vector<Attachment> valid_attachments;  // GC: cni.dev/valid-attachments
  bool has_valid_attachments = false;

  const JVal& root() const { return *doc; }
};

// Parses and validates the common keys (code 6 malformed, 1 version, 7 invalid).
// `command` decides what is required: GC wants the valid-attachments list.
Result<NetConf> parse_netconf(std::string raw, bool for_gc = false);

// The CIDR in a subnet file (a range's "subnetFile", written by zl-meshd): one CIDR as text,
// optional trailing newline. Read with the peers-file rules: regular file, no symlink, owned
// by our euid, not group/world-writable, at most 4 KiB, never blocking. `key` (e.g.
// "ipam.ranges[0][0].subnetFile") names it in errors. Missing → code 11 (try again later:
// the agent has not written it yet); unreadable or not a CIDR → code 7 naming path and value.
// Returned as written (not masked).
Result<net::IpNet> read_subnet_file(const std::string& path, std::string_view key);

// The subnets an IPAM configuration in host-local's range syntax hands addresses from
// (ipam.ranges[][].subnet or .subnetFile, ipam.subnet), masked, without duplicates; [] for any other IPAM.
// What a main plugin needs to know of the whole network (its masquerade sources), not just
// of one pod's addresses.
std::vector<net::IpNet> ipam_subnets(const NetConf& c);

// Strings from args.cni.<key> (e.g. "ips") — [] when absent, code 7 when not a list of strings.
Result<std::vector<std::string>> args_cni_strings(const NetConf& c, std::string_view key);
// Strings from runtimeConfig.<key> — same rules.
Result<std::vector<std::string>> runtime_strings(const NetConf& c, std::string_view key);

}  // namespace zl::cni
