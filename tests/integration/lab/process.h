// Test helpers: run the real tracepacket binary as a child process, wait for
// it with a bound (never a sleep), and sync on its --ready-file through a FIFO.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "util/fd.h"

extern char** environ;

namespace tpk::testing {

// Upper bound for any one step; a healthy run takes milliseconds. Hitting it
// fails the test, it never makes one pass.
inline constexpr int kStepLimitMs = 60'000;

class TempDir {
public:
    TempDir() {
        std::string tmpl = "/tmp/tpk-lab-test.XXXXXX";
        path_ = ::mkdtemp(tmpl.data());
        EXPECT_FALSE(path_.empty()) << "mkdtemp";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);) out.push_back(line);
    return out;
}

// The binary, running; stdout and stderr go to files in dir.
class Process {
public:
    Process(const TempDir& dir, std::vector<std::string> args) {
        static int serial = 0;
        std::string tag = std::to_string(++serial);
        out_path_ = dir.file("out." + tag);
        err_path_ = dir.file("err." + tag);
        args.insert(args.begin(), TPK_BINARY);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int rc = posix_spawn(&pid_, TPK_BINARY, &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        EXPECT_EQ(rc, 0) << "spawn " << TPK_BINARY;
        if (rc != 0) pid_ = -1;
        else pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    }
    Process(const Process&) = delete;
    ~Process() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            reap();
        }
    }

    bool running() const { return pid_ > 0 && !status_; }
    int pidfd() const { return pidfd_.get(); }
    void signal(int signo) const {
        if (running()) ::kill(pid_, signo);
    }

    // The wait status, or nullopt (and a test failure) after kStepLimitMs.
    std::optional<int> wait() {
        if (!running()) return status_;
        pollfd p{pidfd_.get(), POLLIN, 0};
        int n;
        while ((n = ::poll(&p, 1, kStepLimitMs)) < 0 && errno == EINTR) {
        }
        if (n == 0) {
            ADD_FAILURE() << "tracepacket still running after " << kStepLimitMs << " ms; "
                          << "stdout:\n" << out() << "stderr:\n" << err();
            return std::nullopt;
        }
        reap();
        return status_;
    }
    // The exit code, -1 when it did not exit normally.
    int exit_code() {
        auto st = wait();
        return st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
    }

    std::string out() const { return read_text(out_path_); }
    std::string err() const { return read_text(err_path_); }

private:
    void reap() {
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        status_ = st;
    }

    pid_t pid_ = -1;
    UniqueFd pidfd_;
    std::optional<int> status_;
    std::string out_path_, err_path_;
};

// A FIFO for --ready-file: opened for reading before the server starts, so
// the server's one write wakes us up.
class ReadyFifo {
public:
    explicit ReadyFifo(const TempDir& dir) : path_(dir.file("ready")) {
        EXPECT_EQ(::mkfifo(path_.c_str(), 0600), 0) << "mkfifo " << path_;
        fd_.reset(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        EXPECT_TRUE(fd_.valid()) << "open " << path_;
    }
    const std::string& path() const { return path_; }

    // The address the server bound, or "" (and a failure) if it exited first.
    std::string wait(Process& server) {
        std::string line;
        for (;;) {
            pollfd fds[] = {{fd_.get(), POLLIN, 0}, {server.pidfd(), POLLIN, 0}};
            int n = ::poll(fds, 2, kStepLimitMs);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ADD_FAILURE() << "server not ready within " << kStepLimitMs << " ms";
                return {};
            }
            if (fds[0].revents & POLLIN) {
                char buf[256];
                ssize_t got = ::read(fd_.get(), buf, sizeof buf);
                if (got > 0) line.append(buf, static_cast<std::size_t>(got));
                if (auto nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
                if (got > 0) continue;
            }
            if (fds[1].revents) {
                ADD_FAILURE() << "server exited before it was ready; stderr: " << server.err();
                return {};
            }
        }
    }

private:
    std::string path_;
    UniqueFd fd_;
};

// Runs tracepacket to completion.
struct Run {
    int code = -1;
    std::string out, err;
};

inline Run run_tracepacket(const TempDir& dir, std::vector<std::string> args) {
    Process p(dir, std::move(args));
    Run r;
    r.code = p.exit_code();
    r.out = p.out();
    r.err = p.err();
    return r;
}

}  // namespace tpk::testing
