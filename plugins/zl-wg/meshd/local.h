// zl-meshd's local files: its last known state (applied at start, before etcd is reached),
// the node's subnets for zl-ipam (subnetFile) and the peers for zl-wg (peersFile).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libnet/core/file.h"
#include "plugins/zl-wg/meshd/records.h"

namespace zl::meshd {

// How the agent last saw etcd, for `zl-meshd status`.
struct Health {
  std::string endpoint;    // the member that answered last
  bool connected = false;  // the last request succeeded
  int64_t last_contact = 0, last_sync = 0;  // unix seconds
  int64_t revision = 0;    // the store revision the peers were computed at
  uint64_t requests = 0;   // etcd requests sent since the agent started
  std::string last_error;
};

struct LastKnown {
  std::string node;
  net::Key public_key{};
  std::vector<net::IpNet> subnets;
  std::vector<MeshPeer> peers;
  Health health;
  std::vector<std::string> skipped;  // records ignored, and why
};

std::string state_file(const std::string& state_dir);  // <state_dir>/state.json
std::string instance_lock_file(const std::string& state_dir);  // <state_dir>/agent.lock
// Held by a running agent for its lifetime (the kernel drops it when the process dies, kill -9
// included): a second agent for the same network refuses to start, and `leave` of this node
// refuses while one runs. nullopt when someone holds it.
Result<std::optional<net::FileLock>> lock_instance(const std::string& state_dir);
std::string encode_state(const LastKnown& s);
Result<LastKnown> decode_state(const std::string& text);
// nullopt when the agent never ran here. Hostile-file rules: regular, ours, not writable by others.
Result<std::optional<LastKnown>> load_state(const std::string& state_dir);
Status save_state(const std::string& state_dir, const LastKnown& s);

// {"peers": [...]} in zl-wg's peersFile format.
std::string peers_json(const std::vector<MeshPeer>& peers);

// Writes `text` to `path` (atomically, 0600, parents created) unless it already holds it.
// Returns whether the file changed.
Result<bool> write_if_changed(const std::string& path, const std::string& text);

}  // namespace zl::meshd
