// src/journey/explain.cpp on the recorded runs: every hop of every packet is
// explained, and the sentences carry the facts of their own hop and packet.
#include "journey/explain.h"

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "support/recordings.h"

namespace tpk::journey {
namespace {

using tpk::testing::kRecordings;
using tpk::testing::replay;
using K = model::EventKind;

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

const Hop* find_hop(const Packet& p, K event) {
    for (const auto& h : p.hops)
        if (h.event == event) return &h;
    return nullptr;
}

std::vector<std::string> recordings() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(kRecordings)) {
        if (e.path().extension() != ".jsonl") continue;
        // The 200k-packet run takes seconds to correlate; the others cover
        // every hop kind it has.
        if (e.file_size() > (2u << 20)) continue;
        names.push_back(e.path().filename().string());
    }
    return names;
}

class EveryRecording : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryRecording, EveryHopAndPacketIsExplained) {
    auto j = replay(GetParam());
    explain(j);
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& p = j.packets[i];
        EXPECT_FALSE(p.explain.empty()) << "packet #" << i + 1;
        for (const auto& h : p.hops)
            EXPECT_FALSE(h.explain.empty())
                << "packet #" << i + 1 << " " << model::event_name(h.event);
    }
}

INSTANTIATE_TEST_SUITE_P(Recordings, EveryRecording, ::testing::ValuesIn(recordings()),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST(Explain, TcpDataSaysItsBytesItsWaitAndItsReader) {
    auto j = replay("journey-tcp.jsonl");
    explain(j);
    std::size_t data = 0;
    for (const auto& p : j.packets) {
        if (p.kind != PacketKind::data) continue;
        ++data;
        EXPECT_TRUE(contains(p.explain, std::to_string(p.payload_len) + " B of data")) << p.explain;
        const Hop* probe = find_hop(p, K::tcp_probe);
        ASSERT_NE(probe, nullptr);
        EXPECT_TRUE(contains(probe->explain, fmt::format("bytes {}:{}", p.rel_seq,
                                                         p.rel_seq + p.payload_len)))
            << probe->explain;
        const Hop* copy = find_hop(p, K::skb_copy_datagram_iovec);
        ASSERT_NE(copy, nullptr);
        EXPECT_TRUE(contains(copy->explain, "in the receive queue")) << copy->explain;
        const Hop* rx = find_hop(p, K::netif_rx);
        ASSERT_NE(rx, nullptr);
        EXPECT_TRUE(contains(rx->explain, "lo hands the frame straight back")) << rx->explain;
    }
    EXPECT_EQ(data, 2u);
}

TEST(Explain, UnixSaysItHasNoIpAndNoDevice) {
    auto j = replay("journey-unix.jsonl");
    explain(j);
    ASSERT_FALSE(j.packets.empty());
    for (const auto& p : j.packets) {
        EXPECT_TRUE(contains(p.explain, "(no TCP, no IP, no device)")) << p.explain;
        if (const Hop* copy = find_hop(p, K::skb_copy_datagram_iovec)) {
            EXPECT_TRUE(contains(copy->explain, "UNIX")) << copy->explain;
        }
    }
}

TEST(Explain, DropsAndRetransmitsKeepTheirFacts) {
    auto j = replay("trace-tcp-retransmit.jsonl");
    explain(j);
    bool dropped = false, resent = false;
    for (const auto& p : j.packets) {
        if (p.dropped) {
            dropped = true;
            EXPECT_TRUE(contains(p.explain, "dropped (" + p.drop_reason + ")")) << p.explain;
            const Hop* free = find_hop(p, K::kfree_skb);
            ASSERT_NE(free, nullptr);
            EXPECT_TRUE(contains(free->explain, p.drop_reason)) << free->explain;
        }
        if (p.retransmit) {
            resent = true;
            EXPECT_TRUE(contains(p.explain, "a retransmission")) << p.explain;
        }
    }
    EXPECT_TRUE(dropped);
    EXPECT_TRUE(resent);
}

TEST(Explain, StateChangesSayWhatTheStateMeans) {
    auto j = replay("journey-tcp.jsonl");
    explain(j);
    bool established = false;
    for (const auto& p : j.packets)
        for (const auto& h : p.hops)
            if (h.event == K::inet_sock_set_state && h.new_state == 1) {
                established = true;
                EXPECT_TRUE(contains(h.explain, "the handshake is complete")) << h.explain;
            }
    EXPECT_TRUE(established);
}

TEST(Explain, IsIdempotent) {
    auto j = replay("journey-udp.jsonl");
    explain(j);
    auto first = j.packets;
    explain(j);
    ASSERT_EQ(first.size(), j.packets.size());
    for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].explain, j.packets[i].explain);
}

}  // namespace
}  // namespace tpk::journey
