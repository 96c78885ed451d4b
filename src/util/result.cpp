#include "util/result.h"

#include <cstring>

namespace tpk {

Error errno_error(int code, const std::string& what) {
    return Error{code, what + ": " + std::strerror(code)};
}

Error errno_error(const std::string& what) { return errno_error(errno, what); }

Error make_error(std::string what, int code) { return Error{code, std::move(what)}; }

Error wrap(Error e, const std::string& context) {
    e.context = context + ": " + e.context;
    return e;
}

}  // namespace tpk
