#include "kernel/proc_ports.h"

#include <gtest/gtest.h>

namespace tpk::kernel {
namespace {

// A /proc/net/tcp as Linux 6.18 writes it (header, a listener, a connection).
constexpr char kTcpTable[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:4959 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:A9C2 0100007F:4959 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1\n"
    "   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 100 0 0 10 0\n";

TEST(ProcPorts, LocalPortsOfTheGivenInodesOnly) {
    auto ports = local_ports_in_table(kTcpTable, {1001, 1002});
    EXPECT_EQ(ports, (std::vector<std::uint16_t>{0x4959, 0xA9C2}));
    EXPECT_TRUE(local_ports_in_table(kTcpTable, {42}).empty());
}

TEST(ProcPorts, MalformedLinesAreSkipped) {
    EXPECT_TRUE(local_ports_in_table("header\nnot a table line\n\n", {1001}).empty());
    EXPECT_TRUE(local_ports_in_table("", {1001}).empty());
}

TEST(ProcPorts, APidThatIsGoneHasNoSockets) {
    EXPECT_TRUE(socket_inodes_of(0x7ffffff0).empty());
    EXPECT_TRUE(ports_of_process(0x7ffffff0).empty());
}

}  // namespace
}  // namespace tpk::kernel
