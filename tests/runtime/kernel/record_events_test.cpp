// `tracepacket record-events` as a user runs it: after a normal exit, an
// error, SIGINT or SIGTERM no program it loaded stays in the kernel and its
// command is gone. The tool writes its program ids and the command's pid to
// --ready-file (Debian's bpftool cannot show which process holds a program).
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "model/event_io.h"
#include "runtime/kernel/traced_run.h"
#include "support/tool_process.h"

namespace tpk::kernel::testing {
namespace {

namespace fs = std::filesystem;

using namespace tpk::testing::tool;

void expect_gone(pid_t pid) {
    EXPECT_TRUE(kill(pid, 0) != 0 && errno == ESRCH) << "command " << pid << " outlived the tool";
}

// The command lists its open files into DIR/fds, then waits for DIR/GO so
// the test controls when it ends.
std::vector<std::string> waiting_command(const fs::path& dir) {
    return {"--", "sh", "-c",
            "ls -l /proc/$$/fd > " + (dir / "fds").string() + "; while [ ! -e " +
                (dir / "GO").string() + " ]; do sleep 0.05; done"};
}

class RecordEventsSignal : public ::testing::TestWithParam<int> {};

TEST_P(RecordEventsSignal, LeavesNoProgramAndNoCommandBehind) {
    TPK_SKIP_WITHOUT_BPF();
    const int signo = GetParam();
    TempDir dir;
    auto args = std::vector<std::string>{"record-events", "--ready-file", dir.path / "ready", "-o",
                                         dir.path / "events.jsonl", "--", "sleep", "60"};
    pid_t tool = start_binary(args, dir.path);
    auto ready = wait_ready(dir.path / "ready", tool);
    ASSERT_TRUE(ready) << "record-events never got ready: " << slurp(dir.path / "stderr");
    EXPECT_EQ(ready->pid, tool);
    EXPECT_GE(ready->programs.size(), 20u);
    for (auto id : ready->programs) {
        int fd = bpf_prog_get_fd_by_id(id);
        EXPECT_GE(fd, 0) << "program " << id << " loaded while tracing";
        if (fd >= 0) close(fd);
    }
    ASSERT_EQ(kill(tool, signo), 0);
    EXPECT_EQ(wait_exit(tool), 128 + signo) << slurp(dir.path / "stderr");
    expect_programs_gone(ready->programs);
    expect_gone(ready->command);
    EXPECT_FALSE(fs::exists(dir.path / "ready")) << "the ready file is the tool's to remove";
}

INSTANTIATE_TEST_SUITE_P(SigintAndSigterm, RecordEventsSignal, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return info.param == SIGINT ? "SIGINT" : "SIGTERM"; });

TEST(RecordEvents, NormalExitRecordsTheCommandAndUnloads) {
    TPK_SKIP_WITHOUT_BPF();
    TempDir dir;
    auto args = std::vector<std::string>{"record-events", "--ready-file", dir.path / "ready", "-o",
                                         dir.path / "events.jsonl"};
    for (auto& a : waiting_command(dir.path)) args.push_back(a);
    pid_t tool = start_binary(args, dir.path);
    auto ready = wait_ready(dir.path / "ready", tool);
    ASSERT_TRUE(ready) << slurp(dir.path / "stderr");
    std::ofstream(dir.path / "GO").put('\n');
    EXPECT_EQ(wait_exit(tool), 0) << slurp(dir.path / "stderr");
    EXPECT_EQ(slurp(dir.path / "fds").find("events.jsonl"), std::string::npos)
        << "the command inherited the recording: " << slurp(dir.path / "fds");
    expect_programs_gone(ready->programs);
    expect_gone(ready->command);
    // The recording reads back, and holds the command's exit.
    auto events = model::read_events_file(dir.path / "events.jsonl");
    ASSERT_TRUE(events) << events.error().message();
    bool exited = false;
    for (const auto& e : *events)
        exited |= e.kind == model::EventKind::process_exit &&
                  e.pid == static_cast<std::uint32_t>(ready->command);
    EXPECT_TRUE(exited);
}

TEST(RecordEvents, ErrorAfterAttachStillUnloads) {
    TPK_SKIP_WITHOUT_BPF();
    TempDir dir;
    // /dev/full accepts the open and fails the writes: an error once tracing ran.
    auto args = std::vector<std::string>{"record-events", "--ready-file", dir.path / "ready", "-o",
                                         "/dev/full"};
    for (auto& a : waiting_command(dir.path)) args.push_back(a);
    pid_t tool = start_binary(args, dir.path);
    auto ready = wait_ready(dir.path / "ready", tool);
    ASSERT_TRUE(ready) << slurp(dir.path / "stderr");
    std::ofstream(dir.path / "GO").put('\n');
    EXPECT_EQ(wait_exit(tool), 1);
    EXPECT_NE(slurp(dir.path / "stderr").find("tracepacket: error: write /dev/full"),
              std::string::npos)
        << slurp(dir.path / "stderr");
    expect_programs_gone(ready->programs);
    expect_gone(ready->command);
}

TEST(RecordEvents, MissingCommandIsOneClearError) {
    TPK_SKIP_WITHOUT_BPF();
    TempDir dir;
    pid_t tool = start_binary({"record-events", "-o", dir.path / "e.jsonl", "--",
                               "/nonexistent/tpk-command"},
                              dir.path);
    EXPECT_EQ(wait_exit(tool), 1);
    EXPECT_EQ(slurp(dir.path / "stderr"),
              "tracepacket: error: run '/nonexistent/tpk-command': No such file or directory\n");
}

TEST(RecordEvents, WithoutPrivilegesNamesTheMissingCapabilities) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to an unprivileged user";
    passwd* nobody = getpwnam("nobody");
    if (!nobody) GTEST_SKIP() << "no user 'nobody' to run as";
    TempDir dir;
    pid_t tool = start_binary({"record-events", "--", "true"}, dir.path, nobody->pw_uid);
    EXPECT_EQ(wait_exit(tool), 1);
    std::string err = slurp(dir.path / "stderr");
    EXPECT_NE(err.find("CAP_BPF"), std::string::npos) << err;
    EXPECT_NE(err.find("CAP_PERFMON"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "one line: " << err;
}

}  // namespace
}  // namespace tpk::kernel::testing
