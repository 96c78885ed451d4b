#include "lab/pair.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "lab/signals.h"

namespace tpk::lab {
namespace {

static_assert(std::is_trivially_copyable_v<Address>, "Address travels through a pipe as bytes");

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void write_all(int fd, const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string read_all(int fd) {
    std::string out;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

// In the child: run body, report an Error through errors, never return.
[[noreturn]] void child_exit(const std::function<Result<int>()>& body, int errors) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the two children's lines interleave whole
    int code = 1;
    {
        auto result = body();
        if (result) {
            code = *result;
        } else {
            const std::string& msg = result.error().message();
            write_all(errors, msg.data(), msg.size());
        }
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);  // not exit(): the parent's atexit handlers and buffers are not ours
}

// A child process we own: killed and reaped if still running when dropped.
class Child {
public:
    Child() = default;
    Child(Child&&) = delete;
    ~Child() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            reap();
        }
    }

    // pidfd_open (Linux 5.3): the exit becomes a readable fd for poll.
    Status start(const std::function<Result<int>()>& body, const sigset_t* child_mask) {
        auto errors = make_pipe();
        if (!errors) return std::move(errors).take_error();
        std::fflush(stdout);
        std::fflush(stderr);
        pid_ = ::fork();
        if (pid_ < 0) return errno_error("fork");
        if (pid_ == 0) {
            errors->read.reset();
            if (child_mask) pthread_sigmask(SIG_SETMASK, child_mask, nullptr);
            child_exit(body, errors->write.get());
        }
        errors_ = std::move(errors->read);
        pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        if (!pidfd_) return errno_error("pidfd_open");
        return {};
    }

    bool running() const { return pid_ > 0 && !reaped_; }
    int pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }
    void terminate() {
        if (!running()) return;
        ::kill(pid_, SIGTERM);
        terminated_ = true;
    }

    void reap() {
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        error_ = read_all(errors_.get());
    }

    // The child's Error, or "killed by SIGTERM", or "" for a normal exit.
    std::string failure() const {
        if (!error_.empty()) return error_;
        // Our own SIGTERM can land after the child stopped watching for it.
        bool ours = terminated_ && WTERMSIG(status_) == SIGTERM;
        if (WIFSIGNALED(status_) && !ours) return "killed by " + signal_name(WTERMSIG(status_));
        return {};
    }
    int exit_code() const {
        if (WIFEXITED(status_)) return WEXITSTATUS(status_);
        return 128 + WTERMSIG(status_);
    }

private:
    int pid_ = -1;
    bool reaped_ = false;
    bool terminated_ = false;
    int status_ = 0;
    UniqueFd pidfd_;
    UniqueFd errors_;
    std::string error_;
};

// Waits for the address the server writes when it is ready, or for it to exit.
Result<Address> wait_ready(Child& server, int ready, const SignalStop& stop) {
    pollfd fds[] = {{ready, POLLIN, 0}, {stop.fd(), POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0)
        if (errno != EINTR) return errno_error("poll");
    if (fds[1].revents) return make_error("interrupted before the server was ready", EINTR);
    Address addr;
    ssize_t n = ::read(ready, &addr, sizeof addr);
    if (n == static_cast<ssize_t>(sizeof addr)) return addr;
    server.reap();
    std::string why = server.failure();
    return make_error("server: " + (why.empty() ? "exited (status " +
                                                      std::to_string(server.exit_code()) +
                                                      ") before it was listening"
                                                : why));
}

// In a child: blocks until the parent writes `size` bytes into `gate`, or
// returns false when the parent closed it first (it gave up, or died).
bool wait_at_gate(int gate, void* data, std::size_t size) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = ::read(gate, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

Result<int> run_pair(const ServerMain& server_main, const ClientMain& client_main,
                     const PairHooks& hooks) {
    sigset_t original;
    pthread_sigmask(SIG_SETMASK, nullptr, &original);
    // Blocked here and inherited by the server, which opens its own signalfd;
    // the client gets the original mask back (Ctrl-C ends it the usual way).
    auto stop = SignalStop::open();
    if (!stop) return std::move(stop).take_error();

    // Pipes: the server waits for a byte on server_gate, reports its address
    // on ready; the client waits for that address on client_gate.
    auto server_gate = make_pipe();
    if (!server_gate) return std::move(server_gate).take_error();
    auto ready = make_pipe();
    if (!ready) return std::move(ready).take_error();
    auto client_gate = make_pipe();
    if (!client_gate) return std::move(client_gate).take_error();

    Child server;
    int ready_fd = ready->write.get();
    auto server_body = [&]() -> Result<int> {
        ready->read.reset();
        server_gate->write.reset();
        client_gate->write.reset();
        char go = 0;
        if (!wait_at_gate(server_gate->read.get(), &go, sizeof go)) return 1;
        server_gate->read.reset();
        ReadyCallback on_ready = [&](const Address& a) {
            write_all(ready_fd, &a, sizeof a);
            ready->write.reset();
        };
        return server_main(on_ready);
    };
    if (auto st = server.start(server_body, nullptr); !st) return std::move(st).take_error();
    ready->write.reset();  // EOF on read once the server is gone
    server_gate->read.reset();

    Child client;
    auto client_body = [&]() -> Result<int> {
        ready->read.reset();
        server_gate->write.reset();
        client_gate->write.reset();
        Address addr;
        if (!wait_at_gate(client_gate->read.get(), &addr, sizeof addr)) return 1;
        client_gate->read.reset();
        return client_main(addr);
    };
    if (auto st = client.start(client_body, &original); !st) return std::move(st).take_error();
    client_gate->read.reset();

    // Closing a gate without writing ends its child (exit 1, no failure).
    if (hooks.on_started) {
        if (auto st = hooks.on_started({server.pid(), client.pid()}); !st) {
            server_gate->write.reset();
            client_gate->write.reset();
            server.reap();
            client.reap();
            return std::move(st).take_error();
        }
    }
    char go = 1;
    write_all(server_gate->write.get(), &go, sizeof go);
    server_gate->write.reset();

    auto addr = wait_ready(server, ready->read.get(), *stop);
    if (!addr) {
        server.terminate();
        client_gate->write.reset();
        return std::move(addr).take_error();
    }
    write_all(client_gate->write.get(), &*addr, sizeof *addr);
    client_gate->write.reset();

    int interrupted = 0;
    std::string first_failure;  // later failures are usually our SIGTERM
    while (server.running() || client.running()) {
        pollfd fds[] = {{server.running() ? server.pidfd() : -1, POLLIN, 0},
                        {client.running() ? client.pidfd() : -1, POLLIN, 0},
                        {stop->fd(), POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return errno_error("poll");
        }
        if (fds[2].revents) {
            interrupted = stop->take();
            client.terminate();
            server.terminate();
        }
        // A failed side leaves the other waiting for it: stop that one too.
        // (On success each side ends by itself: the server after its count.)
        if (fds[1].revents) {
            client.reap();
            if (!client.failure().empty()) {
                if (first_failure.empty()) first_failure = "client: " + client.failure();
                server.terminate();
            }
        }
        if (fds[0].revents) {
            server.reap();
            if (!server.failure().empty()) {
                if (first_failure.empty()) first_failure = "server: " + server.failure();
                client.terminate();
            }
        }
    }

    if (interrupted) return 128 + interrupted;
    if (!first_failure.empty()) return make_error(first_failure);
    return std::max(server.exit_code(), client.exit_code());
}

}  // namespace tpk::lab
