#include "libnet/netlink/netlink.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "libnet/netlink/builder.h"
#include "libnet/netlink/policy.h"

namespace zl::net {
// ---- addresses ---------------------------------------------------------------

// An address from an RTM_NEWADDR message (nullopt for other messages).
Result<std::optional<AddrInfo>> parse_addr_message(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWADDR) return std::optional<AddrInfo>{};
  nlattr* tb[IFA_MAX + 1];
  if (auto st = nl_parse_msg(tb, IFA_MAX, h, sizeof(ifaddrmsg), policy::addr(), "address"); !st) return std::move(st).error();
  auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(h));
  const nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)) return std::optional<AddrInfo>{};
  auto ip = nl_get_addr(a, ifa->ifa_family, "address on link " + std::to_string(ifa->ifa_index));
  if (!ip) return std::move(ip).error();
  if (ifa->ifa_prefixlen > ip->bits()) return Error{EBADMSG, 0, "address " + ip->str() + ": prefix length " + std::to_string(ifa->ifa_prefixlen)};
  AddrInfo ai;
  ai.index = static_cast<int>(ifa->ifa_index);
  ai.addr = IpNet{*ip, ifa->ifa_prefixlen};
  ai.flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
  return std::optional<AddrInfo>(ai);
}

Result<std::vector<AddrInfo>> addr_list(NlSock& s, int family, int index) {
  std::vector<AddrInfo> out;
  Status parsed;
  auto make = [&] {
    out.clear();
    parsed = {};
    ifaddrmsg ifa{};
    ifa.ifa_family = static_cast<uint8_t>(family);
    return NlBuilder(RTM_GETADDR, NLM_F_DUMP, ifa, "list addresses").take_or_null();
  };
  auto on_msg = [&](nlmsghdr* h) {
    auto a = parse_addr_message(h);
    if (!a) parsed = std::move(a).error();
    else if (*a && (!index || (*a)->index == index) && (!family || (*a)->addr.addr.family == family)) out.push_back(**a);
  };
  auto st = s.query(make, on_msg, "list addresses");
  if (!st) return std::move(st).error();
  if (!parsed) return std::move(parsed).error();
  return out;
}

static Result<NlMsg> addr_msg(int type, int flags, int index, const IpNet& addr, bool nodad) {
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(addr.addr.family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(addr.len);
  ifa.ifa_index = static_cast<uint32_t>(index);
  NlBuilder b(type, flags, ifa, "address " + addr.str());
  b.addr(ZL_ATTR(IFA_LOCAL), addr.addr);
  b.addr(ZL_ATTR(IFA_ADDRESS), addr.addr);
  if (nodad && !addr.addr.is_v4()) b.u32(ZL_ATTR(IFA_FLAGS), IFA_F_NODAD);
  if (addr.addr.is_v4() && addr.len < 31) b.addr(ZL_ATTR(IFA_BROADCAST), addr.last());
  return b.take();
}

NlMsg addr_add_message(int index, const IpNet& addr, bool nodad) {
  auto m = addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, addr, nodad);
  return m ? std::move(*m) : NlMsg{};
}

Status addr_add(NlSock& s, int index, const IpNet& addr, bool nodad) {
  auto m = addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, addr, nodad);
  if (!m) return std::move(m).error();
  return s.request(m->get(), "add address " + addr.str());
}

Status addr_del(NlSock& s, int index, const IpNet& addr) {
  auto m = addr_msg(RTM_DELADDR, 0, index, addr, false);
  if (!m) return std::move(m).error();
  return s.request(m->get(), "delete address " + addr.str());
}

}  // namespace zl::net
