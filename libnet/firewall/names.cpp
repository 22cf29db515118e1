// Names shared by both backends: chains, tables, comments; validation of what reaches them.
#include "libnet/firewall/names.h"

#include <net/if.h>

#include <cstdio>

namespace zl::net {
namespace fw {

std::string network_hash(std::string_view network) {
  uint32_t h = 2166136261u;
  for (unsigned char c : network) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string masq_chain(std::string_view network) { return "ZL-MASQ-" + network_hash(network); }
std::string fwd_chain(std::string_view network) { return "ZL-FWD-" + network_hash(network); }
std::string nft_table(std::string_view network) { return "zl-" + network_hash(network); }

std::string comment(std::string_view network, std::string_view purpose) {
  constexpr size_t kMaxNetwork = 64;
  std::string out(kCommentPrefix);
  if (network.size() <= kMaxNetwork) {
    out += network;
  } else {
    out += network.substr(0, kMaxNetwork - 9);
    out += '~';
    out += network_hash(network);
  }
  out += ' ';
  out += purpose;
  return out;
}

Status validate(const NetworkRules& r) {
  if (r.network.empty()) return Error::make(0, "firewall: empty network name");
  for (unsigned char c : r.network) {
    if (c < 0x20 || c == 0x7f) return Error::make(0, "firewall: network name \"" + r.network + "\": control character");
  }
  if (!r.bridge.empty()) {
    if (r.bridge.size() >= IFNAMSIZ || r.bridge == "." || r.bridge == "..")
      return Error::make(0, "firewall: bridge \"" + r.bridge + "\": not a valid interface name");
    for (unsigned char c : r.bridge) {
      if (c <= 0x20 || c == '/' || c == ':' || c == 0x7f)
        return Error::make(0, "firewall: bridge \"" + r.bridge + "\": not a valid interface name");
    }
  }
  for (const auto* list : {&r.sources, &r.exclude}) {
    for (const IpNet& n : *list) {
      if (n.addr.family != AF_INET && n.addr.family != AF_INET6)
        return Error::make(0, "firewall: prefix without an address family");
      if (n.len < 0 || n.len > n.addr.bits()) return Error::make(0, "firewall: prefix " + n.str() + ": bad length");
    }
  }
  return {};
}

}  // namespace fw

}  // namespace zl::net
