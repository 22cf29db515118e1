// IpAddr / IpNet: parsing, formatting, arithmetic, containment, overlap.
#include <doctest/doctest.h>

#include "libnet/core/ip.h"
#include "tests/unit/helpers.h"

using namespace zl::net;
using zl::test::cidr;
using zl::test::ip;

TEST_CASE("IpAddr::parse and str") {
  auto a = IpAddr::parse("10.244.1.5");
  REQUIRE(a);
  CHECK(a->is_v4());
  CHECK(a->family == AF_INET);
  CHECK(a->bits() == 32);
  CHECK(a->size() == 4);
  CHECK(a->str() == "10.244.1.5");
  CHECK(a->to_u128() == 0x0af40105u);

  auto b = IpAddr::parse("2001:DB8:0:0:0:0:0:1");
  REQUIRE(b);
  CHECK_FALSE(b->is_v4());
  CHECK(b->family == AF_INET6);
  CHECK(b->bits() == 128);
  CHECK(b->str() == "2001:db8::1");  // canonical form
  CHECK(ip("::").str() == "::");
  CHECK(ip("::1").to_u128() == 1);
  CHECK(ip("::ffff:10.0.0.1").str() == "::ffff:10.0.0.1");
  CHECK_FALSE(ip("::ffff:10.0.0.1").is_v4());
  CHECK(ip("0.0.0.0").to_u128() == 0);
  CHECK(ip("255.255.255.255").to_u128() == 0xffffffffu);
  CHECK(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").to_u128() == ~u128{0});
  CHECK(IpAddr{}.str() == "<none>");
}

TEST_CASE("IpAddr::parse rejects malformed input") {
  const std::string_view bads[] = {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4/24", " 1.2.3.4", "1.2.3.4 ",
                                   "01.2.3.4", "1.2.3.-4", "::g", "1:::2", "fe80::1%eth0", "1.2.3.4:80", "[::1]",
                                   "2001:db8::1::", "localhost", std::string_view("1.2.3.4\0", 8),
                                   std::string_view("1.2.3.4\0garbage", 15), std::string_view("::1\0", 4)};
  for (std::string_view bad : bads) {
    CAPTURE(bad);
    CHECK_FALSE(IpAddr::parse(bad).has_value());
  }
  // Longer than any literal.
  CHECK_FALSE(IpAddr::parse(std::string(100, '1')).has_value());
  CHECK_FALSE(IpAddr::parse("0000:0000:0000:0000:0000:ffff:255.255.255.255x").has_value());
  // The longest IPv6 literal still parses.
  CHECK(IpAddr::parse("0000:0000:0000:0000:0000:ffff:255.255.255.255").has_value());
}

TEST_CASE("IpAddr ordering and equality") {
  CHECK(ip("10.0.0.1") < ip("10.0.0.2"));
  CHECK(ip("9.255.255.255") < ip("10.0.0.0"));
  CHECK(ip("10.0.0.1") == ip("10.0.0.1"));
  CHECK_FALSE(ip("10.0.0.1") == ip("::ffff:10.0.0.1"));
  CHECK(ip("fd00::1") < ip("fd00::2"));
  CHECK(ip("fd00::ffff") < ip("fd00::1:0"));
}

TEST_CASE("IpAddr::add and from_u128, with wrap-around") {
  CHECK(ip("10.0.0.255").add(1) == ip("10.0.1.0"));
  CHECK(ip("10.0.0.1").add(~u128{0}) == ip("10.0.0.0"));  // minus one
  CHECK(ip("255.255.255.255").add(1) == ip("0.0.0.0"));
  CHECK(ip("255.255.255.255").add(1).is_v4());
  CHECK(ip("0.0.0.0").add(~u128{0}) == ip("255.255.255.255"));
  CHECK(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").add(1) == ip("::"));
  CHECK(ip("fd00::ffff:ffff:ffff:ffff").add(1) == ip("fd00:0:0:1::"));
  CHECK(IpAddr::from_u128(AF_INET, 0x0a000001) == ip("10.0.0.1"));
  CHECK(IpAddr::from_u128(AF_INET, (u128{1} << 40) | 0x0a000001) == ip("10.0.0.1"));  // truncated to 32 bits
  CHECK(IpAddr::from_u128(AF_INET6, 1) == ip("::1"));
  CHECK(IpAddr::from_u128(AF_INET6, u128{0x20010db8} << 96) == ip("2001:db8::"));
}

TEST_CASE("IpNet::parse and str keep the address as written") {
  auto n = IpNet::parse("10.244.1.5/24");
  REQUIRE(n);
  CHECK(n->addr == ip("10.244.1.5"));
  CHECK(n->len == 24);
  CHECK(n->str() == "10.244.1.5/24");
  CHECK(n->host_bits() == 8);
  CHECK(n->masked().str() == "10.244.1.0/24");
  CHECK(cidr("0.0.0.0/0").len == 0);
  CHECK(cidr("10.0.0.1/32").host_bits() == 0);
  CHECK(cidr("fd00::5/64").str() == "fd00::5/64");
  CHECK(cidr("::/0").host_bits() == 128);
  CHECK(cidr("::1/128").host_bits() == 0);
}

TEST_CASE("IpNet::parse rejects malformed prefixes") {
  for (std::string_view bad : {"", "/", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/-0",
                               "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/0x8",
                               "10.0.0.0/1000", "fd00::/129", "fd00::/", "/24", "x/24", "10.0.0/24"}) {
    CAPTURE(bad);
    CHECK_FALSE(IpNet::parse(bad).has_value());
  }
}

TEST_CASE("IpNet::network and last") {
  CHECK(cidr("10.244.1.77/24").network() == ip("10.244.1.0"));
  CHECK(cidr("10.244.1.77/24").last() == ip("10.244.1.255"));
  CHECK(cidr("10.244.1.77/32").network() == ip("10.244.1.77"));
  CHECK(cidr("10.244.1.77/32").last() == ip("10.244.1.77"));
  CHECK(cidr("10.244.1.77/0").network() == ip("0.0.0.0"));
  CHECK(cidr("10.244.1.77/0").last() == ip("255.255.255.255"));
  CHECK(cidr("10.244.1.77/31").network() == ip("10.244.1.76"));
  CHECK(cidr("10.244.1.77/31").last() == ip("10.244.1.77"));
  CHECK(cidr("fd00:1:2:3:4:5:6:7/64").network() == ip("fd00:1:2:3::"));
  CHECK(cidr("fd00:1:2:3:4:5:6:7/64").last() == ip("fd00:1:2:3:ffff:ffff:ffff:ffff"));
  CHECK(cidr("fd00::7/120").last() == ip("fd00::ff"));
  CHECK(cidr("fd00::7/128").network() == ip("fd00::7"));
  CHECK(cidr("fd00::7/128").last() == ip("fd00::7"));
  CHECK(cidr("fd00::7/0").network() == ip("::"));
  CHECK(cidr("fd00::7/0").last() == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(cidr("8000::/1").last() == ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(cidr("ffff::/1").network() == ip("8000::"));
}

TEST_CASE("IpNet::contains") {
  const auto n = cidr("10.244.1.0/24");
  CHECK(n.contains(ip("10.244.1.0")));
  CHECK(n.contains(ip("10.244.1.255")));
  CHECK_FALSE(n.contains(ip("10.244.2.0")));
  CHECK_FALSE(n.contains(ip("10.244.0.255")));
  CHECK_FALSE(n.contains(ip("::ffff:10.244.1.1")));  // other family
  CHECK(cidr("10.244.1.9/24").contains(ip("10.244.1.200")));  // host bits of the prefix ignored
  CHECK(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));
  CHECK(cidr("0.0.0.0/0").contains(ip("0.0.0.0")));
  CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("::")));
  CHECK(cidr("10.0.0.1/32").contains(ip("10.0.0.1")));
  CHECK_FALSE(cidr("10.0.0.1/32").contains(ip("10.0.0.2")));
  CHECK(cidr("::/0").contains(ip("ffff::1")));
  CHECK_FALSE(cidr("::/0").contains(ip("1.2.3.4")));
  CHECK(cidr("fd00::/64").contains(ip("fd00::ffff:ffff:ffff:ffff")));
  CHECK_FALSE(cidr("fd00::/64").contains(ip("fd00:0:0:1::")));
  CHECK(cidr("fd00::1/128").contains(ip("fd00::1")));
  CHECK_FALSE(cidr("fd00::1/128").contains(ip("fd00::")));
}

TEST_CASE("IpNet::overlaps is symmetric and family-aware") {
  auto both = [](std::string_view a, std::string_view b) {
    bool x = cidr(a).overlaps(cidr(b)), y = cidr(b).overlaps(cidr(a));
    CHECK(x == y);
    return x;
  };
  CHECK(both("10.0.0.0/8", "10.1.0.0/16"));
  CHECK(both("10.0.0.0/24", "10.0.0.128/25"));
  CHECK(both("10.0.0.0/24", "10.0.0.0/24"));
  CHECK(both("10.0.0.5/32", "10.0.0.0/24"));
  CHECK(both("0.0.0.0/0", "192.168.0.0/16"));
  CHECK_FALSE(both("10.0.0.0/25", "10.0.0.128/25"));
  CHECK_FALSE(both("10.0.0.0/24", "10.0.1.0/24"));
  CHECK_FALSE(both("0.0.0.0/0", "::/0"));
  CHECK(both("fd00::/48", "fd00:0:0:1::/64"));
  CHECK_FALSE(both("fd00::/64", "fd00:0:0:1::/64"));
  CHECK(both("::/0", "fd00::1/128"));
  CHECK(both("10.0.0.77/24", "10.0.0.200/30"));  // host bits ignored
}

TEST_CASE("parse_ip_or_cidr drops the prefix") {
  CHECK(parse_ip_or_cidr("10.0.0.5") == ip("10.0.0.5"));
  CHECK(parse_ip_or_cidr("10.0.0.5/24") == ip("10.0.0.5"));
  CHECK(parse_ip_or_cidr("fd00::5/64") == ip("fd00::5"));
  CHECK_FALSE(parse_ip_or_cidr("10.0.0.5/33").has_value());
  CHECK_FALSE(parse_ip_or_cidr("10.0.0.5/").has_value());
  CHECK_FALSE(parse_ip_or_cidr("x").has_value());
  CHECK_FALSE(parse_ip_or_cidr("").has_value());
}

TEST_CASE("aggregate: the fewest prefixes covering exactly the union") {
  auto agg = [](std::vector<std::string> in) {
    std::vector<zl::net::IpNet> nets;
    for (const auto& s : in) nets.push_back(*zl::net::IpNet::parse(s));
    std::string out;
    for (const auto& n : zl::net::aggregate(nets)) out += (out.empty() ? "" : " ") + n.str();
    return out;
  };
  CHECK(agg({}) == "");
  CHECK(agg({"10.0.0.5/24"}) == "10.0.0.0/24");
  CHECK(agg({"10.0.0.0/25", "10.0.0.128/25"}) == "10.0.0.0/24");
  CHECK(agg({"10.0.1.0/24", "10.0.2.0/24"}) == "10.0.1.0/24 10.0.2.0/24");  // adjacent, not siblings
  CHECK(agg({"10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"}) == "10.0.1.0/24 10.0.2.0/23");
  CHECK(agg({"10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8"}) == "10.0.0.0/8");
  CHECK(agg({"10.0.0.1/32", "10.0.0.0/32", "10.0.0.2/32"}) == "10.0.0.0/31 10.0.0.2/32");
  CHECK(agg({"0.0.0.0/1", "128.0.0.0/1"}) == "0.0.0.0/0");
  CHECK(agg({"255.255.255.255/32", "255.255.255.254/32"}) == "255.255.255.254/31");
  CHECK(agg({"::/1", "8000::/1"}) == "::/0");
  CHECK(agg({"fd00::/64", "fd00:0:0:1::/64", "10.0.0.0/31"}) == "10.0.0.0/31 fd00::/63");
  CHECK(agg({"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}) == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
  // 5000 consecutive /32s from .0: a handful of blocks, covering exactly those addresses.
  std::vector<zl::net::IpNet> many;
  for (unsigned i = 0; i < 5000; ++i) many.push_back({zl::net::IpAddr::from_u128(AF_INET, (10u << 24) + i), 32});
  auto a = zl::net::aggregate(many);
  CHECK(a.size() == 5);  // 4096 + 512 + 256 + 128 + 8
  zl::net::u128 covered = 0;
  for (const auto& n : a) covered += zl::net::u128{1} << n.host_bits();
  CHECK(covered == 5000);
}
