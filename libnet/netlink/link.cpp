#include "libnet/netlink/netlink.h"

#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/attr.h>

#include <cstdio>
#include <cstring>

#include "libnet/netlink/builder.h"
#include "libnet/netlink/policy.h"

namespace zl::net {
// ---- links -----------------------------------------------------------------

std::string mac_str(const Mac& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

std::optional<Mac> parse_mac(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  Mac m{};
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = s[i * 3 + j];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

bool LinkInfo::up() const { return flags & IFF_UP; }

// A link from an RTM_NEWLINK message; nullopt for other messages. Attributes of a wrong
// length are an error, never read.
static Result<std::optional<LinkInfo>> parse_link(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWLINK) return std::optional<LinkInfo>{};
  nlattr* tb[IFLA_MAX + 1];
  if (auto st = nl_parse_msg(tb, IFLA_MAX, h, sizeof(ifinfomsg), policy::link(), "link"); !st) return std::move(st).error();
  auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(h));
  LinkInfo l;
  l.index = ifi->ifi_index;
  l.flags = ifi->ifi_flags;
  if (tb[IFLA_IFNAME]) l.name = nla_get_string(tb[IFLA_IFNAME]);
  if (tb[IFLA_IFALIAS]) l.alias = nla_get_string(tb[IFLA_IFALIAS]);
  if (tb[IFLA_MASTER]) l.master = static_cast<int>(nla_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_MTU]) l.mtu = static_cast<int>(nla_get_u32(tb[IFLA_MTU]));
  // Links that are not Ethernet-like have addresses of other sizes (or none): no MAC then.
  if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) std::memcpy(l.mac.data(), nla_data(tb[IFLA_ADDRESS]), 6);
  if (tb[IFLA_LINKINFO]) {
    nlattr* li[IFLA_INFO_MAX + 1];
    auto st = nl_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], policy::link_info(), "link " + l.name + " info");
    if (!st) return std::move(st).error();
    if (li[IFLA_INFO_KIND]) l.kind = nla_get_string(li[IFLA_INFO_KIND]);
  }
  return std::optional<LinkInfo>(std::move(l));
}

Result<std::optional<LinkInfo>> parse_link_message(nlmsghdr* h) { return parse_link(h); }

static NlMsg link_get_message(int index, const std::string& name, int flags) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  NlBuilder b(RTM_GETLINK, flags, ifi, "get link");
  if (!name.empty()) b.str(ZL_ATTR(IFLA_IFNAME), name);
  b.u32(ZL_ATTR(IFLA_EXT_MASK), RTEXT_FILTER_SKIP_STATS);
  return b.take_or_null();
}

static Result<std::optional<LinkInfo>> link_get(NlSock& s, int index, std::string_view name) {
  std::optional<LinkInfo> out;
  Status parsed;
  std::string n(name);
  auto st = s.query([&] { return link_get_message(index, n, 0); },
                    [&](nlmsghdr* h) {
                      auto l = parse_link(h);
                      if (!l) parsed = std::move(l).error();
                      else if (*l) out = std::move(*l);
                    },
                    "get link " + (n.empty() ? std::to_string(index) : n));
  if (!st) {
    if (st.error().sys == ENODEV) return std::optional<LinkInfo>{};
    return std::move(st).error();
  }
  if (!parsed) return std::move(parsed).error();
  return out;
}

Result<std::optional<LinkInfo>> link_by_name(NlSock& s, std::string_view name) { return link_get(s, 0, name); }
Result<std::optional<LinkInfo>> link_by_index(NlSock& s, int index) { return link_get(s, index, {}); }

Result<std::vector<LinkInfo>> link_list(NlSock& s) {
  std::vector<LinkInfo> out;
  Status parsed;
  auto make = [&] {
    out.clear();
    parsed = {};
    return link_get_message(0, {}, NLM_F_DUMP);
  };
  auto st = s.query(make,
                    [&](nlmsghdr* h) {
                      auto l = parse_link(h);
                      if (!l) parsed = std::move(l).error();
                      else if (*l) out.push_back(std::move(**l));
                    },
                    "list links");
  if (!st) return std::move(st).error();
  if (!parsed) return std::move(parsed).error();
  return out;
}

namespace {

// RTM_NEWLINK creating `name` of `kind`: `top` puts link attributes, `data` fills its
// IFLA_INFO_DATA (nothing when it puts nothing: an empty nest is dropped).
template <class Top, class Data>
Status create(NlSock& s, std::string_view name, std::string_view kind, int mtu, const std::string& what, Top top,
              Data data) {
  ifinfomsg ifi{};
  NlBuilder b(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi, what);
  b.str(ZL_ATTR(IFLA_IFNAME), name);
  if (mtu > 0) b.u32(ZL_ATTR(IFLA_MTU), static_cast<uint32_t>(mtu));
  top(b);
  {
    Nest li = b.nest(ZL_ATTR(IFLA_LINKINFO));
    b.str(ZL_ATTR(IFLA_INFO_KIND), kind);
    {
      Nest d = b.nest(ZL_ATTR(IFLA_INFO_DATA));
      data(b);
      d.close();
    }
    li.close();
  }
  auto m = b.take();
  if (!m) return std::move(m).error();
  return s.request(m->get(), what);
}

void nothing(NlBuilder&) {}

}  // namespace

Status bridge_create(NlSock& s, std::string_view name, int mtu, bool vlan_filtering, const std::optional<Mac>& mac) {
  auto top = [&](NlBuilder& b) {
    if (mac) b.bytes(ZL_ATTR(IFLA_ADDRESS), *mac);
  };
  return create(s, name, "bridge", mtu, "create bridge " + std::string(name), top, [&](NlBuilder& b) {
    b.u32(ZL_ATTR(IFLA_BR_STP_STATE), 0);
    if (vlan_filtering) b.u8(ZL_ATTR(IFLA_BR_VLAN_FILTERING), 1);
  });
}

Status veth_create(NlSock& s, std::string_view host_name, std::string_view peer_name, int peer_netns_fd, int mtu,
                   const std::optional<Mac>& peer_mac, int master) {
  std::string what = "create veth " + std::string(host_name) + " (peer " + std::string(peer_name) + ")";
  auto top = [&](NlBuilder& b) {
    if (master > 0) b.u32(ZL_ATTR(IFLA_MASTER), static_cast<uint32_t>(master));
  };
  return create(s, host_name, "veth", mtu, what, top, [&](NlBuilder& b) {
    Nest peer = b.nest(ZL_ATTR(VETH_INFO_PEER));
    ifinfomsg pifi{};
    b.append("VETH_INFO_PEER header", &pifi, sizeof pifi);
    b.str(ZL_ATTR(IFLA_IFNAME), peer_name);
    b.u32(ZL_ATTR(IFLA_NET_NS_FD), static_cast<uint32_t>(peer_netns_fd));
    if (mtu > 0) b.u32(ZL_ATTR(IFLA_MTU), static_cast<uint32_t>(mtu));
    if (peer_mac) b.bytes(ZL_ATTR(IFLA_ADDRESS), *peer_mac);
    peer.close();
  });
}

Status link_create(NlSock& s, std::string_view name, std::string_view kind, int mtu) {
  return create(s, name, kind, mtu, "create " + std::string(kind) + " link " + std::string(name), nothing, nothing);
}

Status link_delete(NlSock& s, int index) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  NlBuilder b(RTM_DELLINK, 0, ifi, "delete link " + std::to_string(index));
  auto m = b.take();
  if (!m) return std::move(m).error();
  return s.request(m->get(), "delete link " + std::to_string(index));
}

static Result<NlMsg> link_change_build(int index, const LinkChange& c) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  auto flag = [&](const std::optional<bool>& v, unsigned f) {
    if (!v) return;
    ifi.ifi_change |= f;
    if (*v) ifi.ifi_flags |= f;
  };
  flag(c.up, IFF_UP);
  flag(c.promisc, IFF_PROMISC);
  NlBuilder b(RTM_NEWLINK, 0, ifi, "change link " + std::to_string(index));
  if (c.master) b.u32(ZL_ATTR(IFLA_MASTER), static_cast<uint32_t>(*c.master));
  if (c.mtu) b.u32(ZL_ATTR(IFLA_MTU), static_cast<uint32_t>(*c.mtu));
  if (c.mac) b.bytes(ZL_ATTR(IFLA_ADDRESS), *c.mac);
  // Without the NUL, as iproute2 sends it: the kernel's limit (255 bytes) counts it otherwise.
  if (c.alias) b.bytes(ZL_ATTR(IFLA_IFALIAS), std::string_view(*c.alias));
  return b.take();
}

NlMsg link_change_message(int index, const LinkChange& c) {
  auto m = link_change_build(index, c);
  return m ? std::move(*m) : NlMsg{};
}

Status link_change(NlSock& s, int index, const LinkChange& c) {
  auto m = link_change_build(index, c);
  if (!m) return std::move(m).error();
  return s.request(m->get(), "change link " + std::to_string(index));
}

// An AF_BRIDGE request on port `index`; `fill` puts its attributes.
template <class F>
static Status bridge_request(NlSock& s, int type, int index, const std::string& what, F fill) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  NlBuilder b(type, 0, ifi, what);
  fill(b);
  auto m = b.take();
  if (!m) return std::move(m).error();
  return s.request(m->get(), what);
}

Status bridge_port_set(NlSock& s, int index, bool hairpin, bool isolated) {
  return bridge_request(s, RTM_SETLINK, index, "set bridge port flags on " + std::to_string(index), [&](NlBuilder& b) {
    Nest pi = b.nest(NlAttr{IFLA_PROTINFO | NLA_F_NESTED, "IFLA_PROTINFO"});
    b.u8(ZL_ATTR(IFLA_BRPORT_MODE), hairpin ? 1 : 0);
    b.u8(ZL_ATTR(IFLA_BRPORT_ISOLATED), isolated ? 1 : 0);
    pi.close();
  });
}

static Status port_vlan(NlSock& s, int index, int type, uint16_t vid, uint16_t flags) {
  std::string what = "set vlan " + std::to_string(vid) + " on port " + std::to_string(index);
  return bridge_request(s, type, index, what, [&](NlBuilder& b) {
    Nest af = b.nest(ZL_ATTR(IFLA_AF_SPEC));
    bridge_vlan_info vi{};
    vi.flags = flags;
    vi.vid = vid;
    b.put(ZL_ATTR(IFLA_BRIDGE_VLAN_INFO), &vi, sizeof vi);
    af.close();
  });
}

Status bridge_port_vlan(NlSock& s, int index, int vid) {
  if (auto st = port_vlan(s, index, RTM_DELLINK, 1, 0); !st && st.error().sys != ENOENT && st.error().sys != EINVAL) {
    return st;
  }
  return port_vlan(s, index, RTM_SETLINK, static_cast<uint16_t>(vid), BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED);
}

}  // namespace zl::net
