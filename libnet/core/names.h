// Stable short names for kernel objects derived from longer identifiers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zl::net {

// FNV-1a 64 of s: stable across builds and hosts.
inline uint64_t stable_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// stable_hash(s) as `hex_len` (≤ 16) lowercase hex digits, most significant first.
inline std::string stable_hash_hex(std::string_view s, size_t hex_len) {
  const uint64_t h = stable_hash(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(hex_len, '0');
  for (size_t i = 0; i < hex_len && i < 16; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace zl::net
