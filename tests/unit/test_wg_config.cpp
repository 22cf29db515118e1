// zl-wg configuration: peers, peersFile, keys, endpoints, overlaps — each bad value code 7.
#include <doctest/doctest.h>
#include <unistd.h>

#include "libcni/conf.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libnet/wireguard/keys.h"
#include "plugins/zl-wg/config.h"

using namespace zl;

namespace {

std::string key(int n) {
  net::Key k{};
  k[0] = static_cast<uint8_t>(n);
  return net::key_to_base64(k);
}

Result<wg::Config> parse(const std::string& plugin_keys) {
  auto nc = cni::parse_netconf(R"({"cniVersion":"1.1.0","name":"mesh","type":"zl-wg")" +
                               (plugin_keys.empty() ? "" : "," + plugin_keys) + "}");
  REQUIRE(nc.ok());
  return wg::parse_config(*nc);
}

void expect_invalid(const std::string& keys, const std::string& needle) {
  auto c = parse(keys);
  REQUIRE_MESSAGE(!c.ok(), keys);
  CHECK(c.error().code == cni::kErrInvalidConfig);
  CHECK_MESSAGE(c.error().msg.find(needle) != std::string::npos, c.error().msg);
}

std::string peer(int n, const std::string& aips, const std::string& extra = "") {
  return R"({"publicKey":")" + key(n) + R"(","allowedIPs":[)" + aips + "]" + extra + "}";
}

}  // namespace

TEST_CASE("zl-wg config: defaults") {
  auto c = parse("");
  REQUIRE(c.ok());
  CHECK(c->ifname.starts_with("zl-wg-"));
  CHECK(c->ifname.size() <= 15);
  CHECK(c->listen_port == 51820);
  CHECK(c->private_key_file == "/var/lib/zl-cni/wg/mesh.key");
  CHECK(c->implementation == wg::Implementation::kAuto);
  CHECK(c->peers.empty());
}

TEST_CASE("zl-wg config: peers parse with endpoints v4, v6, keepalive") {
  auto c = parse(R"("peers":[)" + peer(1, R"("10.244.2.0/24")", R"(,"endpoint":"192.0.2.2:51820","persistentKeepalive":25)") +
                 "," + peer(2, R"("10.244.3.5/24","fd00:3::/64")", R"(,"endpoint":"[2001:db8::3]:1234")") + "]");
  REQUIRE(c.ok());
  REQUIRE(c->peers.size() == 2);
  CHECK(c->peers[0].endpoint->str() == "192.0.2.2:51820");
  CHECK(c->peers[0].keepalive == 25);
  CHECK(c->peers[1].endpoint->str() == "[2001:db8::3]:1234");
  CHECK(c->peers[1].allowed_ips[0].str() == "10.244.3.0/24");  // masked
}

TEST_CASE("zl-wg config: bad values are code 7 naming them") {
  expect_invalid(R"("peers":[{"publicKey":"abc","allowedIPs":[]}])", "\"abc\"");
  expect_invalid(R"("peers":[{"publicKey":")" + key(1).substr(0, 43) + R"(A"}])", "publicKey");
  expect_invalid(R"("peers":[{"allowedIPs":[]}])", "publicKey: missing");
  expect_invalid(R"("peers":[)" + peer(1, "", R"(,"endpoint":"192.0.2.2")") + "]", "192.0.2.2");
  expect_invalid(R"("peers":[)" + peer(1, "", R"(,"endpoint":"192.0.2.2:0")") + "]", "port must be 1-65535");
  expect_invalid(R"("peers":[)" + peer(1, "", R"(,"endpoint":"2001:db8::1:51820")") + "]", "[address]:port");
  expect_invalid(R"("peers":[)" + peer(1, R"("10.0.0.0/33")") + "]", "10.0.0.0/33");
  expect_invalid(R"("peers":[)" + peer(1, "", R"(,"persistentKeepalive":70000)") + "]", "70000");
  expect_invalid(R"("listenPort":0)", "listenPort 0");
  expect_invalid(R"("listenPort":65536)", "listenPort 65536");
  expect_invalid(R"("mtu":100)", "mtu 100");
  expect_invalid(R"("interface":"much-too-long-name")", "much-too-long-name");
  expect_invalid(R"("implementation":"magic")", "magic");
  expect_invalid(R"("privateKeyFile":"relative.key")", "relative.key");
  expect_invalid(R"("peers":[)" + peer(1, "", R"(,"presharedKeyFile":"/nonexistent/psk")") + "]", "/nonexistent/psk");
}

TEST_CASE("zl-wg config: peersFile — list or object, malformed refused whole") {
  char dir[] = "/tmp/zl-wgconf.XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string f = std::string(dir) + "/peers.json";
  REQUIRE(net::write_file_atomic(f, "[" + peer(3, R"("10.244.3.0/24")") + "]").ok());
  auto c = parse(R"("peersFile":")" + f + R"(","peers":[)" + peer(2, R"("10.244.2.0/24")") + "]");
  REQUIRE(c.ok());
  CHECK(c->peers.size() == 2);
  REQUIRE(net::write_file_atomic(f, R"({"peers":[)" + peer(3, R"("10.244.3.0/24")") + "]}").ok());
  CHECK(parse(R"("peersFile":")" + f + "\"").ok());
  REQUIRE(net::write_file_atomic(f, "[" + peer(3, R"("10.244.3.0/24")") + ",").ok());
  expect_invalid(R"("peersFile":")" + f + "\"", f);
  REQUIRE(net::write_file_atomic(f, R"({"nodes":[]})").ok());
  expect_invalid(R"("peersFile":")" + f + "\"", "expected a list of peers");
  unlink(f.c_str());
  rmdir(dir);
}

TEST_CASE("zl-wg config: own key, duplicate keys, overlapping allowed IPs") {
  net::Key own{};
  own[0] = 9;
  auto c = parse(R"("peers":[)" + peer(9, R"("10.9.0.0/24")") + "]");
  REQUIRE(c.ok());
  auto s = wg::validate_peers(*c, own);
  REQUIRE(!s.ok());
  CHECK(s.error().msg.find("own public key") != std::string::npos);

  c = parse(R"("peers":[)" + peer(1, R"("10.1.0.0/24")") + "," + peer(1, R"("10.2.0.0/24")") + "]");
  REQUIRE(c.ok());
  CHECK(wg::validate_peers(*c, own).error().msg.find("listed twice") != std::string::npos);

  // Nested prefixes of one peer are fine; of two peers they overlap, whatever lies between.
  c = parse(R"("peers":[)" + peer(1, R"("10.0.0.0/8","10.1.0.0/16")") + "," + peer(2, R"("10.2.0.0/16")") + "]");
  REQUIRE(c.ok());
  s = wg::validate_peers(*c, own);
  REQUIRE(!s.ok());
  CHECK(s.error().msg.find("10.2.0.0/16") != std::string::npos);
  CHECK(s.error().msg.find("10.0.0.0/8") != std::string::npos);

  c = parse(R"("peers":[)" + peer(1, R"("10.1.0.0/16","fd00::/64")") + "," + peer(2, R"("10.2.0.0/16","fd01::/64")") + "]");
  REQUIRE(c.ok());
  CHECK(wg::validate_peers(*c, own).ok());
  c = parse(R"("peers":[)" + peer(1, R"("fd00::/48")") + "," + peer(2, R"("fd00:0:0:5::/64")") + "]");
  REQUIRE(c.ok());
  CHECK(!wg::validate_peers(*c, own).ok());
}

TEST_CASE("zl-wg config: a peersFile not written yet is code 11 naming it; a mesh object is no concern") {
  auto c = parse(R"("peersFile":"/nonexistent/zl-peers.json")");
  REQUIRE(!c.ok());
  CHECK(c.error().code == cni::kErrTryAgainLater);
  CHECK_MESSAGE(c.error().msg.find("peersFile /nonexistent/zl-peers.json: not written yet") != std::string::npos, c.error().msg);
  expect_invalid(R"("peersFile":"/etc")", "/etc");  // there, but not a file: still code 7
  auto m = parse(R"("mesh":{"etcd":["https://10.0.0.1:2379"],"podCidr":"10.244.0.0/16"})");
  CHECK(m.ok());
}

TEST_CASE("zl-wg config: behindNAT is a bool, false by default") {
  auto c = parse(R"("peers":[)" + peer(1, R"("10.1.0.0/24")", R"(,"behindNAT":true)") + "," + peer(2, R"("10.2.0.0/24")") + "]");
  REQUIRE(c.ok());
  CHECK(c->peers[0].behind_nat);
  CHECK_FALSE(c->peers[1].behind_nat);
  expect_invalid(R"("peers":[)" + peer(1, R"("10.1.0.0/24")", R"(,"behindNAT":"yes")") + "]", "peers[0].behindNAT");
}
