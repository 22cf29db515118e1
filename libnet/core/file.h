// Files that survive crashes, concurrent writers and hostile shapes: locks, atomic replace,
// and reads that never block on a FIFO or device and refuse files others could have written.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "libnet/core/fd.h"
#include "libnet/core/result.h"

namespace zl::net {

// An exclusive flock(2) on a directory, held for the owner's lifetime. Locking the directory
// (not a lock file in it) means there is nothing a tmp cleaner or an operator can delete to
// let a second holder in: a directory holding our state cannot be removed while it does.
class DirLock {
 public:
  // Creates `dir` (0700) if missing; blocks until the lock is ours.
  static Result<DirLock> acquire(const std::string& dir);
  bool held() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;
};

// An exclusive flock(2) on a lock file shared with other programs (xtables' /run/xtables.lock),
// re-taken when the file was replaced between our open and our lock.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::string& path);
  // Without waiting: nullopt when another holder has it (a running instance of a program).
  static Result<std::optional<FileLock>> try_acquire(const std::string& path);
  // Whether `path` still names the file we locked (not deleted or replaced since): a holder
  // for a long time checks it, since a new file there would let a second holder in.
  bool current(const std::string& path) const;

 private:
  UniqueFd fd_;
};

// What a file we read must be. Anything but a regular file is refused without blocking.
struct FileRules {
  bool follow_symlink = true;  // false: a symlink at the path is refused (O_NOFOLLOW)
  bool must_own = false;       // owned by our effective uid
  mode_t forbidden_mode = 0;   // permission bits that must be clear, e.g. 022 or 077
};

inline constexpr size_t kMaxFileBytes = size_t{64} << 20;

// Opens `path` for reading and checks it against `rules`; `st` receives its fstat.
// Errors name the path and say why: "not a regular file (FIFO)", "mode 0666: …", "owned by …".
Result<UniqueFd> open_regular(const std::string& path, const FileRules& rules = {}, struct stat* st = nullptr);

// Whole contents of a regular file (open_regular's rules); Error.sys == ENOENT when it does
// not exist, EFBIG beyond `max_bytes`.
Result<std::string> read_file(const std::string& path, const FileRules& rules = {}, size_t max_bytes = kMaxFileBytes);

// Replaces <path> atomically: temp file beside it, write, fsync, rename, fsync(dir).
// A crash at any instant leaves either the old or the new contents.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0600);

// Removes the temp files write_file_atomic leaves for <path> when its writer is killed
// between creating and renaming them. Call with the writers' lock held (no live writer
// then owns one). Best effort: a leftover only costs disk space.
void remove_stale_temps(const std::string& path);

// mkdir -p with the given mode for the directories it creates.
Status make_dirs(const std::string& path, mode_t mode = 0700);

// The directory part of a path ("." when there is none).
std::string dir_of(const std::string& path);

}  // namespace zl::net
