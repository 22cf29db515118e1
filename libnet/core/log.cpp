#include "libnet/core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "libnet/core/fd.h"

namespace zl::net {
namespace {
std::string g_tag = "zl-cni";
}  // namespace

void log_init(std::string_view tag) { g_tag = std::string(tag) + "[" + std::to_string(::getpid()) + "]"; }

void log(std::string_view msg) {
  std::string line = g_tag + ": ";
  line += msg;
  line += '\n';
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  const char* file = std::getenv("ZL_CNI_LOG");
  if (!file || !*file) return;
  UniqueFd fd(::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return;
  char ts[32];
  std::time_t now = std::time(nullptr);
  struct tm tm {};
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ ", gmtime_r(&now, &tm));
  line.insert(0, ts);
  (void)!::write(fd.get(), line.data(), line.size());
}

}  // namespace zl::net
