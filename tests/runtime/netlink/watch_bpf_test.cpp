// `sockets --watch -t --port P` from the sock:inet_sock_set_state tracepoint
// (needs root/BPF): every transition of the handshake and the close is
// reported, in kernel time order, including the ones polling misses.
#include <gtest/gtest.h>
#include <unistd.h>

#include "integration/netlink/watch_scenario.h"

namespace tpk::test {
namespace {

bool has_change(const WatchRun& run, std::uint16_t port, const char* from, const char* to) {
    for (const auto& c : run.changes)
        if (c["local"]["port"] == port && c["from"] == from && c["to"] == to) return true;
    return false;
}

TEST(WatchTracepoint, ReportsEveryTransitionOfHandshakeAndClose) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF + CAP_PERFMON); run as root";
    WatchRun run = run_watch_scenario({});
    if (run.source == "poll") GTEST_SKIP() << "BPF unavailable here; the command fell back to polling";
    ASSERT_EQ(run.source, "bpf");
    std::string seen;
    for (const auto& c : run.changes) seen += c.dump() + "\n";
    ASSERT_TRUE(run.saw_established) << "client port " << run.client_port << ", changes:\n" << seen;
    ASSERT_TRUE(run.saw_close) << "client port " << run.client_port << ", changes:\n" << seen;
    EXPECT_TRUE(has_change(run, run.client_port, "SYN-SENT", "ESTAB"));
    EXPECT_TRUE(has_change(run, run.server_port, "LISTEN", "SYN-RECV"));
    EXPECT_TRUE(has_change(run, run.server_port, "SYN-RECV", "ESTAB"));
    EXPECT_TRUE(has_change(run, run.client_port, "ESTAB", "FIN-WAIT-1"));
    // connect() sets SYN-SENT before the source port is chosen: local port 0.
    EXPECT_TRUE(has_change(run, 0, "CLOSE", "SYN-SENT"));
    std::uint64_t previous = 0;
    for (const auto& c : run.changes) {
        EXPECT_EQ(c["source"], "bpf");
        EXPECT_GE(c["monotonic_ns"].get<std::uint64_t>(), previous);
        previous = c["monotonic_ns"].get<std::uint64_t>();
    }
    EXPECT_EQ(run.exit_code, 0);
}

}  // namespace
}  // namespace tpk::test
