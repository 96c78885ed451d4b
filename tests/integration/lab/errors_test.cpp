// Each bad input: one line on stderr that says what is wrong, exit code 1,
// and nothing touched that the user did not ask for.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <string>

#include "integration/lab/process.h"
#include "lab/transport.h"

namespace tpk::lab {
namespace {

using testing::Process;
using testing::ReadyFifo;
using testing::Run;
using testing::TempDir;

constexpr const char* kPrefix = "tracepacket: error: ";

// Exit 1 and exactly one stderr line, starting with the error prefix.
void expect_one_line_error(const Run& r, const std::string& expected_start) {
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    auto lines = testing::lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind(kPrefix + expected_start, 0), 0u) << lines[0];
}

// A socket bound on 127.0.0.1 (port 0: the kernel picks), optionally not
// listening: connects to its port are refused, and nobody else can take it.
struct BoundPort {
    UniqueFd fd;
    int port = 0;
    explicit BoundPort(int type) : fd(::socket(AF_INET, type, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
};

// A UNIX socket file whose socket is closed: what a killed server leaves.
void make_stale_socket_file(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
}

bool is_socket_file(const std::string& path) {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST(LabErrors, UnknownTransportListsTheValidOnes) {
    TempDir dir;
    const std::string expected =
        "unknown transport 'sctp' (valid: tcp, tcp6, udp, udp6, unix, unix-dgram, "
        "unix-seqpacket)";
    auto server = testing::run_tracepacket(dir, {"server", "--transport", "sctp"});
    expect_one_line_error(server, expected);
    EXPECT_EQ(server.err, kPrefix + expected + "\n");
    auto client = testing::run_tracepacket(dir, {"client", "--transport", "sctp"});
    EXPECT_EQ(client.err, kPrefix + expected + "\n");
}

TEST(LabErrors, MalformedAddress) {
    TempDir dir;
    auto port = testing::run_tracepacket(dir, {"client", "-t", "tcp", "-c", "127.0.0.1:99999"});
    expect_one_line_error(port, "malformed address '127.0.0.1:99999': port must be a number");
    auto host = testing::run_tracepacket(dir, {"server", "-t", "tcp6", "-l", "127.0.0.1:80"});
    expect_one_line_error(host, "malformed address '127.0.0.1:80': '127.0.0.1' is not an IPv6");
    auto kind = testing::run_tracepacket(dir, {"server", "-t", "unix", "-l", "8080"});
    expect_one_line_error(kind, "malformed address '8080' for transport unix: expected a path");
}

TEST(LabErrors, PortInUseNamesThePort) {
    for (const char* transport : {"tcp", "udp"}) {
        SCOPED_TRACE(transport);
        TempDir dir;
        ReadyFifo ready(dir);
        Process first(dir, {"server", "-t", transport, "-l", "0", "--ready-file", ready.path()});
        std::string address = ready.wait(first);
        ASSERT_FALSE(address.empty());
        std::string port = address.substr(address.rfind(':') + 1);

        auto second = testing::run_tracepacket(dir, {"server", "-t", transport, "-l", address});
        expect_one_line_error(second, "port " + port + " on 127.0.0.1 is already in use (" +
                                          transport + ")");
        first.signal(SIGTERM);
        EXPECT_EQ(first.exit_code(), 0) << first.err();
    }
}

TEST(LabErrors, ConnectionRefused) {
    TempDir dir;
    BoundPort tcp(SOCK_STREAM);  // bound, never listening: the kernel answers SYN with RST
    auto r = testing::run_tracepacket(
        dir, {"client", "-t", "tcp", "-c", "127.0.0.1:" + std::to_string(tcp.port)});
    expect_one_line_error(r, "connection refused by 127.0.0.1:" + std::to_string(tcp.port) +
                                 ": is a server listening there?");

    // UDP has no handshake: the refusal is the ICMP port unreachable that
    // answers the first datagram, reported on the connected socket.
    int udp_port = BoundPort(SOCK_DGRAM).port;  // free again once closed
    auto u = testing::run_tracepacket(
        dir, {"client", "-t", "udp", "-c", "127.0.0.1:" + std::to_string(udp_port)});
    expect_one_line_error(u, "connection refused by 127.0.0.1:" + std::to_string(udp_port));

    auto missing = testing::run_tracepacket(dir, {"client", "-t", "unix", "-c", dir.file("none")});
    expect_one_line_error(missing, "no socket at " + dir.file("none") + ": is a server");

    make_stale_socket_file(dir.file("stale"));
    auto stale = testing::run_tracepacket(dir, {"client", "-t", "unix", "-c", dir.file("stale")});
    expect_one_line_error(stale, "connection refused by " + dir.file("stale"));
}

TEST(LabErrors, NeverTouchesAFileThatIsNotASocket) {
    TempDir dir;
    std::string path = dir.file("precious.txt");
    { std::ofstream(path) << "keep me\n"; }
    for (bool force : {false, true}) {
        std::vector<std::string> args{"server", "-t", "unix", "-l", path};
        if (force) args.push_back("--force");
        auto r = testing::run_tracepacket(dir, args);
        expect_one_line_error(r, path + " exists and is not a socket; refusing to touch it");
        EXPECT_EQ(testing::read_text(path), "keep me\n");
    }
}

TEST(LabErrors, LeftOverSocketFileNeedsForce) {
    TempDir dir;
    std::string path = dir.file("left.sock");
    make_stale_socket_file(path);
    auto refused = testing::run_tracepacket(dir, {"server", "-t", "unix", "-l", path});
    expect_one_line_error(refused, "socket file " + path + " already exists");
    EXPECT_NE(refused.err.find("use --force"), std::string::npos);
    EXPECT_TRUE(is_socket_file(path));

    ReadyFifo ready(dir);
    Process server(dir, {"server", "-t", "unix", "-l", path, "--force", "-n", "1",
                         "--ready-file", ready.path()});
    ASSERT_EQ(ready.wait(server), path);
    // The running server owns the file now: --force must not steal it.
    auto thief = testing::run_tracepacket(dir, {"server", "-t", "unix", "-l", path, "--force"});
    expect_one_line_error(thief, "socket file " + path + " is in use by a running server");
    auto client = testing::run_tracepacket(dir, {"client", "-t", "unix", "-c", path});
    EXPECT_EQ(client.code, 0) << client.err;
    EXPECT_EQ(server.exit_code(), 0) << server.err();
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(LabErrors, MessageLargerThanTheTransportCarries) {
    TempDir dir;
    // Checked before any socket exists: no server needed.
    auto udp = testing::run_tracepacket(dir, {"client", "-t", "udp", "-s", "65508"});
    expect_one_line_error(udp, "a 65508-byte message does not fit in one udp message (at most "
                               "65507 bytes: 65535 - 20 (IPv4 header) - 8 (UDP header))");
    auto udp6 = testing::run_tracepacket(dir, {"client", "-t", "udp6", "-s", "65528"});
    expect_one_line_error(udp6, "a 65528-byte message does not fit in one udp6 message (at most "
                                "65527 bytes");

    // UNIX datagrams: the limit is the socket's send buffer, known once it exists.
    ReadyFifo ready(dir);
    std::string path = dir.file("dgram.sock");
    Process server(dir, {"server", "-t", "unix-dgram", "-l", path, "--echo", "--ready-file",
                         ready.path()});
    ASSERT_EQ(ready.wait(server), path);
    UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM, 0));
    std::size_t limit = message_limit(Transport::unix_dgram, probe.get());
    auto big = testing::run_tracepacket(
        dir, {"client", "-t", "unix-dgram", "-c", path, "-s", std::to_string(limit + 1)});
    expect_one_line_error(big, "a " + std::to_string(limit + 1) +
                                   "-byte message does not fit in one unix-dgram message (at "
                                   "most " + std::to_string(limit) + " bytes");
    server.signal(SIGTERM);
    EXPECT_EQ(server.exit_code(), 0);
}

TEST(LabErrors, UsageErrorsExitTwo) {
    TempDir dir;
    auto both = testing::run_tracepacket(dir, {"server", "--echo", "--reply", "x"});
    EXPECT_EQ(both.code, 2) << both.err;
    auto size = testing::run_tracepacket(dir, {"client", "-s", "12Q"});
    expect_one_line_error(size, "malformed size '12Q'");
    // journey takes the client's sizes (64, 1K, 1M); a bad one is its usage error.
    auto journey_size = testing::run_tracepacket(dir, {"journey", "-s", "12Q"});
    EXPECT_EQ(journey_size.code, 2) << journey_size.err;
    EXPECT_NE(journey_size.err.find("--size: malformed size '12Q'"), std::string::npos)
        << journey_size.err;
    auto journey_zero = testing::run_tracepacket(dir, {"journey", "-s", "0"});
    EXPECT_EQ(journey_zero.code, 2) << journey_zero.err;
    EXPECT_NE(journey_zero.err.find("--size: must be at least 1 byte"), std::string::npos)
        << journey_zero.err;
}

}  // namespace
}  // namespace tpk::lab
