// Untrusted bytes: a wireguard-go UAPI "get" reply.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "libnet/wireguard/wireguard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)zl::net::wg::uapi_parse_get(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
