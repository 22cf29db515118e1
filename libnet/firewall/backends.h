// Private to libnet/firewall/: the two backends behind open_firewall().
#pragma once

#include <memory>
#include <optional>

#include "libnet/firewall/firewall.h"
#include "libnet/firewall/names.h"

namespace zl::net::fw {

struct NftSnapshot;
struct IptcSnapshot;

// Legacy xtables through libip4tc / libip6tc.
class IptablesFirewall final : public Firewall {
 public:
  FirewallBackend backend() const override { return FirewallBackend::kIptables; }
  Status ensure(const NetworkRules& rules) override;
  Status remove(const std::string& network) override;
  Result<bool> present(const std::string& network) override;
  Result<std::vector<std::string>> check(const NetworkRules& rules) override;
  // The auto backend's probe: whether this netns' legacy tables hold anything but ours (a rule,
  // a user chain, a non-ACCEPT policy; only tables already instantiated are read, reading one
  // would instantiate it). The xtables lock and the tables read stay held for the next
  // operation, which plans from them instead of reading again.
  Result<bool> probe();

 private:
  std::shared_ptr<IptcSnapshot> probe_;
};

// nftables through libnftnl + libmnl, one atomic batch per change.
class NftFirewall final : public Firewall {
 public:
  FirewallBackend backend() const override { return FirewallBackend::kNftables; }
  Status ensure(const NetworkRules& rules) override;
  Status remove(const std::string& network) override;
  Result<bool> present(const std::string& network) override;
  Result<std::vector<std::string>> check(const NetworkRules& rules) override;
  // The auto backend's probe: whether nf_tables answers here (`available`) and any table but
  // ours has a rule or a base chain with policy drop, from one read of the ruleset, kept for
  // the next ensure() or remove() (its batch is bound to that generation: a change meanwhile
  // makes the kernel refuse it, and the ruleset is read again).
  Result<bool> probe(bool& available);

 private:
  std::optional<NftSnapshot> take_probe();
  std::shared_ptr<NftSnapshot> probe_;
};

}  // namespace zl::net::fw
