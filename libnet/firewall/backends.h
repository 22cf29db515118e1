// Private to libnet/firewall/: the two backends behind open_firewall().
#pragma once

#include "libnet/firewall/firewall.h"
#include "libnet/firewall/names.h"

namespace zl::net::fw {

// Legacy xtables through libip4tc / libip6tc.
class IptablesFirewall final : public Firewall {
 public:
  FirewallBackend backend() const override { return FirewallBackend::kIptables; }
  Status ensure(const NetworkRules& rules) override;
  Status remove(const std::string& network) override;
  Result<bool> present(const std::string& network) override;
  // Whether this netns' legacy tables hold anything but ours: a rule, a user chain, a non-ACCEPT
  // policy. Only tables already instantiated are read (reading one would instantiate it).
  static Result<bool> in_use();
};

// nftables through libnftnl + libmnl, one atomic batch per change.
class NftFirewall final : public Firewall {
 public:
  FirewallBackend backend() const override { return FirewallBackend::kNftables; }
  Status ensure(const NetworkRules& rules) override;
  Status remove(const std::string& network) override;
  Result<bool> present(const std::string& network) override;
  // Whether any table but ours has a rule or a base chain with policy drop.
  static Result<bool> in_use();
  // Whether nf_tables answers in this netns at all.
  static bool available();
};

}  // namespace zl::net::fw
