// The correlator on event recordings made from real runs on this kernel
// (tracepacket journey --record-raw, tests/fixtures/events/6.18-x86_64/):
// exact journeys, no privileges needed.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "journey/correlator.h"
#include "support/journey_text.h"
#include "support/recordings.h"

namespace tpk::journey {
namespace {

using testing::recording;
using testing::replay;
using testing::hop_names;
using testing::tcp_flags;

struct Expected {
    const char* kind;
    Direction direction;
    const char* flags;
    std::uint32_t rel_seq;
    std::uint32_t rel_ack;
    std::uint32_t payload_len;
    Cause cause;
    const char* send_syscall;  // "" when none
    const char* recv_syscall;
    const char* hops;
};

constexpr auto kC2S = Direction::client_to_server;
constexpr auto kS2C = Direction::server_to_client;

// The default journey over TCP: handshake, one message each way, teardown.
const std::vector<Expected> kTcp = {
    {"handshake", kC2S, "S", 0, 0, 0, Cause::syscall, "connect", "",
     "syscall_enter fib_table_lookup fib_table_lookup fib_table_lookup net_dev_queue "
     "net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb consume_skb"},
    {"handshake", kS2C, "S.", 0, 1, 0, Cause::reply, "", "",
     "fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb "
     "inet_sock_set_state"},
    {"handshake", kC2S, ".", 1, 1, 0, Cause::reply, "", "",
     "net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb "
     "inet_sock_set_state inet_sock_set_state"},
    {"data", kC2S, "P.", 1, 1, 22, Cause::syscall, "sendto", "recvfrom",
     "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit "
     "netif_receive_skb tcp_probe sk_data_ready sock_send_length skb_copy_datagram_iovec "
     "sock_recv_length syscall_exit"},
    {"ack", kS2C, ".", 1, 23, 0, Cause::reply, "", "",
     "net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb tcp_probe"},
    {"data", kS2C, "P.", 1, 23, 22, Cause::syscall, "sendto", "recvfrom",
     "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit "
     "netif_receive_skb tcp_probe sk_data_ready sock_send_length skb_copy_datagram_iovec "
     "sock_recv_length syscall_exit"},
    {"ack", kC2S, ".", 23, 23, 0, Cause::reply, "", "",
     "net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb tcp_probe"},
    {"teardown", kS2C, "F.", 23, 23, 0, Cause::syscall, "close", "",
     "syscall_enter net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb "
     "tcp_probe inet_sock_set_state sk_data_ready"},
    {"teardown", kC2S, "F.", 23, 24, 0, Cause::syscall, "close", "",
     "syscall_enter net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb "
     "inet_sock_set_state inet_sock_set_state kfree_skb"},
    {"teardown", kS2C, ".", 24, 24, 0, Cause::reply, "", "",
     "net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit netif_receive_skb "
     "inet_sock_set_state"},
};

void expect_packets(const Journey& j, const std::vector<Expected>& want) {
    ASSERT_EQ(j.packets.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE("packet #" + std::to_string(i + 1));
        const auto& p = j.packets[i];
        const auto& w = want[i];
        EXPECT_EQ(packet_kind_name(p.kind), w.kind);
        EXPECT_EQ(p.direction, w.direction);
        if (p.flow.protocol == 6) { EXPECT_EQ(tcp_flags(p.tcp_flags), w.flags); }
        EXPECT_EQ(p.rel_seq, w.rel_seq);
        EXPECT_EQ(p.rel_ack, w.rel_ack);
        EXPECT_EQ(p.payload_len, w.payload_len);
        EXPECT_EQ(p.cause, w.cause);
        EXPECT_EQ(p.send_syscall == kNone ? "" : j.syscalls[p.send_syscall].name, w.send_syscall);
        EXPECT_EQ(p.recv_syscall == kNone ? "" : j.syscalls[p.recv_syscall].name, w.recv_syscall);
        EXPECT_EQ(hop_names(p), w.hops);
    }
}

std::vector<std::string> states_of(const Journey& j, Role role) {
    std::vector<std::string> out;
    for (const auto& s : j.states)
        if (s.role == role)
            out.push_back(std::string(model::tcp_state_name(s.old_state)) + ">" +
                          std::string(model::tcp_state_name(s.new_state)));
    return out;
}

TEST(CorrelatorTcp, ExactPacketsHopsAndCauses) {
    auto j = replay("journey-tcp.jsonl");
    expect_packets(j, kTcp);
}

TEST(CorrelatorTcp, EveryPacketMatchesItsOwnFrameInOrder) {
    auto j = replay("journey-tcp.jsonl");
    EXPECT_EQ(j.stats.frames, 10u);
    EXPECT_EQ(j.stats.frames_matched, 10u);
    EXPECT_TRUE(j.unmatched_frames.empty());
    std::set<std::size_t> used;
    std::size_t last = 0;
    for (const auto& p : j.packets) {
        ASSERT_TRUE(p.frame.has_value());
        EXPECT_TRUE(used.insert(p.frame->index).second) << "frame matched twice";
        EXPECT_GE(p.frame->index, last) << "frames out of packet order";
        last = p.frame->index;
        EXPECT_EQ(p.frame->seq, p.seq);
        EXPECT_EQ(p.frame->ack, p.ack);
        EXPECT_EQ(p.frame->tcp_flags, p.tcp_flags);
        EXPECT_EQ(p.frame->payload_len, p.payload_len);
        EXPECT_EQ(p.frame->flow, p.flow);
    }
}

// Both ends closing at once: the client's close() enters first, but the
// server's FIN reaches the wire first (the race CI met). The recorded run,
// retimed as if the client had read the reply and entered close() 1 ns before
// the server did, then been preempted: its FIN keeps its recorded transmit,
// after the server's. Packets must still come in wire order, as a capture
// shows them.
TEST(CorrelatorTcp, PacketsAreInWireOrderWhenBothEndsCloseAtOnce) {
    auto input = recording("journey-tcp.jsonl");
    auto& events = input.events;
    std::vector<model::Event*> closes;
    for (auto& e : events)
        if (e.kind == model::EventKind::syscall_enter && e.syscall == "close" && e.fd == 63)
            closes.push_back(&e);
    ASSERT_EQ(closes.size(), 2u);
    const std::uint64_t server_close = closes[0]->t_ns;
    const std::uint64_t client_close = closes[1]->t_ns;
    const std::uint32_t client = closes[1]->pid;
    ASSERT_NE(closes[0]->pid, client);
    // The client's poll() and recvfrom() of the reply move into the 1.5 us
    // before the server's close(), keeping their order.
    std::vector<model::Event*> reading;
    for (auto& e : events)
        if (e.pid == client && e.t_ns > server_close && e.t_ns < client_close)
            reading.push_back(&e);
    ASSERT_FALSE(reading.empty());
    const std::uint64_t first = reading.front()->t_ns;
    const std::uint64_t span = client_close - first;
    for (auto* e : reading) e->t_ns = server_close - 1500 + (e->t_ns - first) * 1400 / span;
    closes[1]->t_ns = server_close - 1;
    auto j = correlate(std::move(input));

    ASSERT_EQ(j.packets.size(), kTcp.size());
    std::size_t last = 0;
    for (const auto& p : j.packets) {
        ASSERT_TRUE(p.frame.has_value());
        EXPECT_GE(p.frame->index, last) << "packets out of wire order";
        last = p.frame->index;
    }
    const auto& server_fin = j.packets[7];
    const auto& client_fin = j.packets[8];
    EXPECT_EQ(tcp_flags(server_fin.tcp_flags), "F.");
    EXPECT_EQ(server_fin.direction, kS2C);
    EXPECT_EQ(tcp_flags(client_fin.tcp_flags), "F.");
    EXPECT_EQ(client_fin.direction, kC2S);
    // The client's FIN still starts at its close(), before the server's.
    ASSERT_FALSE(client_fin.hops.empty());
    EXPECT_EQ(client_fin.hops.front().event, model::EventKind::syscall_enter);
    EXPECT_LT(client_fin.hops.front().t_ns, server_fin.hops.front().t_ns);
}

TEST(CorrelatorTcp, HopsAreInTimeOrderAndMeasuredFromTheCause) {
    auto j = replay("journey-tcp.jsonl");
    for (const auto& p : j.packets) {
        for (std::size_t k = 1; k < p.hops.size(); ++k)
            EXPECT_LE(p.hops[k - 1].t_ns, p.hops[k].t_ns);
        EXPECT_EQ(p.hops.front().since_cause_ns,
                  static_cast<std::int64_t>(p.hops.front().t_ns - p.cause_ns));
        if (p.cause == Cause::syscall) {
            EXPECT_EQ(p.cause_ns, j.syscalls[p.send_syscall].enter_ns);
            EXPECT_EQ(p.hops.front().since_cause_ns, 0);
        }
    }
}

TEST(CorrelatorTcp, DataPacketsSpendTimeInEveryLayerOnTheirPath) {
    auto j = replay("journey-tcp.jsonl");
    const auto& data = j.packets[3];
    std::vector<std::string> path;
    for (const auto& l : data.layers)
        path.push_back(std::string(l.receive_side ? "rx:" : "tx:") +
                       std::string(model::layer_name(l.layer)));
    EXPECT_EQ(path, (std::vector<std::string>{"tx:application", "tx:transport", "tx:device",
                                               "rx:receive", "rx:transport", "rx:socket",
                                               "rx:application"}));
    std::uint64_t sum = 0;
    for (const auto& l : data.layers) sum += l.duration_ns;
    // The spans tile the path: from the send's enter to the recv's return.
    EXPECT_EQ(sum, j.syscalls[data.recv_syscall].exit_ns - j.syscalls[data.send_syscall].enter_ns);
    EXPECT_EQ(j.stats.data_packets, 2u);
    EXPECT_FALSE(j.layer_summary.empty());
}

TEST(CorrelatorTcp, StatesOfBothSockets) {
    auto j = replay("journey-tcp.jsonl");
    EXPECT_EQ(states_of(j, Role::client),
              (std::vector<std::string>{"CLOSE>SYN-SENT", "SYN-SENT>ESTABLISHED",
                                        "ESTABLISHED>CLOSE-WAIT", "CLOSE-WAIT>LAST-ACK",
                                        "LAST-ACK>CLOSE"}));
    EXPECT_EQ(states_of(j, Role::server),
              (std::vector<std::string>{"CLOSE>LISTEN", "LISTEN>SYN-RECV",
                                        "SYN-RECV>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1",
                                        "LISTEN>CLOSE", "FIN-WAIT-1>FIN-WAIT-2",
                                        "FIN-WAIT-2>CLOSE"}));
    // SYN-SENT -> ESTABLISHED happens while the client receives the SYN-ACK,
    // inside its own connect().
    const auto& established = j.states[2];
    ASSERT_NE(established.packet, kNone);
    EXPECT_EQ(j.packets[established.packet].tcp_flags, model::kSyn | model::kAck);
    ASSERT_NE(established.syscall, kNone);
    EXPECT_EQ(j.syscalls[established.syscall].name, "connect");
}

TEST(CorrelatorTcp, RouteLookupsHappenAtConnectNotPerDataPacket) {
    auto j = replay("journey-tcp.jsonl");
    ASSERT_EQ(j.routes.size(), 1u);
    std::size_t in_connect = 0;
    for (const auto& f : j.routes[0].lookups) {
        if (f.during_syscall != kNone && j.syscalls[f.during_syscall].name == "connect")
            ++in_connect;
        if (f.packet != kNone) { EXPECT_EQ(j.packets[f.packet].kind, PacketKind::handshake); }
    }
    EXPECT_GE(in_connect, 1u);
    for (const auto& p : j.packets)
        if (p.kind == PacketKind::data) {
            for (const auto& h : p.hops) EXPECT_NE(h.event, model::EventKind::fib_table_lookup);
        }
}

TEST(CorrelatorTcp, SyscallsKnowTheirSocketsAndRoles) {
    auto j = replay("journey-tcp.jsonl");
    EXPECT_EQ(j.connections.size(), 1u);
    const auto& c = j.connections[0];
    EXPECT_NE(c.client_sk, 0u);
    EXPECT_NE(c.server_sk, 0u);
    EXPECT_NE(c.listen_sk, 0u);
    for (const auto& s : j.syscalls) {
        EXPECT_NE(s.role, Role::unknown) << s.name;
        if (s.name == "sendto" || s.name == "recvfrom") {
            EXPECT_TRUE(s.sk == c.client_sk || s.sk == c.server_sk) << s.name;
            EXPECT_EQ(s.stream_end - s.stream_begin, 22u);
        }
    }
    EXPECT_EQ(j.stats.lost_events, 0u);
}

TEST(CorrelatorTcp6, SameShapeWithoutTracedRouteLookups) {
    auto j = replay("journey-tcp6.jsonl");
    ASSERT_EQ(j.packets.size(), 10u);
    EXPECT_EQ(j.connections[0].transport, "tcp6");
    for (std::size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(packet_kind_name(j.packets[i].kind), kTcp[i].kind);
        EXPECT_EQ(j.packets[i].direction, kTcp[i].direction);
        EXPECT_EQ(j.packets[i].cause, kTcp[i].cause);
    }
    EXPECT_EQ(hop_names(j.packets[0]),
              "syscall_enter net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit "
              "netif_receive_skb consume_skb");
    EXPECT_EQ(j.stats.frames_matched, 10u);
}

TEST(CorrelatorUdp, TwoDatagramsNoHandshakeNoStates) {
    auto j = replay("journey-udp.jsonl");
    expect_packets(
        j, {
               // The client connect()ed: its datagram uses the cached route.
               {"datagram", kC2S, "", 0, 0, 18, Cause::syscall, "sendto", "recvfrom",
                "syscall_enter net_dev_queue net_dev_start_xmit netif_rx net_dev_xmit "
                "netif_receive_skb sk_data_ready sock_send_length sock_recv_length syscall_exit"},
               // The server answers with sendto() on an unconnected socket: one
               // route lookup per datagram.
               {"datagram", kS2C, "", 0, 0, 18, Cause::syscall, "sendto", "recvfrom",
                "syscall_enter fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx "
                "net_dev_xmit netif_receive_skb sk_data_ready sock_send_length sock_recv_length "
                "syscall_exit"},
           });
    EXPECT_TRUE(j.states.empty());
    EXPECT_EQ(j.stats.frames_matched, 2u);
}

const char* kUnixHops =
    "syscall_enter sk_data_ready sock_send_length skb_copy_datagram_iovec consume_skb "
    "sock_recv_length syscall_exit";

TEST(CorrelatorUnix, MessagesSkipTransportNetworkAndDevice) {
    auto j = replay("journey-unix.jsonl");
    expect_packets(j, {
                          {"message", kC2S, "", 0, 0, 22, Cause::syscall, "sendto", "recvfrom",
                           kUnixHops},
                          {"message", kS2C, "", 0, 0, 22, Cause::syscall, "sendto", "recvfrom",
                           kUnixHops},
                      });
    for (const auto& p : j.packets) {
        EXPECT_FALSE(p.frame.has_value());
        for (const auto& h : p.hops) {
            EXPECT_NE(h.layer, model::Layer::transport);
            EXPECT_NE(h.layer, model::Layer::network);
            EXPECT_NE(h.layer, model::Layer::device);
            EXPECT_NE(h.layer, model::Layer::receive);
        }
    }
    ASSERT_EQ(j.connections.size(), 1u);
    EXPECT_EQ(j.connections[0].transport, "unix");
    EXPECT_TRUE(j.states.empty());
}

TEST(CorrelatorUnix, DatagramPeekIsNotTheRead) {
    auto j = replay("journey-unix-dgram.jsonl");
    ASSERT_EQ(j.packets.size(), 2u);
    for (const auto& p : j.packets) {
        // The lab peeks (MSG_PEEK) for the size, then reads: two copies, one read.
        EXPECT_EQ(p.payload_len, 18u);
        ASSERT_NE(p.recv_syscall, kNone);
        EXPECT_EQ(j.syscalls[p.recv_syscall].flags & 2u, 0u);
        EXPECT_EQ(j.syscalls[p.recv_syscall].ret, 18);
    }
}

TEST(CorrelatorLostEvents, CountedAndPacketsStillConsistent) {
    auto j = replay("journey-tcp-lost.jsonl");
    EXPECT_EQ(j.stats.lost_events, 755u);
    ASSERT_FALSE(j.notes.empty());
    EXPECT_NE(j.notes.back().find("755"), std::string::npos);
    // The capture saw every frame; the kernel side lost whole packets.
    EXPECT_EQ(j.stats.frames, 88u);
    EXPECT_EQ(j.packets.size(), 70u);
    EXPECT_EQ(j.stats.frames_matched, 70u);
    EXPECT_EQ(j.unmatched_frames.size(), 18u);
    std::size_t unknown = 0;
    for (const auto& p : j.packets) {
        for (std::size_t k = 1; k < p.hops.size(); ++k)
            EXPECT_LE(p.hops[k - 1].t_ns, p.hops[k].t_ns);
        // A reused skb address never mixes two packets' headers.
        if (p.frame) { EXPECT_EQ(p.frame->seq, p.seq); }
        if (p.cause == Cause::unknown) {
            ++unknown;
            bool has_queue = false;
            for (const auto& h : p.hops) has_queue |= h.event == model::EventKind::net_dev_queue;
            EXPECT_FALSE(has_queue) << "a packet whose transmit was seen has a known cause";
        }
    }
    EXPECT_GT(unknown, 0u);
}

// Two 200 000-byte messages each way: GSO skbs segmented before transmit,
// segments merged in the receive queue, data sent when ACKs open the window.
TEST(CorrelatorTcpBulk, EverySegmentIsAFrameAndEveryByteHasItsSyscalls) {
    auto j = replay("journey-tcp-200k.jsonl");
    EXPECT_EQ(j.stats.frames, 40u);
    EXPECT_EQ(j.stats.frames_matched, 40u);
    EXPECT_EQ(j.packets.size(), 40u);
    std::uint64_t bytes = 0;
    std::size_t gso = 0, ack_clocked = 0, no_copy = 0;
    for (const auto& p : j.packets) {
        ASSERT_TRUE(p.frame.has_value());
        for (const auto& h : p.hops) gso += h.detail.find("GSO") != std::string::npos;
        if (p.kind != PacketKind::data) continue;
        bytes += p.payload_len;
        EXPECT_NE(p.send_syscall, kNone);
        EXPECT_NE(p.recv_syscall, kNone);
        if (p.send_syscall != kNone) { EXPECT_EQ(j.syscalls[p.send_syscall].name, "sendto"); }
        ack_clocked += p.cause == Cause::reply;
        bool copied = false;
        for (const auto& h : p.hops) copied |= h.event == model::EventKind::skb_copy_datagram_iovec;
        no_copy += !copied;
    }
    EXPECT_EQ(bytes, 4u * (200000 + 4));  // 2 messages each way, 4-byte frame headers
    EXPECT_EQ(gso, 6u);
    EXPECT_EQ(ack_clocked, 9u);
    // Five segments were merged into the skb ahead of them in the receive
    // queue: each has the copy of that skb that took its bytes.
    EXPECT_EQ(no_copy, 0u);
}

TEST(Correlator, NoEventsNoJourney) {
    auto j = correlate({});
    EXPECT_TRUE(j.packets.empty());
    EXPECT_TRUE(j.connections.empty());
    EXPECT_EQ(j.stats.lost_events, 0u);
}

}  // namespace
}  // namespace tpk::journey

namespace tpk::journey {
namespace {

// A streamed trace's chunk may hold a connection's late packets without its
// SYN (its context dropped once it closed): the server's reply first, here.
// Taken for the first sender's, the server was the client and the stream
// printed the connection a second time, reversed; the ports that an earlier
// chunk's SYN named a server's (earlier_server_ports) orient it.
TEST(Correlator, EarlierServerPortsOrientAConnectionWithoutItsSyn) {
    auto input = recording("journey-tcp.jsonl");
    const std::uint16_t port = input.server_port;
    ASSERT_NE(port, 0);
    input.server_port = 0;   // as trace has it
    const Journey whole = correlate(input);
    std::uint64_t reply = 0;
    for (const auto& p : whole.packets)
        if (p.direction == Direction::server_to_client && p.payload_len > 0 && !p.hops.empty()) {
            reply = p.hops.front().t_ns;
            break;
        }
    ASSERT_NE(reply, 0u) << "no reply in the recording";
    CorrelatorInput late = input;
    std::erase_if(late.events, [&](const model::Event& e) { return e.t_ns < reply; });
    const Journey guessed = correlate(late);
    ASSERT_EQ(guessed.connections.size(), 1u);
    EXPECT_EQ(guessed.connections[0].client_to_server.src.port, port)
        << "the first sender (the server) taken for the client: what the hint is for";
    late.earlier_server_ports.insert(port);
    const Journey oriented = correlate(late);
    ASSERT_EQ(oriented.connections.size(), 1u);
    EXPECT_EQ(oriented.connections[0].client_to_server.dst.port, port);
    for (const auto& p : oriented.packets) {
        if (p.payload_len > 0 && p.flow.src.port == port) {
            EXPECT_EQ(p.direction, Direction::server_to_client);
        }
    }
}

}  // namespace
}  // namespace tpk::journey
