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
RefusedProgram g_refused;        // guarded by g_mutex
std::string g_last_verifier_word;

// The verifier's reason in a load log: the last line before its statistics
// ("processed N insns ..."), skipping the instruction dump's source lines.
std::string verifier_reason(std::string_view log) {
    std::string_view last;
    while (!log.empty()) {
        auto nl = log.find('\n');
        std::string_view line = log.substr(0, nl);
        log = nl == std::string_view::npos ? std::string_view{} : log.substr(nl + 1);
        if (line.starts_with("processed ") || line.find("END PROG LOAD LOG") != line.npos) break;
        if (!line.empty() && !line.starts_with(";") && line.find("BEGIN PROG LOAD LOG") == line.npos)
            last = line;
    }
    return std::string(last);
}

// Watches libbpf's messages for a refused program (libbpf 1.x wording).
void watch_for_refusal(std::string_view line) {
    if (line.find("-- BEGIN PROG LOAD LOG --") != line.npos) {
        std::lock_guard lock(g_mutex);
        g_last_verifier_word = verifier_reason(line.substr(line.find("-- BEGIN PROG LOAD LOG --")));
        return;
    }
    constexpr std::string_view kProg = "prog '";
    auto at = line.find(kProg);
    if (at == line.npos || line.find("': failed to load") == line.npos) return;
    auto start = at + kProg.size();
    auto end = line.find('\'', start);
    if (end == line.npos) return;
    std::lock_guard lock(g_mutex);
    g_refused.program = std::string(line.substr(start, end - start));
    g_refused.reason = g_last_verifier_word;
}

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
    if (level == LIBBPF_WARN) watch_for_refusal(line);
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

RefusedProgram take_refused_program() {
    std::lock_guard lock(g_mutex);
    RefusedProgram r = std::move(g_refused);
    g_refused = {};
    g_last_verifier_word.clear();
    return r;
}

}  // namespace tpk::kernel
