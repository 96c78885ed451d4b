// SIGINT/SIGTERM as a file descriptor (signalfd) for a poll set, so a server
// notices Ctrl-C in its epoll loop and unwinds normally: its destructors
// close sockets and remove socket files. No global flag, no handler.
#pragma once

#include <signal.h>

#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

class SignalStop {
public:
    // Blocks SIGINT and SIGTERM for this thread (and threads/children it
    // creates later) and opens a signalfd that becomes readable when one
    // arrives. Call before starting threads.
    static Result<SignalStop> open();

    SignalStop(SignalStop&& o) noexcept;
    SignalStop& operator=(SignalStop&&) = delete;
    SignalStop(const SignalStop&) = delete;
    SignalStop& operator=(const SignalStop&) = delete;
    ~SignalStop();  // restores the previous signal mask

    int fd() const { return fd_.get(); }
    // The signal number that arrived (consumes it), or 0 when none is pending.
    int take();

private:
    SignalStop() = default;
    UniqueFd fd_;
    sigset_t old_mask_{};
    bool restore_ = false;
};

// "SIGINT", "SIGTERM", "SIGHUP", ...
std::string signal_name(int signo);

}  // namespace tpk::lab
