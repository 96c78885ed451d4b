// Runs a command line the way a user's script does (`tracepacket ... --json`)
// and keeps what it printed: the exit code, the raw text (stderr folded in)
// and every JSON Lines record, for runtime tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tpk::testing {

struct JsonLinesOutput {
    int exit_code = -1;
    std::vector<nlohmann::json> records;
    std::string raw;

    // The records of one "type" ("packet", "syscall", "state", ...), in order.
    std::vector<nlohmann::json> of(const std::string& type) const {
        std::vector<nlohmann::json> out;
        for (const auto& r : records)
            if (r.at("type") == type) out.push_back(r);
        return out;
    }
    const nlohmann::json& summary() const { return records.back(); }
};

// Lines that start with '{' are records; anything else (notes on stderr) is
// only in raw.
inline JsonLinesOutput run_json_lines(const std::string& command_line) {
    JsonLinesOutput r;
    FILE* f = popen((command_line + " 2>&1").c_str(), "r");
    if (!f) return r;
    char buf[65536];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.raw.append(buf, n);
    int status = pclose(f);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::size_t start = 0;
    while (start < r.raw.size()) {
        std::size_t end = r.raw.find('\n', start);
        if (end == std::string::npos) end = r.raw.size();
        std::string line = r.raw.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line[0] == '{') r.records.push_back(nlohmann::json::parse(line));
    }
    return r;
}

}  // namespace tpk::testing
