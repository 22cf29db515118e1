// Per-network masquerade and FORWARD-accept rules, in the firewall the host already uses:
// legacy xtables through libiptc, or nftables through libnftnl + libmnl.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libnet/core/ip.h"
#include "libnet/core/result.h"

namespace zl::net {

enum class FirewallBackend { kAuto, kIptables, kNftables };

// Everything one network needs; rule count depends on the network, never on its pods.
struct NetworkRules {
  std::string network;          // names chains/tables (via a stable hash) and comments
  std::string bridge;           // FORWARD: accept traffic in from and out to this interface
  std::vector<IpNet> sources;   // pod subnets (masked), v4 and/or v6
  std::vector<IpNet> exclude;   // destinations never masqueraded (sources are always excluded)
  bool masquerade = true;       // false: only the FORWARD accepts
};

class Firewall {
 public:
  virtual ~Firewall() = default;
  virtual FirewallBackend backend() const = 0;
  // Idempotent: creates what is missing, replaces what differs, leaves the rest alone.
  virtual Status ensure(const NetworkRules& rules) = 0;
  // Idempotent: removes every rule, chain and table of `network`; absent is fine.
  virtual Status remove(const std::string& network) = 0;
  // Whether any rule of `network` is installed.
  virtual Result<bool> present(const std::string& network) = 0;
  // What ensure(rules) would change, one line per change, without changing anything; empty:
  // the rules are in place (CNI CHECK). A clash with another network's rules is a line too.
  // A network with neither bridge nor masquerade describes its removal.
  virtual Result<std::vector<std::string>> check(const NetworkRules& rules) = 0;
};

// kAuto picks by what the current netns already holds (rules, user chains or a DROP policy;
// our own ZL-/zl- chains, tables and comments do not count):
//   only legacy xtables         -> legacy xtables (backend() == kIptables);
//   nftables, or nothing at all -> nftables;
//   both                        -> a composite (backend() == kNftables): FORWARD accepts in both,
//                                  since an ACCEPT in one never overrides a DROP in the other,
//                                  and masquerade in nftables only.
// Its ensure() also removes the network from the backend it did not choose; its remove() and
// present() always cover both. kIptables / kNftables touch only that backend.
Result<std::unique_ptr<Firewall>> open_firewall(FirewallBackend which);

// "auto" | "iptables" | "nftables"
std::optional<FirewallBackend> parse_firewall_backend(std::string_view s);

}  // namespace zl::net
