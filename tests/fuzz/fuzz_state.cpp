// Untrusted bytes: zl-ipam's state file (it may be corrupt). Parse, and when it parses,
// the allocator runs on it and the state re-serializes to something that parses the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libcni/conf.h"
#include "plugins/zl-ipam/allocator.h"
#include "plugins/zl-ipam/store.h"

using namespace zl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto s = ipam::parse_state(text, "fuzz");
  if (!s) return 0;
  std::string again = ipam::serialize_state(*s);
  auto s2 = ipam::parse_state(again, "fuzz");
  if (!s2 || !(*s2 == *s)) std::abort();
  static auto conf = cni::parse_netconf(
      R"({"cniVersion":"1.1.0","name":"f","type":"zl-ipam","ipam":{"type":"zl-ipam","ranges":[[{"subnet":"10.0.0.0/29"}],[{"subnet":"fd00::/125"}]]}})");
  static auto config = ipam::parse_config(*conf);
  ipam::Allocator a(*config, *s);
  (void)a.allocate("c1", "eth0", {});
  (void)a.find_free(0);
  (void)a.release("c1", "eth0");
  return 0;
}
