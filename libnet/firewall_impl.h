// Private to libnet/firewall*.cpp: names shared by the backends and the backends themselves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libnet/firewall.h"

namespace zl::net::fw {

// Every comment we write starts with this; rules carrying it are never "the host's rules".
inline constexpr std::string_view kCommentPrefix = "zl-cni ";
// iptables chains and nftables tables of every network start with these.
inline constexpr std::string_view kChainPrefix = "ZL-";
inline constexpr std::string_view kTablePrefix = "zl-";

// 8 lowercase hex digits of FNV-1a 32 over the network name: stable across versions and hosts.
std::string network_hash(std::string_view network);
// "ZL-MASQ-<hash>", "ZL-FWD-<hash>" (16 and 15 chars, well under xtables' 28).
std::string masq_chain(std::string_view network);
std::string fwd_chain(std::string_view network);
// "zl-<hash>": the nftables table (family inet) of one network.
std::string nft_table(std::string_view network);
// "zl-cni <network> <purpose>", at most 127 bytes (nft's comment limit); long names are cut
// and suffixed with the hash so two long names never share a comment.
std::string comment(std::string_view network, std::string_view purpose);
inline std::string masq_comment(std::string_view n) { return comment(n, "masquerade"); }
inline std::string fwd_comment(std::string_view n) { return comment(n, "forward"); }

// Checks the network name, the bridge name and the prefixes before any of them reaches the kernel.
Status validate(const NetworkRules& r);

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
