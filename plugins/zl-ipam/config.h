// zl-ipam configuration: ranges, reserved addresses, routes, data directory.
#pragma once

#include <string>
#include <vector>

#include "libcni/conf.h"
#include "libcni/types.h"
#include "libnet/core/ip.h"

namespace zl::ipam {

inline constexpr const char* kDefaultDataDir = "/var/lib/zl-cni/ipam";

struct Range {
  net::IpNet subnet;  // masked
  net::IpAddr start, end;
  net::IpAddr gateway;
  // Inside [start, end]?
  bool contains(const net::IpAddr& a) const { return a.family == start.family && start <= a && a <= end; }
};

using RangeSet = std::vector<Range>;

struct Config {
  std::string network;  // CNI network name; names the state file
  std::string data_dir;
  std::vector<RangeSet> range_sets;
  std::vector<net::IpNet> reserved;  // single addresses are /32 or /128
  std::vector<cni::Route> routes;
  cni::Dns dns;
};

struct ParseOptions {
  // DEL and GC only release addresses by attachment: a range whose subnetFile is not written
  // (yet, or any more: /run after a reboot) is left out instead of failing with code 11, so a
  // pod can always be torn down while zl-meshd is not running.
  bool subnet_files_optional = false;
};

// Reads ipam.* from the network configuration (code 7 naming the bad value; code 11 for a
// subnetFile not written yet, unless opts.subnet_files_optional).
Result<Config> parse_config(const cni::NetConf& conf, ParseOptions opts = {});

// Addresses requested for this attachment: runtimeConfig.ips, args.cni.ips, CNI_ARGS IP=
// (comma separated). Code 7 on an unparsable entry.
Result<std::vector<net::IpAddr>> requested_ips(const cni::NetConf& conf, std::string_view cni_args_ip);

}  // namespace zl::ipam
