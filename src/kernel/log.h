// The kernel module's logger: libbpf's messages and the tracer's notes go
// through here to whatever set_logger() installed (shown with -v).
#pragma once

#include <string_view>

namespace tpk::kernel {

// level: 0 warning, 1 info, 2 debug.
void log(int level, std::string_view line);
// Routes libbpf's print callback to log(); idempotent.
void route_libbpf_logs();

}  // namespace tpk::kernel
