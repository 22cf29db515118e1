// The allocator: pure logic over a State, no I/O (tested without a kernel or files).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "libcni/conf.h"
#include "libcni/types.h"
#include "plugins/zl-ipam/config.h"

namespace zl::ipam {

struct Allocation {
  net::IpAddr ip;
  std::string container_id, ifname;
  bool operator==(const Allocation&) const = default;
};

struct State {
  std::vector<Allocation> allocations;
  std::vector<std::optional<net::IpAddr>> last_reserved;  // per range set: round-robin cursor
  bool operator==(const State&) const = default;
};

struct IpHash {
  size_t operator()(const net::IpAddr& a) const {
    auto v = a.to_u128();
    return std::hash<uint64_t>()(static_cast<uint64_t>(v) ^ static_cast<uint64_t>(v >> 64) ^ a.family);
  }
};

class Allocator {
 public:
  Allocator(const Config& config, State& state);

  // One address per range set for (id, ifname): the ones it already holds, else a requested
  // one that falls in the set, else the next free one after the set's cursor.
  // Code 100 when a requested address is taken or a set is exhausted, 7 when a requested
  // address is in no range. On error the state is unchanged.
  Result<std::vector<cni::IpConfig>> allocate(const std::string& id, const std::string& ifname,
                                              const std::vector<net::IpAddr>& requested);
  // Releases everything (id, ifname) holds; returns how many addresses.
  size_t release(const std::string& id, const std::string& ifname);
  // Releases allocations whose attachment is not in `valid`; returns how many.
  size_t gc(const std::vector<cni::Attachment>& valid);
  // The next free address of range set `set` after its cursor (wrapping), if any.
  std::optional<net::IpAddr> find_free(size_t set) const;
  // The allocations of (id, ifname).
  std::vector<const Allocation*> held_by(const std::string& id, const std::string& ifname) const;
  // The range of set `set` containing a, or nullptr.
  const Range* range_of(size_t set, const net::IpAddr& a) const;

 private:
  // Why `a` cannot be handed out, or nullptr if it can.
  const char* unavailable(const net::IpAddr& a) const;
  Error unusable_request(const net::IpAddr& a, const std::vector<cni::IpConfig>& out) const;
  void reindex();

  const Config& config_;
  State& state_;
  std::unordered_map<net::IpAddr, size_t, IpHash> taken_;  // ip → index in allocations
};

}  // namespace zl::ipam
