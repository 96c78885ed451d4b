#include "lab/ns_command.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace tpk::lab {
namespace {

// Reads what is there (non-blocking fd) into out; false at EOF.
bool read_some(int fd, std::string& out) {
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0;  // EAGAIN: more may come; 0: EOF
    }
}

}  // namespace

Result<std::unique_ptr<NsCommand>> NsCommand::start(const NetNamespace& ns, const std::string& command,
                                                    std::chrono::milliseconds ready_timeout) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    pid_t parent = ::getpid();
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("fork");
    if (pid == 0) {
        // Never outlive the lab: a namespace lives as long as a process is in it.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(fds[1], STDERR_FILENO);  // dup2 clears O_CLOEXEC on the copy
        if (::setns(ns.fd(), CLONE_NEWNET) != 0) {
            std::perror("setns into the lab namespace");
            ::_exit(127);
        }
        // Its own process group, so stop() reaches whatever it started; and
        // exec: the command replaces the shell, so the SIGTERM and the
        // parent-death signal land on it (tcpdump), not on a shell that would
        // leave it running in the namespace.
        ::setpgid(0, 0);
        std::string line = "exec " + command;
        ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
        std::perror("exec /bin/sh");
        ::_exit(127);
    }
    write_end.reset();
    auto c = std::unique_ptr<NsCommand>(new NsCommand());
    c->pid_ = pid;
    ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
    c->stderr_ = std::move(read_end);
    // Until its first line (it is ready) or EOF (it ended) or the timeout.
    std::string seen;
    auto deadline = std::chrono::steady_clock::now() + ready_timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        pollfd p{c->stderr_.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        bool open = read_some(c->stderr_.get(), seen);
        if (seen.find('\n') != std::string::npos || !open) break;
    }
    std::fputs(seen.c_str(), stderr);
    return c;
}

int NsCommand::stop() {
    if (reaped_ || pid_ <= 0) return status_;
    ::kill(-pid_, SIGTERM);
    std::string rest;
    // Up to 5 s for it to flush and go, then SIGKILL.
    for (int i = 0; i < 500; ++i) {
        read_some(stderr_.get(), rest);
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        ::usleep(10000);
    }
    if (!reaped_) {
        ::kill(-pid_, SIGKILL);
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        status_ = 128 + SIGKILL;
    }
    read_some(stderr_.get(), rest);
    std::fputs(rest.c_str(), stderr);
    return status_;
}

NsCommand::~NsCommand() { (void)stop(); }

}  // namespace tpk::lab
