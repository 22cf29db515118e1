// The CNI result model (a superset of 0.3.0 … 1.1.0) and its JSON forms per version.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/json.h"
#include "libnet/core/ip.h"
#include "libnet/core/result.h"

namespace zl::cni {

struct Interface {
  std::string name, mac, sandbox;
  int mtu = 0;               // 1.1.0+
  std::string socket_path;   // 1.1.0+
  std::string pci_id;        // 1.1.0+
  bool operator==(const Interface&) const = default;
};

struct IpConfig {
  net::IpNet address;
  std::optional<net::IpAddr> gateway;
  std::optional<int> interface;  // index into interfaces
  bool operator==(const IpConfig&) const = default;
};

struct Route {
  net::IpNet dst;
  std::optional<net::IpAddr> gw;
  int mtu = 0, advmss = 0, priority = 0;  // 1.1.0+
  std::optional<int> table, scope;        // 1.1.0+
  bool operator==(const Route&) const = default;
};

struct Dns {
  std::vector<std::string> nameservers, search, options;
  std::string domain;
  bool empty() const { return nameservers.empty() && search.empty() && options.empty() && domain.empty(); }
  bool operator==(const Dns&) const = default;
};

struct CniResult {
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
  bool operator==(const CniResult&) const = default;
};

// Parses a result (ADD output or prevResult) written in `version`.
// Code 1 for versions outside 0.3.0-1.1.0, code 6/7 for a malformed document.
Result<CniResult> parse_result(const JVal& v, std::string_view version);
Result<CniResult> parse_result_text(std::string_view text, std::string_view version);
// A list of route objects under `key` of object v ([] when absent).
Result<std::vector<Route>> parse_routes(const JVal& v, std::string_view key);
Result<Dns> parse_dns(const JVal& v, std::string_view path);

// Writes a result in `version`'s form (drops fields that version lacks, adds 0.3.x "version").
void write_result(JWriter& w, const CniResult& r, std::string_view version);
std::string result_json(const CniResult& r, std::string_view version);

}  // namespace zl::cni
