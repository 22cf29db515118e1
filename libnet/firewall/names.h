// Private to libnet/firewall/: the names both backends give what they create, and the checks
// every rule set passes before any of it reaches the kernel. A leaf: no backend here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libnet/firewall/firewall.h"

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

}  // namespace zl::net::fw
