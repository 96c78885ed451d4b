// The `tracepacket capture` binary on a live lo: it announces itself like
// tcpdump ("listening on lo ..."), stops at -c or on SIGINT, prints the
// captured / received by filter / dropped by kernel counters, and leaves a
// file that our reader and tshark both read. Traffic is UDP to a port of our
// own, and the capture filters on it, so other tests' traffic on lo is not
// counted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "capture/source.h"
#include "util/fd.h"

namespace fs = std::filesystem;

namespace {

struct Child {
    pid_t pid = -1;
    tpk::UniqueFd out;
    tpk::UniqueFd err;
};

Child spawn(const std::vector<std::string>& args) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) return {};
    Child c;
    c.pid = ::fork();
    if (c.pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    c.out.reset(out[0]);
    c.err.reset(err[0]);
    return c;
}

// Reads fd until `needle` appears or it closes; bounded at 10 s.
bool read_until(int fd, const std::string& needle, std::string* text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char buf[4096];
    while (text->find(needle) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return text->find(needle) != std::string::npos;
        text->append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

std::string read_rest(int fd, std::string text = {}) {
    (void)read_until(fd, std::string(1, '\0'), &text);  // until EOF
    return text;
}

int wait_exit(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 100; ++i) {  // 10 s bound
        if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ::usleep(100 * 1000);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
}

struct UdpTarget {
    tpk::UniqueFd rx;
    std::uint16_t port = 0;
};

UdpTarget udp_target() {
    UdpTarget t;
    t.rx.reset(::socket(AF_INET, SOCK_DGRAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(t.rx.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(t.rx.get(), reinterpret_cast<sockaddr*>(&a), &len);
    t.port = ntohs(a.sin_port);
    return t;
}

void send_datagrams(std::uint16_t port, int n) {
    tpk::UniqueFd tx(::socket(AF_INET, SOCK_DGRAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; ++i) ::sendto(tx.get(), "tpk", 3, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

class CaptureCommand : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_NET_RAW; run as root";
        dir_ = fs::temp_directory_path() / ("tpk-capture-cmd-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    fs::path dir_;
};

// The frames a capture file holds, read back through libpcap; -1 when it
// does not read.
long frames_in(const std::string& file) {
    auto source = tpk::capture::Source::open_file(file);
    if (!source.ok()) {
        ADD_FAILURE() << source.error().message();
        return -1;
    }
    struct Count : tpk::capture::FrameSink {
        long n = 0;
        tpk::Status on_frame(const tpk::capture::RawFrame&) override { ++n; return {}; }
    } count;
    if (!source->run(count, 0, -1).ok()) return -1;
    return count.n;
}

// Captures 5 datagrams to a file with the given extra options, stops with
// SIGINT and checks the counters and the file.
void sigint_stops_and_writes_all(const fs::path& dir, const std::vector<std::string>& extra) {
    UdpTarget target = udp_target();
    const std::string file = (dir / "live.pcapng").string();
    std::vector<std::string> args = {TPK_BINARY, "capture", "-i", "lo", "-w", file};
    args.insert(args.end(), extra.begin(), extra.end());
    for (const char* w : {"udp", "and", "dst", "port"}) args.push_back(w);
    args.push_back(std::to_string(target.port));
    Child c = spawn(args);
    std::string err;
    ASSERT_TRUE(read_until(c.err.get(), "listening on lo", &err)) << err;
    send_datagrams(target.port, 5);
    // The frames are in the kernel ring once sendto returns (lo receives in
    // the sender's softirq); SIGINT makes the command drain it and stop. In
    // block mode (the -w default) they sit in a block the kernel has not
    // handed over yet: the command waits for the block timer first.
    ::kill(c.pid, SIGINT);
    err = read_rest(c.err.get(), err);
    EXPECT_EQ(wait_exit(c.pid), 0) << err;
    EXPECT_NE(err.find("link-type EN10MB"), std::string::npos) << err;
    EXPECT_NE(err.find("5 packets captured"), std::string::npos) << err;
    // On lo the sent copies are not handed to the capture: 5 received, not 10.
    EXPECT_NE(err.find("5 packets received by filter"), std::string::npos) << err;
    EXPECT_NE(err.find("0 packets dropped by kernel"), std::string::npos) << err;

    EXPECT_EQ(frames_in(file), 5);
}

TEST_F(CaptureCommand, SigintStopsAndPrintsTheCounters) {
    sigint_stops_and_writes_all(dir_, {});
}

TEST_F(CaptureCommand, SigintInImmediateModeWritesTheSame) {
    sigint_stops_and_writes_all(dir_, {"--immediate-mode"});
}

TEST_F(CaptureCommand, SigintWithPageCacheWritesTheSame) {
    sigint_stops_and_writes_all(dir_, {"--page-cache"});
}

// A capture of many blocks (the writer's threads, O_DIRECT on this disk, the
// unaligned tail at the end): every packet the command says it captured is
// in the file, as pcap and as pcapng. Traffic: one second of a TCP stream on
// lo, 128 KiB writes (64 KiB frames).
TEST_F(CaptureCommand, ALargeCaptureReadsBackWhole) {
    for (const char* name : {"large.pcap", "large.pcapng"}) {
        SCOPED_TRACE(name);
        const std::string file = (dir_ / name).string();
        Child c = spawn({TPK_BINARY, "capture", "-i", "lo", "-w", file, "tcp"});
        std::string err;
        ASSERT_TRUE(read_until(c.err.get(), "listening on lo", &err)) << err;
        ASSERT_EQ(std::system((std::string(TPK_BINARY) + " bench --mode throughput --transport tcp "
                               "--size 128K --stream-time 1 > /dev/null")
                                  .c_str()),
                  0);
        ::kill(c.pid, SIGINT);
        err = read_rest(c.err.get(), err);
        ASSERT_EQ(wait_exit(c.pid), 0) << err;
        const auto at = err.find(" packets captured");
        ASSERT_NE(at, std::string::npos) << err;
        const auto line = err.rfind('\n', at);
        const long captured = std::stol(err.substr(line == std::string::npos ? 0 : line + 1));
        EXPECT_GT(fs::file_size(file), 3 * (std::uintmax_t{4} << 20)) << "fewer than three blocks";
        EXPECT_EQ(frames_in(file), captured) << err;
    }
}

TEST_F(CaptureCommand, CountStopsByItselfAndPrintsText) {
    UdpTarget target = udp_target();
    Child c = spawn({TPK_BINARY, "capture", "-c", "3", "-i", "lo", "udp", "and", "dst", "port",
                     std::to_string(target.port)});
    std::string err;
    ASSERT_TRUE(read_until(c.err.get(), "listening on lo", &err)) << err;
    send_datagrams(target.port, 4);
    const std::string out = read_rest(c.out.get());
    err = read_rest(c.err.get(), err);
    EXPECT_EQ(wait_exit(c.pid), 0) << err;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
    EXPECT_NE(out.find("> 127.0.0.1." + std::to_string(target.port) + ": UDP, length 3"), std::string::npos) << out;
    EXPECT_NE(err.find("3 packets captured"), std::string::npos) << err;
}

}  // namespace
