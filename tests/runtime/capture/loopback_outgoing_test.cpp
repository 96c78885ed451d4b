// LiveOptions::ignore_outgoing on a live lo: two captures watch the same UDP
// datagrams, one as libpcap opens it, one with the option. Both must deliver
// the same frames, byte for byte; only the default one has had every datagram
// copied into its ring twice (the sent copy that libpcap then drops), which
// pcap_stats' "received by filter" counts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "capture/source.h"
#include "util/fd.h"

namespace {

using tpk::capture::RawFrame;
using tpk::capture::LiveOptions;
using tpk::capture::Source;

constexpr int kDatagrams = 25;

struct Collected : tpk::capture::FrameSink {
    std::vector<std::vector<std::byte>> frames;
    tpk::Status on_frame(const RawFrame& f) override {
        frames.emplace_back(f.data.begin(), f.data.end());
        return {};
    }
};

tpk::UniqueFd udp_socket_on_loopback(sockaddr_in* bound) {
    tpk::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(bound), &len) != 0)
        return {};
    return fd;
}

tpk::Result<Source> open_lo(bool ignore_outgoing, const std::string& filter) {
    LiveOptions o;
    o.interface = "lo";
    o.ignore_outgoing = ignore_outgoing;
    auto s = Source::open_live(o);
    if (!s) return s;
    if (auto ok = s->set_filter(filter); !ok) return ok.error();
    return s;
}

// What the ring holds now: run() drains it, then sees the stop fd and returns.
std::vector<std::vector<std::byte>> drain(Source& s) {
    tpk::UniqueFd stop(::eventfd(1, EFD_CLOEXEC));
    Collected c;
    auto ok = s.run(c, 0, stop.get());
    EXPECT_TRUE(ok) << ok.error().message();
    return c.frames;
}

std::uint64_t received_by_filter(const Source& s) {
    auto st = s.stats();
    EXPECT_TRUE(st) << st.error().message();
    return st ? st->received_by_filter : 0;
}

TEST(LoopbackCapture, IgnoringOutgoingCopiesKeepsTheSameFramesCopiedOnce) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs CAP_NET_RAW; run as root";
    sockaddr_in to{}, from{};
    auto receiver = udp_socket_on_loopback(&to);
    auto sender = udp_socket_on_loopback(&from);
    ASSERT_TRUE(receiver && sender);
    const std::string filter = "udp and src port " + std::to_string(ntohs(from.sin_port)) +
                               " and dst port " + std::to_string(ntohs(to.sin_port));
    auto opened_both = open_lo(false, filter);
    auto opened_received = open_lo(true, filter);
    ASSERT_TRUE(opened_both) << opened_both.error().message();
    ASSERT_TRUE(opened_received) << opened_received.error().message();
    Source& both_copies = *opened_both;
    Source& received_copy = *opened_received;
    // Counters from here on: anything lo carried before the filters were set
    // is not ours.
    const std::uint64_t before_both = received_by_filter(both_copies);
    const std::uint64_t before_received = received_by_filter(received_copy);

    for (int i = 0; i < kDatagrams; ++i) {
        const std::string payload = "datagram " + std::to_string(i);
        ASSERT_EQ(::sendto(sender.get(), payload.data(), payload.size(), 0,
                           reinterpret_cast<sockaddr*>(&to), sizeof to),
                  static_cast<ssize_t>(payload.size()));
        char buf[64];
        // Delivered to the socket means it went through lo's receive path,
        // where packet sockets see it before IP does (__netif_receive_skb_core).
        ASSERT_EQ(::recv(receiver.get(), buf, sizeof buf, 0), static_cast<ssize_t>(payload.size()));
    }

    const auto frames_both = drain(both_copies);
    const auto frames_received = drain(received_copy);
    ASSERT_EQ(frames_both.size(), static_cast<std::size_t>(kDatagrams));
    ASSERT_EQ(frames_received.size(), frames_both.size());
    for (std::size_t i = 0; i < frames_both.size(); ++i)
        EXPECT_EQ(frames_received[i], frames_both[i]) << "frame " << i;

    EXPECT_EQ(received_by_filter(both_copies) - before_both, 2u * kDatagrams)
        << "libpcap on lo: every packet should reach the ring sent and received";
    EXPECT_EQ(received_by_filter(received_copy) - before_received,
              static_cast<std::uint64_t>(kDatagrams))
        << "with ignore_outgoing the kernel should copy each packet into the ring once";
}

}  // namespace
