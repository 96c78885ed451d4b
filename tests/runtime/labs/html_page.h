// The labs' HTML pages as the runtime tests read them: tests/runtime/labs/
// html_check.py parses the page with python3's html.parser (a page it cannot
// balance is not well-formed) and says what it holds, as one JSON object.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "support/command_run.h"

namespace tpk::testing {

// {"errors": [...], "scripts": N, "queue_chart": {...}, "paths": [...], ...};
// a null json when python3 or the script failed (the test says so).
inline nlohmann::json read_html_page(const std::string& path, std::string* why) {
    auto r = run_command("python3 " TPK_SOURCE_DIR "/tests/runtime/labs/html_check.py '" + path + "'");
    if (r.status != 0) {
        *why = "html_check.py failed (" + std::to_string(r.status) + "): " + r.err;
        return nullptr;
    }
    return nlohmann::json::parse(r.out, nullptr, false);
}

inline std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace tpk::testing
