// ANSI colour for the text writers (journey text, doctor): on only when
// stdout is a terminal and NO_COLOR is unset (no-color.org), so pipes and
// files get plain text.
#pragma once

#include <string>

namespace tpk::report {

struct Paint {
    bool on = false;
    // s between the SGR code and a reset; s itself when colour is off.
    std::string wrap(const char* code, const std::string& s) const;
    std::string head(const std::string& s) const { return wrap("1", s); }
    std::string dim(const std::string& s) const { return wrap("2", s); }
    std::string warn(const std::string& s) const { return wrap("1;31", s); }
    std::string good(const std::string& s) const { return wrap("32", s); }
    std::string caution(const std::string& s) const { return wrap("33", s); }
};

// A terminal on stdout, and NO_COLOR unset or empty.
bool stdout_wants_color();

}  // namespace tpk::report
