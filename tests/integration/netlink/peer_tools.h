// Helpers for comparing tracepacket with the peer tools (ss, ip): run a
// command, split its output, read our JSON Lines. Tests may run the peers;
// the code under test never does.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tpk::test {

struct CommandOutput {
    std::string out;  // stdout only; stderr goes to the test log
    int exit_code = -1;
};

inline CommandOutput run_command(const std::string& command) {
    CommandOutput result;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer{};
    std::size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

inline std::string tracepacket(const std::string& args) {
    return std::string(TPK_BINARY) + " " + args;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

inline std::vector<std::string> words_of(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

inline std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> objects;
    for (const auto& line : lines_of(text)) objects.push_back(nlohmann::json::parse(line));
    return objects;
}

// "key:value" words of an ss line ("ino:123", "mss:32768", "rtt:0.02/0.01").
inline std::map<std::string, std::string> ss_fields(const std::vector<std::string>& words) {
    std::map<std::string, std::string> fields;
    for (const auto& w : words) {
        auto colon = w.find(':');
        if (colon == std::string::npos || colon == 0) continue;
        fields.emplace(w.substr(0, colon), w.substr(colon + 1));
    }
    return fields;
}

}  // namespace tpk::test
