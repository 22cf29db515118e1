#include "libnet/netlink/netlink.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/socket.h>

#include <cstdio>
#include <cstring>

#include "libnet/netlink/receive.h"

namespace zl::net {
namespace {

Error nl_error(int nle, std::string_view what) {
  // libnl's own error codes (negative NLE_*); map the common ones back to errno.
  int e = EIO;
  switch (-nle) {
    case NLE_NOMEM: e = ENOMEM; break;
    case NLE_PERM: e = EPERM; break;
    case NLE_BUSY: e = EBUSY; break;
    case NLE_EXIST: e = EEXIST; break;
    case NLE_OBJ_NOTFOUND: e = ENOENT; break;
    case NLE_NODEV: e = ENODEV; break;
    case NLE_INVAL: e = EINVAL; break;
    default: break;
  }
  return Error{e, 0, std::string(what) + ": " + nl_geterror(nle)};
}

bool put_ok(int r) { return r >= 0; }

}  // namespace

Result<NlSock> NlSock::open(int protocol) {
  NlSock s;
  s.sk_ = nl_socket_alloc();
  if (!s.sk_) return Error::from_errno(ENOMEM, "netlink socket");
  int r = nl_connect(s.sk_, protocol);
  if (r < 0) return nl_error(r, "netlink connect");
  int one = 1;
  (void)setsockopt(nl_socket_get_fd(s.sk_), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(nl_socket_get_fd(s.sk_), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  nl_socket_set_buffer_size(s.sk_, 1 << 20, 1 << 20);
  return s;
}

NlSock& NlSock::operator=(NlSock&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}

NlSock::~NlSock() {
  if (sk_) nl_socket_free(sk_);
}

Status NlSock::exchange(std::span<nl_msg* const> msgs, const std::function<void(nlmsghdr*)>* on_msg,
                        std::string_view what, const std::vector<std::string>* names, bool secret, bool* interrupted) {
  const uint32_t port = nl_socket_get_local_port(sk_);
  // Many requests per sendmsg (the kernel handles each in turn); replies read per group, so
  // the acks owed never outgrow the receive buffer.
  constexpr size_t kGroup = 256, kDatagram = 32768;
  NlOutcome first;
  std::string buf;
  auto send = [&]() -> Status {
    if (buf.empty()) return {};
    int r = nl_sendto(sk_, buf.data(), buf.size());
    if (secret) explicit_bzero(buf.data(), buf.size());
    buf.clear();
    if (r < 0) return nl_error(r, what);
    return {};
  };
  for (size_t g = 0; g < msgs.size(); g += kGroup) {
    NlExpect x{.wipe = secret};
    for (size_t i = g; i < msgs.size() && i < g + kGroup; ++i) {
      if (!msgs[i]) return Error::from_errno(EMSGSIZE, names && i < names->size() ? (*names)[i] : std::string(what));
      nlmsghdr* h = nlmsg_hdr(msgs[i]);
      const bool dump = (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
      h->nlmsg_pid = port;
      h->nlmsg_seq = nl_socket_use_seq(sk_);
      h->nlmsg_flags |= NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK);
      if (i == g) x.first_seq = h->nlmsg_seq;
      x.is_dump.push_back(dump);
      if (buf.size() + NLMSG_ALIGN(h->nlmsg_len) > kDatagram) {
        if (auto st = send(); !st) return st;
      }
      buf.append(reinterpret_cast<const char*>(h), NLMSG_ALIGN(h->nlmsg_len));
      if (secret) explicit_bzero(h, h->nlmsg_len);
    }
    if (auto st = send(); !st) return st;
    static const std::function<void(nlmsghdr*)> kIgnore = [](nlmsghdr*) {};
    const auto& cb = on_msg ? *on_msg : kIgnore;
    auto got = nl_receive(nl_socket_get_fd(sk_), port, x,
                          [&](const nlmsghdr* h) { cb(const_cast<nlmsghdr*>(h)); }, what);
    if (!got) return std::move(got).error();
    if (interrupted && got->interrupted) *interrupted = true;
    if (got->error && !first.error) {
      first = std::move(*got);
      if (names) {
        size_t i = g + (first.failed_seq - x.first_seq);
        if (i < names->size()) what = (*names)[i];
      }
    }
  }
  if (first.error) {
    Error e = Error::from_errno(first.error, what);
    if (!first.ext_ack.empty()) e.msg += " (" + first.ext_ack + ")";
    return e;
  }
  return {};
}

Status NlSock::request(nl_msg* msg, std::string_view what, bool secret) {
  if (!msg) return Error::from_errno(EMSGSIZE, what);
  nl_msg* one[] = {msg};
  return exchange(one, nullptr, what, nullptr, secret, nullptr);
}

Status NlSock::request_batch(const std::vector<NlMsg>& msgs, std::string_view what,
                             const std::vector<std::string>* names) {
  std::vector<nl_msg*> raw;
  raw.reserve(msgs.size());
  for (const auto& m : msgs) raw.push_back(m.get());
  return exchange(raw, nullptr, what, names, false, nullptr);
}

Status NlSock::query(const std::function<NlMsg()>& make, const std::function<void(nlmsghdr*)>& on_msg,
                     std::string_view what, bool secret) {
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    NlMsg m = make();
    if (!m) return Error::from_errno(EMSGSIZE, what);
    nl_msg* one[] = {m.get()};
    bool torn = false;
    if (auto s = exchange(one, &on_msg, what, nullptr, secret, &torn); !s) return s;
    if (!torn) return {};
    if (attempt == kAttempts) {
      return Error::from_errno(EINTR, std::string(what) + ": the dump was interrupted by concurrent changes " +
                                          std::to_string(kAttempts) + " times");
    }
  }
}

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

static std::optional<LinkInfo> parse_link(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWLINK) return std::nullopt;
  nlattr* tb[IFLA_MAX + 1];
  if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return std::nullopt;
  auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(h));
  LinkInfo l;
  l.index = ifi->ifi_index;
  l.flags = ifi->ifi_flags;
  if (tb[IFLA_IFNAME]) l.name = nla_get_string(tb[IFLA_IFNAME]);
  if (tb[IFLA_IFALIAS]) l.alias = nla_get_string(tb[IFLA_IFALIAS]);
  if (tb[IFLA_MASTER] && nla_len(tb[IFLA_MASTER]) >= 4) l.master = static_cast<int>(nla_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_MTU] && nla_len(tb[IFLA_MTU]) >= 4) l.mtu = static_cast<int>(nla_get_u32(tb[IFLA_MTU]));
  if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) std::memcpy(l.mac.data(), nla_data(tb[IFLA_ADDRESS]), 6);
  if (tb[IFLA_LINKINFO]) {
    nlattr* li[IFLA_INFO_MAX + 1];
    if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) >= 0 && li[IFLA_INFO_KIND]) {
      l.kind = nla_get_string(li[IFLA_INFO_KIND]);
    }
  }
  return l;
}

static Result<std::optional<LinkInfo>> link_get(NlSock& s, int index, std::string_view name) {
  std::optional<LinkInfo> out;
  std::string n(name);
  auto make = [&] {
    ifinfomsg ifi{};
    ifi.ifi_index = index;
    NlMsg m = nl_new(RTM_GETLINK, 0, ifi);
    if (m && !n.empty() && !put_ok(nla_put_string(m.get(), IFLA_IFNAME, n.c_str()))) m.reset();
    if (m && !put_ok(nla_put_u32(m.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))) m.reset();
    return m;
  };
  auto st = s.query(make, [&](nlmsghdr* h) { out = parse_link(h); },
                    "get link " + (n.empty() ? std::to_string(index) : n));
  if (!st) {
    if (st.error().sys == ENODEV) return std::optional<LinkInfo>{};
    return std::move(st).error();
  }
  return out;
}

Result<std::optional<LinkInfo>> link_by_name(NlSock& s, std::string_view name) { return link_get(s, 0, name); }
Result<std::optional<LinkInfo>> link_by_index(NlSock& s, int index) { return link_get(s, index, {}); }

Result<std::vector<LinkInfo>> link_list(NlSock& s) {
  std::vector<LinkInfo> out;
  auto make = [&] {
    out.clear();
    ifinfomsg ifi{};
    NlMsg m = nl_new(RTM_GETLINK, NLM_F_DUMP, ifi);
    if (m && !put_ok(nla_put_u32(m.get(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))) m.reset();
    return m;
  };
  auto st = s.query(make,
                    [&](nlmsghdr* h) {
                      if (auto l = parse_link(h)) out.push_back(std::move(*l));
                    },
                    "list links");
  if (!st) return std::move(st).error();
  return out;
}

Status bridge_create(NlSock& s, std::string_view name, int mtu, bool vlan_filtering, const std::optional<Mac>& mac) {
  std::string n(name);
  ifinfomsg ifi{};
  NlMsg m = nl_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi);
  nl_msg* p = m.get();
  bool ok = p && put_ok(nla_put_string(p, IFLA_IFNAME, n.c_str()));
  if (ok && mac) ok = put_ok(nla_put(p, IFLA_ADDRESS, 6, mac->data()));
  if (ok && mtu > 0) ok = put_ok(nla_put_u32(p, IFLA_MTU, static_cast<uint32_t>(mtu)));
  nlattr* li = ok ? nla_nest_start(p, IFLA_LINKINFO) : nullptr;
  ok = li && put_ok(nla_put_string(p, IFLA_INFO_KIND, "bridge"));
  nlattr* data = ok ? nla_nest_start(p, IFLA_INFO_DATA) : nullptr;
  ok = data && put_ok(nla_put_u32(p, IFLA_BR_STP_STATE, 0));
  if (ok && vlan_filtering) ok = put_ok(nla_put_u8(p, IFLA_BR_VLAN_FILTERING, 1));
  if (ok) {
    nla_nest_end(p, data);
    nla_nest_end(p, li);
  }
  return s.request(ok ? p : nullptr, "create bridge " + n);
}

Status veth_create(NlSock& s, std::string_view host_name, std::string_view peer_name, int peer_netns_fd, int mtu,
                   const std::optional<Mac>& peer_mac, int master) {
  std::string hn(host_name), pn(peer_name);
  ifinfomsg ifi{};
  NlMsg m = nl_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi);
  nl_msg* p = m.get();
  bool ok = p && put_ok(nla_put_string(p, IFLA_IFNAME, hn.c_str()));
  if (ok && mtu > 0) ok = put_ok(nla_put_u32(p, IFLA_MTU, static_cast<uint32_t>(mtu)));
  if (ok && master > 0) ok = put_ok(nla_put_u32(p, IFLA_MASTER, static_cast<uint32_t>(master)));
  nlattr* li = ok ? nla_nest_start(p, IFLA_LINKINFO) : nullptr;
  ok = li && put_ok(nla_put_string(p, IFLA_INFO_KIND, "veth"));
  nlattr* data = ok ? nla_nest_start(p, IFLA_INFO_DATA) : nullptr;
  nlattr* peer = data ? nla_nest_start(p, VETH_INFO_PEER) : nullptr;
  ifinfomsg pifi{};
  ok = peer && put_ok(nlmsg_append(p, &pifi, sizeof pifi, NLMSG_ALIGNTO));
  if (ok) ok = put_ok(nla_put_string(p, IFLA_IFNAME, pn.c_str()));
  if (ok) ok = put_ok(nla_put_u32(p, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd)));
  if (ok && mtu > 0) ok = put_ok(nla_put_u32(p, IFLA_MTU, static_cast<uint32_t>(mtu)));
  if (ok && peer_mac) ok = put_ok(nla_put(p, IFLA_ADDRESS, 6, peer_mac->data()));
  if (ok) {
    nla_nest_end(p, peer);
    nla_nest_end(p, data);
    nla_nest_end(p, li);
  }
  return s.request(ok ? p : nullptr, "create veth " + hn + " (peer " + pn + ")");
}

Status link_create(NlSock& s, std::string_view name, std::string_view kind, int mtu) {
  std::string n(name), k(kind);
  ifinfomsg ifi{};
  NlMsg m = nl_new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifi);
  nl_msg* p = m.get();
  bool ok = p && put_ok(nla_put_string(p, IFLA_IFNAME, n.c_str()));
  if (ok && mtu > 0) ok = put_ok(nla_put_u32(p, IFLA_MTU, static_cast<uint32_t>(mtu)));
  nlattr* li = ok ? nla_nest_start(p, IFLA_LINKINFO) : nullptr;
  ok = li && put_ok(nla_put_string(p, IFLA_INFO_KIND, k.c_str()));
  if (ok) nla_nest_end(p, li);
  return s.request(ok ? p : nullptr, "create " + k + " link " + n);
}

Status link_delete(NlSock& s, int index) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  NlMsg m = nl_new(RTM_DELLINK, 0, ifi);
  return s.request(m.get(), "delete link " + std::to_string(index));
}

NlMsg link_change_message(int index, const LinkChange& c) {
  ifinfomsg ifi{};
  ifi.ifi_index = index;
  if (c.up) {
    ifi.ifi_change |= IFF_UP;
    if (*c.up) ifi.ifi_flags |= IFF_UP;
  }
  if (c.promisc) {
    ifi.ifi_change |= IFF_PROMISC;
    if (*c.promisc) ifi.ifi_flags |= IFF_PROMISC;
  }
  NlMsg m = nl_new(RTM_NEWLINK, 0, ifi);
  nl_msg* p = m.get();
  bool ok = p != nullptr;
  if (ok && c.master) ok = put_ok(nla_put_u32(p, IFLA_MASTER, static_cast<uint32_t>(*c.master)));
  if (ok && c.mtu) ok = put_ok(nla_put_u32(p, IFLA_MTU, static_cast<uint32_t>(*c.mtu)));
  if (ok && c.mac) ok = put_ok(nla_put(p, IFLA_ADDRESS, 6, c.mac->data()));
  // Without the NUL, as iproute2 sends it: the kernel's limit (255 bytes) counts it otherwise.
  if (ok && c.alias) ok = put_ok(nla_put(p, IFLA_IFALIAS, static_cast<int>(c.alias->size()), c.alias->data()));
  if (!ok) m.reset();
  return m;
}

Status link_change(NlSock& s, int index, const LinkChange& c) {
  NlMsg m = link_change_message(index, c);
  return s.request(m.get(), "change link " + std::to_string(index));
}

Status bridge_port_set(NlSock& s, int index, bool hairpin, bool isolated) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  NlMsg m = nl_new(RTM_SETLINK, 0, ifi);
  nl_msg* p = m.get();
  nlattr* pi = p ? nla_nest_start(p, IFLA_PROTINFO | NLA_F_NESTED) : nullptr;
  bool ok = pi && put_ok(nla_put_u8(p, IFLA_BRPORT_MODE, hairpin ? 1 : 0)) &&
            put_ok(nla_put_u8(p, IFLA_BRPORT_ISOLATED, isolated ? 1 : 0));
  if (ok) nla_nest_end(p, pi);
  return s.request(ok ? p : nullptr, "set bridge port flags on " + std::to_string(index));
}

static Status port_vlan(NlSock& s, int index, int type, uint16_t vid, uint16_t flags) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  NlMsg m = nl_new(type, 0, ifi);
  nl_msg* p = m.get();
  nlattr* af = p ? nla_nest_start(p, IFLA_AF_SPEC) : nullptr;
  bridge_vlan_info vi{};
  vi.flags = flags;
  vi.vid = vid;
  bool ok = af && put_ok(nla_put(p, IFLA_BRIDGE_VLAN_INFO, sizeof vi, &vi));
  if (ok) nla_nest_end(p, af);
  return s.request(ok ? p : nullptr, "set vlan " + std::to_string(vid) + " on port " + std::to_string(index));
}

Status bridge_port_vlan(NlSock& s, int index, int vid) {
  if (auto st = port_vlan(s, index, RTM_DELLINK, 1, 0); !st && st.error().sys != ENOENT && st.error().sys != EINVAL) {
    return st;
  }
  return port_vlan(s, index, RTM_SETLINK, static_cast<uint16_t>(vid), BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED);
}

// ---- addresses ---------------------------------------------------------------

static IpAddr addr_from(int family, const nlattr* a) {
  IpAddr ip;
  ip.family = family;
  size_t n = family == AF_INET ? 4 : 16;
  if (a && static_cast<size_t>(nla_len(a)) >= n) std::memcpy(ip.b.data(), nla_data(a), n);
  return ip;
}

Result<std::vector<AddrInfo>> addr_list(NlSock& s, int family, int index) {
  std::vector<AddrInfo> out;
  auto make = [&] {
    out.clear();
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<uint8_t>(family);
    return nl_new(RTM_GETADDR, NLM_F_DUMP, ifa);
  };
  auto st = s.query(make,
                    [&](nlmsghdr* h) {
                      if (h->nlmsg_type != RTM_NEWADDR) return;
                      auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(h));
                      if (index && static_cast<int>(ifa->ifa_index) != index) return;
                      if (family && ifa->ifa_family != family) return;
                      nlattr* tb[IFA_MAX + 1];
                      if (nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return;
                      const nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
                      if (!a) return;
                      AddrInfo ai;
                      ai.index = static_cast<int>(ifa->ifa_index);
                      ai.addr = IpNet{addr_from(ifa->ifa_family, a), ifa->ifa_prefixlen};
                      ai.flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
                      out.push_back(ai);
                    },
                    "list addresses");
  if (!st) return std::move(st).error();
  return out;
}

static NlMsg addr_msg(int type, int flags, int index, const IpNet& addr, bool nodad) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(addr.addr.family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(addr.len);
  ifa.ifa_index = static_cast<uint32_t>(index);
  NlMsg m = nl_new(type, flags, ifa);
  nl_msg* p = m.get();
  auto n = static_cast<int>(addr.addr.size());
  bool ok = p && put_ok(nla_put(p, IFA_LOCAL, n, addr.addr.b.data())) &&
            put_ok(nla_put(p, IFA_ADDRESS, n, addr.addr.b.data()));
  if (ok && nodad && !addr.addr.is_v4()) ok = put_ok(nla_put_u32(p, IFA_FLAGS, IFA_F_NODAD));
  if (ok && addr.addr.is_v4() && addr.len < 31) {
    IpAddr brd = addr.last();
    ok = put_ok(nla_put(p, IFA_BROADCAST, 4, brd.b.data()));
  }
  if (!ok) m.reset();
  return m;
}

NlMsg addr_add_message(int index, const IpNet& addr, bool nodad) {
  return addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, addr, nodad);
}

Status addr_add(NlSock& s, int index, const IpNet& addr, bool nodad) {
  NlMsg m = addr_add_message(index, addr, nodad);
  return s.request(m.get(), "add address " + addr.str());
}

Status addr_del(NlSock& s, int index, const IpNet& addr) {
  NlMsg m = addr_msg(RTM_DELADDR, 0, index, addr, false);
  return s.request(m.get(), "delete address " + addr.str());
}

// ---- routes ------------------------------------------------------------------

static std::optional<RouteInfo> parse_route(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
  auto* rtm = static_cast<rtmsg*>(nlmsg_data(h));
  nlattr* tb[RTA_MAX + 1];
  if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return std::nullopt;
  RouteInfo r;
  r.type = rtm->rtm_type;
  r.table = tb[RTA_TABLE] ? static_cast<int>(nla_get_u32(tb[RTA_TABLE])) : rtm->rtm_table;
  r.scope = rtm->rtm_scope;
  r.protocol = rtm->rtm_protocol;
  IpAddr dst = tb[RTA_DST] ? addr_from(rtm->rtm_family, tb[RTA_DST]) : IpAddr::from_u128(rtm->rtm_family, 0);
  r.dst = IpNet{dst, rtm->rtm_dst_len};
  if (tb[RTA_GATEWAY]) r.gw = addr_from(rtm->rtm_family, tb[RTA_GATEWAY]);
  if (tb[RTA_PREFSRC]) r.prefsrc = addr_from(rtm->rtm_family, tb[RTA_PREFSRC]);
  if (tb[RTA_OIF]) r.oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
  if (tb[RTA_PRIORITY]) r.priority = static_cast<int>(nla_get_u32(tb[RTA_PRIORITY]));
  if (tb[RTA_METRICS]) {
    nlattr* mx[RTAX_MAX + 1];
    if (nla_parse_nested(mx, RTAX_MAX, tb[RTA_METRICS], nullptr) >= 0) {
      if (mx[RTAX_MTU]) r.mtu = static_cast<int>(nla_get_u32(mx[RTAX_MTU]));
      if (mx[RTAX_ADVMSS]) r.advmss = static_cast<int>(nla_get_u32(mx[RTAX_ADVMSS]));
    }
  }
  return r;
}

Result<std::vector<RouteInfo>> route_list(NlSock& s, int family, int table, bool all_types) {
  std::vector<RouteInfo> out;
  auto make = [&] {
    out.clear();
    rtmsg rt{};
    rt.rtm_family = static_cast<uint8_t>(family);
    return nl_new(RTM_GETROUTE, NLM_F_DUMP, rt);
  };
  auto st = s.query(make,
                    [&](nlmsghdr* h) {
                      auto r = parse_route(h);
                      if (!r || (table && r->table != table)) return;
                      if (!all_types && r->type != RTN_UNICAST) return;
                      out.push_back(*r);
                    },
                    "list routes");
  if (!st) return std::move(st).error();
  return out;
}

Result<RouteInfo> route_get(NlSock& s, const IpAddr& dst) {
  std::optional<RouteInfo> out;
  auto make = [&] {
    rtmsg rt{};
    rt.rtm_family = static_cast<uint8_t>(dst.family);
    rt.rtm_dst_len = static_cast<uint8_t>(dst.bits());
    NlMsg m = nl_new(RTM_GETROUTE, 0, rt);
    if (m && !put_ok(nla_put(m.get(), RTA_DST, static_cast<int>(dst.size()), dst.b.data()))) m.reset();
    return m;
  };
  auto st = s.query(make, [&](nlmsghdr* h) { out = parse_route(h); }, "get route to " + dst.str());
  if (!st) return std::move(st).error();
  if (!out) return Error::from_errno(ENETUNREACH, "get route to " + dst.str());
  return *out;
}

static NlMsg route_msg(int type, int flags, const RouteInfo& r) {
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(r.dst.addr.family);
  rt.rtm_dst_len = static_cast<uint8_t>(r.dst.len);
  rt.rtm_table = static_cast<uint8_t>(r.table < 256 ? r.table : static_cast<int>(RT_TABLE_UNSPEC));
  rt.rtm_protocol = static_cast<uint8_t>(r.protocol);
  rt.rtm_scope = static_cast<uint8_t>(r.scope);
  rt.rtm_type = RTN_UNICAST;
  NlMsg m = nl_new(type, flags, rt);
  nl_msg* p = m.get();
  auto n = static_cast<int>(r.dst.addr.size());
  IpAddr dst = r.dst.network();
  bool ok = p != nullptr;
  if (ok && r.dst.len > 0) ok = put_ok(nla_put(p, RTA_DST, n, dst.b.data()));
  if (ok) ok = put_ok(nla_put_u32(p, RTA_TABLE, static_cast<uint32_t>(r.table)));
  if (ok && r.gw) ok = put_ok(nla_put(p, RTA_GATEWAY, n, r.gw->b.data()));
  if (ok && r.prefsrc) ok = put_ok(nla_put(p, RTA_PREFSRC, n, r.prefsrc->b.data()));
  if (ok && r.oif) ok = put_ok(nla_put_u32(p, RTA_OIF, static_cast<uint32_t>(r.oif)));
  if (ok && r.priority) ok = put_ok(nla_put_u32(p, RTA_PRIORITY, static_cast<uint32_t>(r.priority)));
  if (ok && (r.mtu || r.advmss)) {
    nlattr* mx = nla_nest_start(p, RTA_METRICS);
    ok = mx != nullptr;
    if (ok && r.mtu) ok = put_ok(nla_put_u32(p, RTAX_MTU, static_cast<uint32_t>(r.mtu)));
    if (ok && r.advmss) ok = put_ok(nla_put_u32(p, RTAX_ADVMSS, static_cast<uint32_t>(r.advmss)));
    if (ok) nla_nest_end(p, mx);
  }
  if (!ok) m.reset();
  return m;
}

NlMsg route_add_message(const RouteInfo& r, bool replace) {
  return route_msg(RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), r);
}
NlMsg route_del_message(const RouteInfo& r) { return route_msg(RTM_DELROUTE, 0, r); }



}  // namespace zl::net
