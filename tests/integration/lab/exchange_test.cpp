// Every transport carries small, large and largest messages intact between
// the real `tracepacket server` and `tracepacket client` processes.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <numeric>
#include <string>
#include <vector>

#include "integration/lab/process.h"
#include "lab/transport.h"

namespace tpk::lab {
namespace {

using testing::Process;
using testing::ReadyFifo;
using testing::TempDir;

std::string listen_arg(Transport t, const TempDir& dir) {
    return is_unix(t) ? dir.file("server.sock") : "0";  // port 0: the kernel picks a free one
}

// The largest message one send carries: UDP's fixed limits, the UNIX
// datagram limit from a fresh socket's send buffer, 1 MiB for streams.
std::size_t largest_message(Transport t) {
    if (is_byte_stream(t)) return std::size_t{1} << 20;
    UniqueFd fd(::socket(socket_family(t), socket_type(t), 0));
    return message_limit(t, fd.get());
}

std::vector<std::size_t> sizes_for(Transport t) {
    std::size_t largest = largest_message(t);
    std::vector<std::size_t> sizes{1};
    if (largest > 65536) sizes.push_back(65536);
    sizes.push_back(largest);
    return sizes;
}

class Exchange : public ::testing::TestWithParam<Transport> {};

TEST_P(Exchange, EchoesEverySizeIntact) {
    Transport t = GetParam();
    auto sizes = sizes_for(t);
    TempDir dir;
    ReadyFifo ready(dir);
    Process server(dir, {"server", "-t", std::string(transport_name(t)), "-l", listen_arg(t, dir),
                         "--echo", "-q", "-n", std::to_string(sizes.size() + 20),
                         "--ready-file", ready.path()});
    std::string address = ready.wait(server);
    ASSERT_FALSE(address.empty());

    for (std::size_t size : sizes) {
        auto run = testing::run_tracepacket(
            dir, {"client", "-t", std::string(transport_name(t)), "-c", address, "-s",
                  std::to_string(size)});
        EXPECT_EQ(run.code, 0) << size << " bytes: " << run.err;
        EXPECT_NE(run.out.find("client: 1 message, " + std::to_string(size) + " bytes sent, " +
                               std::to_string(size) +
                               " bytes received, every echo verified byte for byte"),
                  std::string::npos)
            << run.out;
    }
    // Several messages on one connection (or socket), one after the other.
    auto many = testing::run_tracepacket(
        dir, {"client", "-t", std::string(transport_name(t)), "-c", address, "-s", "1000", "-n",
              "20", "-q"});
    EXPECT_EQ(many.code, 0) << many.err;

    std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}) + 20 * 1000;
    EXPECT_EQ(server.exit_code(), 0) << server.err();
    std::string summary = "server: answered " + std::to_string(sizes.size() + 20) +
                          " messages (" + std::to_string(total) + " bytes in, " +
                          std::to_string(total) + " bytes out)";
    EXPECT_NE(server.out().find(summary), std::string::npos) << server.out();
    if (is_unix(t)) {
        EXPECT_FALSE(std::filesystem::exists(dir.file("server.sock")))
            << "socket file left behind";
    }
}

TEST_P(Exchange, ClassicHelloPrintsWhatBothDid) {
    Transport t = GetParam();
    TempDir dir;
    ReadyFifo ready(dir);
    Process server(dir, {"server", "-t", std::string(transport_name(t)), "-l", listen_arg(t, dir),
                         "-n", "1", "--ready-file", ready.path()});
    std::string address = ready.wait(server);
    ASSERT_FALSE(address.empty());
    auto client = testing::run_tracepacket(
        dir, {"client", "-t", std::string(transport_name(t)), "-c", address});
    EXPECT_EQ(client.code, 0) << client.err;
    auto lines = testing::lines_of(client.out);
    ASSERT_EQ(lines.size(), 3u) << client.out;
    EXPECT_EQ(lines[0].rfind("client: connected to " + address + " (" +
                                 std::string(transport_name(t)) + ") from ",
                             0),
              0u)
        << lines[0];
    EXPECT_EQ(lines[1], "client: sent 18 bytes: \"Hello from client!\"");
    EXPECT_EQ(lines[2], "client: received 18 bytes: \"Hello from server!\"");

    EXPECT_EQ(server.exit_code(), 0) << server.err();
    std::string out = server.out();
    EXPECT_NE(out.find("server: received 18 bytes: \"Hello from client!\" from "),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("server: sent 18 bytes: \"Hello from server!\" to "), std::string::npos)
        << out;
    EXPECT_NE(out.find("server: answered 1 message (18 bytes in, 18 bytes out) from 1 client"),
              std::string::npos)
        << out;
}

TEST_P(Exchange, ClientReportsAReplyThatIsNotTheEcho) {
    Transport t = GetParam();
    TempDir dir;
    ReadyFifo ready(dir);
    Process server(dir, {"server", "-t", std::string(transport_name(t)), "-l", listen_arg(t, dir),
                         "-n", "1", "--reply", "Hello", "--ready-file", ready.path()});
    std::string address = ready.wait(server);
    ASSERT_FALSE(address.empty());
    auto client = testing::run_tracepacket(
        dir, {"client", "-t", std::string(transport_name(t)), "-c", address, "-m", "hello",
              "--verify"});
    EXPECT_EQ(client.code, 1);
    EXPECT_EQ(client.err,
              "tracepacket: error: echo of message 0 differs at byte 0 of 5: sent 0x68, got "
              "0x48\n");
    EXPECT_EQ(server.exit_code(), 0) << server.err();
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Exchange, ::testing::ValuesIn(kAllTransports),
                         [](const auto& info) {
                             std::string name(transport_name(info.param));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

}  // namespace
}  // namespace tpk::lab

namespace tpk::lab {
namespace {

// `tracepacket exchange`: the classic experiment in two processes.
TEST(ClassicExchange, ServerAndClientProcessesBothReport) {
    for (const char* transport : {"tcp", "unix-seqpacket"}) {
        SCOPED_TRACE(transport);
        TempDir dir;
        std::string listen = std::string(transport) == "tcp" ? "0" : dir.file("x.sock");
        auto r = testing::run_tracepacket(dir, {"exchange", "-t", transport, "-l", listen});
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(r.err, "");
        for (const char* line : {"client: sent 18 bytes: \"Hello from client!\"",
                                 "client: received 18 bytes: \"Hello from server!\"",
                                 "server: answered 1 message (18 bytes in, 18 bytes out) from "
                                 "1 client"}) {
            EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
        }
        EXPECT_FALSE(std::filesystem::exists(dir.file("x.sock")));
    }
}

}  // namespace
}  // namespace tpk::lab
