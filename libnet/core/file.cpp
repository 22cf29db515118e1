#include "libnet/core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace zl::net {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

namespace {

Status flock_ex(int fd, const std::string& what) {
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Error::from_errno(errno, "lock " + what);
  }
  return {};
}

const char* type_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symlink";
  return "of an unknown type";
}

}  // namespace

Result<DirLock> DirLock::acquire(const std::string& dir) {
  DirLock l;
  l.fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!l.fd_ && errno == ENOENT) {  // first use: create it (0700), not on every call
    if (auto s = make_dirs(dir, 0700); !s) return std::move(s).error();
    l.fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!l.fd_) return Error::from_errno(errno, "open lock directory " + dir);
  if (auto s = flock_ex(l.fd_.get(), dir); !s) return std::move(s).error();
  return l;
}

// Whether `path` names the file open as `fd` (not unlinked or replaced by another since).
static bool names_file(const std::string& path, int fd) {
  struct stat held {}, now {};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && now.st_ino == held.st_ino &&
         now.st_dev == held.st_dev;
}

// The lock file at `path`, locked; an empty fd when `wait` is false and another holder has it.
static Result<UniqueFd> lock_file(const std::string& path, bool wait) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd) return Error::from_errno(errno, "open lock " + path);
    struct stat held {};
    if (::fstat(fd.get(), &held) != 0) return Error::from_errno(errno, "stat lock " + path);
    if (!S_ISREG(held.st_mode)) return Error::from_errno(EINVAL, "lock " + path + ": " + type_name(held.st_mode));
    if (wait) {
      if (auto s = flock_ex(fd.get(), path); !s) return std::move(s).error();
    } else if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return UniqueFd{};
      return Error::from_errno(errno, "lock " + path);
    }
    // Locked, but maybe a file someone had already unlinked or replaced: then take the new one.
    if (names_file(path, fd.get())) return fd;
  }
  return Error::from_errno(EAGAIN, "lock " + path + ": keeps being replaced");
}

Result<FileLock> FileLock::acquire(const std::string& path) {
  auto fd = lock_file(path, true);
  if (!fd) return std::move(fd).error();
  FileLock l;
  l.fd_ = std::move(*fd);
  return l;
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::string& path) {
  auto fd = lock_file(path, false);
  if (!fd) return std::move(fd).error();
  if (!*fd) return std::optional<FileLock>{};
  FileLock l;
  l.fd_ = std::move(*fd);
  return std::optional<FileLock>{std::move(l)};
}

bool FileLock::current(const std::string& path) const { return fd_ && names_file(path, fd_.get()); }

Result<UniqueFd> open_regular(const std::string& path, const FileRules& rules, struct stat* st_out) {
  if (path.find('\0') != std::string::npos) return Error::from_errno(EINVAL, "a path with a NUL byte");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after.
  int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (rules.follow_symlink ? 0 : O_NOFOLLOW);
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) {
    if (errno == ELOOP && !rules.follow_symlink) return Error::from_errno(ELOOP, path + ": a symlink (not followed)");
    return Error::from_errno(errno, "open " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::from_errno(errno, "stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return Error::from_errno(EINVAL, path + ": " + type_name(st.st_mode) + ", not a regular file");
  }
  if (rules.must_own && st.st_uid != ::geteuid()) {
    return Error::from_errno(EPERM, path + ": owned by uid " + std::to_string(st.st_uid) + ", not by us (uid " +
                                        std::to_string(::geteuid()) + ")");
  }
  if (st.st_mode & rules.forbidden_mode) {
    char m[8];
    std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const bool reads = rules.forbidden_mode & 044;
    return Error::from_errno(EPERM, path + " has mode " + m + ": must not be " + (reads ? "accessible" : "writable") +
                                        " by group or others (chmod " + (reads ? "600" : "go-w") + ")");
  }
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  if (st_out) *st_out = st;
  return fd;
}

Result<std::string> read_file(const std::string& path, const FileRules& rules, size_t max_bytes) {
  struct stat st {};
  auto fd = open_regular(path, rules, &st);
  if (!fd) return std::move(fd).error();
  auto too_big = [&] { return Error::from_errno(EFBIG, path + ": larger than " + std::to_string(max_bytes) + " bytes"); };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return too_big();
  // Straight into the string: no intermediate buffer keeps a copy of the contents.
  std::string out(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t len = 0;
  for (;;) {
    if (len == out.size()) {
      if (len > max_bytes) return too_big();
      out.resize(out.size() * 2);
    }
    ssize_t n = ::read(fd->get(), out.data() + len, out.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "read " + path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len > max_bytes) return too_big();
  out.resize(len);
  return out;
}

static Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}


static std::string temp_prefix(const std::string& path) { return path + ".tmp."; }  // + writer's pid

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = dir_of(path);
  if (path.find('\0') != std::string::npos) return Error::from_errno(EINVAL, "a path with a NUL byte");
  std::string tmp = temp_prefix(path) + std::to_string(::getpid());
  // Exclusive and never through a symlink: whatever sits at that name is not ours to write
  // into. One left by a dead writer of our pid (pids are reused) is removed and made afresh.
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(::open(tmp.c_str(), flags, mode));
  if (!fd && errno == EEXIST && ::unlink(tmp.c_str()) == 0) fd.reset(::open(tmp.c_str(), flags, mode));
  if (!fd) return Error::from_errno(errno, "create " + tmp);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto s = write_all(fd.get(), data, tmp); !s) return fail(std::move(s).error());
  if (::fdatasync(fd.get()) != 0) return fail(Error::from_errno(errno, "fsync " + tmp));
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(Error::from_errno(errno, "rename " + tmp));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return Error::from_errno(errno, "open dir " + dir);
  if (::fsync(dfd.get()) != 0) return Error::from_errno(errno, "fsync dir " + dir);
  return {};
}

void remove_stale_temps(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_of(path).c_str()), ::closedir);
  if (!d) return;
  const std::string prefix = temp_prefix(path).substr(dir_of(path).size() + 1);
  while (const dirent* e = ::readdir(d.get())) {
    std::string_view name(e->d_name);
    // Exactly "<prefix><digits>": "<path>.tmp.5" may itself be another file's legal name.
    if (name.size() > prefix.size() && name.starts_with(prefix) &&
        name.find_first_not_of("0123456789", prefix.size()) == std::string_view::npos) {
      ::unlinkat(::dirfd(d.get()), e->d_name, 0);
    }
  }
}

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Error::from_errno(ENOENT, "mkdir ''");
  for (size_t pos = 1;; ++pos) {
    pos = path.find('/', pos);
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) return Error::from_errno(errno, "mkdir " + part);
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return Error::from_errno(ENOTDIR, "mkdir " + path);
  return {};
}

}  // namespace zl::net
