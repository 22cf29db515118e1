// The diff between what the device holds and what the config wants (pure).
#pragma once

#include "libnet/wireguard/wireguard.h"
#include "plugins/zl-wg/config.h"

namespace zl::wg {

struct Desired {
  net::Key public_key{};  // of the node's private key
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<net::wg::Peer> peers;  // preshared keys already loaded
};

// The smallest update: unchanged peers are not mentioned (their sessions survive),
// changed ones updated in place, unknown ones removed. Empty when nothing differs.
// The private key is not set here; `key_differs` tells the caller to add it.
net::wg::Update diff(const net::wg::Device& current, const Desired& want, bool& key_differs);

}  // namespace zl::wg
