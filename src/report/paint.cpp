#include "report/paint.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace tpk::report {

std::string Paint::wrap(const char* code, const std::string& s) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : s;
}

bool stdout_wants_color() {
    const char* no_color = std::getenv("NO_COLOR");
    return ::isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

}  // namespace tpk::report
