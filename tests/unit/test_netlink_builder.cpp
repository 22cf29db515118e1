// Netlink building and parsing without a kernel: NlBuilder's latching puts and named errors,
// Nest close/cancel, build → parse round trips, and the libnl policies rejecting attributes
// of a wrong length in every parser (link, address, route, WireGuard device/peer/allowed IP).
#include <doctest/doctest.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/genl/genl.h>

#include <string>

#include "libnet/netlink/builder.h"
#include "libnet/netlink/netlink.h"
#include "libnet/netlink/policy.h"
#include "libnet/wireguard/wireguard.h"

using namespace zl::net;

namespace {

NlBuilder small_builder(size_t size) {
  NlMsg m(nlmsg_alloc_size(size));
  REQUIRE(m);
  REQUIRE(nlmsg_put(m.get(), 0, 0, RTM_NEWLINK, sizeof(ifinfomsg), 0));
  return NlBuilder(std::move(m), "test message");
}

template <class Hdr>
NlBuilder builder(int type, const Hdr& hdr) {
  return NlBuilder(type, 0, hdr, "test");
}

ifinfomsg ifi_of(int index) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  return ifi;
}

rtmsg rt_of(int family, int len) {
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(family);
  rt.rtm_dst_len = static_cast<uint8_t>(len);
  rt.rtm_type = RTN_UNICAST;
  return rt;
}

ifaddrmsg ifa_of(int family, int len) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(len);
  ifa.ifa_index = 3;
  return ifa;
}

nlmsghdr* hdr(NlBuilder& b) { return nlmsg_hdr(b.get()); }

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

std::string error_of(const auto& r) { return r.ok() ? std::string("(no error)") : r.error().msg; }

}  // namespace

TEST_CASE("netlink builder: a message that fills up names the attribute that did not fit") {
  NlBuilder b = small_builder(64);
  int fitted = 0;
  while (b.u32(ZL_ATTR(IFLA_MTU), 1500)) ++fitted;
  CHECK(fitted > 0);
  CHECK(fitted < 10);
  const size_t full = b.size();
  // Latched: later puts do nothing and fail, even ones that would fit.
  CHECK(!b.u8(ZL_ATTR(IFLA_OPERSTATE), 1));
  CHECK(b.size() == full);
  auto st = b.status();
  REQUIRE(!st.ok());
  CHECK(st.error().sys == EMSGSIZE);
  CHECK(st.error().msg == "test message: IFLA_MTU: message full");
  auto m = b.take();
  REQUIRE(!m.ok());
  CHECK(m.error().msg.find("IFLA_MTU") != std::string::npos);
}

TEST_CASE("netlink builder: strings with a NUL are refused, named") {
  NlBuilder b(RTM_NEWLINK, 0, ifi_of(1), "create link");
  CHECK(!b.str(ZL_ATTR(IFLA_IFNAME), std::string_view("a\0b", 3)));
  CHECK(b.status().error().msg == "create link: IFLA_IFNAME: string holds a NUL");
}

TEST_CASE("netlink builder: nests close, cancel when dropped, and vanish when their content does not fit") {
  NlBuilder b(RTM_NEWLINK, 0, ifi_of(1), "t");
  const size_t empty = b.size();
  {
    Nest n = b.nest(ZL_ATTR(IFLA_LINKINFO));
    REQUIRE(n);
    CHECK(b.str(ZL_ATTR(IFLA_INFO_KIND), "dummy"));
  }  // not closed: cancelled
  CHECK(b.size() == empty);
  {
    Nest n = b.nest(ZL_ATTR(IFLA_LINKINFO));
    CHECK(b.str(ZL_ATTR(IFLA_INFO_KIND), "dummy"));
    CHECK(n.close());
    CHECK(!n);  // closed once; the destructor leaves it alone
  }
  auto m = b.take();
  REQUIRE(m.ok());
  auto l = parse_link_message(nlmsg_hdr(m->get()));
  REQUIRE(l.ok());
  REQUIRE(*l);
  CHECK((*l)->kind == "dummy");

  // A nest whose content overflows is cancelled by close(), which says so.
  NlBuilder s = small_builder(64);
  const size_t before = s.size();
  Nest n = s.nest(ZL_ATTR(IFLA_LINKINFO));
  REQUIRE(n);
  CHECK(!s.bytes(ZL_ATTR(IFLA_INFO_KIND), std::string(100, 'x')));
  CHECK(!n.close());
  CHECK(s.size() == before);
  CHECK(s.status().error().msg.find("IFLA_INFO_KIND: message full") != std::string::npos);
  s.recover();
  CHECK(s.u32(ZL_ATTR(IFLA_MTU), 9000));
}

TEST_CASE("netlink: link, address and route messages round trip through the parsers") {
  NlBuilder b(RTM_NEWLINK, 0, ifi_of(12), "t");
  CHECK(b.str(ZL_ATTR(IFLA_IFNAME), "zl-br0"));
  CHECK(b.u32(ZL_ATTR(IFLA_MTU), 1450));
  CHECK(b.u32(ZL_ATTR(IFLA_MASTER), 4));
  CHECK(b.str(ZL_ATTR(IFLA_IFALIAS), "zl-cni network"));
  Mac mac{2, 0x42, 0, 1, 2, 3};
  CHECK(b.bytes(ZL_ATTR(IFLA_ADDRESS), mac));
  auto l = parse_link_message(hdr(b));
  REQUIRE(l.ok());
  REQUIRE(*l);
  CHECK((*l)->index == 12);
  CHECK((*l)->name == "zl-br0");
  CHECK((*l)->mtu == 1450);
  CHECK((*l)->master == 4);
  CHECK((*l)->alias == "zl-cni network");
  CHECK((*l)->mac == mac);

  NlMsg a = addr_add_message(3, *IpNet::parse("10.1.2.3/24"), false);
  REQUIRE(a);
  auto ai = parse_addr_message(nlmsg_hdr(a.get()));
  REQUIRE(ai.ok());
  REQUIRE(*ai);
  CHECK((*ai)->index == 3);
  CHECK((*ai)->addr.str() == "10.1.2.3/24");

  RouteInfo r;
  r.dst = *IpNet::parse("2001:db8:1::/48");
  r.gw = ip("fe80::1");
  r.oif = 7;
  r.priority = 100;
  r.mtu = 1400;
  r.advmss = 1340;
  r.table = 1000;
  NlMsg rm = route_add_message(r, true);
  REQUIRE(rm);
  auto back = parse_route_message(nlmsg_hdr(rm.get()));
  REQUIRE(back.ok());
  REQUIRE(*back);
  CHECK((*back)->dst.str() == "2001:db8:1::/48");
  CHECK((*back)->gw == r.gw);
  CHECK((*back)->oif == 7);
  CHECK((*back)->priority == 100);
  CHECK((*back)->mtu == 1400);
  CHECK((*back)->advmss == 1340);
  CHECK((*back)->table == 1000);
}

TEST_CASE("netlink policies: link attributes of a wrong length are rejected") {
  auto link_with = [](auto put) {
    NlBuilder b(RTM_NEWLINK, 0, ifi_of(2), "t");
    CHECK(b.str(ZL_ATTR(IFLA_IFNAME), "eth0"));
    put(b);
    REQUIRE(b.ok());
    return error_of(parse_link_message(hdr(b)));
  };
  CHECK(link_with([](NlBuilder& b) { CHECK(b.u16(ZL_ATTR(IFLA_MTU), 1500)); }) ==
        "link: malformed attribute 4 (2 bytes)");
  CHECK(link_with([](NlBuilder& b) { CHECK(b.u64(ZL_ATTR(IFLA_MASTER), 3)); }) ==
        "link: malformed attribute 10 (8 bytes)");
  CHECK(link_with([](NlBuilder& b) { CHECK(b.bytes(ZL_ATTR(IFLA_IFALIAS), std::string_view("no NUL"))); })
            .starts_with("link: malformed attribute 20"));
  CHECK(link_with([](NlBuilder& b) { CHECK(b.str(ZL_ATTR(IFLA_IFALIAS), std::string(300, 'a'))); })
            .starts_with("link: malformed attribute 20"));
  CHECK(link_with([](NlBuilder& b) {
          Nest n = b.nest(ZL_ATTR(IFLA_LINKINFO));
          CHECK(b.bytes(ZL_ATTR(IFLA_INFO_KIND), std::string_view("veth")));  // no NUL
          CHECK(n.close());
        }) == "link eth0 info: malformed attribute 1 (4 bytes)");
  // A MAC of another size (a link that is not Ethernet) is no error: there is no MAC.
  CHECK(link_with([](NlBuilder& b) { CHECK(b.u32(ZL_ATTR(IFLA_ADDRESS), 0)); }) == "(no error)");
  // A message shorter than its fixed header.
  NlMsg m(nlmsg_alloc_simple(RTM_NEWLINK, 0));
  CHECK(error_of(parse_link_message(nlmsg_hdr(m.get()))) == "link: message shorter than its header");
}

TEST_CASE("netlink policies: address attributes of a wrong length are rejected") {
  auto addr_with = [](int family, auto put) {
    NlBuilder b(RTM_NEWADDR, 0, ifa_of(family, 24), "t");
    put(b);
    REQUIRE(b.ok());
    return error_of(parse_addr_message(hdr(b)));
  };
  uint8_t three[3] = {10, 0, 0};
  CHECK(addr_with(AF_INET, [&](NlBuilder& b) { CHECK(b.put(ZL_ATTR(IFA_LOCAL), three, 3)); })
            .starts_with("address: malformed attribute 2 (3 bytes)"));
  // 16 bytes pass the policy but are not an IPv4 address.
  CHECK(addr_with(AF_INET, [&](NlBuilder& b) { CHECK(b.addr(ZL_ATTR(IFA_LOCAL), ip("2001:db8::1"))); }) ==
        "address on link 3: address of 16 bytes");
  CHECK(addr_with(AF_INET6, [&](NlBuilder& b) { CHECK(b.addr(ZL_ATTR(IFA_ADDRESS), ip("10.0.0.1"))); }) ==
        "address on link 3: address of 4 bytes");
  CHECK(addr_with(AF_INET, [&](NlBuilder& b) {
          CHECK(b.addr(ZL_ATTR(IFA_LOCAL), ip("10.0.0.1")));
          CHECK(b.u16(ZL_ATTR(IFA_FLAGS), 1));
        }).starts_with("address: malformed attribute 8 (2 bytes)"));
  CHECK(addr_with(AF_INET, [&](NlBuilder& b) { CHECK(b.addr(ZL_ATTR(IFA_LOCAL), ip("10.0.0.1"))); }) == "(no error)");
}

TEST_CASE("netlink policies: route attributes of a wrong length are rejected") {
  auto route_with = [](int family, auto put) {
    NlBuilder b(RTM_NEWROUTE, 0, rt_of(family, 0), "t");
    put(b);
    REQUIRE(b.ok());
    return error_of(parse_route_message(hdr(b)));
  };
  CHECK(route_with(AF_INET6, [](NlBuilder& b) { CHECK(b.addr(ZL_ATTR(RTA_GATEWAY), ip("10.0.0.1"))); }) ==
        "route gateway: address of 4 bytes");
  CHECK(route_with(AF_INET, [](NlBuilder& b) { CHECK(b.u16(ZL_ATTR(RTA_OIF), 2)); })
            .starts_with("route: malformed attribute 4 (2 bytes)"));
  CHECK(route_with(AF_INET, [](NlBuilder& b) { CHECK(b.u8(ZL_ATTR(RTA_TABLE), 2)); })
            .starts_with("route: malformed attribute 15 (1 bytes)"));
  CHECK(route_with(AF_INET, [](NlBuilder& b) {
          Nest n = b.nest(ZL_ATTR(RTA_METRICS));
          CHECK(b.u16(ZL_ATTR(RTAX_MTU), 1400));
          CHECK(n.close());
        }).starts_with("route metrics: malformed attribute 2 (2 bytes)"));
  // A prefix longer than the family's address.
  NlBuilder b(RTM_NEWROUTE, 0, rt_of(AF_INET, 33), "t");
  CHECK(b.addr(ZL_ATTR(RTA_DST), ip("10.0.0.0")));
  CHECK(error_of(parse_route_message(hdr(b))) == "route: prefix length 33");
}

namespace {

// A WireGuard GET reply holding one peer, whose attributes `put` adds after its key.
template <class F>
std::string wg_peer_error(F put, bool key = true) {
  NlMsg m(nlmsg_alloc());
  REQUIRE(genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, 30, 0, 0, WG_CMD_GET_DEVICE, 1));
  NlBuilder b(std::move(m), "t");
  {
    Nest peers = b.nest(ZL_ATTR(WGDEVICE_A_PEERS));
    Nest peer = b.nest(NlAttr{0, "peer 0"});
    Key k{};
    k[0] = 1;
    if (key) CHECK(b.bytes(ZL_ATTR(WGPEER_A_PUBLIC_KEY), k));
    put(b);
    CHECK(peer.close());
    CHECK(peers.close());
  }
  REQUIRE(b.ok());
  wg::Device d;
  return error_of(wg::parse_device_message(hdr(b), d));
}

void put_aip(NlBuilder& b, uint16_t family, const IpAddr& a, int mask_width) {
  Nest aips = b.nest(ZL_ATTR(WGPEER_A_ALLOWEDIPS));
  Nest one = b.nest(NlAttr{0, "allowed IP 0"});
  CHECK(b.u16(ZL_ATTR(WGALLOWEDIP_A_FAMILY), family));
  CHECK(b.addr(ZL_ATTR(WGALLOWEDIP_A_IPADDR), a));
  if (mask_width == 1) CHECK(b.u8(ZL_ATTR(WGALLOWEDIP_A_CIDR_MASK), 24));
  else CHECK(b.u16(ZL_ATTR(WGALLOWEDIP_A_CIDR_MASK), 24));
  CHECK(one.close());
  CHECK(aips.close());
}

}  // namespace

TEST_CASE("netlink policies: WireGuard peer and allowed-IP attributes of a wrong length are rejected") {
  CHECK(wg_peer_error([](NlBuilder&) {}) == "(no error)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.bytes(ZL_ATTR(WGPEER_A_PUBLIC_KEY), std::string(31, 'k'))); },
                      false) == "wireguard: malformed peer public key (31 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.u16(ZL_ATTR(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL), 25)); }, false) ==
        "wireguard: malformed peer (no public key)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.bytes(ZL_ATTR(WGPEER_A_PRESHARED_KEY), std::string(33, 'k'))); }) ==
        "wireguard: malformed peer preshared key (33 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.bytes(ZL_ATTR(WGPEER_A_ENDPOINT), std::string(8, '\0'))); }) ==
        "wireguard: malformed peer endpoint (8 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.bytes(ZL_ATTR(WGPEER_A_ENDPOINT), std::string(20, '\0'))); }) ==
        "wireguard: malformed peer endpoint");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.u32(ZL_ATTR(WGPEER_A_RX_BYTES), 1)); }) ==
        "wireguard: malformed peer rx bytes (4 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { CHECK(b.u32(ZL_ATTR(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL), 25)); }) ==
        "wireguard: malformed peer keepalive (4 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { put_aip(b, AF_INET, ip("10.0.0.0"), 1); }) == "(no error)");
  CHECK(wg_peer_error([](NlBuilder& b) { put_aip(b, AF_INET, ip("10.0.0.0"), 2); }) ==
        "wireguard: malformed allowed IP mask (2 bytes)");
  CHECK(wg_peer_error([](NlBuilder& b) { put_aip(b, AF_INET6, ip("10.0.0.0"), 1); }) ==
        "wireguard: malformed allowed IP address: address of 4 bytes");
}

TEST_CASE("wireguard: a peer that fits in no message names the attribute") {
  wg::Update u;
  u.ifindex = 1;
  wg::Peer p;
  p.public_key[0] = 1;
  p.allowed_ips.push_back(*IpNet::parse("10.0.0.0/24"));
  u.peers.push_back(std::move(p));
  auto msgs = wg::build_set_messages(30, u, 100);
  REQUIRE(!msgs.ok());
  CHECK(msgs.error().sys == EMSGSIZE);
  CHECK(msgs.error().msg.starts_with("wireguard set 1: WGALLOWEDIP_A_IPADDR: message full"));
  CHECK(msgs.error().msg.find("a peer does not fit in an empty message") != std::string::npos);
  // Room for the head and one allowed IP: it goes.
  CHECK(wg::build_set_messages(30, u, 160).ok());
}
