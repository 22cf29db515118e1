// Untrusted bytes: a zl-wg peers file / config (keys, endpoints, allowed IPs, overlaps).
#include <cstddef>
#include <cstdint>
#include <string>

#include "libcni/conf.h"
#include "plugins/zl-wg/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string peers(reinterpret_cast<const char*>(data), size);
  // Endpoint names would be resolved through DNS: hide the key (unit tests cover endpoints).
  for (size_t at = 0; (at = peers.find("endpoint", at)) != std::string::npos; at += 8) peers[at] = 'E';
  auto nc = zl::cni::parse_netconf(R"({"cniVersion":"1.1.0","name":"f","type":"zl-wg","peers":)" + peers + "}");
  if (!nc) return 0;
  auto c = zl::wg::parse_config(*nc);
  if (c) (void)zl::wg::validate_peers(*c, zl::net::Key{});
  return 0;
}
