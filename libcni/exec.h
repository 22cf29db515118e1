// Delegation: exec another plugin (IPAM) from CNI_PATH with our env and stdin.
#pragma once

#include <string>
#include <string_view>

#include "libcni/skel.h"

namespace zl::cni {

// Finds executable `type` in the colon-separated `cni_path` (code 7 if the name is unsafe
// or not found).
Result<std::string> find_plugin(std::string_view type, std::string_view cni_path);

// Runs `binary` with this process's environment but CNI_COMMAND=`command`, feeding `input`
// on stdin. Returns its stdout on exit 0; on failure, the plugin's own CNI error (code, msg)
// when it printed one, else code 999 with its exit status and stderr tail.
Result<std::string> exec_plugin(const std::string& binary, std::string_view command, std::string_view input);

// The delegated IPAM plugin named by ipam.type, run for the current command.
Result<CniResult> ipam_add(const Context& ctx);
Status ipam_run(const Context& ctx, std::string_view command);  // DEL, CHECK, GC, STATUS

}  // namespace zl::cni
