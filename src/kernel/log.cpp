#include "kernel/log.h"

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include <bpf/libbpf.h>

#include "kernel/tracer.h"

namespace tpk::kernel {
namespace {

std::mutex g_mutex;
Logger g_logger;  // libbpf's print callback is a plain function: it needs one place to look

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
    // One call can be a whole verifier log (-v): format it whole.
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    if (n < 0) return 0;
    std::string buf(static_cast<std::size_t>(n) + 1, '\0');
    std::vsnprintf(buf.data(), buf.size(), format, args);
    std::string_view line(buf.data(), static_cast<std::size_t>(n));
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    int ours = level == LIBBPF_WARN ? 0 : level == LIBBPF_INFO ? 1 : 2;
    log(ours, line);
    return n;
}

}  // namespace

void set_logger(Logger logger) {
    std::lock_guard lock(g_mutex);
    g_logger = std::move(logger);
}

void log(int level, std::string_view line) {
    std::lock_guard lock(g_mutex);
    if (g_logger) g_logger(level, line);
}

void route_libbpf_logs() { libbpf_set_print(libbpf_print); }

}  // namespace tpk::kernel
