// zl-ipam commands.
#pragma once

#include "libcni/skel.h"

namespace zl::ipam {

Result<cni::CniResult> cmd_add(const cni::Context& ctx);
Status cmd_del(const cni::Context& ctx);
Status cmd_check(const cni::Context& ctx);
Status cmd_gc(const cni::Context& ctx);
Status cmd_status(const cni::Context& ctx);

}  // namespace zl::ipam
