// zl-wg: CNI commands and the operator CLI.
#pragma once

#include "libcni/skel.h"

namespace zl::wg {

Result<cni::CniResult> cmd_add(const cni::Context& ctx);
Status cmd_del(const cni::Context& ctx);
Status cmd_check(const cni::Context& ctx);
Status cmd_gc(const cni::Context& ctx);
Status cmd_status(const cni::Context& ctx);

// `zl-wg pubkey|show|sync …` when run without CNI_COMMAND; returns the exit code.
int cli(int argc, char** argv);

}  // namespace zl::wg
