#include "libnet/netlink/netlink.h"

#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "libnet/netlink/builder.h"
#include "libnet/netlink/policy.h"

namespace zl::net {
// ---- routes ------------------------------------------------------------------

static Status parse_metrics(const nlattr* a, RouteInfo& r) {
  nlattr* mx[RTAX_MAX + 1];
  if (auto st = nl_parse_nested(mx, RTAX_MAX, a, policy::route_metrics(), "route metrics"); !st) return st;
  if (mx[RTAX_MTU]) r.mtu = static_cast<int>(nla_get_u32(mx[RTAX_MTU]));
  if (mx[RTAX_ADVMSS]) r.advmss = static_cast<int>(nla_get_u32(mx[RTAX_ADVMSS]));
  return {};
}

// An optional address attribute of the route's family.
static Status route_addr(const nlattr* a, int family, std::optional<IpAddr>& out, const char* what) {
  if (!a) return {};
  auto ip = nl_get_addr(a, family, std::string("route ") + what);
  if (!ip) return std::move(ip).error();
  out = *ip;
  return {};
}

// A route from an RTM_NEWROUTE message (nullopt for other messages and families).
Result<std::optional<RouteInfo>> parse_route_message(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWROUTE) return std::optional<RouteInfo>{};
  nlattr* tb[RTA_MAX + 1];
  if (auto st = nl_parse_msg(tb, RTA_MAX, h, sizeof(rtmsg), policy::route(), "route"); !st) return std::move(st).error();
  auto* rtm = static_cast<rtmsg*>(nlmsg_data(h));
  const int family = rtm->rtm_family;
  if (family != AF_INET && family != AF_INET6) return std::optional<RouteInfo>{};
  RouteInfo r;
  r.type = rtm->rtm_type;
  r.table = tb[RTA_TABLE] ? static_cast<int>(nla_get_u32(tb[RTA_TABLE])) : rtm->rtm_table;
  r.scope = rtm->rtm_scope;
  r.protocol = rtm->rtm_protocol;
  std::optional<IpAddr> dst;
  if (auto st = route_addr(tb[RTA_DST], family, dst, "destination"); !st) return std::move(st).error();
  r.dst = IpNet{dst ? *dst : IpAddr::from_u128(family, 0), rtm->rtm_dst_len};
  if (r.dst.len > r.dst.addr.bits()) return Error{EBADMSG, 0, "route: prefix length " + std::to_string(r.dst.len)};
  if (auto st = route_addr(tb[RTA_GATEWAY], family, r.gw, "gateway"); !st) return std::move(st).error();
  if (auto st = route_addr(tb[RTA_PREFSRC], family, r.prefsrc, "source"); !st) return std::move(st).error();
  if (tb[RTA_OIF]) r.oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
  if (tb[RTA_PRIORITY]) r.priority = static_cast<int>(nla_get_u32(tb[RTA_PRIORITY]));
  if (tb[RTA_METRICS]) {
    if (auto st = parse_metrics(tb[RTA_METRICS], r); !st) return std::move(st).error();
  }
  return std::optional<RouteInfo>(r);
}

Result<std::vector<RouteInfo>> route_list(NlSock& s, int family, int table, bool all_types) {
  std::vector<RouteInfo> out;
  Status parsed;
  auto make = [&] {
    out.clear();
    parsed = {};
    rtmsg rt{};
    rt.rtm_family = static_cast<uint8_t>(family);
    return NlBuilder(RTM_GETROUTE, NLM_F_DUMP, rt, "list routes").take_or_null();
  };
  auto on_msg = [&](nlmsghdr* h) {
    auto r = parse_route_message(h);
    if (!r) parsed = std::move(r).error();
    else if (*r && (!table || (*r)->table == table) && (all_types || (*r)->type == RTN_UNICAST)) out.push_back(**r);
  };
  auto st = s.query(make, on_msg, "list routes");
  if (!st) return std::move(st).error();
  if (!parsed) return std::move(parsed).error();
  return out;
}

Result<RouteInfo> route_get(NlSock& s, const IpAddr& dst) {
  std::optional<RouteInfo> out;
  Status parsed;
  const std::string what = "get route to " + dst.str();
  auto make = [&] {
    rtmsg rt{};
    rt.rtm_family = static_cast<uint8_t>(dst.family);
    rt.rtm_dst_len = static_cast<uint8_t>(dst.bits());
    NlBuilder b(RTM_GETROUTE, 0, rt, what);
    b.addr(ZL_ATTR(RTA_DST), dst);
    return b.take_or_null();
  };
  auto on_msg = [&](nlmsghdr* h) {
    auto r = parse_route_message(h);
    if (!r) parsed = std::move(r).error();
    else if (*r) out = **r;
  };
  auto st = s.query(make, on_msg, what);
  if (!st) return std::move(st).error();
  if (!parsed) return std::move(parsed).error();
  if (!out) return Error::from_errno(ENETUNREACH, what);
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
  NlBuilder b(type, flags, rt, "route " + r.dst.str());
  if (r.dst.len > 0) b.addr(ZL_ATTR(RTA_DST), r.dst.network());
  b.u32(ZL_ATTR(RTA_TABLE), static_cast<uint32_t>(r.table));
  if (r.gw) b.addr(ZL_ATTR(RTA_GATEWAY), *r.gw);
  if (r.prefsrc) b.addr(ZL_ATTR(RTA_PREFSRC), *r.prefsrc);
  if (r.oif) b.u32(ZL_ATTR(RTA_OIF), static_cast<uint32_t>(r.oif));
  if (r.priority) b.u32(ZL_ATTR(RTA_PRIORITY), static_cast<uint32_t>(r.priority));
  if (r.mtu || r.advmss) {
    Nest mx = b.nest(ZL_ATTR(RTA_METRICS));
    if (r.mtu) b.u32(ZL_ATTR(RTAX_MTU), static_cast<uint32_t>(r.mtu));
    if (r.advmss) b.u32(ZL_ATTR(RTAX_ADVMSS), static_cast<uint32_t>(r.advmss));
    mx.close();
  }
  return b.take_or_null();
}

NlMsg route_add_message(const RouteInfo& r, bool replace) {
  return route_msg(RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), r);
}
NlMsg route_del_message(const RouteInfo& r) { return route_msg(RTM_DELROUTE, 0, r); }

}  // namespace zl::net
