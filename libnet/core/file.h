// Files that survive crashes and concurrent writers: flock, atomic replace.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "libnet/core/fd.h"
#include "libnet/core/result.h"

namespace zl::net {

// An exclusive flock(2) on a lock file, held for the owner's lifetime.
class FileLock {
 public:
  // Creates <path> (0600, and its directory 0700) if missing; blocks until the lock is ours.
  static Result<FileLock> acquire(const std::string& path);
  bool held() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;
};

// Whole file contents; Error.sys == ENOENT when it does not exist.
Result<std::string> read_file(const std::string& path);

// Replaces <path> atomically: temp file beside it, write, fsync, rename, fsync(dir).
// A crash at any instant leaves either the old or the new contents.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// Removes the temp files write_file_atomic leaves for <path> when its writer is killed
// between creating and renaming them. Call with the writers' lock held (no live writer
// then owns one). Best effort: a leftover only costs disk space.
void remove_stale_temps(const std::string& path);

// mkdir -p with the given mode for the directories it creates.
Status make_dirs(const std::string& path, mode_t mode = 0700);

}  // namespace zl::net
