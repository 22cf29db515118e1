// Diagnostics: stderr always, and the file named by ZL_CNI_LOG if any.
#pragma once

#include <string>
#include <string_view>

namespace zl::net {

// Tags every line with "<tag>[pid]"; call once at start-up.
void log_init(std::string_view tag);
// One line to stderr and the log file.
void log(std::string_view msg);

}  // namespace zl::net
