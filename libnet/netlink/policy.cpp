#include "libnet/netlink/policy.h"

#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace zl::net {
namespace {

// An integer of exactly its width.
constexpr nla_policy exact(uint16_t type) {
  uint16_t w = type == NLA_U8 ? 1 : type == NLA_U16 ? 2 : type == NLA_U32 ? 4 : 8;
  return nla_policy{.type = type, .minlen = w, .maxlen = w};
}
constexpr nla_policy string(uint16_t max_with_nul) { return {.type = NLA_STRING, .minlen = 0, .maxlen = max_with_nul}; }
constexpr nla_policy bytes(uint16_t min, uint16_t max) { return {.type = NLA_UNSPEC, .minlen = min, .maxlen = max}; }
constexpr nla_policy nested() { return {.type = NLA_NESTED, .minlen = 0, .maxlen = 0}; }
constexpr nla_policy kAddr = bytes(4, 16);

template <size_t N, class F>
const nla_policy* table(F fill) {
  static const std::array<nla_policy, N> t = [&] {
    std::array<nla_policy, N> p{};
    fill(p);
    return p;
  }();
  return t.data();
}

}  // namespace

namespace policy {

const nla_policy* link() {
  return table<IFLA_MAX + 1>([](auto& p) {
    p[IFLA_IFNAME] = string(IFNAMSIZ);
    p[IFLA_IFALIAS] = string(256);
    p[IFLA_MASTER] = exact(NLA_U32);
    p[IFLA_MTU] = exact(NLA_U32);
    p[IFLA_LINKINFO] = nested();
    // IFLA_ADDRESS: its size depends on the link type (6 for Ethernet); checked where read.
  });
}

const nla_policy* link_info() {
  return table<IFLA_INFO_MAX + 1>([](auto& p) { p[IFLA_INFO_KIND] = string(64); });
}

const nla_policy* addr() {
  return table<IFA_MAX + 1>([](auto& p) {
    p[IFA_ADDRESS] = kAddr;
    p[IFA_LOCAL] = kAddr;
    p[IFA_FLAGS] = exact(NLA_U32);
  });
}

const nla_policy* route() {
  return table<RTA_MAX + 1>([](auto& p) {
    p[RTA_DST] = kAddr;
    p[RTA_GATEWAY] = kAddr;
    p[RTA_PREFSRC] = kAddr;
    p[RTA_TABLE] = exact(NLA_U32);
    p[RTA_OIF] = exact(NLA_U32);
    p[RTA_PRIORITY] = exact(NLA_U32);
    p[RTA_METRICS] = nested();
  });
}

const nla_policy* route_metrics() {
  return table<RTAX_MAX + 1>([](auto& p) {
    p[RTAX_MTU] = exact(NLA_U32);
    p[RTAX_ADVMSS] = exact(NLA_U32);
  });
}

const nla_policy* wg_device() {
  return table<WGDEVICE_A_MAX + 1>([](auto& p) {
    p[WGDEVICE_A_IFINDEX] = exact(NLA_U32);
    p[WGDEVICE_A_IFNAME] = string(IFNAMSIZ);
    p[WGDEVICE_A_PRIVATE_KEY] = bytes(WG_KEY_LEN, WG_KEY_LEN);
    p[WGDEVICE_A_PUBLIC_KEY] = bytes(WG_KEY_LEN, WG_KEY_LEN);
    p[WGDEVICE_A_FLAGS] = exact(NLA_U32);
    p[WGDEVICE_A_LISTEN_PORT] = exact(NLA_U16);
    p[WGDEVICE_A_FWMARK] = exact(NLA_U32);
    p[WGDEVICE_A_PEERS] = nested();
  });
}

const nla_policy* wg_peer() {
  return table<WGPEER_A_MAX + 1>([](auto& p) {
    p[WGPEER_A_PUBLIC_KEY] = bytes(WG_KEY_LEN, WG_KEY_LEN);
    p[WGPEER_A_PRESHARED_KEY] = bytes(WG_KEY_LEN, WG_KEY_LEN);
    p[WGPEER_A_FLAGS] = exact(NLA_U32);
    p[WGPEER_A_ENDPOINT] = bytes(sizeof(sockaddr_in), sizeof(sockaddr_in6));
    p[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = exact(NLA_U16);
    p[WGPEER_A_LAST_HANDSHAKE_TIME] = bytes(sizeof(__kernel_timespec), sizeof(__kernel_timespec));
    p[WGPEER_A_RX_BYTES] = exact(NLA_U64);
    p[WGPEER_A_TX_BYTES] = exact(NLA_U64);
    p[WGPEER_A_ALLOWEDIPS] = nested();
    p[WGPEER_A_PROTOCOL_VERSION] = exact(NLA_U32);
  });
}

const nla_policy* wg_allowed_ip() {
  return table<WGALLOWEDIP_A_MAX + 1>([](auto& p) {
    p[WGALLOWEDIP_A_FAMILY] = exact(NLA_U16);
    p[WGALLOWEDIP_A_IPADDR] = kAddr;
    p[WGALLOWEDIP_A_CIDR_MASK] = exact(NLA_U8);
  });
}

}  // namespace policy

// The error for a stream nla_parse refused: the first attribute its policy rejects, named.
static Error malformed(nlattr* head, int len, int max, const nla_policy* pol, std::string_view what, NlNames names,
                       int nle) {
  std::string msg = std::string(what) + ": malformed ";
  nlattr* a;
  int rem;
  nla_for_each_attr(a, head, len, rem) {
    if (nla_validate(a, nla_total_size(nla_len(a)), max, const_cast<nla_policy*>(pol)) >= 0) continue;
    const auto t = static_cast<size_t>(nla_type(a));
    if (t < names.size() && names[t]) msg += names[t];
    else msg += "attribute " + std::to_string(t);
    return Error{EBADMSG, 0, msg + " (" + std::to_string(nla_len(a)) + " bytes)"};
  }
  return Error{EBADMSG, 0, msg + "attributes (" + nl_geterror(nle) + ")"};
}

Status nl_parse_attrs(nlattr** tb, int max, nlattr* head, int len, const nla_policy* pol, std::string_view what,
                      NlNames names) {
  int r = nla_parse(tb, max, head, len, const_cast<nla_policy*>(pol));
  if (r < 0) return malformed(head, len, max, pol, what, names, r);
  return {};
}

Status nl_parse_msg(nlattr** tb, int max, nlmsghdr* h, int hdrlen, const nla_policy* pol, std::string_view what,
                    NlNames names) {
  if (!nlmsg_valid_hdr(h, hdrlen)) return Error{EBADMSG, 0, std::string(what) + ": message shorter than its header"};
  return nl_parse_attrs(tb, max, nlmsg_attrdata(h, hdrlen), nlmsg_attrlen(h, hdrlen), pol, what, names);
}

Status nl_parse_nested(nlattr** tb, int max, const nlattr* nest, const nla_policy* pol, std::string_view what,
                       NlNames names) {
  auto* n = const_cast<nlattr*>(nest);
  return nl_parse_attrs(tb, max, static_cast<nlattr*>(nla_data(n)), nla_len(n), pol, what, names);
}

Result<IpAddr> nl_get_addr(const nlattr* a, int family, std::string_view what) {
  IpAddr ip;
  ip.family = family;
  if (family != AF_INET && family != AF_INET6) return Error{EBADMSG, 0, std::string(what) + ": address family " + std::to_string(family)};
  if (!a || static_cast<size_t>(nla_len(a)) != ip.size()) {
    return Error{EBADMSG, 0, std::string(what) + ": address of " + std::to_string(a ? nla_len(a) : 0) + " bytes"};
  }
  std::memcpy(ip.b.data(), nla_data(a), ip.size());
  return ip;
}

}  // namespace zl::net
