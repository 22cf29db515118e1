#include "libnet/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace zl::net {

Result<FileLock> FileLock::acquire(const std::string& path) {
  FileLock l;
  l.fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
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

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
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
