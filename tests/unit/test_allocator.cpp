// The zl-ipam allocator over an in-memory State: order, exhaustion, wrap-around, reservations,
// static requests, idempotency, dual-stack, release and GC.
#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "libcni/errors.h"
#include "plugins/zl-ipam/allocator.h"
#include "tests/unit/ipam_helpers.h"

using namespace zl;
using namespace zl::ipam;
using net::IpAddr;
using test::cidr;
using test::ip;
using test::ipam_ok;

namespace {

// Allocates for (id, ifname) and returns the single address, failing the test otherwise.
IpAddr take(Allocator& a, const std::string& id, const std::vector<IpAddr>& req = {}, const std::string& ifname = "eth0") {
  auto r = a.allocate(id, ifname, req);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().msg));
  REQUIRE(r->size() == 1);
  return (*r)[0].address.addr;
}

std::vector<IpAddr> ips_of(const State& s) {
  std::vector<IpAddr> out;
  for (const auto& a : s.allocations) out.push_back(a.ip);
  return out;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("allocator: sequential allocation skips the gateway") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24"})");
  State s;
  Allocator a(c, s);
  auto r = a.allocate("c1", "eth0", {});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].address == cidr("10.0.0.2/24"));
  CHECK((*r)[0].gateway == ip("10.0.0.1"));
  CHECK_FALSE((*r)[0].interface.has_value());
  CHECK(take(a, "c2") == ip("10.0.0.3"));
  CHECK(take(a, "c3") == ip("10.0.0.4"));
  CHECK(s.allocations == std::vector<Allocation>{{ip("10.0.0.2"), "c1", "eth0"},
                                                 {ip("10.0.0.3"), "c2", "eth0"},
                                                 {ip("10.0.0.4"), "c3", "eth0"}});
  REQUIRE(s.last_reserved.size() == 1);
  CHECK(s.last_reserved[0] == ip("10.0.0.4"));
}

TEST_CASE("allocator: a gateway inside the range is skipped where it lies") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","gateway":"10.0.0.3"})");
  State s;
  Allocator a(c, s);
  CHECK(take(a, "c1") == ip("10.0.0.1"));
  CHECK(take(a, "c2") == ip("10.0.0.2"));
  CHECK(take(a, "c3") == ip("10.0.0.4"));
}

TEST_CASE("allocator: exhaustion is code 100 and leaves the state unchanged") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.12"})");
  State s;
  Allocator a(c, s);
  CHECK(take(a, "c1") == ip("10.0.0.10"));
  CHECK(take(a, "c2") == ip("10.0.0.11"));
  CHECK(take(a, "c3") == ip("10.0.0.12"));
  const State before = s;
  CHECK_FAILS(a.allocate("c4", "eth0", {}), cni::kErrAddressUnavailable, "no free address in range set 0 (10.0.0.0/24)");
  CHECK(s == before);
  CHECK_FALSE(a.find_free(0).has_value());
  // Still exhausted on a second try (no phantom state from the failure).
  CHECK_FAILS(a.allocate("c4", "eth0", {}), cni::kErrAddressUnavailable, "no free address");
  CHECK(s == before);
}

TEST_CASE("allocator: round robin continues after the cursor and wraps to freed addresses") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.14"})");
  State s;
  Allocator a(c, s);
  CHECK(take(a, "a") == ip("10.0.0.10"));
  CHECK(take(a, "b") == ip("10.0.0.11"));
  CHECK(take(a, "c") == ip("10.0.0.12"));
  CHECK(take(a, "d") == ip("10.0.0.13"));
  CHECK(a.release("b", "eth0") == 1);
  CHECK(a.find_free(0) == ip("10.0.0.14"));
  CHECK(take(a, "e") == ip("10.0.0.14"));  // not the freed .11: the cursor is at .13
  CHECK(s.last_reserved[0] == ip("10.0.0.14"));
  CHECK(take(a, "f") == ip("10.0.0.11"));  // wraps
  CHECK(s.last_reserved[0] == ip("10.0.0.11"));
  CHECK_FAILS(a.allocate("g", "eth0", {}), cni::kErrAddressUnavailable, "no free address");
  CHECK(a.release("a", "eth0") == 1);
  // Cursor at .11: .12-.14 taken, wraps to .10.
  CHECK(take(a, "h") == ip("10.0.0.10"));
}

TEST_CASE("allocator: a cursor at the end of the range starts over at its start") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.12"})");
  State s;
  s.last_reserved = {ip("10.0.0.12")};
  Allocator a(c, s);
  CHECK(take(a, "x") == ip("10.0.0.10"));
  CHECK(take(a, "y") == ip("10.0.0.11"));
  CHECK(take(a, "z") == ip("10.0.0.12"));
}

TEST_CASE("allocator: a cursor outside every range (config changed) is ignored") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.12"})");
  for (auto cursor : {ip("10.0.0.200"), ip("192.168.0.1"), ip("fd00::1")}) {
    CAPTURE(cursor);
    State s;
    s.last_reserved = {cursor};
    Allocator a(c, s);
    CHECK(take(a, "x") == ip("10.0.0.10"));
  }
}

TEST_CASE("allocator: reserved addresses and CIDRs are never handed out") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.20","reserved":["10.0.0.2","10.0.0.5/30","10.0.0.19"]})");
  State s;
  Allocator a(c, s);
  std::vector<IpAddr> got;
  for (int i = 0;; ++i) {
    auto r = a.allocate("c" + std::to_string(i), "eth0", {});
    if (!r) {
      CHECK(r.error().code == cni::kErrAddressUnavailable);
      break;
    }
    got.push_back((*r)[0].address.addr);
    REQUIRE(i < 30);
  }
  std::vector<IpAddr> want = {ip("10.0.0.3"),  ip("10.0.0.8"),  ip("10.0.0.9"),  ip("10.0.0.10"), ip("10.0.0.11"),
                              ip("10.0.0.12"), ip("10.0.0.13"), ip("10.0.0.14"), ip("10.0.0.15"), ip("10.0.0.16"),
                              ip("10.0.0.17"), ip("10.0.0.18"), ip("10.0.0.20")};
  CHECK(got == want);
}

TEST_CASE("allocator: a big reserved block is skipped in one step") {
  SUBCASE("lower half of a /64 reserved") {
    auto c = ipam_ok(R"({"subnet":"fd00::/64","reserved":["fd00::/65"]})");
    State s;
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(take(a, "x") == ip("fd00::8000:0:0:0"));
    CHECK(take(a, "y") == ip("fd00::8000:0:0:1"));
    CHECK(ms_since(t0) < 500);
  }
  SUBCASE("upper half reserved, cursor just before it: wraps to the start") {
    auto c = ipam_ok(R"({"subnet":"fd00::/64","reserved":["fd00::8000:0:0:0/65"]})");
    State s;
    s.last_reserved = {ip("fd00::7fff:ffff:ffff:ffff")};
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(take(a, "x") == ip("fd00::2"));
    CHECK(ms_since(t0) < 500);
  }
  SUBCASE("a reserved block reaching the end of the address space") {
    // The config parser refuses ff00::/8 for pods; the allocator's arithmetic must still hold
    // at the top of the space, so the range is set by hand.
    auto c = ipam_ok(R"({"subnet":"fd00::/64","reserved":["ffff:ffff:ffff:ffff:8000::/65"]})");
    auto& r = c.range_sets[0][0];
    r.subnet = *net::IpNet::parse("ffff:ffff:ffff:ffff::/64");
    r.start = ip("ffff:ffff:ffff:ffff::1");
    r.gateway = r.start;
    r.end = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    State s;
    s.last_reserved = {ip("ffff:ffff:ffff:ffff:7fff:ffff:ffff:ffff")};
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(take(a, "x") == ip("ffff:ffff:ffff:ffff::2"));
    CHECK(ms_since(t0) < 500);
  }
  SUBCASE("everything reserved: nullopt, quickly") {
    auto c = ipam_ok(R"({"subnet":"fd00::/64","reserved":["fd00::/64"]})");
    State s;
    s.last_reserved = {ip("fd00::1234")};
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(a.find_free(0).has_value());
    CHECK_FAILS(a.allocate("x", "eth0", {}), cni::kErrAddressUnavailable, "no free address in range set 0 (fd00::/64)");
    CHECK(ms_since(t0) < 500);
  }
  SUBCASE("IPv4: a reserved /25 in a /24") {
    auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","reserved":["10.0.0.0/25"]})");
    State s;
    Allocator a(c, s);
    CHECK(take(a, "x") == ip("10.0.0.128"));
  }
}

TEST_CASE("allocator: static requests") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24","rangeEnd":"10.0.0.200","reserved":["10.0.0.100"]})");
  State s;
  Allocator a(c, s);
  CHECK(take(a, "c1", {ip("10.0.0.50")}) == ip("10.0.0.50"));
  CHECK_FALSE(s.last_reserved[0].has_value());  // static requests do not move the cursor
  CHECK(take(a, "c2") == ip("10.0.0.2"));
  const State before = s;
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.50")}), cni::kErrAddressUnavailable,
              "requested address 10.0.0.50 is not available: it is already allocated");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.2")}), cni::kErrAddressUnavailable, "10.0.0.2");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.1")}), cni::kErrAddressUnavailable,
              "requested address 10.0.0.1 is not available: it is the gateway of a range");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.100")}), cni::kErrAddressUnavailable,
              "requested address 10.0.0.100 is not available: it is reserved");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("192.168.1.1")}), cni::kErrInvalidConfig,
              "requested address 192.168.1.1 is in no range (10.0.0.1-10.0.0.200)");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.201")}), cni::kErrInvalidConfig,
              "requested address 10.0.0.201 is in no range");  // in the subnet, outside the range
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("fd00::5")}), cni::kErrInvalidConfig, "requested address fd00::5 is in no range");
  CHECK_FAILS(a.allocate("c3", "eth0", {ip("10.0.0.60"), ip("10.0.0.61")}), cni::kErrInvalidConfig,
              "requested address 10.0.0.61: range set 0 already gets 10.0.0.60 (one address per range set)");
  CHECK(s == before);
  // Nothing of the failed attempts stuck: .60 is still free.
  CHECK(take(a, "c4", {ip("10.0.0.60")}) == ip("10.0.0.60"));
}

TEST_CASE("allocator: allocate is idempotent per (id, ifname)") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/120"}]]})");
  State s;
  Allocator a(c, s);
  auto first = a.allocate("c1", "eth0", {});
  REQUIRE(first.ok());
  REQUIRE(first->size() == 2);
  const State before = s;
  auto again = a.allocate("c1", "eth0", {});
  REQUIRE(again.ok());
  CHECK(*again == *first);
  CHECK(s == before);
  // Asking for what it already holds is the same.
  auto same = a.allocate("c1", "eth0", {(*first)[0].address.addr});
  REQUIRE(same.ok());
  CHECK(*same == *first);
  CHECK(s == before);
  // Another interface of the same container is another attachment.
  auto other = a.allocate("c1", "net1", {});
  REQUIRE(other.ok());
  CHECK((*other)[0].address.addr == ip("10.0.0.3"));
  CHECK((*other)[1].address.addr == ip("fd00::3"));
  CHECK(a.held_by("c1", "eth0").size() == 2);
  CHECK(a.held_by("c1", "net1").size() == 2);
  CHECK(a.held_by("c1", "net2").empty());
  // A different address for a set it already has an address in is refused.
  const State before2 = s;
  CHECK_FAILS(a.allocate("c1", "eth0", {ip("10.0.0.50")}), cni::kErrInvalidConfig,
              "requested address 10.0.0.50: range set 0 already gets 10.0.0.2");
  CHECK(s == before2);
}

TEST_CASE("allocator: dual-stack gives one address per range set") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"}]]})");
  State s;
  Allocator a(c, s);
  auto r = a.allocate("c1", "eth0", {});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].address == cidr("10.0.0.2/24"));
  CHECK((*r)[0].gateway == ip("10.0.0.1"));
  CHECK((*r)[1].address == cidr("fd00::2/64"));
  CHECK((*r)[1].gateway == ip("fd00::1"));
  CHECK(s.last_reserved == std::vector<std::optional<IpAddr>>{ip("10.0.0.2"), ip("fd00::2")});
  // A static v6 request with an automatic v4.
  auto r2 = a.allocate("c2", "eth0", {ip("fd00::abcd")});
  REQUIRE(r2.ok());
  CHECK((*r2)[0].address == cidr("10.0.0.3/24"));
  CHECK((*r2)[1].address == cidr("fd00::abcd/64"));
  CHECK(s.last_reserved == std::vector<std::optional<IpAddr>>{ip("10.0.0.3"), ip("fd00::2")});
  // Both static.
  auto r3 = a.allocate("c3", "eth0", {ip("fd00::99"), ip("10.0.0.99")});
  REQUIRE(r3.ok());
  CHECK((*r3)[0].address == cidr("10.0.0.99/24"));
  CHECK((*r3)[1].address == cidr("fd00::99/64"));
  CHECK(s.allocations.size() == 6);
}

TEST_CASE("allocator: a full set fails the whole allocation and rolls back the others") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/126"}]]})");
  State s;
  Allocator a(c, s);
  // fd00::/126: ::1 is the gateway, ::2 and ::3 are free.
  auto r1 = a.allocate("c1", "eth0", {});
  auto r2 = a.allocate("c2", "eth0", {});
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  CHECK((*r2)[1].address.addr == ip("fd00::3"));
  const State before = s;
  CHECK_FAILS(a.allocate("c3", "eth0", {}), cni::kErrAddressUnavailable, "no free address in range set 1 (fd00::/126)");
  CHECK(s == before);
  CHECK(a.find_free(0) == ip("10.0.0.4"));  // the v4 address picked for c3 was given back
  CHECK(a.release("c1", "eth0") == 2);
  auto r3 = a.allocate("c3", "eth0", {});
  REQUIRE(r3.ok());
  CHECK((*r3)[0].address.addr == ip("10.0.0.4"));
  CHECK((*r3)[1].address.addr == ip("fd00::2"));
}

TEST_CASE("allocator: a set of several ranges moves on when one is full") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.11"},)"
                   R"({"subnet":"10.0.1.0/24","rangeStart":"10.0.1.10","rangeEnd":"10.0.1.11","gateway":"10.0.1.254"}]]})");
  State s;
  Allocator a(c, s);
  CHECK(take(a, "a") == ip("10.0.0.10"));
  CHECK(take(a, "b") == ip("10.0.0.11"));
  auto r = a.allocate("c", "eth0", {});
  REQUIRE(r.ok());
  CHECK((*r)[0].address == cidr("10.0.1.10/24"));
  CHECK((*r)[0].gateway == ip("10.0.1.254"));
  CHECK(take(a, "d") == ip("10.0.1.11"));
  CHECK_FAILS(a.allocate("e", "eth0", {}), cni::kErrAddressUnavailable, "no free address in range set 0 (10.0.0.0/24)");
  // Freed in the first range; the cursor is at the end of the last: wraps to the first range.
  CHECK(a.release("b", "eth0") == 1);
  CHECK(take(a, "f") == ip("10.0.0.11"));
  // Freed in the second range; cursor in the first: found in the second range.
  CHECK(a.release("c", "eth0") == 1);
  CHECK(take(a, "g") == ip("10.0.1.10"));
  // A static request lands in whichever range holds it, with that range's gateway.
  CHECK(a.release("d", "eth0") == 1);
  auto st = a.allocate("h", "eth0", {ip("10.0.1.11")});
  REQUIRE(st.ok());
  CHECK((*st)[0].gateway == ip("10.0.1.254"));
  CHECK(a.range_of(0, ip("10.0.1.11")) == &c.range_sets[0][1]);
  CHECK(a.range_of(0, ip("10.0.1.12")) == nullptr);
}

TEST_CASE("allocator: a cursor in a middle range scans the rest of the set, then wraps") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.11"},)"
                   R"({"subnet":"10.0.1.0/24","rangeStart":"10.0.1.10","rangeEnd":"10.0.1.11"},)"
                   R"({"subnet":"10.0.2.0/24","rangeStart":"10.0.2.10","rangeEnd":"10.0.2.11"}]]})");
  State s;
  s.last_reserved = {ip("10.0.1.10")};
  s.allocations = {{ip("10.0.1.11"), "x", "eth0"}, {ip("10.0.2.10"), "y", "eth0"}, {ip("10.0.2.11"), "z", "eth0"}};
  Allocator a(c, s);
  CHECK(a.find_free(0) == ip("10.0.0.10"));
  CHECK(take(a, "n1") == ip("10.0.0.10"));
  CHECK(take(a, "n2") == ip("10.0.0.11"));
  CHECK(take(a, "n3") == ip("10.0.1.10"));
  CHECK_FALSE(a.find_free(0).has_value());
}

TEST_CASE("allocator: IPv6 /64 and /120") {
  auto c64 = ipam_ok(R"({"subnet":"fd00:1:2:3::/64"})");
  State s64;
  Allocator a64(c64, s64);
  CHECK(take(a64, "a") == ip("fd00:1:2:3::2"));
  auto r = a64.allocate("b", "eth0", {});
  REQUIRE(r.ok());
  CHECK((*r)[0].address.str() == "fd00:1:2:3::3/64");
  CHECK((*r)[0].gateway == ip("fd00:1:2:3::1"));
  // The last address of a v6 range is usable (no broadcast).
  CHECK(take(a64, "c", {ip("fd00:1:2:3:ffff:ffff:ffff:ffff")}) == ip("fd00:1:2:3:ffff:ffff:ffff:ffff"));

  auto c120 = ipam_ok(R"({"subnet":"fd00::/120"})");
  State s;
  Allocator a(c120, s);
  std::set<IpAddr> seen;
  for (int i = 0; i < 254; ++i) seen.insert(take(a, "c" + std::to_string(i)));
  CHECK(seen.size() == 254);
  CHECK(*seen.begin() == ip("fd00::2"));
  CHECK(*seen.rbegin() == ip("fd00::ff"));
  CHECK_FALSE(seen.count(ip("fd00::1")));
  CHECK_FAILS(a.allocate("full", "eth0", {}), cni::kErrAddressUnavailable, "no free address in range set 0 (fd00::/120)");
}

TEST_CASE("allocator: release") {
  auto c = ipam_ok(R"({"ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"}]]})");
  State s;
  Allocator a(c, s);
  REQUIRE(a.allocate("c1", "eth0", {}).ok());
  REQUIRE(a.allocate("c1", "net1", {}).ok());
  REQUIRE(a.allocate("c2", "eth0", {ip("10.0.0.77")}).ok());
  CHECK(a.release("c1", "eth0") == 2);
  CHECK(a.release("c1", "eth0") == 0);  // idempotent
  CHECK(a.release("nobody", "eth0") == 0);
  CHECK(a.release("c2", "net1") == 0);
  CHECK(s.allocations.size() == 4);
  CHECK(a.held_by("c1", "eth0").empty());
  CHECK(a.held_by("c1", "net1").size() == 2);
  // The released static address can be taken again right away.
  CHECK(a.release("c2", "eth0") == 2);
  auto r = a.allocate("c3", "eth0", {ip("10.0.0.77")});
  REQUIRE_MESSAGE(r.ok(), r.error().msg);
  // And a still-held one cannot.
  CHECK_FAILS(a.allocate("c4", "eth0", {ip("10.0.0.77")}), cni::kErrAddressUnavailable, "already allocated");
}

TEST_CASE("allocator: gc keeps the valid attachments only") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24"})");
  State s;
  Allocator a(c, s);
  const std::vector<std::pair<std::string, std::string>> atts = {
      {"a", "eth0"}, {"a", "net1"}, {"b", "eth0"}, {"b", "net1"}, {"c", "eth0"}};
  for (const auto& [id, ifn] : atts) {
    REQUIRE(a.allocate(id, ifn, {}).ok());
  }
  // An empty ifname keeps all of the container's interfaces; a set one keeps only that one.
  CHECK(a.gc({{"a", ""}, {"b", "net1"}, {"zzz", "eth0"}}) == 2);
  std::vector<std::pair<std::string, std::string>> left;
  for (const auto& x : s.allocations) left.emplace_back(x.container_id, x.ifname);
  CHECK(left == std::vector<std::pair<std::string, std::string>>{{"a", "eth0"}, {"a", "net1"}, {"b", "net1"}});
  CHECK(a.gc({{"a", ""}, {"b", "net1"}}) == 0);
  // What GC freed is available again.
  CHECK(a.find_free(0) == ip("10.0.0.7"));
  CHECK(take(a, "n", {ip("10.0.0.4")}) == ip("10.0.0.4"));
  CHECK(a.gc({}) == 4);
  CHECK(s.allocations.empty());
}

TEST_CASE("allocator: find_free does not change anything") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/24"})");
  State s;
  Allocator a(c, s);
  const State before = s;
  CHECK(a.find_free(0) == ip("10.0.0.2"));
  CHECK(a.find_free(0) == ip("10.0.0.2"));
  CHECK(s == before);
}

TEST_CASE("allocator: a state with 5000 allocations") {
  auto c = ipam_ok(R"({"subnet":"10.0.0.0/16"})");
  SUBCASE("loaded state, no cursor: the first free one after all of them") {
    State s;
    for (int i = 0; i < 5000; ++i) s.allocations.push_back({ip("10.0.0.2").add(i), "c" + std::to_string(i), "eth0"});
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(take(a, "new") == ip("10.0.19.138"));  // 10.0.0.2 + 5000
    CHECK(a.release("c2500", "eth0") == 1);
    CHECK(take(a, "new2") == ip("10.0.19.139"));  // after the cursor, not the hole
    CHECK(take(a, "new3", {ip("10.0.9.198")}) == ip("10.0.9.198"));  // the hole (10.0.0.2 + 2500), by request
    CHECK_FAILS(a.allocate("dup", "eth0", {ip("10.0.5.0")}), cni::kErrAddressUnavailable, "already allocated");
    CHECK(ms_since(t0) < 1000);
  }
  SUBCASE("built one ADD at a time: all distinct, none reserved or the gateway") {
    State s;
    Allocator a(c, s);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5000; ++i) take(a, "c" + std::to_string(i));
    CHECK(ms_since(t0) < 3000);
    auto all = ips_of(s);
    std::set<IpAddr> uniq(all.begin(), all.end());
    CHECK(uniq.size() == 5000);
    CHECK_FALSE(uniq.count(ip("10.0.0.1")));
    CHECK(*uniq.begin() == ip("10.0.0.2"));
    CHECK(*uniq.rbegin() == ip("10.0.19.137"));
    CHECK(s.last_reserved[0] == ip("10.0.19.137"));
  }
}
