// IPv4/IPv6 addresses and prefixes: parsing, formatting, arithmetic.
#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zl::net {

using u128 = unsigned __int128;

struct IpAddr {
  int family = 0;  // AF_INET or AF_INET6; 0 = unset
  std::array<uint8_t, 16> b{};  // network order; v4 uses the first 4 bytes

  // Parses a dotted-quad or an IPv6 literal (no prefix, no zone).
  static std::optional<IpAddr> parse(std::string_view s);
  static IpAddr from_u128(int family, u128 v);
  std::string str() const;
  bool is_v4() const { return family == AF_INET; }
  int bits() const { return is_v4() ? 32 : 128; }
  size_t size() const { return is_v4() ? 4 : 16; }
  u128 to_u128() const;
  // this + d, wrapping inside the family's address space.
  IpAddr add(u128 d) const { return from_u128(family, to_u128() + d); }
  bool operator==(const IpAddr&) const = default;
  std::strong_ordering operator<=>(const IpAddr&) const = default;
};

struct IpNet {
  IpAddr addr;  // as written (host bits kept: "10.0.0.5/24" is an address with its prefix)
  int len = 0;

  // Parses "addr/len"; returns nullopt on any malformed part.
  static std::optional<IpNet> parse(std::string_view s);
  std::string str() const;
  IpAddr network() const;
  IpAddr last() const;  // all host bits set
  IpNet masked() const { return IpNet{network(), len}; }
  bool contains(const IpAddr& a) const;
  bool overlaps(const IpNet& o) const;
  // Number of host bits (bits() - len).
  int host_bits() const { return addr.bits() - len; }
  bool operator==(const IpNet&) const = default;
};

// The fewest prefixes covering exactly the union of `nets` (both families; masked, merged,
// adjacent siblings joined). Sorted by family, then address.
std::vector<IpNet> aggregate(std::vector<IpNet> nets);

// "a.b.c.d" or "a.b.c.d/len" (the prefix length is dropped).
std::optional<IpAddr> parse_ip_or_cidr(std::string_view s);

}  // namespace zl::net
