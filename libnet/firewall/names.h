// Private to libnet/firewall/: the names both backends give what they create, and the checks
// every rule set passes before any of it reaches the kernel. A leaf: no backend here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libnet/core/names.h"
#include "libnet/firewall/firewall.h"

namespace zl::net::fw {

// Every comment we write starts with this; rules carrying it are never "the host's rules".
inline constexpr std::string_view kCommentPrefix = "zl-cni ";
// iptables chains and nftables tables of every network start with these.
inline constexpr std::string_view kChainPrefix = "ZL-";
inline constexpr std::string_view kTablePrefix = "zl-";

using net::fwd_chain;
using net::masq_chain;
using net::network_hash;
using net::nft_table;
// "zl-cni <network> <purpose>", at most 127 bytes (nft's comment limit); names over 100 bytes
// are cut and suffixed with their hash so two long names never share a comment.
std::string comment(std::string_view network, std::string_view purpose);
inline std::string masq_comment(std::string_view n) { return comment(n, "masquerade"); }
inline std::string fwd_comment(std::string_view n) { return comment(n, "forward"); }

// Checks the network name, the bridge name and the prefixes before any of them reaches the kernel.
Status validate(const NetworkRules& r);

}  // namespace zl::net::fw
