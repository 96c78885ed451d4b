// The lab's own system calls, timed from user space when asked: a journey
// without the kernel side (no BPF privileges) still shows when each call of
// its server and client ran, what it asked for and what it returned. The
// times come from clock_gettime around the call, so they include the libc
// wrapper; the names are the kernel's, as the tracer reports them.
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>

namespace tpk::lab {

struct TimedCall {
    const char* name = "";       // the system call: "sendto" for send(), "recvfrom" for recv()
    int fd = -1;                 // the socket (or epoll fd) it worked on, -1 when none yet
    std::uint64_t size = 0;      // bytes asked for (send/recv), backlog (listen), 0 otherwise
    int flags = 0;               // the MSG_* flags of send/recv (MSG_PEEK: not a read)
    std::uint64_t enter_ns = 0;  // CLOCK_MONOTONIC, as the kernel's events
    std::uint64_t exit_ns = 0;
    long ret = 0;                // the return value, -errno on failure
};

using CallObserver = std::function<void(const TimedCall&)>;

// Makes every later lab call of this process report to observer (an empty
// one stops it). A lab child sets it before run_server()/run_client().
void observe_calls(CallObserver observer);

namespace detail {
extern CallObserver* call_observer;
std::uint64_t monotonic_ns();
}  // namespace detail

// Runs call(), a system call wrapper returning a number (-1 and errno on
// failure), and reports it when an observer is installed; errno survives.
template <class F>
auto timed_call(const char* name, int fd, std::uint64_t size, F&& call, int flags = 0)
    -> decltype(call()) {
    if (!detail::call_observer) return call();
    TimedCall t;
    t.name = name;
    t.fd = fd;
    t.size = size;
    t.flags = flags;
    t.enter_ns = detail::monotonic_ns();
    auto result = call();
    t.exit_ns = detail::monotonic_ns();
    int saved = errno;
    t.ret = result < 0 ? -saved : static_cast<long>(result);
    (*detail::call_observer)(t);
    errno = saved;
    return result;
}

}  // namespace tpk::lab
