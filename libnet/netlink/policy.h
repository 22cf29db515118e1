// libnl attribute policies for everything we parse: nla_parse checks each attribute's
// length against them before we read it (integers exact width, strings NUL-terminated and
// bounded, keys exact, addresses 4..16 bytes and then exactly their family's size).
#pragma once

#include <netlink/attr.h>
#include <netlink/msg.h>

#include <span>
#include <string_view>

#include "libnet/core/ip.h"
#include "libnet/core/result.h"

namespace zl::net::policy {

// rtnetlink: IFLA_MAX, IFLA_INFO_MAX, IFA_MAX, RTA_MAX, RTAX_MAX entries (+1).
const nla_policy* link();
const nla_policy* link_info();
const nla_policy* addr();
const nla_policy* route();
const nla_policy* route_metrics();
// WireGuard generic netlink: WGDEVICE_A_MAX, WGPEER_A_MAX, WGALLOWEDIP_A_MAX (+1).
const nla_policy* wg_device();
const nla_policy* wg_peer();
const nla_policy* wg_allowed_ip();

}  // namespace zl::net::policy

namespace zl::net {

// Names of attribute types for errors (index: type; null or short: the number is used).
using NlNames = std::span<const char* const>;

// nlmsg_parse / nla_parse (of a stream) / nla_parse_nested with `pol`: EBADMSG naming `what`
// and the first attribute of a wrong length ("<what>: malformed <name> (3 bytes)").
Status nl_parse_msg(nlattr** tb, int max, nlmsghdr* h, int hdrlen, const nla_policy* pol, std::string_view what,
                    NlNames names = {});
Status nl_parse_attrs(nlattr** tb, int max, nlattr* head, int len, const nla_policy* pol, std::string_view what,
                      NlNames names = {});
Status nl_parse_nested(nlattr** tb, int max, const nlattr* nest, const nla_policy* pol, std::string_view what,
                       NlNames names = {});
// The address in `a` when it is exactly `family`'s size (4 or 16 bytes).
Result<IpAddr> nl_get_addr(const nlattr* a, int family, std::string_view what);

}  // namespace zl::net
