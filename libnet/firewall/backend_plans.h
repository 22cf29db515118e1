// Private to libnet/firewall/: each backend's half of plan + apply, pure enough to unit-test:
// the network's rules in plan terms (keys as the backend encodes rules, so a snapshot read back
// from the kernel compares equal), and the backend calls a plan turns into.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libnet/firewall/firewall.h"
#include "libnet/firewall/plan.h"

struct nftnl_rule;

namespace zl::net::fw {

// ---- nftables ----

struct NftDesired {
  Desired want;
  std::vector<std::shared_ptr<nftnl_rule>> rules;  // WantRule::ref indexes these
};

// The network's table (and the forward accepts for foreign forward chains); for a network
// without bridge and masquerade (a removal), nothing is wanted and everything of it goes.
NftDesired nft_desired(const NetworkRules& r);

// The messages of the one batch `p` becomes, one line each ("begin", "add rule to inet zl-…
// forward", …, "end"), read back from the batch buffer.
std::vector<std::string> nft_batch_summary(const Plan& p, const NftDesired& d);

// ---- legacy xtables ----

// Both families: ZL-FWD-<hash> in filter and ZL-MASQ-<hash> in nat, jumps at the top of
// FORWARD / POSTROUTING. `network` alone (empty bridge, no sources, no masquerade): a removal.
Desired iptc_desired(const NetworkRules& r);

struct IptcOp {
  enum class Kind { kCreateChain, kDeleteChain, kInsert, kDelete };
  Kind kind;
  uint32_t family;
  std::string table, chain;
  unsigned pos = 0;    // kInsert: rule number it gets; kDelete: rule number removed
  std::string rule;    // kInsert: the rule's text
  size_t ref = 0;      // kInsert: WantRule::ref
  std::string str() const;  // "ip nat: insert ZL-MASQ-… 0: -s 10.0.0.0/24 -j MASQUERADE"
};

// The libiptc calls a plan becomes, in order (each table committed once at the end).
std::vector<IptcOp> iptc_ops(const Plan& p);

}  // namespace zl::net::fw
