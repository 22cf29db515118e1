// zl-meshd's pure parts: the "mesh" config, etcd records (untrusted), the mesh view, subnet
// picking and the local state file.
#include <doctest/doctest.h>

#include "libcni/errors.h"
#include "libcni/json.h"
#include "libnet/wireguard/keys.h"
#include "plugins/zl-wg/meshd/config.h"
#include "plugins/zl-wg/meshd/local.h"
#include "plugins/zl-wg/meshd/records.h"

using namespace zl;
using namespace zl::meshd;

namespace {

net::Key key(int n) {
  net::Key k{};
  k[0] = static_cast<uint8_t>(n);
  k[1] = 0x5a;
  return k;
}

net::IpNet cidr(const char* s) { return *net::IpNet::parse(s); }

Result<MeshConfig> mesh(const std::string& json) {
  auto doc = cni::parse_json(json, "mesh");
  REQUIRE(doc.ok());
  MeshConfig c;
  c.network = "zl-mesh";
  if (auto s = parse_mesh_object(**doc, c); !s) return std::move(s).error();
  return c;
}

void expect_bad(const std::string& json, const std::string& needle) {
  auto c = mesh(json);
  REQUIRE_MESSAGE(!c.ok(), json);
  CHECK(c.error().code == cni::kErrInvalidConfig);
  CHECK_MESSAGE(c.error().msg.find(needle) != std::string::npos, c.error().msg);
}

struct Store {
  Keys keys{"/zl-cni/v1/zl-mesh/"};
  std::map<std::string, KeyValue> kvs;
  void put(const std::string& k, const std::string& v) { kvs[k] = KeyValue{.key = k, .value = v, .mod_revision = 1}; }
  void node(const std::string& name, int k, const char* subnet, bool claim = true) {
    NodeRecord r{.public_key = key(k), .endpoint = net::wg::Endpoint{*net::IpAddr::parse("192.0.2.9"), 51820},
                 .subnets = {cidr(subnet)}, .keepalive = 25};
    put(keys.node(name), encode(r));
    if (claim) put(keys.subnet(cidr(subnet)), encode(SubnetRecord{.node = name, .public_key = key(k)}));
  }
};

Self self() {
  return Self{.node = "n1", .public_key = key(1), .cluster = ClusterRecord{.cidr = cidr("10.244.0.0/16"), .len = 24}};
}

}  // namespace

TEST_CASE("meshd config: defaults, and every bad or unknown key named") {
  auto c = mesh(R"({"etcd":{"endpoints":["http://127.0.0.1:2379"]},"clusterCIDR":"10.244.0.0/16"})");
  REQUIRE(c.ok());
  CHECK(c->prefix == "/zl-cni/v1/zl-mesh/");
  CHECK(c->subnet_len == 24);
  CHECK(c->lease_ttl == 30);
  CHECK(c->keepalive_interval == 10);
  CHECK(c->state_dir == "/var/lib/zl-cni/mesh/zl-mesh");
  CHECK(!c->cluster_cidr6);
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","bogus":1})", "unknown key \"bogus\"");
  expect_bad(R"({"etcd":{"endpoints":["127.0.0.1:2379"]},"clusterCIDR":"10.244.0.0/16"})", "127.0.0.1:2379");
  expect_bad(R"({"etcd":{"endpointz":[]},"clusterCIDR":"10.244.0.0/16"})", "endpointz");
  expect_bad(R"({"clusterCIDR":"10.244.0.0/16"})", "mesh.etcd: missing");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.1/16"})", "mesh.clusterCIDR");
  expect_bad(R"({"etcd":{},"clusterCIDR":"fd00::/48"})", "not an IPv4 prefix");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","subnetLength":8})", "subnetLength");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","leaseTTL":10,"keepaliveInterval":6})", "keepaliveInterval");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","prefix":"/x"})", "must end in /");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","endpoint":"node1.example:51820"})", "not an IP address");
  expect_bad(R"({"etcd":{},"clusterCIDR":"10.244.0.0/16","endpoint":"192.0.2.1:+80"})", "port");
  expect_bad(R"({"etcd":{"caFile":"/etc/ca\u0000x"},"clusterCIDR":"10.244.0.0/16"})", "caFile");
  expect_bad(R"([1,2])", "expected an object");
}

TEST_CASE("meshd records: round trips, and hostile values refused") {
  NodeRecord n{.public_key = key(2), .endpoint = net::wg::Endpoint{*net::IpAddr::parse("2001:db8::2"), 51820},
               .subnets = {cidr("10.244.2.0/24"), cidr("fd10:244:0:2::/64")}, .keepalive = 25, .behind_nat = true};
  auto back = decode_node(encode(n));
  REQUIRE(back.ok());
  CHECK(*back == n);
  ClusterRecord c{.cidr = cidr("10.244.0.0/16"), .len = 24, .cidr6 = cidr("fd10:244::/56"), .len6 = 64};
  auto cb = decode_cluster(encode(c));
  REQUIRE(cb.ok());
  CHECK(*cb == c);
  SubnetRecord s{.node = "n2", .public_key = key(2)};
  REQUIRE(decode_subnet(encode(s)).ok());
  CHECK(*decode_subnet(encode(s)) == s);

  CHECK(!decode_node("").ok());
  CHECK(!decode_node("[]").ok());
  CHECK(!decode_node(std::string(100000, '[')).ok());
  CHECK(!decode_node("{\"publicKey\":\"" + std::string(5000, 'A') + "\"}").ok());
  CHECK(!decode_node(R"({"publicKey":"not base64"})").ok());
  CHECK(!decode_node(R"({"publicKey":")" + net::key_to_base64(key(3)) + R"(","endpoint":"evil.example:1"})").ok());
  CHECK(!decode_node(R"({"publicKey":")" + net::key_to_base64(key(3)) + R"(","subnets":["10.244.3.1/24"]})").ok());
  CHECK(!decode_node(R"({"publicKey":")" + net::key_to_base64(key(3)) + R"(","subnets":[7]})").ok());
  CHECK(!decode_node(R"({"publicKey":")" + net::key_to_base64(key(3)) + R"(","persistentKeepalive":"25"})").ok());
  CHECK(!decode_subnet(R"({"node":"","publicKey":"x"})").ok());
  CHECK(!decode_cluster(R"({"clusterCIDR":"10.244.0.0/16","subnetLength":99})").ok());
  // The same bounds as mesh.subnetLength in a conflist: no /31 or /121 node subnets.
  CHECK(!decode_cluster(R"({"clusterCIDR":"10.244.0.0/16","subnetLength":31})").ok());
  CHECK(!decode_cluster(R"({"clusterCIDR":"10.244.0.0/16","clusterCIDRv6":"fd00::/48","subnetLengthV6":121})").ok());
  CHECK(!decode_cluster(R"({"clusterCIDR":"fd10:244::/56","subnetLengthV6":64})").ok());  // found by fuzz_meshd
  CHECK(!decode_cluster(R"({"clusterCIDR":"10.244.0.0/16","clusterCIDRv6":"10.0.0.0/8"})").ok());
  auto defaults = decode_cluster(R"({"clusterCIDR":"10.0.0.0/26","clusterCIDRv6":"fd00::/80"})");
  REQUIRE(defaults.ok());
  CHECK(defaults->len == 26);
  CHECK(defaults->len6 == 80);
  CHECK(*decode_cluster(encode(*defaults)) == *defaults);
}

TEST_CASE("meshd view: sound nodes in, every bad record skipped with a reason") {
  Store st;
  st.node("n1", 1, "10.244.1.0/24");
  st.node("n2", 2, "10.244.2.0/24");
  st.node("n3", 3, "10.244.3.0/24");
  st.node("thief", 4, "10.244.2.0/24", false);           // names n2's subnet
  st.node("unclaimed", 5, "10.244.5.0/24", false);       // a subnet nobody claimed
  st.node("outside", 6, "10.99.0.0/24");                 // outside the cluster space
  st.node("me-again", 1, "10.244.7.0/24");               // this node's own key
  st.put(st.keys.node("bad/name"), "{}");
  st.put(st.keys.node("garbage"), std::string(100000, '{'));
  st.put(st.keys.subnet(cidr("10.244.0.0/16")), encode(SubnetRecord{.node = "n9", .public_key = key(9)}));
  st.put(st.keys.alive("n2"), "1");
  View v = build_view(st.keys, self(), st.kvs);
  CHECK(v.nodes.size() == 3);
  CHECK(v.nodes.count("n1"));
  CHECK(v.nodes.count("n2"));
  CHECK(v.nodes.count("n3"));
  std::string skipped;
  for (const auto& s : v.skipped) skipped += s + "\n";
  for (const char* who : {"thief", "unclaimed", "outside", "me-again", "bad/name", "garbage", "10.244.0.0/16"}) {
    CHECK_MESSAGE(skipped.find(who) != std::string::npos, who, "\n", skipped);
  }
  auto peers = peers_of(v, self());
  REQUIRE(peers.size() == 2);
  CHECK(peers[0].node == "n2");
  CHECK(peers[0].up);
  CHECK(peers[1].node == "n3");
  CHECK(!peers[1].up);
}

TEST_CASE("meshd pick_free: distinct, inside the space, nullopt when full") {
  std::set<std::string> taken;
  for (int i = 0; i < 16; i++) {
    auto n = pick_free(cidr("10.244.0.0/20"), 24, taken, "node" + std::to_string(i));
    REQUIRE(n);
    CHECK(cidr("10.244.0.0/20").contains(n->addr));
    CHECK(n->len == 24);
    CHECK(taken.insert(n->str()).second);
  }
  CHECK(!pick_free(cidr("10.244.0.0/20"), 24, taken, "one-more"));
  auto v6 = pick_free(cidr("fd10:244::/56"), 64, {}, "n1");
  REQUIRE(v6);
  CHECK(cidr("fd10:244::/56").contains(v6->addr));
}

TEST_CASE("meshd state: round trip; peers file in zl-wg's format") {
  LastKnown s;
  s.node = "n1";
  s.public_key = key(1);
  s.subnets = {cidr("10.244.1.0/24")};
  NodeRecord r{.public_key = key(2), .endpoint = net::wg::Endpoint{*net::IpAddr::parse("192.0.2.2"), 51820},
               .subnets = {cidr("10.244.2.0/24")}, .keepalive = 25};
  s.peers = {MeshPeer{.node = "n2", .record = r, .up = true}};
  s.health = Health{.endpoint = "http://127.0.0.1:2379", .connected = true, .last_contact = 5, .last_sync = 6, .revision = 7};
  s.skipped = {"nodes/x: why"};
  auto back = decode_state(encode_state(s));
  REQUIRE(back.ok());
  CHECK(back->node == "n1");
  CHECK(back->public_key == key(1));
  CHECK(back->subnets == s.subnets);
  REQUIRE(back->peers.size() == 1);
  CHECK(back->peers[0] == s.peers[0]);
  CHECK(back->health.revision == 7);
  CHECK(back->health.connected);
  CHECK(back->skipped == s.skipped);
  CHECK(!decode_state("{\"node\":\"n1\"}").ok());
  CHECK(!decode_state(std::string(1000000, '[')).ok());

  auto doc = cni::parse_json(peers_json(s.peers), "peers");
  REQUIRE(doc.ok());
  const auto& p = (**doc)["peers"][0];
  CHECK(std::string(p["publicKey"].GetString()) == net::key_to_base64(key(2)));
  CHECK(std::string(p["allowedIPs"][0].GetString()) == "10.244.2.0/24");
  CHECK(std::string(p["endpoint"].GetString()) == "192.0.2.2:51820");
  CHECK(p["persistentKeepalive"].GetInt() == 25);
  CHECK(!p.HasMember("node"));
}
