// Runs the tracepacket binary as a user does, in the background: its
// stdout/stderr into files, its --ready-file read back (its pid, the
// command's pid, the ids of the BPF programs it loaded), and the checks that
// nothing outlives it. For the runtime tests of record-events and trace.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tpk::testing::tool {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tpk-tool-XXXXXX";
        path = mkdtemp(tmpl);
        chmod(path.c_str(), 0755);
    }
    ~TempDir() { fs::remove_all(path); }
};

struct Ready {
    pid_t pid = 0;
    pid_t command = 0;
    std::vector<std::uint32_t> programs;
};

// Starts the binary with stdout/stderr into files of dir. uid != 0: drop to it.
inline pid_t start_binary(const std::vector<std::string>& args, const fs::path& dir, uid_t uid = 0) {
    pid_t pid = fork();
    if (pid == 0) {
        int out = open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, 1);
        dup2(err, 2);
        if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(99);
        std::vector<char*> argv{const_cast<char*>(TPK_BINARY)};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(TPK_BINARY, argv.data());
        _exit(98);
    }
    return pid;
}

// Waits (bounded) for the ready file; nullopt if the tool exited first.
inline std::optional<Ready> wait_ready(const fs::path& file, pid_t tool) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(file)) {
        int status;
        if (waitpid(tool, &status, WNOHANG) == tool) return std::nullopt;
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Ready r;
    std::ifstream in(file);
    std::string key, line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        words >> key;
        if (key == "pid") words >> r.pid;
        if (key == "command") words >> r.command;
        if (key == "programs")
            for (std::uint32_t id; words >> id;) r.programs.push_back(id);
    }
    return r;
}

inline int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Program freeing is deferred (RCU): wait for it, bounded.
// bpf(BPF_PROG_GET_FD_BY_ID) without libbpf: the tests of any folder use it.
inline int prog_fd_by_id(std::uint32_t id) {
    union bpf_attr attr {};
    attr.prog_id = id;
    return static_cast<int>(::syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof attr));
}

inline void expect_programs_gone(const std::vector<std::uint32_t>& ids) {
    for (auto id : ids) {
        int fd = -1;
        for (int i = 0; i < 100; ++i) {
            fd = prog_fd_by_id(id);
            if (fd < 0) break;
            close(fd);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        EXPECT_LT(fd, 0) << "program " << id << " is still loaded";
    }
}

}  // namespace tpk::testing::tool
