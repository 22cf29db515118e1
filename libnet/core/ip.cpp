#include "libnet/core/ip.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

namespace zl::net {

// Dotted quad, strictly as inet_pton takes it (no leading zeros, 4 parts ≤ 255), without the
// copy: state files parse thousands of these.
static bool parse_v4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  if (s.find(':') == std::string_view::npos) {
    IpAddr a;
    if (!parse_v4(s, a.b.data())) return std::nullopt;
    a.family = AF_INET;
    return a;
  }
  char buf[INET6_ADDRSTRLEN + 1];
  // inet_pton stops at a NUL: "1.2.3.4\0junk" must not pass as 1.2.3.4.
  if (s.empty() || s.size() >= sizeof buf || s.find('\0') != std::string_view::npos) return std::nullopt;
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  IpAddr a;
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.b.data()) != 1) return std::nullopt;
    a.family = AF_INET;
  } else {
    if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
    a.family = AF_INET6;
  }
  return a;
}

std::string IpAddr::str() const {
  if (family == AF_INET) {
    // By hand, not to_chars: GCC's Release build cannot bound to_chars' output and
    // reports an overflow of the 15-byte buffer (-Wstringop-overflow).
    std::string out;
    out.reserve(15);
    for (int i = 0; i < 4; ++i) {
      if (i) out += '.';
      unsigned v = b[i];
      if (v >= 100) out += static_cast<char>('0' + v / 100);
      if (v >= 10) out += static_cast<char>('0' + v / 10 % 10);
      out += static_cast<char>('0' + v % 10);
    }
    return out;
  }
  char buf[INET6_ADDRSTRLEN];
  if (family == 0 || !inet_ntop(family, b.data(), buf, sizeof buf)) return "<none>";
  return buf;
}

u128 IpAddr::to_u128() const {
  u128 v = 0;
  for (size_t i = 0; i < size(); ++i) v = (v << 8) | b[i];
  return v;
}

IpAddr IpAddr::from_u128(int fam, u128 v) {
  IpAddr a;
  a.family = fam;
  size_t n = fam == AF_INET ? 4 : 16;
  for (size_t i = n; i-- > 0;) {
    a.b[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

std::optional<IpNet> IpNet::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = IpAddr::parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  std::string_view ls = s.substr(slash + 1);
  int len = -1;
  auto [p, ec] = std::from_chars(ls.data(), ls.data() + ls.size(), len);
  if (ls.empty() || ls.size() > 3 || ls[0] < '0' || ls[0] > '9') return std::nullopt;  // no sign
  if (ec != std::errc() || p != ls.data() + ls.size()) return std::nullopt;
  if (len < 0 || len > a->bits()) return std::nullopt;
  return IpNet{*a, len};
}

std::string IpNet::str() const { return addr.str() + "/" + std::to_string(len); }

static u128 host_mask(const IpNet& n) {
  int hb = n.host_bits();
  if (hb == 0) return 0;
  if (hb >= 128) return ~u128{0};
  return (u128{1} << hb) - 1;
}

IpAddr IpNet::network() const { return IpAddr::from_u128(addr.family, addr.to_u128() & ~host_mask(*this)); }

IpAddr IpNet::last() const { return IpAddr::from_u128(addr.family, addr.to_u128() | host_mask(*this)); }

bool IpNet::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  return (a.to_u128() & ~host_mask(*this)) == network().to_u128();
}

bool IpNet::overlaps(const IpNet& o) const {
  if (o.addr.family != addr.family) return false;
  return len <= o.len ? contains(o.addr) : o.contains(addr);
}

std::vector<IpNet> aggregate(std::vector<IpNet> nets) {
  struct Span {
    int family;
    u128 lo, hi;
  };
  std::vector<Span> spans;
  spans.reserve(nets.size());
  for (const auto& n : nets) spans.push_back({n.addr.family, n.network().to_u128(), n.last().to_u128()});
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.family != b.family ? a.family < b.family : a.lo < b.lo;
  });
  std::vector<Span> merged;
  for (const auto& sp : spans) {
    if (!merged.empty()) {
      Span& m = merged.back();
      // Overlapping or adjacent (m.hi + 1 == sp.lo, without overflowing at the top).
      if (m.family == sp.family && (sp.lo <= m.hi || sp.lo - 1 == m.hi)) {
        if (sp.hi > m.hi) m.hi = sp.hi;
        continue;
      }
    }
    merged.push_back(sp);
  }
  std::vector<IpNet> out;
  for (const auto& m : merged) {
    const int bits = m.family == AF_INET ? 32 : 128;
    const u128 top = bits == 32 ? u128{0xffffffffu} : ~u128{0};
    u128 lo = m.lo;
    for (;;) {
      // The largest aligned block starting at lo that ends within hi.
      int host = 0;
      while (host < bits) {
        if (host + 1 == bits) {  // the whole address space
          if (lo == 0 && m.hi == top) host = bits;
          break;
        }
        u128 size = u128{1} << (host + 1);
        if ((lo & (size - 1)) != 0 || lo + size - 1 > m.hi) break;
        ++host;
      }
      out.push_back(IpNet{IpAddr::from_u128(m.family, lo), bits - host});
      u128 last = host == bits ? top : lo + ((u128{1} << host) - 1);
      if (last >= m.hi) break;
      lo = last + 1;
    }
  }
  return out;
}

std::optional<IpAddr> parse_ip_or_cidr(std::string_view s) {
  if (s.find('/') != std::string_view::npos) {
    auto n = IpNet::parse(s);
    if (!n) return std::nullopt;
    return n->addr;
  }
  return IpAddr::parse(s);
}

}  // namespace zl::net
