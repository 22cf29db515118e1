// zl-ipam configuration: ranges and their defaults, validation, reserved, dataDir, requested IPs.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "tests/unit/ipam_helpers.h"

using namespace zl;
using namespace zl::ipam;
using test::cidr;
using test::ip;
using test::ipam_config;
using test::ipam_ok;

TEST_CASE("ipam config: single-range shorthand with defaults") {
  auto c = ipam_ok(R"({"type":"zl-ipam","subnet":"10.244.1.7/24"})");
  CHECK(c.network == "zl-test");
  CHECK(c.data_dir == "/var/lib/zl-cni/ipam");
  REQUIRE(c.range_sets.size() == 1);
  REQUIRE(c.range_sets[0].size() == 1);
  const Range& r = c.range_sets[0][0];
  CHECK(r.subnet == cidr("10.244.1.0/24"));  // masked
  CHECK(r.start == ip("10.244.1.1"));
  CHECK(r.end == ip("10.244.1.254"));
  CHECK(r.gateway == ip("10.244.1.1"));
  CHECK(c.reserved.empty());
  CHECK(c.routes.empty());
  CHECK(c.dns.empty());
  CHECK(r.contains(ip("10.244.1.1")));
  CHECK(r.contains(ip("10.244.1.254")));
  CHECK_FALSE(r.contains(ip("10.244.1.255")));
  CHECK_FALSE(r.contains(ip("10.244.1.0")));
  CHECK_FALSE(r.contains(ip("::ffff:10.244.1.5")));
}

TEST_CASE("ipam config: IPv6 defaults end at the last address") {
  auto c = ipam_ok(R"({"subnet":"fd00:244:1::/64"})");
  const Range& r = c.range_sets[0][0];
  CHECK(r.subnet == cidr("fd00:244:1::/64"));
  CHECK(r.start == ip("fd00:244:1::1"));
  CHECK(r.end == ip("fd00:244:1:0:ffff:ffff:ffff:ffff"));
  CHECK(r.gateway == ip("fd00:244:1::1"));
  auto c120 = ipam_ok(R"({"subnet":"fd00::100/120"})");
  CHECK(c120.range_sets[0][0].start == ip("fd00::101"));
  CHECK(c120.range_sets[0][0].end == ip("fd00::1ff"));
}

TEST_CASE("ipam config: small IPv4 subnets") {
  auto c30 = ipam_ok(R"({"subnet":"10.0.0.4/30"})");
  CHECK(c30.range_sets[0][0].start == ip("10.0.0.5"));
  CHECK(c30.range_sets[0][0].end == ip("10.0.0.6"));
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/31"})"), cni::kErrInvalidConfig,
              "ipam.subnet 10.0.0.0/31: too small");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.1/32"})"), cni::kErrInvalidConfig,
              "ipam.subnet 10.0.0.1/32: a /32 has no usable addresses");
  CHECK_FAILS(ipam_config(R"({"subnet":"fd00::1/128"})"), cni::kErrInvalidConfig,
              "ipam.subnet fd00::1/128: a /128 has no usable addresses");
}

TEST_CASE("ipam config: explicit rangeStart, rangeEnd, gateway") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.20","gateway":"10.0.0.254"}]]})");
  const Range& r = c.range_sets[0][0];
  CHECK(r.start == ip("10.0.0.10"));
  CHECK(r.end == ip("10.0.0.20"));
  CHECK(r.gateway == ip("10.0.0.254"));
  // The extremes are allowed.
  auto e = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.1","rangeEnd":"10.0.0.254"})");
  CHECK(e.range_sets[0][0].start == ip("10.0.0.1"));
  CHECK(e.range_sets[0][0].end == ip("10.0.0.254"));
  auto one = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.9","rangeEnd":"10.0.0.9"})");
  CHECK(one.range_sets[0][0].start == one.range_sets[0][0].end);
}

TEST_CASE("ipam config: range validation is code 7 naming the value") {
  using cni::kErrInvalidConfig;
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","gateway":"10.0.1.1"})"), kErrInvalidConfig,
              "ipam.gateway \"10.0.1.1\": outside subnet 10.0.0.0/24");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","gateway":"fd00::1"})"), kErrInvalidConfig,
              "ipam.gateway \"fd00::1\": outside subnet");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","gateway":"10.0.0.1/24"})"), kErrInvalidConfig,
              "ipam.gateway \"10.0.0.1/24\": not an IP address");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.100","rangeEnd":"10.0.0.50"})"),
              kErrInvalidConfig, "ipam: rangeStart 10.0.0.100 is after rangeEnd 10.0.0.50");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.0"})"), kErrInvalidConfig,
              "ipam.rangeStart 10.0.0.0: must be between 10.0.0.1 and 10.0.0.254");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.255"})"), kErrInvalidConfig,
              "ipam.rangeEnd 10.0.0.255: must be between 10.0.0.1 and 10.0.0.254");
  CHECK_FAILS(ipam_config(R"({"subnet":"fd00::/64","rangeStart":"fd00::"})"), kErrInvalidConfig,
              "ipam.rangeStart fd00::: must be between fd00::1 and");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.1.5"})"), kErrInvalidConfig,
              "ipam.rangeStart \"10.0.1.5\": outside subnet 10.0.0.0/24");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","rangeEnd":"x"})"), kErrInvalidConfig,
              "ipam.rangeEnd \"x\": not an IP address");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0"})"), kErrInvalidConfig, "ipam.subnet \"10.0.0.0\": not a CIDR");
  CHECK_FAILS(ipam_config(R"({"subnet":24})"), kErrInvalidConfig, "ipam.subnet: expected a string");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"},{"rangeStart":"10.0.1.1"}]]})"), kErrInvalidConfig,
              "ipam.ranges[0][1].subnet: missing");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.1.0.0/24","gateway":"10.2.0.1"}]]})"),
              kErrInvalidConfig, "ipam.ranges[1][0].gateway \"10.2.0.1\": outside subnet 10.1.0.0/24");
}

TEST_CASE("ipam config: ranges shape") {
  using cni::kErrInvalidConfig;
  CHECK_FAILS(ipam_config(R"({"type":"zl-ipam"})"), kErrInvalidConfig, "ipam: no ranges (set ranges or subnet)");
  CHECK_FAILS(ipam_config(R"({"ranges":[]})"), kErrInvalidConfig, "ipam: no ranges");
  CHECK_FAILS(ipam_config(R"({"ranges":[[]]})"), kErrInvalidConfig, "ipam.ranges[0]: expected a non-empty list of ranges");
  CHECK_FAILS(ipam_config(R"({"ranges":[{"subnet":"10.0.0.0/24"}]})"), kErrInvalidConfig,
              "ipam.ranges[0]: expected a non-empty list of ranges");
  CHECK_FAILS(ipam_config(R"({"ranges":[["10.0.0.0/24"]]})"), kErrInvalidConfig, "ipam.ranges[0][0]: expected an object");
  CHECK_FAILS(ipam_config(R"({"ranges":{"subnet":"10.0.0.0/24"}})"), kErrInvalidConfig, "ipam.ranges: expected a list");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","ranges":[[{"subnet":"10.1.0.0/24"}]]})"), kErrInvalidConfig,
              "ipam: use either subnet or ranges, not both");
  auto conf = test::netconf(R"({"subnet":"10.0.0.0/24"})");
  conf.ipam = nullptr;
  CHECK_FAILS(parse_config(conf), kErrInvalidConfig, "ipam: missing");
}

TEST_CASE("ipam config: several range sets and several ranges per set") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"10.0.1.0/24","gateway":"10.0.1.254"}],[{"subnet":"fd00::/64"}]]})");
  REQUIRE(c.range_sets.size() == 2);
  REQUIRE(c.range_sets[0].size() == 2);
  REQUIRE(c.range_sets[1].size() == 1);
  CHECK(c.range_sets[0][1].gateway == ip("10.0.1.254"));
  CHECK(c.range_sets[1][0].gateway == ip("fd00::1"));
  // Same subnet, disjoint ranges: fine.
  auto split = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.99"},{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.100"}]]})");
  CHECK(split.range_sets[0].size() == 2);
}

TEST_CASE("ipam config: overlapping ranges and mixed families are rejected") {
  using cni::kErrInvalidConfig;
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"10.0.0.0/25"}]]})"), kErrInvalidConfig,
              "ipam: range 10.0.0.0/25 (10.0.0.1-10.0.0.126) overlaps 10.0.0.0/24 (10.0.0.1-10.0.0.254)");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.128/25"}]]})"), kErrInvalidConfig,
              "ipam: range 10.0.0.128/25 (10.0.0.129-10.0.0.254) overlaps 10.0.0.0/24");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"fd00::/64"}],[{"subnet":"fd00::/48"}]]})"), kErrInvalidConfig,
              "overlaps fd00::/64");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.100"},{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.100"}]]})"),
              kErrInvalidConfig, "overlaps");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/24"}]]})"), kErrInvalidConfig,
              "overlaps");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]]})"), kErrInvalidConfig,
              "ipam.ranges[0]: mixes IPv4 and IPv6 (10.0.0.0/24 (10.0.0.1-10.0.0.254), fd00::/64");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"},{"subnet":"10.1.0.0/24"}]]})"),
              kErrInvalidConfig, "ipam.ranges[1]: mixes IPv4 and IPv6");
}

TEST_CASE("ipam config: reserved addresses and CIDRs") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","reserved":["10.0.0.5","10.0.0.17/28","fd00::9"]})");
  REQUIRE(c.reserved.size() == 3);
  CHECK(c.reserved[0] == cidr("10.0.0.5/32"));
  CHECK(c.reserved[1] == cidr("10.0.0.16/28"));  // masked
  CHECK(c.reserved[2] == cidr("fd00::9/128"));
  using cni::kErrInvalidConfig;
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","reserved":["nope"]})"), kErrInvalidConfig,
              "ipam.reserved \"nope\": not an IP address or CIDR");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","reserved":["10.0.0.0/33"]})"), kErrInvalidConfig,
              "ipam.reserved \"10.0.0.0/33\"");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","reserved":[5]})"), kErrInvalidConfig,
              "ipam.reserved: expected strings, got 5");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","reserved":"10.0.0.5"})"), kErrInvalidConfig,
              "ipam.reserved: expected a list");
}

TEST_CASE("ipam config: dataDir must be absolute without '..'") {
  CHECK(ipam_ok(R"({"subnet":"10.0.0.0/24","dataDir":"/run/zl"})").data_dir == "/run/zl");
  CHECK(ipam_ok(R"({"subnet":"10.0.0.0/24","dataDir":"/var/lib/..data"})").data_dir == "/var/lib/..data");
  for (std::string bad : {"relative/dir", "", "./x", "../x"}) {
    CAPTURE(bad);
    CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dataDir":")" + bad + R"("})"), cni::kErrInvalidConfig,
                "ipam.dataDir \"" + bad + "\": must be an absolute path");
  }
  for (std::string bad : {"/a/../b", "/a/..", "/..", "/a/./b"}) {
    CAPTURE(bad);
    CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dataDir":")" + bad + R"("})"), cni::kErrInvalidConfig,
                "ipam.dataDir \"" + bad + "\": must not contain '.' or '..' components");
  }
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dataDir":"/var/lib/x\u0000/../../etc"})"),
              cni::kErrInvalidConfig, "ipam.dataDir \"/var/lib/x?/../../etc\": contains a NUL byte");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dataDir":"/)" + std::string(5000, 'd') + R"("})"),
              cni::kErrInvalidConfig, "longer than 4095 bytes");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dataDir":1})"), cni::kErrInvalidConfig,
              "ipam.dataDir: expected a string");
}

TEST_CASE("ipam config: routes and dns") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.96.0.0/12","gw":"10.0.0.254"}],)"
                   R"("dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]}})");
  REQUIRE(c.routes.size() == 2);
  CHECK(c.routes[0].dst == cidr("0.0.0.0/0"));
  CHECK_FALSE(c.routes[0].gw.has_value());
  CHECK(c.routes[1].gw == ip("10.0.0.254"));
  CHECK(c.dns.nameservers == std::vector<std::string>{"10.96.0.10"});
  CHECK(c.dns.search == std::vector<std::string>{"svc.cluster.local"});
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","routes":[{"dst":"default"}]})"), cni::kErrInvalidConfig,
              "ipam: routes[0].dst \"default\": not a CIDR");
  CHECK_FAILS(ipam_config(R"({"subnet":"10.0.0.0/24","dns":{"nameservers":[1]}})"), cni::kErrInvalidConfig,
              "ipam.dns.nameservers: expected strings");
}

TEST_CASE("requested_ips: runtimeConfig.ips, args.cni.ips and CNI_ARGS IP=, in that order, deduplicated") {
  auto conf = test::netconf(R"({"subnet":"10.0.0.0/24"})",
                            R"("runtimeConfig":{"ips":["10.0.0.5/24"]},"args":{"cni":{"ips":["fd00::5","10.0.0.5"]}})");
  auto r = requested_ips(conf, "10.0.0.6,10.0.0.7/24,fd00::5");
  REQUIRE_MESSAGE(r.ok(), r.error().msg);
  CHECK(*r == std::vector<net::IpAddr>{ip("10.0.0.5"), ip("fd00::5"), ip("10.0.0.6"), ip("10.0.0.7")});

  auto none = requested_ips(test::netconf(R"({"subnet":"10.0.0.0/24"})"), "");
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto only_env = requested_ips(test::netconf(R"({"subnet":"10.0.0.0/24"})"), "10.0.0.9");
  REQUIRE(only_env.ok());
  CHECK(*only_env == std::vector<net::IpAddr>{ip("10.0.0.9")});
}

TEST_CASE("requested_ips: bad entries name their source") {
  auto plain = test::netconf(R"({"subnet":"10.0.0.0/24"})");
  CHECK_FAILS(requested_ips(plain, "10.0.0.300"), cni::kErrInvalidEnv, "CNI_ARGS IP \"10.0.0.300\": not an IP address");
  CHECK_FAILS(requested_ips(plain, "10.0.0.5,x"), cni::kErrInvalidEnv, "CNI_ARGS IP \"x\"");
  CHECK_FAILS(requested_ips(plain, "10.0.0.5,,10.0.0.6"), cni::kErrInvalidEnv, "CNI_ARGS IP \"\"");
  auto rc = test::netconf(R"({"subnet":"10.0.0.0/24"})", R"("runtimeConfig":{"ips":["10.0.0.5/40"]})");
  CHECK_FAILS(requested_ips(rc, ""), cni::kErrInvalidConfig, "runtimeConfig.ips \"10.0.0.5/40\": not an IP address");
  auto rc_type = test::netconf(R"({"subnet":"10.0.0.0/24"})", R"("runtimeConfig":{"ips":"10.0.0.5"})");
  CHECK_FAILS(requested_ips(rc_type, ""), cni::kErrInvalidConfig, "runtimeConfig.ips: expected a list");
  auto args = test::netconf(R"({"subnet":"10.0.0.0/24"})", R"("args":{"cni":{"ips":["gateway"]}})");
  CHECK_FAILS(requested_ips(args, ""), cni::kErrInvalidConfig, "args.cni.ips \"gateway\": not an IP address");
}

TEST_CASE("ipam config: blocks that cannot be pod networks are code 7 naming them") {
  const std::pair<const char*, const char*> bad[] = {
      {"127.0.0.0/24", "loopback"},      {"127.0.0.0/8", "loopback"},        {"0.0.0.0/0", "this network"},
      {"0.0.0.0/8", "this network"},     {"169.254.1.0/24", "link-local"},   {"224.1.0.0/16", "multicast"},
      {"239.0.0.0/8", "multicast"},      {"255.255.255.252/30", "broadcast"}, {"::/64", "unspecified"},
      {"::/0", "unspecified"},           {"fe80::/64", "link-local"},        {"ff02::/64", "multicast"},
      {"::ffff:10.0.0.0/120", "IPv4-mapped"},
  };
  for (const auto& [subnet, why] : bad) {
    CAPTURE(subnet);
    CHECK_FAILS(ipam_config(std::string(R"({"subnet":")") + subnet + R"("})"), cni::kErrInvalidConfig,
                std::string("subnet ") + subnet + ": ");
    CHECK_FAILS(ipam_config(std::string(R"({"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":")") + subnet + R"("}]]})"),
                cni::kErrInvalidConfig, why);
  }
  for (const char* good : {"10.244.0.0/16", "100.64.0.0/10", "240.0.0.0/8", "fd00::/64", "2001:db8::/64", "192.0.2.0/24"}) {
    CAPTURE(good);
    CHECK(ipam_config(std::string(R"({"subnet":")") + good + R"("})").ok());
  }
}

using cni::kErrInvalidConfig;

namespace {
// A scratch directory for subnet files; removed with what is in it.
struct SubnetDir {
  std::string dir;
  SubnetDir() {
    char d[] = "/tmp/zl-subnetfile.XXXXXX";
    REQUIRE(mkdtemp(d));
    dir = d;
  }
  ~SubnetDir() {
    for (const char* f : {"/subnet", "/link", "/fifo"}) unlink((dir + f).c_str());
    rmdir(dir.c_str());
  }
  std::string write(std::string_view text, mode_t mode = 0644) const {
    std::string f = dir + "/subnet";
    REQUIRE(net::write_file_atomic(f, text).ok());
    REQUIRE(chmod(f.c_str(), mode) == 0);  // not subject to the umask
    return f;
  }
};
}  // namespace

TEST_CASE("ipam config: subnetFile gives a range its subnet; the other keys stay relative to it") {
  SubnetDir d;
  std::string f = d.write("10.244.3.7/24\n");
  auto c = ipam_ok(R"({"ranges":[[{"subnetFile":")" + f + R"(","rangeStart":"10.244.3.10","gateway":"10.244.3.254"}]]})");
  const Range& r = c.range_sets[0][0];
  CHECK(r.subnet == cidr("10.244.3.0/24"));
  CHECK(r.start == ip("10.244.3.10"));
  CHECK(r.end == ip("10.244.3.254"));
  CHECK(r.gateway == ip("10.244.3.254"));
  f = d.write("fd00:3::/64");  // no newline is fine too; shorthand form
  CHECK(ipam_ok(R"({"subnetFile":")" + f + R"("})").range_sets[0][0].subnet == cidr("fd00:3::/64"));
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnetFile":")" + f + R"(","rangeEnd":"10.0.0.5"}]]})"), kErrInvalidConfig,
              "ipam.ranges[0][0].rangeEnd \"10.0.0.5\"");
}

TEST_CASE("ipam config: subnetFile missing is code 11 naming it; bad files and both keys code 7") {
  SubnetDir d;
  std::string missing = d.dir + "/subnet";
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnetFile":")" + missing + R"("}]]})"), cni::kErrTryAgainLater,
              "ipam.ranges[0][0].subnetFile " + missing + ": not written yet: is zl-meshd running?");
  std::string f = d.write("10.244.3.0/24\n");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"subnet":"10.1.0.0/24","subnetFile":")" + f + R"("}]]})"), kErrInvalidConfig,
              "ipam.ranges[0][0]: set either subnet or subnetFile, not both");
  CHECK_FAILS(ipam_config(R"({"ranges":[[{"rangeStart":"10.0.0.1"}]]})"), kErrInvalidConfig,
              "ipam.ranges[0][0].subnet: missing");
  CHECK_FAILS(ipam_config(R"({"subnetFile":"relative"})"), kErrInvalidConfig, "ipam.subnetFile \"relative\"");
  for (const char* bad : {"10.244.3.0", "10.244.3.0/24\n\n", " 10.244.3.0/24", "", "garbage/x"}) {
    f = d.write(bad);
    CHECK_FAILS(ipam_config(R"({"subnetFile":")" + f + R"("})"), kErrInvalidConfig, f);
    CHECK_FAILS(ipam_config(R"({"subnetFile":")" + f + R"("})"), kErrInvalidConfig, "is not a CIDR");
  }
  f = d.write("127.0.0.0/24\n");
  CHECK_FAILS(ipam_config(R"({"subnetFile":")" + f + R"("})"), kErrInvalidConfig, "(loopback)");
  f = d.write("10.244.3.0/24\n", 0666);
  CHECK_FAILS(ipam_config(R"({"subnetFile":")" + f + R"("})"), kErrInvalidConfig, "0666");
  f = d.write(std::string(5000, '1'));
  CHECK_FAILS(ipam_config(R"({"subnetFile":")" + f + R"("})"), kErrInvalidConfig, f);
  f = d.write("10.244.3.0/24\n");
  std::string link = d.dir + "/link";
  REQUIRE(symlink(f.c_str(), link.c_str()) == 0);
  CHECK_FAILS(ipam_config(R"({"subnetFile":")" + link + R"("})"), kErrInvalidConfig, link);
  std::string fifo = d.dir + "/fifo";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  CHECK_FAILS(ipam_config(R"({"subnetFile":")" + fifo + R"("})"), kErrInvalidConfig, "FIFO");
}

TEST_CASE("ipam_subnets: reads subnetFile ranges too; an unreadable one is left out") {
  SubnetDir d;
  std::string f = d.write("10.244.3.9/24\n");
  auto c = test::netconf(R"({"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnetFile":")" + f +
                         R"("},{"subnetFile":"/nonexistent/zl-subnet"}]]})");
  auto s = cni::ipam_subnets(c);
  REQUIRE(s.size() == 2);
  CHECK(s[0] == cidr("10.1.0.0/24"));
  CHECK(s[1] == cidr("10.244.3.0/24"));  // masked
  auto shorthand = test::netconf(R"({"subnetFile":")" + f + R"("})");
  CHECK(cni::ipam_subnets(shorthand) == std::vector<net::IpNet>{cidr("10.244.3.0/24")});
}

TEST_CASE("ipam config: for DEL and GC a subnetFile not written is left out, not code 11") {
  SubnetDir d;
  std::string f = d.write("10.244.3.0/24\n");
  const std::string missing = d.dir + "/gone";
  auto conf = test::netconf(R"({"ranges":[[{"subnetFile":")" + missing + R"("}],[{"subnetFile":")" + f + R"("}]]})");
  CHECK_FAILS(parse_config(conf), cni::kErrTryAgainLater, missing);
  auto c = parse_config(conf, {.subnet_files_optional = true});
  REQUIRE_MESSAGE(c.ok(), c.error().msg);
  REQUIRE(c->range_sets.size() == 1);
  CHECK(c->range_sets[0][0].subnet == cidr("10.244.3.0/24"));
  auto only = test::netconf(R"({"subnetFile":")" + missing + R"("})");
  auto none = parse_config(only, {.subnet_files_optional = true});
  REQUIRE(none.ok());
  CHECK(none->range_sets.empty());
  // Only "not written yet" is forgiven: a bad file still fails.
  f = d.write("not a cidr");
  CHECK_FAILS(parse_config(test::netconf(R"({"subnetFile":")" + f + R"("})"), {.subnet_files_optional = true}),
              kErrInvalidConfig, "is not a CIDR");
}
