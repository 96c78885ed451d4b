// 200 clients at once against one echo server process: each pipelines five
// messages of different sizes; every byte of every echo is checked, and the
// server counts exactly the messages sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <deque>
#include <string>
#include <vector>

#include "integration/lab/process.h"
#include "lab/framing.h"
#include "lab/payload.h"
#include "lab/transport.h"

namespace tpk::lab {
namespace {

using testing::Process;
using testing::ReadyFifo;
using testing::TempDir;

constexpr int kClients = 200;
constexpr int kMessagesPerClient = 5;

// 1 to 8000 bytes: some fit one segment, some need several.
std::size_t message_size(int client, int message) {
    return 1 + static_cast<std::size_t>(client * 37 + message * 1009) % 8000;
}

struct TestClient {
    UniqueFd fd;
    std::vector<std::byte> out;  // every message, framed for streams
    std::size_t sent = 0;
    std::deque<std::vector<std::byte>> pending_seqpacket;  // whole messages not yet sent
    FrameReader reader;
    int received = 0;
};

class ManyClients : public ::testing::TestWithParam<Transport> {
protected:
    void connect_all(Transport t, const Address& server, int epoll) {
        clients_.resize(kClients);
        for (int i = 0; i < kClients; ++i) {
            auto& c = clients_[i];
            c.fd.reset(::socket(socket_family(t), socket_type(t) | SOCK_NONBLOCK, 0));
            ASSERT_TRUE(c.fd.valid());
            int rc = ::connect(c.fd.get(), server.sa(), server.length);
            ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << "client " << i << ": " << errno;
            for (int m = 0; m < kMessagesPerClient; ++m) {
                auto payload = pattern_payload(message_size(i, m), static_cast<std::uint64_t>(m),
                                               static_cast<std::uint64_t>(i));
                if (is_byte_stream(t)) append_frame(c.out, payload);
                else c.pending_seqpacket.push_back(std::move(payload));
            }
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.u32 = static_cast<std::uint32_t>(i);
            ASSERT_EQ(::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd.get(), &ev), 0);
        }
    }

    // Sends what the socket takes now; true once everything is out.
    bool send_some(Transport t, TestClient& c) {
        if (is_byte_stream(t)) {
            while (c.sent < c.out.size()) {
                ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent,
                                   MSG_NOSIGNAL);
                if (n < 0) {
                    EXPECT_TRUE(errno == EAGAIN || errno == ENOTCONN) << "send: " << errno;
                    return false;
                }
                c.sent += static_cast<std::size_t>(n);
            }
            return true;
        }
        while (!c.pending_seqpacket.empty()) {
            auto& m = c.pending_seqpacket.front();
            if (::send(c.fd.get(), m.data(), m.size(), MSG_NOSIGNAL) < 0) {
                EXPECT_TRUE(errno == EAGAIN || errno == ENOTCONN) << "send: " << errno;
                return false;
            }
            c.pending_seqpacket.pop_front();
        }
        return true;
    }

    void check(int client, TestClient& c, const std::vector<std::byte>& echo) {
        int m = c.received++;
        ASSERT_LT(m, kMessagesPerClient) << "client " << client << " got an extra message";
        auto expected = pattern_payload(message_size(client, m), static_cast<std::uint64_t>(m),
                                        static_cast<std::uint64_t>(client));
        auto st = verify_echo(expected, echo, static_cast<std::uint64_t>(m));
        ASSERT_TRUE(st.ok()) << "client " << client << ": " << st.error().message();
    }

    void receive_some(Transport t, int client) {
        auto& c = clients_[client];
        std::vector<std::byte> buf(16384);
        // Stop at the last echo: once all clients have theirs the server
        // exits, and a further recv would see its EOF.
        while (c.received < kMessagesPerClient) {
            ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
            if (n < 0) {
                ASSERT_EQ(errno, EAGAIN) << "client " << client << " recv";
                return;
            }
            ASSERT_GT(n, 0) << "client " << client << ": server closed early";
            if (!is_byte_stream(t)) {
                check(client, c, {buf.begin(), buf.begin() + n});
                continue;
            }
            c.reader.feed({buf.data(), static_cast<std::size_t>(n)});
            for (;;) {
                auto msg = c.reader.next();
                ASSERT_TRUE(msg.ok());
                if (!*msg) break;
                check(client, c, **msg);
            }
        }
    }

    std::vector<TestClient> clients_;
};

TEST_P(ManyClients, EveryEchoIntactNothingLost) {
    Transport t = GetParam();
    TempDir dir;
    ReadyFifo ready(dir);
    std::string listen = is_unix(t) ? dir.file("echo.sock") : "0";
    Process server(dir, {"server", "-t", std::string(transport_name(t)), "-l", listen, "--echo",
                         "-q", "--backlog", "512", "-n",
                         std::to_string(kClients * kMessagesPerClient), "--ready-file",
                         ready.path()});
    auto address = parse_address(t, ready.wait(server));
    ASSERT_TRUE(address.ok());

    UniqueFd epoll(::epoll_create1(0));
    connect_all(t, *address, epoll.get());
    ASSERT_FALSE(HasFatalFailure());

    int finished = 0;
    while (finished < kClients) {
        epoll_event evs[64];
        int n = ::epoll_wait(epoll.get(), evs, 64, testing::kStepLimitMs);
        ASSERT_GT(n, 0) << "stuck: " << finished << " of " << kClients << " clients done";
        for (int e = 0; e < n; ++e) {
            int i = static_cast<int>(evs[e].data.u32);
            auto& c = clients_[i];
            if (evs[e].events & EPOLLOUT && send_some(t, c)) {
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u32 = evs[e].data.u32;
                ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
            }
            if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                int before = c.received;
                receive_some(t, i);
                ASSERT_FALSE(HasFatalFailure());
                if (before < kMessagesPerClient && c.received == kMessagesPerClient) {
                    ++finished;
                    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
                }
            }
        }
    }

    std::size_t total = 0;
    for (int i = 0; i < kClients; ++i)
        for (int m = 0; m < kMessagesPerClient; ++m) total += message_size(i, m);
    EXPECT_EQ(server.exit_code(), 0) << server.err();
    std::string summary = "server: answered " + std::to_string(kClients * kMessagesPerClient) +
                          " messages (" + std::to_string(total) + " bytes in, " +
                          std::to_string(total) + " bytes out) from " +
                          std::to_string(kClients) + " clients";
    EXPECT_NE(server.out().find(summary), std::string::npos) << server.out();
}

INSTANTIATE_TEST_SUITE_P(ConnectionTransports, ManyClients,
                         ::testing::Values(Transport::tcp, Transport::tcp6,
                                           Transport::unix_stream, Transport::unix_seqpacket),
                         [](const auto& info) {
                             std::string name(transport_name(info.param));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

}  // namespace
}  // namespace tpk::lab
