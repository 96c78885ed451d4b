// Golden files for the writers: tests/unit/report/golden/<name>. Run the
// tests with TPK_UPDATE_GOLDEN=1 to rewrite them, then review the diff.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tpk::report::testing {

inline std::string golden_path(const std::string& name) {
    return std::string(TPK_SOURCE_DIR) + "/tests/unit/report/golden/" + name;
}

inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Compares actual with the golden file at path (named `name` in messages).
inline void expect_golden_file(const std::string& path, const std::string& name,
                               const std::string& actual) {
    if (std::getenv("TPK_UPDATE_GOLDEN")) {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
        return;
    }
    std::ifstream f(path, std::ios::binary);
    ASSERT_TRUE(f) << "missing golden file " << path << "; run with TPK_UPDATE_GOLDEN=1 and review it";
    const std::string expected = read_text(path);
    if (expected == actual) return;
    std::istringstream e(expected), a(actual);
    std::string le, la;
    int line = 0;
    while (true) {
        ++line;
        const bool ge = static_cast<bool>(std::getline(e, le));
        const bool ga = static_cast<bool>(std::getline(a, la));
        if (!ge && !ga) break;
        if (le != la || ge != ga) break;
    }
    std::ofstream(path + ".actual", std::ios::binary | std::ios::trunc) << actual;
    ADD_FAILURE() << name << " differs from its golden file at line " << line << "\n  expected: " << le
                  << "\n  actual:   " << la << "\nwhole output in " << path << ".actual";
}

inline void expect_golden(const std::string& name, const std::string& actual) {
    expect_golden_file(golden_path(name), name, actual);
}

}  // namespace tpk::report::testing
