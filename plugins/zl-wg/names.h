// Which mesh node each peer of a device is, and whether it is up: written by zl-meshd,
// shown by `zl-wg show`. (Placeholder until the real module lands.)
#pragma once

#include <string>
#include <vector>

#include "libnet/core/result.h"
#include "libnet/wireguard/keys.h"

namespace zl::wg {

struct PeerName {
  net::Key public_key{};
  std::string node;
  bool up = true;
};

std::string peer_names_file(const std::string& ifname);
Status write_peer_names(const std::string& ifname, const std::vector<PeerName>& names);
Result<std::vector<PeerName>> read_peer_names(const std::string& ifname);

}  // namespace zl::wg
