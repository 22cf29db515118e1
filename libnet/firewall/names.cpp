// The comments both backends write, and validation of what reaches them.
#include "libnet/firewall/names.h"

#include <net/if.h>

#include <cstdio>

namespace zl::net {
namespace fw {

std::string comment(std::string_view network, std::string_view purpose) {
  // Whole names up to 100 bytes ("zl-cni " + 100 + " masquerade" fits nft's 127); a longer one
  // is cut and suffixed with its 64-bit hash.
  constexpr size_t kMaxNetwork = 100;
  std::string out(kCommentPrefix);
  if (network.size() <= kMaxNetwork) {
    out += network;
  } else {
    out += network.substr(0, kMaxNetwork - 17);
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
