// Untrusted bytes: the rest of a zl-wg network config after its common keys — peers (keys,
// endpoints, allowed IPs, overlaps) and the files it names (peersFile, privateKeyFile,
// presharedKeyFile), which the seeds point at a FIFO, /dev/zero and a directory: shapes that
// must be refused at once, never read forever or waited on.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "libcni/conf.h"
#include "plugins/zl-wg/config.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::mkfifo("/tmp/zl-fuzz-fifo", 0600);  // named by a seed; EEXIST from an earlier run is fine
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string rest(reinterpret_cast<const char*>(data), size);
  // Endpoint names would be resolved through DNS: hide the key (unit tests cover endpoints).
  for (size_t at = 0; (at = rest.find("endpoint", at)) != std::string::npos; at += 8) rest[at] = 'E';
  auto nc = zl::cni::parse_netconf(R"({"cniVersion":"1.1.0","name":"f","type":"zl-wg",)" + rest);
  if (!nc) return 0;
  auto c = zl::wg::parse_config(*nc);
  if (c) (void)zl::wg::validate_peers(*c, zl::net::Key{});
  return 0;
}
