// Network configuration lists (.conflist) as runtimes read them: the list's name and
// cniVersion injected into each plugin's config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "libcni/conf.h"

namespace zl::cni {

struct Conflist {
  std::string path, name, cni_version;
  std::vector<std::string> types;         // each plugin's "type", in order
  std::vector<std::string> plugin_confs;  // each plugin's config as a runtime passes it (name, cniVersion injected)
  // The first plugin of that type as a runtime would hand it over; code 7 naming the file if absent.
  Result<NetConf> plugin(std::string_view type) const;
};

// Reads a conflist: a regular file (no FIFO, device or directory; size-capped), bounded JSON,
// an object with a string "name" and a "plugins" list of objects each with a string "type"
// (code 7 naming the file otherwise). cniVersion defaults to 1.1.0.
Result<Conflist> load_conflist(const std::string& path);

}  // namespace zl::cni
