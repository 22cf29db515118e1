// sysctls through /proc/sys of the current netns (keys as "net/ipv4/ip_forward").
#pragma once

#include <string>
#include <string_view>

#include "libnet/core/result.h"

namespace zl::net {

Result<std::string> sysctl_read(std::string_view key);
// Writes only when the current value differs (no needless writes, no side effects).
Status sysctl_ensure(std::string_view key, std::string_view value);

}  // namespace zl::net
