// The forked second process of a benchmark, and CPU pinning of both sides.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "util/result.h"

namespace tpk::bench {

// Which CPU each side runs on (--pin NEAR,FAR).
struct CpuPin {
    int near_cpu = 0;  // the measuring process
    int far_cpu = 0;   // the forked peer
};

// Checks that a CPU exists and this process may run on it.
Status check_cpu(int cpu);

// Pins the calling process to one CPU for its lifetime and restores the
// previous affinity on destruction.
class ScopedPin {
public:
    static Result<ScopedPin> pin(std::optional<int> cpu);
    ScopedPin(ScopedPin&& o) noexcept;
    ScopedPin& operator=(ScopedPin&&) = delete;
    ScopedPin(const ScopedPin&) = delete;
    ~ScopedPin();

private:
    ScopedPin() = default;
    std::optional<cpu_set_t> saved_;  // the affinity to restore, if pinned
};

// A forked process running `body` (its return value is the exit status).
// The peer dies with its parent (PR_SET_PDEATHSIG) and is killed and reaped
// when the owner goes, so no run leaves a process behind.
class Peer {
public:
    static Result<Peer> spawn(const std::function<int()>& body, std::optional<int> cpu);
    Peer(Peer&& o) noexcept;
    Peer& operator=(Peer&&) = delete;
    Peer(const Peer&) = delete;
    ~Peer();

    // Kills the peer (it serves until killed) and reaps it.
    void stop();
    // Whether the peer already exited on its own, and with what status
    // ("exited with status 3"); empty while it runs.
    std::string early_exit();

private:
    explicit Peer(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
    std::string fate_;
};

// While alive, the death of a child (SIGCHLD) shuts down the reading side of
// one socket, so a read blocked on a datagram socket, where a dead peer
// never shows as EOF, returns 0 instead of waiting forever; so does any later
// read, which closes the race with a death just before the read. Streams and
// pipes see EOF by themselves. This costs the measuring loop nothing, where
// SO_RCVTIMEO would arm a timer in every blocking read (schedule_timeout()).
class ShutdownOnPeerExit {
public:
    explicit ShutdownOnPeerExit(int socket_fd);
    ~ShutdownOnPeerExit();
    ShutdownOnPeerExit(const ShutdownOnPeerExit&) = delete;
    ShutdownOnPeerExit& operator=(const ShutdownOnPeerExit&) = delete;

private:
    struct sigaction previous_ {};
};

// While alive, a write to a closed pipe or socket returns EPIPE instead of
// killing the benchmark with SIGPIPE.
class IgnoreSigpipe {
public:
    IgnoreSigpipe();
    ~IgnoreSigpipe();
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

private:
    void (*previous_)(int) = nullptr;
};

}  // namespace tpk::bench
