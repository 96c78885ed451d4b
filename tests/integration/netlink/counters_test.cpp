// `sockets --counters`: a listener whose accept queue is full drops the next
// SYN, and ListenOverflows / ListenDrops rise. Other tests share the network
// namespace, so counters are checked to rise by at least our share.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "integration/netlink/peer_tools.h"
#include "util/fd.h"

namespace tpk::test {
namespace {

std::int64_t counter(const std::string& name) {
    auto run = run_command(tracepacket("sockets --counters --json"));
    auto j = nlohmann::json::parse(lines_of(run.out).at(0));
    return j["values"][name].get<std::int64_t>();
}

TEST(Counters, AFullAcceptQueueShowsAsListenOverflows) {
    std::int64_t overflows_before = counter("TcpExt.ListenOverflows");
    std::int64_t drops_before = counter("TcpExt.ListenDrops");

    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    // backlog 0: the queue counts as full once it holds one connection
    // (sk_acceptq_is_full: ack_backlog > max_ack_backlog).
    ASSERT_EQ(::listen(listener.get(), 0), 0);
    socklen_t len = sizeof a;
    getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ::connect(clients.back().get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    // The dropped SYNs are counted in softirq; wait (bounded) for them.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (counter("TcpExt.ListenOverflows") < overflows_before + 1 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(counter("TcpExt.ListenOverflows"), overflows_before + 1);
    EXPECT_GE(counter("TcpExt.ListenDrops"), drops_before + 1) << "ListenDrops includes overflows";
}

TEST(Counters, IntervalPrintsDeltasAndStopsAfterCount) {
    auto run = run_command(tracepacket("sockets --counters --interval 0.05 --count 3 --json"));
    ASSERT_EQ(run.exit_code, 0);
    auto lines = json_lines(run.out);
    ASSERT_EQ(lines.size(), 4u) << run.out;
    EXPECT_EQ(lines[0]["type"], "counters");
    for (std::size_t i = 1; i < lines.size(); ++i) {
        EXPECT_EQ(lines[i]["type"], "counter_deltas");
        EXPECT_GE(lines[i]["values"]["Tcp.ActiveOpens"].get<std::int64_t>(), 0) << "counters only grow";
        EXPECT_GT(lines[i]["monotonic_ns"].get<std::uint64_t>(), lines[i - 1]["monotonic_ns"].get<std::uint64_t>());
    }
}

}  // namespace
}  // namespace tpk::test
