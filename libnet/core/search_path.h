// Executable lookup in a colon-separated directory list (PATH, CNI_PATH).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zl::net {

// The first "<dir>/<name>" of `dirs` ("a:b:c", empty entries skipped) that is a regular
// file we may execute; nullopt when none is. `name` must be a plain file name.
std::optional<std::string> find_executable(std::string_view name, std::string_view dirs);

}  // namespace zl::net
