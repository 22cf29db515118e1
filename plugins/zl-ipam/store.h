// The state document <dataDir>/<network>.json, guarded by a lock on <dataDir> itself.
#pragma once

#include <string>

#include "libnet/core/file.h"
#include "plugins/zl-ipam/allocator.h"

namespace zl::ipam {

// State <-> JSON. parse_state: code 6 when the document is not a zl-ipam state.
Result<State> parse_state(std::string_view text, const std::string& what);
std::string serialize_state(const State& s);

// The locked store of one network: open() takes the lock and reads the state.
class Store {
 public:
  static Result<Store> open(const Config& config);
  // Reads without taking the lock (rename makes the file always whole): for STATUS.
  static Result<State> peek(const Config& config);
  State& state() { return state_; }
  // Writes the state back atomically (still under the lock).
  Status commit();

 private:
  net::DirLock lock_;
  std::string path_;
  State state_;
};

}  // namespace zl::ipam
