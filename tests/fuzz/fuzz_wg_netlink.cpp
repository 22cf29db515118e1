// Untrusted bytes: netlink replies from the kernel. The fuzzed bytes are the attributes of a
// WireGuard generic-netlink GET dump part, and (the same bytes) of rtnetlink link, address
// and route replies, each parsed through its libnl policy.
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "libnet/netlink/netlink.h"
#include "libnet/wireguard/wireguard.h"

namespace {

// A well-formed netlink header and a zeroed fixed header of `hdrlen` bytes (its first byte,
// the family in rtnetlink headers, set to `family`) around the fuzzed attributes.
std::vector<uint8_t> wrap(const uint8_t* data, size_t size, uint16_t type, size_t hdrlen, uint8_t family) {
  std::vector<uint8_t> buf(NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen) + size);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_len = static_cast<uint32_t>(buf.size());
  h->nlmsg_type = type;
  buf[NLMSG_HDRLEN] = family;
  if (size) std::memcpy(buf.data() + NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen), data, size);
  return buf;
}

nlmsghdr* hdr(std::vector<uint8_t>& b) { return reinterpret_cast<nlmsghdr*>(b.data()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto wg = wrap(data, size, 30, GENL_HDRLEN, 0);
  zl::net::wg::Device d;
  (void)zl::net::wg::parse_device_message(hdr(wg), d);
  (void)zl::net::wg::parse_device_message(hdr(wg), d);  // a second message merges into the first
  for (uint8_t family : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
    auto link = wrap(data, size, RTM_NEWLINK, sizeof(ifinfomsg), family);
    (void)zl::net::parse_link_message(hdr(link));
    auto addr = wrap(data, size, RTM_NEWADDR, sizeof(ifaddrmsg), family);
    (void)zl::net::parse_addr_message(hdr(addr));
    auto route = wrap(data, size, RTM_NEWROUTE, sizeof(rtmsg), family);
    (void)zl::net::parse_route_message(hdr(route));
  }
  return 0;
}
