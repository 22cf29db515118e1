// zl-bridge's planner: desired attachment + kernel snapshot → changes, no kernel involved.
#include <linux/if.h>

#include <algorithm>

#include "plugins/zl-bridge/plan.h"
#include "tests/unit/helpers.h"

using namespace zl;
using namespace zl::bridge;
using test::cidr;
using test::ip;

namespace {

Config config() {
  Config c;
  c.network = "net";
  c.bridge = "zl-br0";
  c.is_gateway = true;
  return c;
}

Desired desired() {
  return Desired{.host_veth = "zlh1", .ifname = "eth0", .alias = "zl-cni:net:c1:eth0",
                 .ips = {{.address = cidr("10.1.0.5/24"), .gateway = ip("10.1.0.1")}},
                 .routes = {{.dst = cidr("0.0.0.0/0")}}};
}

net::LinkInfo link(int index, std::string name, std::string kind, bool up) {
  net::LinkInfo l;
  l.index = index;
  l.name = std::move(name);
  l.kind = std::move(kind);
  l.flags = up ? IFF_UP : 0;
  return l;
}

// The kernel after a successful ADD of desired().
Snapshot healthy() {
  Snapshot s;
  s.bridge = link(5, "zl-br0", "bridge", true);
  s.bridge_addrs = {{.index = 5, .addr = cidr("10.1.0.1/24")}};
  s.host_veth = link(6, "zlh1", "veth", true);
  s.host_veth->master = 5;
  s.host_veth->alias = "zl-cni:net:c1:eth0";
  s.pod_link = link(2, "eth0", "veth", true);
  s.pod_link->mac = {0x0a, 0x58, 0, 0, 0, 1};
  s.pod_lo_up = true;
  s.pod_addrs = {{.index = 2, .addr = cidr("10.1.0.5/24")}};
  net::RouteInfo def{.dst = cidr("0.0.0.0/0"), .gw = ip("10.1.0.1")};
  s.pod_routes = {def};
  return s;
}

std::vector<Op> ops(const Plan& p) {
  std::vector<Op> out;
  for (const auto& ch : p.changes) out.push_back(ch.op);
  return out;
}

Plan plan_ok(const Config& c, const Desired& d, const Snapshot& s) {
  auto p = plan_attachment(c, d, s);
  REQUIRE_MESSAGE(p.ok(), p.error().msg);
  return *p;
}

}  // namespace

TEST_CASE("bridge plan: a healthy attachment needs nothing") {
  Plan p = plan_ok(config(), desired(), healthy());
  CHECK(p.empty());
  CHECK(p.str().empty());
}

TEST_CASE("bridge plan: from nothing, the link phase creates bridge and veth, then labels the veth") {
  Config c = config();
  c.hairpin = true;
  c.vlan = 7;
  Desired d = desired();
  d.ips.clear();  // before IPAM ran
  d.routes.clear();
  Plan p = plan_ok(c, d, Snapshot{});
  CHECK(ops(p) == std::vector<Op>{Op::kCreateBridge, Op::kCreateVeth, Op::kSetHostVeth, Op::kSetPort, Op::kSetPortVlan});
  CHECK(p.changes[2].link.up == true);
  CHECK(p.changes[2].link.alias == d.alias);
  CHECK_FALSE(p.changes[2].link.master.has_value());  // a port from birth
}

TEST_CASE("bridge plan: after the veth exists, the address phase configures the pod in kernel order") {
  Snapshot s = healthy();
  s.bridge_addrs.clear();
  s.pod_lo_up = false;
  s.pod_link->flags = 0;
  s.pod_addrs.clear();
  s.pod_routes.clear();
  Plan p = plan_ok(config(), desired(), s);
  CHECK(ops(p) == std::vector<Op>{Op::kAddGateway, Op::kPodLoUp, Op::kPodAddress, Op::kPodUp, Op::kPodRoute});
  CHECK(p.changes[0].addr == cidr("10.1.0.1/24"));
  CHECK(p.changes[2].addr == cidr("10.1.0.5/24"));
  // A route without a gateway goes via the pod's gateway of its family.
  CHECK(p.changes[4].route.gw == ip("10.1.0.1"));
  CHECK(p.changes[4].route.dst == cidr("0.0.0.0/0"));
}

TEST_CASE("bridge plan: a stale host end without its pod end is replaced") {
  Snapshot s = healthy();
  s.pod_link.reset();
  Desired d = desired();
  d.ips.clear();
  Plan p = plan_ok(config(), d, s);
  CHECK(ops(p) == std::vector<Op>{Op::kReplaceVeth, Op::kSetHostVeth});
}

TEST_CASE("bridge plan: CHECK-style differences are reported, one reason each") {
  Snapshot s = healthy();
  s.host_veth->flags = 0;
  s.pod_routes.clear();
  s.pod_link->mac = {0x0a, 0x58, 0, 0, 0, 2};
  Desired d = desired();
  d.pod_mac = "0a:58:00:00:00:01";
  Plan p = plan_ok(config(), d, s);
  CHECK(ops(p) == std::vector<Op>{Op::kSetHostVeth, Op::kPodMac, Op::kPodRoute});
  CHECK_MESSAGE(test::contains(p.str(), "host veth zlh1 is down"), p.str());
  CHECK_MESSAGE(test::contains(p.str(), "eth0 has MAC 0a:58:00:00:00:02, prevResult says 0a:58:00:00:00:01"), p.str());
  CHECK_MESSAGE(test::contains(p.str(), "route 0.0.0.0/0 via 10.1.0.1 missing"), p.str());
}

TEST_CASE("bridge plan: a veth that left the bridge or lost its label is put back") {
  Snapshot s = healthy();
  s.host_veth->master = 0;
  s.host_veth->alias.clear();
  Plan p = plan_ok(config(), desired(), s);
  REQUIRE(ops(p) == std::vector<Op>{Op::kSetHostVeth});
  CHECK(p.changes[0].link.master.has_value());
  CHECK(p.changes[0].link.alias == desired().alias);
  CHECK_MESSAGE(test::contains(p.str(), "is not a port of zl-br0"), p.str());
  CHECK_FALSE(p.changes[0].link.up.has_value());
}

TEST_CASE("bridge plan: missing pod end or host end are named") {
  Snapshot s = healthy();
  s.host_veth.reset();
  Plan p = plan_ok(config(), desired(), s);
  CHECK(ops(p).front() == Op::kCreateVeth);
  CHECK_MESSAGE(test::contains(p.str(), "host veth zlh1 does not exist"), p.str());
  Snapshot gone = healthy();
  gone.pod_link.reset();
  gone.host_veth.reset();
  CHECK(test::contains(plan_ok(config(), desired(), gone).str(), "interface eth0 does not exist"));
}

TEST_CASE("bridge plan: the bridge's own state") {
  Config c = config();
  c.mtu = 1400;
  c.promisc = true;
  Snapshot s = healthy();
  s.bridge->flags = 0;
  s.bridge->mtu = 1500;
  Plan p = plan_ok(c, desired(), s);
  REQUIRE(ops(p) == std::vector<Op>{Op::kSetBridge});
  CHECK(p.changes[0].link.up == true);
  CHECK(p.changes[0].link.mtu == 1400);
  CHECK(p.changes[0].link.promisc == true);
  Snapshot other = healthy();
  other.bridge->kind = "dummy";
  CHECK_FAILS(plan_attachment(c, desired(), other), cni::kErrInvalidConfig,
              "bridge \"zl-br0\": an existing link of kind \"dummy\" has that name");
}

TEST_CASE("bridge plan: another address of the gateway's subnet is refused, or replaced with forceAddress") {
  Snapshot s = healthy();
  s.bridge_addrs = {{.index = 5, .addr = cidr("10.1.0.9/24")}};
  CHECK_FAILS(plan_attachment(config(), desired(), s), cni::kErrInvalidConfig,
              "bridge zl-br0 already has 10.1.0.9/24, not gateway 10.1.0.1/24 (set forceAddress to replace it)");
  Config force = config();
  force.force_address = true;
  Plan p = plan_ok(force, desired(), s);
  REQUIRE(ops(p) == std::vector<Op>{Op::kDelGateway, Op::kAddGateway});
  CHECK(p.changes[0].addr == cidr("10.1.0.9/24"));
  // The exact IPv4 gateway present: other addresses are secondaries we keep.
  s.bridge_addrs.push_back({.index = 5, .addr = cidr("10.1.0.1/24")});
  CHECK(plan_ok(config(), desired(), s).empty());
  // Not a gateway: the bridge's addresses are none of our business.
  Config plain = config();
  plain.is_gateway = false;
  s.bridge_addrs.clear();
  CHECK(plan_ok(plain, desired(), s).empty());
}

TEST_CASE("bridge plan: IPv6 gateway with another prefix, two pods' shared gateway planned once") {
  Snapshot s = healthy();
  Desired d = desired();
  d.ips = {{.address = cidr("fd00::5/64"), .gateway = ip("fd00::1")}, {.address = cidr("fd00::6/64"), .gateway = ip("fd00::1")}};
  d.routes.clear();
  s.pod_addrs = {{.index = 2, .addr = cidr("fd00::5/64")}, {.index = 2, .addr = cidr("fd00::6/64")}};
  s.bridge_addrs = {{.index = 5, .addr = cidr("fd00::1/48")}};
  Config force = config();
  force.force_address = true;
  Plan p = plan_ok(force, d, s);
  CHECK(ops(p) == std::vector<Op>{Op::kDelGateway, Op::kAddGateway});
  s.bridge_addrs = {};
  CHECK(ops(plan_ok(config(), d, s)) == std::vector<Op>{Op::kAddGateway});
}

TEST_CASE("pod_routes: a default route per family via its gateway when isDefaultGateway") {
  Config c = config();
  cni::CniResult ipam;
  ipam.ips = {{.address = cidr("10.1.0.5/24"), .gateway = ip("10.1.0.1")}, {.address = cidr("fd00::5/64"), .gateway = ip("fd00::1")}};
  ipam.routes = {{.dst = cidr("0.0.0.0/0")}};
  CHECK(pod_routes(c, ipam).size() == 1);
  c.is_default_gateway = true;
  auto r = pod_routes(c, ipam);
  REQUIRE(r.size() == 2);
  CHECK(r[1].dst == cidr("::/0"));
  CHECK(r[1].gw == ip("fd00::1"));
}
