// Errors are values until main (STYLE.md): anything the environment can break
// returns Result<T>; each layer adds context and returns; only main prints.
#pragma once

#include <cassert>
#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace tpk {

struct Error {
    int code = 0;          // errno value, 0 when the failure has no errno
    std::string context;   // "bind 127.0.0.1:8080: Address already in use"

    // The whole sentence main prints after "tracepacket: error: ".
    std::string message() const { return context; }
};

// An Error from the current errno: "<what>: <strerror(errno)>".
Error errno_error(const std::string& what);
Error errno_error(int code, const std::string& what);
// A plain error without errno ("unknown transport 'x' (valid: ...)").
Error make_error(std::string what, int code = 0);
// Prefixes context: wrap(e, "attach net_dev_xmit") -> "attach net_dev_xmit: <e>".
Error wrap(Error e, const std::string& context);

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}   // NOLINT: implicit by design

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { assert(!ok()); return std::get<1>(v_); }
    Error take_error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { assert(!ok_); return error_; }
    Error take_error() && { assert(!ok_); return std::move(error_); }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tpk
