// Diagnostics: stderr always, and the file named by ZL_CNI_LOG (or set_log_file) if any.
#pragma once

#include <string>
#include <string_view>

namespace zl::net {

// Tags every line with "<tag>[pid]"; call once at start-up.
void log_init(std::string_view tag);
// Overrides ZL_CNI_LOG (e.g. from a config key); empty disables the file.
void log_set_file(const std::string& path);
// One line to stderr and the log file.
void log(std::string_view msg);

}  // namespace zl::net
