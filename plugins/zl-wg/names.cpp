#include "plugins/zl-wg/names.h"

#include "libnet/core/file.h"

namespace zl::wg {

std::string peer_names_file(const std::string& ifname) { return "/run/zl-cni/wg/" + ifname + ".names.json"; }

Status write_peer_names(const std::string& ifname, const std::vector<PeerName>& names) {
  std::string s = "{\"peers\":[";
  for (size_t i = 0; i < names.size(); i++) {
    s += std::string(i ? "," : "") + "{\"publicKey\":\"" + net::key_to_base64(names[i].public_key) + "\",\"node\":\"" +
         names[i].node + "\",\"up\":" + (names[i].up ? "true" : "false") + "}";
  }
  s += "]}\n";
  if (auto st = net::make_dirs("/run/zl-cni/wg", 0755); !st) return st;
  return net::write_file_atomic(peer_names_file(ifname), s, 0644);
}

Result<std::vector<PeerName>> read_peer_names(const std::string&) { return std::vector<PeerName>{}; }

}  // namespace zl::wg
