#include "libnet/core/search_path.h"

#include <sys/stat.h>
#include <unistd.h>

namespace zl::net {

std::optional<std::string> find_executable(std::string_view name, std::string_view dirs) {
  if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  while (true) {
    auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      std::string p = std::string(dir) + "/" + std::string(name);
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0) return p;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

}  // namespace zl::net
