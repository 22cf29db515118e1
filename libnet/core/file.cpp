#include "libnet/core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

namespace zl::net {

static std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

Result<FileLock> FileLock::acquire(const std::string& path) {
  FileLock l;
  l.fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!l.fd_ && errno == ENOENT) {  // first use: create the directory (0700), not on every call
    if (auto s = make_dirs(dir_of(path), 0700); !s) return std::move(s).error();
    l.fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  }
  if (!l.fd_) return Error::from_errno(errno, "open lock " + path);
  while (::flock(l.fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Error::from_errno(errno, "lock " + path);
  }
  return l;
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "open " + path);
  std::string out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
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
  std::string tmp = temp_prefix(path) + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
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
