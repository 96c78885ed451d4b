#include "lab/signals.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace tpk::lab {

Result<SignalStop> SignalStop::open() {
    SignalStop s;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    // A signalfd only sees signals that are blocked; otherwise the default
    // action (terminate) would run first.
    if (int e = pthread_sigmask(SIG_BLOCK, &mask, &s.old_mask_); e != 0)
        return errno_error(e, "block SIGINT/SIGTERM");
    s.restore_ = true;
    s.fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!s.fd_) return errno_error("signalfd");
    return s;
}

SignalStop::SignalStop(SignalStop&& o) noexcept
    : fd_(std::move(o.fd_)), old_mask_(o.old_mask_), restore_(std::exchange(o.restore_, false)) {}

SignalStop::~SignalStop() {
    fd_.reset();
    if (restore_) pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

int SignalStop::take() {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
}

std::string signal_name(int signo) {
    if (const char* abbrev = sigabbrev_np(signo)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(signo);
}

}  // namespace tpk::lab
