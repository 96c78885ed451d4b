// SIGTERM and SIGINT stop a server cleanly: exit 0, socket file and ready
// file gone, and a line saying why it stopped.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <string>

#include "integration/lab/process.h"

namespace tpk::lab {
namespace {

using testing::Process;
using testing::ReadyFifo;
using testing::TempDir;

struct Case {
    const char* transport;
    int signo;
};

class StopBySignal : public ::testing::TestWithParam<Case> {};

TEST_P(StopBySignal, RemovesTheSocketFile) {
    auto [transport, signo] = GetParam();
    TempDir dir;
    ReadyFifo ready(dir);
    std::string path = dir.file("server.sock");
    Process server(dir, {"server", "-t", transport, "-l", path, "--ready-file", ready.path()});
    ASSERT_EQ(ready.wait(server), path);
    struct stat st{};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));

    server.signal(signo);
    auto status = server.wait();
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
    EXPECT_EQ(WEXITSTATUS(*status), 0) << server.err();
    EXPECT_FALSE(std::filesystem::exists(path)) << "socket file left behind";
    EXPECT_EQ(server.err(), "");
    std::string name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    EXPECT_NE(server.out().find("server: stopped by " + name), std::string::npos)
        << server.out();
}

// A regular --ready-file appears by rename (never half written), holds the
// bound address, and goes away with the server.
TEST(ReadyFile, RegularFileAppearsAtomicallyAndIsRemoved) {
    TempDir dir;
    std::string ready_path = dir.file("ready.txt");
    std::string path = dir.file("s.sock");
    // inotify instead of a sleep: IN_MOVED_TO fires when the rename lands.
    UniqueFd watch(::inotify_init1(IN_CLOEXEC));
    ASSERT_TRUE(watch.valid());
    ASSERT_GE(::inotify_add_watch(watch.get(), dir.path().c_str(), IN_MOVED_TO), 0);
    Process server(dir, {"server", "-t", "unix-seqpacket", "-l", path, "--ready-file",
                         ready_path});
    pollfd fds[] = {{watch.get(), POLLIN, 0}, {server.pidfd(), POLLIN, 0}};
    ASSERT_GT(::poll(fds, 2, testing::kStepLimitMs), 0);
    ASSERT_TRUE(fds[0].revents & POLLIN) << "server exited: " << server.err();
    EXPECT_EQ(testing::read_text(ready_path), path + "\n");

    server.signal(SIGTERM);
    EXPECT_EQ(server.exit_code(), 0) << server.err();
    EXPECT_FALSE(std::filesystem::exists(ready_path));
    EXPECT_FALSE(std::filesystem::exists(path));
}

INSTANTIATE_TEST_SUITE_P(
    UnixTransports, StopBySignal,
    ::testing::Values(Case{"unix", SIGTERM}, Case{"unix", SIGINT}, Case{"unix-dgram", SIGTERM},
                      Case{"unix-seqpacket", SIGTERM}),
    [](const auto& info) {
        std::string name = info.param.transport;
        std::replace(name.begin(), name.end(), '-', '_');
        return name + (info.param.signo == SIGINT ? "_sigint" : "_sigterm");
    });

}  // namespace
}  // namespace tpk::lab
