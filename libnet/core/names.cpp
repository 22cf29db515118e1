#include "libnet/core/names.h"

namespace zl::net {

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string stable_hash_hex(std::string_view s, size_t hex_len) {
  const uint64_t h = stable_hash(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(hex_len, '0');
  for (size_t i = 0; i < hex_len && i < 16; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  return out;
}

std::string bridge_name(std::string_view network) { return "zl-" + stable_hash_hex(network, 12); }

std::string host_veth_name(std::string_view container_id, std::string_view ifname) {
  std::string key(container_id);
  key += '/';
  key += ifname;
  return "zl" + stable_hash_hex(key, 12);
}

bool is_host_veth_name(std::string_view name) {
  return name.size() == 14 && name.starts_with("zl") && name.find_first_not_of("0123456789abcdef", 2) == std::string_view::npos;
}

std::string wg_device_name(std::string_view network) { return "zl-wg-" + stable_hash_hex(network, 8); }

std::string network_hash(std::string_view network) { return stable_hash_hex(network, 16); }
std::string masq_chain(std::string_view network) { return "ZL-MASQ-" + network_hash(network); }
std::string fwd_chain(std::string_view network) { return "ZL-FWD-" + network_hash(network); }
std::string nft_table(std::string_view network) { return "zl-" + network_hash(network); }

}  // namespace zl::net
