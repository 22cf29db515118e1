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

// A per-attachment setting (ips, mac, …) and the source it came from. The sources, in
// precedence order: runtimeConfig.<key> (a capability), args.cni.<key>, CNI_ARGS <KEY>=.
struct AttachmentArg {
  std::string source;  // "runtimeConfig.mac", "args.cni.mac", "CNI_ARGS MAC"
  std::string value;
  // "<source> \"<value>\": <why>" — code 4 for CNI_ARGS (the environment), 7 for the config.
  Error invalid(std::string_view why) const;
};

// A single-valued setting: the first source that has it, nullopt when none does.
// Code 7 when runtimeConfig.<key> or args.cni.<key> is not a string (or args.cni not an object).
Result<std::optional<AttachmentArg>> attachment_arg(const NetConf& c, std::string_view key,
                                                    std::string_view cni_args_key, std::string_view cni_args_value);
// A list setting: every entry of every source, in precedence order (CNI_ARGS comma separated).
// Code 7 when a config source is not a list of strings.
Result<std::vector<AttachmentArg>> attachment_args(const NetConf& c, std::string_view key,
                                                   std::string_view cni_args_key, std::string_view cni_args_value);

}  // namespace zl::cni
