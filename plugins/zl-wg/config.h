// zl-wg configuration: the node device and the desired peers (peers ∪ peersFile).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/conf.h"
#include "libnet/wireguard/wireguard.h"

namespace zl::wg {

enum class Implementation { kAuto, kKernel, kUserspace };

inline constexpr const char* kKeyDir = "/var/lib/zl-cni/wg";
// Where a network's private key lives unless privateKeyFile says otherwise.
inline std::string default_key_file(std::string_view network) { return std::string(kKeyDir) + "/" + std::string(network) + ".key"; }

struct PeerConfig {
  net::Key public_key{};
  std::optional<net::wg::Endpoint> endpoint;
  std::string endpoint_text;  // as written, for messages
  std::vector<net::IpNet> allowed_ips;
  uint16_t keepalive = 0;
  bool behind_nat = false;  // keep the endpoint the device learned (roaming); see plan.h
  std::string preshared_key_file;
  std::optional<net::SecretKey> preshared_key;  // loaded once, from preshared_key_file
};

struct Config {
  std::string network;
  std::string ifname;        // given or "zl-wg-" + hash(network)
  uint16_t listen_port = 51820;
  std::string private_key_file;
  int mtu = 0;               // 0: derived from the underlay
  uint32_t fwmark = 0;
  std::vector<PeerConfig> peers;  // validated union of peers and peersFile
  std::string peers_file;
  Implementation implementation = Implementation::kAuto;
};

// The device's keys only (interface, port, key file, peersFile's path): nothing is read.
Result<Config> parse_device_config(const cni::NetConf& conf);

// "host:port" or "[v6]:port" (code 7 naming `path`); a host name is resolved when `resolve`.
Result<net::wg::Endpoint> parse_endpoint(const std::string& s, const std::string& path, bool resolve = true);

// Parses the plugin's keys (code 7 naming the bad value). Reads peersFile; a peersFile
// that is unreadable or malformed fails the whole parse (never half-applied); one that does
// not exist yet is code 11 (try again later). Other keys (e.g. "mesh", zl-meshd's) are ignored.
Result<Config> parse_config(const cni::NetConf& conf);

// Validates the peer set against the node's own public key: own key listed, duplicate
// keys, allowed IPs claimed by two peers → code 7.
Status validate_peers(const Config& c, const net::Key& own_public);

}  // namespace zl::wg
