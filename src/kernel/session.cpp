#include "kernel/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "util/fd.h"

namespace tpk::kernel {
namespace {

using Clock = std::chrono::steady_clock;

// Records one read of the ring takes before the loop looks at its pids,
// signals and cuts again (a few ms of work).
constexpr std::uint64_t kRecordsPerRead = 1 << 16;

// Blocks SIGINT, SIGTERM and SIGCHLD for the session and reads them from a
// signalfd; the previous mask comes back on destruction.
class SignalGuard {
public:
    static Result<SignalGuard> block() {
        SignalGuard g;
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &set, &g.old_) != 0) return errno_error("block signals");
        g.active_ = true;
        g.fd_ = UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!g.fd_) return errno_error("signalfd");
        return g;
    }
    SignalGuard() = default;
    SignalGuard(SignalGuard&& o) noexcept
        : fd_(std::move(o.fd_)), old_(o.old_), active_(std::exchange(o.active_, false)) {}
    SignalGuard& operator=(SignalGuard&&) = delete;
    ~SignalGuard() {
        if (active_) sigprocmask(SIG_SETMASK, &old_, nullptr);
    }
    int fd() const { return fd_.get(); }
    const sigset_t& old_mask() const { return old_; }

private:
    UniqueFd fd_;
    sigset_t old_{};
    bool active_ = false;
};

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

struct Child {
    pid_t pid = 0;
    bool running = false;
    int status = 0;
};

// fork; the child waits on `go` until the tracer follows its pid, then
// execs. An exec failure comes back through a close-on-exec pipe.
Result<Child> spawn_held(Tracer& tracer, const std::vector<std::string>& argv,
                         const sigset_t& child_mask, int stdout_fd) {
    int go[2], fail[2];
    if (pipe2(go, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd go_read(go[0]), go_write(go[1]);
    if (pipe2(fail, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd fail_read(fail[0]), fail_write(fail[1]);

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    // The command gets the mask tracepacket was started with, less the
    // session's own signals (blocked here since before any thread started).
    sigset_t mask = child_mask;
    for (int sig : {SIGINT, SIGTERM, SIGCHLD}) sigdelset(&mask, sig);
    pid_t pid = fork();
    if (pid < 0) return errno_error("fork");
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &mask, nullptr);
        if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0) _exit(126);
        char c;
        go_write.reset();
        if (read(go_read.get(), &c, 1) != 1) _exit(126);   // the tracer gave up
        execvp(args[0], args.data());
        int err = errno;
        (void)!write(fail_write.get(), &err, sizeof(err));
        _exit(127);
    }
    go_read.reset();
    fail_write.reset();
    Child child{pid, true, 0};
    if (auto ok = tracer.add_pid(pid); !ok) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return ok.error();
    }
    char c = 1;
    if (write(go_write.get(), &c, 1) != 1) return errno_error("start the command");
    int err = 0;
    if (read(fail_read.get(), &err, sizeof(err)) == sizeof(err)) {
        waitpid(pid, nullptr, 0);
        return errno_error(err, "run '" + argv[0] + "'");
    }
    return child;
}

bool reap(Child& child) {
    if (!child.running) return true;
    int status = 0;
    pid_t r = waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) {
        child.running = false;
        child.status = status;
    }
    return !child.running;
}

// Forwards the signal that ended the session to the command and waits for
// it (SIGKILL after 5 s): no process outlives tracepacket.
void stop_child(Child& child, int signo) {
    if (!child.running) return;
    kill(child.pid, signo);
    for (int i = 0; i < 50 && !reap(child); ++i) usleep(100 * 1000);
    if (child.running) {
        kill(child.pid, SIGKILL);
        int status = 0;
        waitpid(child.pid, &status, 0);
        child.running = false;
        child.status = status;
    }
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

// "pid N", "command N" (0 without one), "programs ID ID ...": what a test
// needs to check that nothing outlives the session.
Status write_ready_file(const std::string& path, const Tracer& tracer, pid_t command) {
    std::ofstream f(path + ".tmp");
    f << "pid " << getpid() << "\ncommand " << command << "\nprograms";
    for (auto id : tracer.program_ids()) f << ' ' << id;
    f << "\n";
    f.close();
    if (!f || rename((path + ".tmp").c_str(), path.c_str()) != 0)
        return errno_error("write --ready-file " + path);
    return {};
}

}  // namespace

SessionSignalMask::SessionSignalMask() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGCHLD}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
}

SessionSignalMask::~SessionSignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

Result<std::vector<pid_t>> parse_pid_list(const std::string& text) {
    std::vector<pid_t> pids;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        std::string item = text.substr(start, end - start);
        pid_t pid = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), pid);
        if (ec != std::errc{} || p != item.data() + item.size() || pid <= 0)
            return make_error("'" + item + "' is not a pid (expected -p PID[,PID...])");
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return make_error("no process with pid " + std::to_string(pid), ESRCH);
        pids.push_back(pid);
        start = end + 1;
    }
    return pids;
}

CutPacer::CutPacer(const CutPacing& pacing, std::uint64_t records_arrived)
    : pacing_(pacing), arrived_(records_arrived) {}

void CutPacer::saw(std::uint64_t records_arrived, bool ended) {
    const auto now = Clock::now();
    if (records_arrived != arrived_) {
        arrived_ = records_arrived;
        last_arrival_ = now;
        quiet_reported_ = false;
    }
    if (quiet_reported_ || ended) return;
    if (pacing_.on_quiet && pacing_.quiet_ms &&
        now - last_arrival_ >= std::chrono::milliseconds(pacing_.quiet_ms)) {
        quiet_reported_ = true;
        last_cut_ = now;
        pacing_.on_quiet();
    } else if (pacing_.on_busy && pacing_.busy_ms &&
               now - last_cut_ >= std::chrono::milliseconds(pacing_.busy_ms)) {
        last_cut_ = now;
        pacing_.on_busy();
    }
}

Result<SessionResult> run_session(Tracer& tracer, const SessionOptions& options,
                                  const EventSink& sink) {
    if (options.command.empty() && options.pids.empty())
        return make_error("nothing to trace: give -p PID[,PID] or -- COMMAND [ARGS]");
    SessionResult result;
    auto counting_sink = [&](model::Event&& e) {
        ++result.events;
        sink(std::move(e));
    };

    auto signals = SignalGuard::block();
    if (!signals) return signals.error();

    std::vector<UniqueFd> pidfds;
    for (pid_t pid : options.pids) {
        UniqueFd fd(pidfd_open(pid));
        if (!fd) return errno_error("follow pid " + std::to_string(pid));
        if (auto ok = tracer.add_pid(pid); !ok) return ok.error();
        pidfds.push_back(std::move(fd));
    }
    Child child;
    if (!options.command.empty()) {
        auto spawned = spawn_held(tracer, options.command, signals->old_mask(), options.command_stdout);
        if (!spawned) return spawned.error();
        child = *spawned;
        result.command_pid = child.pid;
    }
    if (!options.ready_file.empty())
        if (auto ok = write_ready_file(options.ready_file, tracer, child.pid); !ok) {
            stop_child(child, SIGTERM);
            return ok.error();
        }

    std::size_t pids_alive = pidfds.size();
    bool done = false;
    // Set once the command or the last pid has ended: tracing lingers from
    // then until the records settle.
    std::optional<Clock::time_point> ended;
    CutPacer pacer(options.pacing, tracer.records_arrived());
    bool more_to_read = false;
    while (!done) {
        std::vector<pollfd> fds{{tracer.epoll_fd(), POLLIN, 0}, {signals->fd(), POLLIN, 0}};
        for (auto& p : pidfds) fds.push_back({p.get(), POLLIN, 0});
        // 50 ms: the kernel wakes this poll only once a quarter of the ring
        // is waiting (Tracer::poll), so the timeout is what brings a quiet
        // conversation's events in. Lingering looks more often.
        // A read that stopped at kRecordsPerRead left more: no waiting.
        int ready = ::poll(fds.data(), fds.size(), more_to_read ? 0 : ended ? 10 : 50);
        if (ready < 0 && errno != EINTR) {
            stop_child(child, SIGTERM);
            return errno_error("poll");
        }
        const std::uint64_t before = tracer.records_arrived();
        if (ready >= 0)
            if (auto n = tracer.drain(counting_sink, kRecordsPerRead); !n) {
                stop_child(child, SIGTERM);
                return n.error();
            }
        more_to_read = tracer.records_arrived() - before >= kRecordsPerRead;
        pacer.saw(tracer.records_arrived(), ended.has_value());
        const auto now = Clock::now();
        const auto last_arrival = pacer.last_arrival();
        if (fds[1].revents) {
            signalfd_siginfo info{};
            int signo = 0;
            while (read(signals->fd(), &info, sizeof(info)) == sizeof(info))
                if (info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM)
                    signo = static_cast<int>(info.ssi_signo);
            if (signo) {
                result.interrupted_by = signo;
                done = true;
                if (!options.detach_on_signal) {
                    stop_child(child, signo);
                } else if (child.running) {
                    // Ctrl-C in a terminal reaches the command too: give it a
                    // moment to end on its own before calling it left running.
                    for (int i = 0; i < 20 && !reap(child); ++i) usleep(10 * 1000);
                    result.detached = child.running;
                }
                if (!ended)
                    result.cut_short = fmt::format(
                        "{} arrived while the traced programs were running: tracing stopped "
                        "there{}",
                        signo == SIGINT ? "SIGINT" : "SIGTERM",
                        result.detached ? fmt::format(" and the command (pid {}) was left "
                                                      "running, untraced", child.pid)
                                        : "");
                break;
            }
        }
        for (std::size_t i = 0; i < pidfds.size(); ++i) {
            if (fds[2 + i].revents && pidfds[i]) {
                pidfds[i].reset();
                --pids_alive;
            }
        }
        const bool gone = options.command.empty() ? pids_alive == 0 : reap(child);
        if (gone && !ended) ended = now;
        if (ended) {
            const auto settled = now - last_arrival >= std::chrono::milliseconds(options.settle_ms);
            const auto lingered = now - *ended >= std::chrono::milliseconds(options.linger_ms);
            if (settled || lingered) done = true;
            if (!settled && lingered)
                result.cut_short = fmt::format(
                    "tracing stopped {} ms after the traced programs ended (--linger) while their "
                    "events were still arriving: later packets of their sockets may be missing",
                    options.linger_ms);
        }
    }
    // What the ring holds, the hops still staged per CPU and the calls the
    // traced threads are still blocked in (Ctrl-C while a server waits in
    // recv(): their enter would otherwise be missing).
    if (options.before_finish) options.before_finish(pacer.last_arrival());
    if (auto n = tracer.finish(counting_sink); !n) return n.error();
    result.last_record = pacer.last_arrival();
    result.lost_events = tracer.lost_events();
    if (!options.command.empty()) result.exit_code = exit_code_of(child.status);
    if (result.interrupted_by) result.exit_code = 128 + result.interrupted_by;
    if (!options.ready_file.empty()) unlink(options.ready_file.c_str());
    return result;
}

}  // namespace tpk::kernel
