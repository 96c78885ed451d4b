// The kernel module's logger: libbpf's messages and the tracer's notes go
// through here to whatever set_logger() installed (shown with -v).
#pragma once

#include <string>
#include <string_view>

namespace tpk::kernel {

// level: 0 warning, 1 info, 2 debug.
void log(int level, std::string_view line);
// Routes libbpf's print callback to log(); idempotent.
void route_libbpf_logs();

// The program libbpf last reported as refused by the kernel ("prog 'x':
// failed to load"), with the verifier's last word on it, since the previous
// call; empty when none. Read from libbpf's messages: its API returns only
// the object's error, and the tracer drops a refused program and retries.
struct RefusedProgram {
    std::string program;
    std::string reason;
};
RefusedProgram take_refused_program();

}  // namespace tpk::kernel
