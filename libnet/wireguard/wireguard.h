// WireGuard devices: the model, generic-netlink (kernel) and UAPI-socket (wireguard-go)
// backends behind one interface, and the pure message builders/parsers both use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libnet/core/ip.h"
#include "libnet/wireguard/keys.h"
#include "libnet/netlink/netlink.h"
#include "libnet/core/result.h"

namespace zl::net::wg {

struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;
  std::string str() const;  // "1.2.3.4:51820" or "[2001:db8::1]:51820"
  bool operator==(const Endpoint&) const = default;
};

struct Peer {
  Key public_key{};
  std::optional<SecretKey> preshared_key;  // nullopt: none (all-zero on the wire)
  std::optional<Endpoint> endpoint;
  uint16_t keepalive = 0;            // persistent keepalive interval, seconds; 0 off
  std::vector<IpNet> allowed_ips;
  // Read back only.
  int64_t handshake_sec = 0, handshake_nsec = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0;
  // Write only: WGPEER_F_* flags.
  uint32_t flags = 0;
};

struct Device {
  int ifindex = 0;
  std::string name;
  std::optional<Key> public_key;  // the private key is never read back into memory
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<Peer> peers;
};

// A SET: only what is present is changed.
struct Update {
  std::string name;
  int ifindex = 0;
  const SecretKey* private_key = nullptr;
  std::optional<uint16_t> listen_port;
  std::optional<uint32_t> fwmark;
  bool replace_peers = false;
  std::vector<Peer> peers;  // with flags: REMOVE_ME, REPLACE_ALLOWEDIPS, UPDATE_ONLY
  bool empty() const { return !private_key && !listen_port && !fwmark && !replace_peers && peers.empty(); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string kind() const = 0;  // "kernel" | "userspace"
  // Creates the interface if missing (EEXIST is fine); returns its ifindex.
  virtual Result<int> ensure_device(NlSock& rtnl, const std::string& name) = 0;
  virtual Result<Device> get(const std::string& name) = 0;
  virtual Status set(const Update& u) = 0;
};

// Kernel WireGuard over generic netlink; ENOENT-class error when the kernel lacks it.
Result<std::unique_ptr<Backend>> open_kernel();
// wireguard-go driven over /var/run/wireguard/<ifname>.sock.
Result<std::unique_ptr<Backend>> open_userspace();
// Whether kernel WireGuard can be used here (module loaded, loadable, or built in).
bool kernel_available();
// Whether the userspace fallback can be used (wireguard-go on PATH and /dev/net/tun).
bool userspace_available();

// ---- pure pieces, tested without a kernel ----------------------------------

// Splits a SET into messages of at most `max_size` bytes the way the kernel expects: device
// attributes in the first, a peer that does not fit continues in the next with only its key
// and the remaining allowed IPs.
Result<std::vector<NlMsg>> build_set_messages(int family, const Update& u, size_t max_size);
// The GET dump request for `name`.
NlMsg build_get_message(int family, const std::string& name);
// Folds one GET reply (or one SET message, which has the same layout) into `d`; a peer split
// across messages is merged. Unknown attributes are skipped; wrong lengths are errors.
Status parse_device_message(const nlmsghdr* h, Device& d);

// UAPI text (cross-platform wireguard interface): "set=1" body and "get=1" reply parser.
std::string uapi_set_text(const Update& u);
Result<Device> uapi_parse_get(std::string_view text);

}  // namespace zl::net::wg
