#include "bench/peer.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace tpk::bench {

Status check_cpu(int cpu) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return errno_error("sched_getaffinity");
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
        std::string list;
        for (int i = 0; i < CPU_SETSIZE; ++i)
            if (CPU_ISSET(i, &allowed)) {
                if (!list.empty()) list += ',';
                list += std::to_string(i);
            }
        return make_error("CPU " + std::to_string(cpu) + " is not available (this process may run on CPUs " +
                          list + ")");
    }
    return {};
}

static Status set_affinity(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(pid, sizeof set, &set) != 0)
        return errno_error("pin to CPU " + std::to_string(cpu));
    return {};
}

Result<ScopedPin> ScopedPin::pin(std::optional<int> cpu) {
    ScopedPin p;
    if (!cpu) return p;
    cpu_set_t saved;
    if (::sched_getaffinity(0, sizeof saved, &saved) != 0) return errno_error("sched_getaffinity");
    p.saved_ = saved;
    if (auto st = set_affinity(0, *cpu); !st) return std::move(st).take_error();
    return p;
}

ScopedPin::ScopedPin(ScopedPin&& o) noexcept : saved_(std::exchange(o.saved_, std::nullopt)) {}

ScopedPin::~ScopedPin() {
    if (saved_) ::sched_setaffinity(0, sizeof *saved_, &*saved_);
}

Result<Peer> Peer::spawn(const std::function<int()>& body, std::optional<int> cpu) {
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("fork");
    if (pid == 0) {
        // Dies with the benchmark even when only the parent is killed; the
        // getppid check closes the race where the parent died before prctl.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(0);
        ::signal(SIGPIPE, SIG_DFL);
        // _exit: no destructors, atexit handlers or stdio flushes of the
        // parent's state run twice.
        ::_exit(body());
    }
    Peer peer(pid);
    // The parent pins the child, so a bad CPU is reported here rather than
    // lost in the child's exit status; the warm-up covers a late migration.
    if (cpu)
        if (auto st = set_affinity(pid, *cpu); !st) return std::move(st).take_error();
    return peer;
}

Peer::Peer(Peer&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}

Peer::~Peer() { stop(); }

void Peer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

std::string Peer::early_exit() {
    if (pid_ <= 0) return fate_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return {};
    pid_ = -1;
    if (WIFEXITED(status))
        fate_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        fate_ = "was killed by signal " + std::to_string(WTERMSIG(status));
    else
        fate_ = "ended";
    return fate_;
}

namespace {

// The socket ShutdownOnPeerExit guards. A signal handler can reach nothing
// but file-level state, so this is the one such variable of src/bench/.
volatile sig_atomic_t socket_to_shut = -1;

void on_child_exit(int) {
    const int saved = errno;
    if (socket_to_shut >= 0) ::shutdown(socket_to_shut, SHUT_RD);  // async-signal-safe
    errno = saved;
}

}  // namespace

ShutdownOnPeerExit::ShutdownOnPeerExit(int socket_fd) {
    socket_to_shut = socket_fd;
    struct sigaction sa {};
    sa.sa_handler = on_child_exit;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;  // no SA_RESTART: a blocked read returns EINTR, then 0
    ::sigaction(SIGCHLD, &sa, &previous_);
}

ShutdownOnPeerExit::~ShutdownOnPeerExit() {
    ::sigaction(SIGCHLD, &previous_, nullptr);
    socket_to_shut = -1;
}

IgnoreSigpipe::IgnoreSigpipe() : previous_(::signal(SIGPIPE, SIG_IGN)) {}
IgnoreSigpipe::~IgnoreSigpipe() { ::signal(SIGPIPE, previous_); }

}  // namespace tpk::bench
