// The capture that `tracepacket trace` runs on lo while it follows a command:
// its frames wait in TPACKET_V3 blocks that the kernel hands over when full
// or at the block timeout, so after the command exits trace must still get
// the last, partly filled block. A command whose last packets (FIN, ACK) leave
// as it exits: every traced packet has its frame, the last ones included.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/json_lines.h"

namespace {

// One process, both ends: 40 ping-pongs of 64 bytes, then both sockets close.
constexpr const char* kExchange =
    "import socket\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
    "for _ in range(40):\n"
    "    c.sendall(b'x' * 64); a.recv(64); a.sendall(b'y' * 64); c.recv(64)\n"
    "c.close(); a.close()\n";

TEST(TraceCapture, LastBlockOfFramesArrivesAfterTheCommandExits) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON, CAP_NET_RAW); run as root";
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
    auto r = tpk::testing::run_json_lines(std::string(TPK_BINARY) +
                                          " trace --json -- /usr/bin/python3 -c \"" + kExchange + "\"");
    ASSERT_EQ(r.exit_code, 0) << r.raw;
    ASSERT_FALSE(r.records.empty()) << r.raw;
    const auto& s = r.summary();
    ASSERT_EQ(s.at("type"), "summary") << r.raw;
    // Handshake, 80 data segments, the closes: at least 84 packets.
    EXPECT_GE(s.at("packets").get<int>(), 84) << s.dump();
    EXPECT_EQ(s.at("capture_dropped"), 0) << s.dump();
    EXPECT_EQ(s.at("packets_without_frame"), 0) << s.dump();
    EXPECT_EQ(s.at("frames_matched"), s.at("packets")) << s.dump();
    int fins = 0;
    for (const auto& p : r.of("packet"))
        if (p.at("flags").get<std::string>().find('F') != std::string::npos) {
            ++fins;
            EXPECT_TRUE(p.at("frame").is_object()) << "a FIN without its frame: " << p.dump();
        }
    EXPECT_EQ(fins, 2) << "both sockets' FINs";
    ASSERT_FALSE(r.of("packet").empty());
    EXPECT_TRUE(r.of("packet").back().at("frame").is_object()) << "the last packet has no frame";
}

}  // namespace
