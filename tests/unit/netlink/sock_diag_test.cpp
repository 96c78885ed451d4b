#include "netlink/sock_diag.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "netlink/processes.h"

namespace tpk::netlink {
namespace {

TEST(StateFilter, SpellingsOfSs) {
    EXPECT_EQ(*parse_state_filter("established"), 1u << kEstablished);
    EXPECT_EQ(*parse_state_filter("LISTENING"), 1u << kListen);
    EXPECT_EQ(*parse_state_filter("time-wait"), 1u << kTimeWait);
    EXPECT_EQ(*parse_state_filter("connected") & (1u << kListen), 0u);
    EXPECT_NE(*parse_state_filter("connected") & (1u << kSynSent), 0u);
    EXPECT_EQ(*parse_state_filter("synchronized") & (1u << kSynSent), 0u);
    EXPECT_EQ(*parse_state_filter("bucket"), (1u << kTimeWait) | (1u << kSynRecv));
    EXPECT_EQ(*parse_state_filter("big") & *parse_state_filter("bucket"), 0u);
    // ss without -a: connected, less the minisockets (ss's "state connected" keeps them).
    EXPECT_EQ(kDefaultStates & (1u << kTimeWait), 0u);
    EXPECT_EQ(kDefaultStates & (1u << kSynRecv), 0u);
    EXPECT_NE(kDefaultStates & (1u << kFinWait2), 0u);
    EXPECT_NE(*parse_state_filter("connected") & (1u << kTimeWait), 0u);
    auto bad = parse_state_filter("estab");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("valid: established"), std::string::npos);
}

TEST(StateName, AsSsPrintsThem) {
    EXPECT_EQ(state_name(kEstablished), "ESTAB");
    EXPECT_EQ(state_name(kClose), "UNCONN");
    EXPECT_EQ(state_name(kFinWait1), "FIN-WAIT-1");
    EXPECT_EQ(state_name(99), "UNKNOWN");
}

TEST(SnapshotText, InetAndUnixEndpoints) {
    SocketSnapshot s;
    s.family = AF_INET6;
    s.local.address = *parse_ip_address("::1");
    s.local.port = 8080;
    s.peer.address = *parse_ip_address("::");
    EXPECT_EQ(s.local_text(), "[::1]:8080");
    EXPECT_EQ(s.peer_text(), "[::]:*");
    SocketSnapshot u;
    u.kind = SocketKind::unix_stream;
    u.family = AF_UNIX;
    EXPECT_EQ(u.local_text(), "*");
    u.unix_path = "@name";
    EXPECT_EQ(u.local_text(), "@name");
}

// A fake /proc: the owner scan reads fd links "socket:[N]" and comm.
TEST(SocketOwners, ReadsSocketLinksOfEveryProcess) {
    namespace fs = std::filesystem;
    fs::path root = fs::temp_directory_path() / ("tpk-fake-proc-" + std::to_string(getpid()));
    fs::create_directories(root / "42" / "fd");
    fs::create_directories(root / "self");  // not a pid: skipped
    std::ofstream(root / "42" / "comm") << "server\n";
    fs::create_symlink("socket:[1234]", root / "42" / "fd" / "3");
    fs::create_symlink("/dev/null", root / "42" / "fd" / "0");
    fs::create_symlink("socket:[12x]", root / "42" / "fd" / "4");
    auto owners = scan_socket_owners(root.string());
    fs::remove_all(root);
    ASSERT_EQ(owners.size(), 1u);
    ASSERT_EQ(owners[1234].size(), 1u);
    EXPECT_EQ(owners[1234][0].pid, 42);
    EXPECT_EQ(owners[1234][0].command, "server");
    EXPECT_EQ(owners[1234][0].fd, 3);

    std::vector<SocketSnapshot> sockets(2);
    sockets[0].inode = 1234;
    sockets[1].inode = 99;
    attach_processes(sockets, owners);
    EXPECT_EQ(sockets[0].processes.size(), 1u);
    EXPECT_TRUE(sockets[1].processes.empty());
}

}  // namespace
}  // namespace tpk::netlink
