// Every name zl-cni derives for a kernel object, and the hash behind them: one place, so no
// plugin, CLI or test recomputes another's naming. Stable across builds, hosts and versions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zl::net {

// FNV-1a 64 of s.
uint64_t stable_hash(std::string_view s);
// stable_hash(s) as `hex_len` (≤ 16) lowercase hex digits, most significant first.
std::string stable_hash_hex(std::string_view s, size_t hex_len);

// "zl-" + 12 hex of the network name: a network's bridge when none is configured (15 bytes).
std::string bridge_name(std::string_view network);
// "zl" + 12 hex of "<container ID>/<ifname>": the host end of a pod's veth (14 bytes).
std::string host_veth_name(std::string_view container_id, std::string_view ifname);
// Whether `name` has host_veth_name's shape.
bool is_host_veth_name(std::string_view name);
// "zl-wg-" + 8 hex of the network name: its WireGuard device when none is configured.
std::string wg_device_name(std::string_view network);

// 16 hex digits (64 bits) of the network name for its firewall objects: two names collide
// only by a 2^-64 chance, and a clash is still detected (the rules' comments name the network).
std::string network_hash(std::string_view network);
// "ZL-MASQ-<hash>", "ZL-FWD-<hash>" (24 and 23 bytes, under xtables' 28).
std::string masq_chain(std::string_view network);
std::string fwd_chain(std::string_view network);
// "zl-<hash>": the nftables table (family inet) of one network.
std::string nft_table(std::string_view network);

}  // namespace zl::net
