// lab/call_timing.h: the lab's system calls reported with the kernel's names,
// their fd, size, return value and times, only while an observer is
// installed; errno survives the report. Real sockets on 127.0.0.1.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lab/call_timing.h"
#include "lab/transport.h"

namespace tpk::lab {
namespace {

struct Seen {
    std::string name;
    int fd;
    std::uint64_t size;
    long ret;
    bool ordered;
    int flags;
};

class CallTiming : public ::testing::Test {
protected:
    void SetUp() override {
        observe_calls([this](const TimedCall& c) {
            seen.push_back(
                {c.name, c.fd, c.size, c.ret, c.enter_ns <= c.exit_ns && c.enter_ns > 0, c.flags});
        });
    }
    void TearDown() override { observe_calls({}); }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& s : seen) out.push_back(s.name);
        return out;
    }

    std::vector<Seen> seen;
};

TEST_F(CallTiming, ServerAndClientCallsInOrderWithTheirResults) {
    auto server = open_server(Transport::tcp, *parse_address(Transport::tcp, "0"), {});
    ASSERT_TRUE(server.ok()) << server.error().message();
    auto client = open_client(Transport::tcp, server->address);
    ASSERT_TRUE(client.ok()) << client.error().message();
    EXPECT_EQ(names(), (std::vector<std::string>{"socket", "setsockopt", "bind", "listen",
                                                  "socket", "connect"}));
    ASSERT_EQ(seen.size(), 6u);
    EXPECT_EQ(seen[0].fd, -1);                      // no socket before socket()
    EXPECT_EQ(seen[0].ret, server->fd.get());       // socket() returned the server's fd
    EXPECT_EQ(seen[2].fd, server->fd.get());
    EXPECT_EQ(seen[3].size, 128u);                  // the default backlog
    EXPECT_EQ(seen[5].fd, client->fd.get());
    EXPECT_EQ(seen[5].ret, 0);
    for (const auto& s : seen) EXPECT_TRUE(s.ordered) << s.name;
}

TEST_F(CallTiming, AFailedCallReportsMinusErrnoAndKeepsErrno) {
    // A port that was free a moment ago: nobody listens, connect is refused.
    Address closed;
    {
        auto probe = open_server(Transport::tcp, *parse_address(Transport::tcp, "0"), {});
        ASSERT_TRUE(probe.ok());
        closed = probe->address;
    }
    seen.clear();
    auto client = open_client(Transport::tcp, closed);
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.error().code, ECONNREFUSED) << client.error().message();
    ASSERT_EQ(names(), (std::vector<std::string>{"socket", "connect"}));
    EXPECT_EQ(seen[1].ret, -ECONNREFUSED);
}

// A peek is reported with its flags: the journey must not take it for the read.
TEST_F(CallTiming, FlagsTravelWithTheCall) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    ASSERT_EQ(::send(sv[0], "hi", 2, 0), 2);
    const int peek = MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT;
    auto n = timed_call(
        "recvfrom", sv[1], 0, [&] { return ::recv(sv[1], nullptr, 0, peek); }, peek);
    EXPECT_EQ(n, 2);  // MSG_TRUNC: the datagram's whole length
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].flags, peek);
    EXPECT_EQ(seen[0].ret, 2);
    ::close(sv[0]);
    ::close(sv[1]);
}

TEST_F(CallTiming, NothingIsReportedWithoutAnObserver) {
    observe_calls({});
    auto server = open_server(Transport::udp, *parse_address(Transport::udp, "0"), {});
    ASSERT_TRUE(server.ok());
    EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace tpk::lab
