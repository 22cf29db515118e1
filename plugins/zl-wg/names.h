// Peer names for `zl-wg show`: which node each peer key is and whether the mesh agent
// (zl-meshd, which writes the file) considers it up. Informational only: the device never
// depends on it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "libnet/core/result.h"
#include "libnet/wireguard/keys.h"

namespace zl::wg {

inline constexpr const char* kNamesDir = "/run/zl-cni/wg";

struct PeerName {
  net::Key public_key{};
  std::string node;  // 1-253 bytes of printable UTF-8
  bool up = true;
};

// /run/zl-cni/wg/<ifname>.names.json
std::string peer_names_file(const std::string& ifname);

// Replaces the file atomically (net::write_file_atomic), mode 0644, creating the directory.
// The file: {"peers": [{"publicKey": "<base64>", "node": "<name>", "up": true}, …]}.
// Code 7 on a bad interface name, an empty or unprintable node name, or a key listed twice.
Status write_peer_names(const std::string& ifname, const std::vector<PeerName>& names);

// Reads it back: a missing file is an empty list; anything else that is not the format above
// (a symlink, not a regular file, too large, malformed or too deep JSON, a bad entry) is an
// error naming the file.
Result<std::vector<PeerName>> read_peer_names(const std::string& ifname);

// The file's contents parsed (what read_peer_names does after reading; a fuzz entry point).
// `where` names the source in errors.
Result<std::vector<PeerName>> parse_peer_names(std::string_view text, const std::string& where);

}  // namespace zl::wg
