// Untrusted bytes: a WireGuard generic-netlink reply from the kernel (GET dump part).
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "libnet/wireguard/wireguard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A well-formed netlink + genetlink header around the fuzzed attributes.
  std::vector<uint8_t> buf(NLMSG_HDRLEN + GENL_HDRLEN + size);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_len = static_cast<uint32_t>(buf.size());
  h->nlmsg_type = 30;
  if (size) std::memcpy(buf.data() + NLMSG_HDRLEN + GENL_HDRLEN, data, size);
  zl::net::wg::Device d;
  (void)zl::net::wg::parse_device_message(h, d);
  (void)zl::net::wg::parse_device_message(h, d);  // a second message merges into the first
  return 0;
}
