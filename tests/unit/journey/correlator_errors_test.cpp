// Resets and retransmits, replayed from `tracepacket trace --record-raw` runs
// of tests/runtime/journey/tcp_errors_test.cpp's python programs (see
// tests/fixtures/events/README.md): exact journeys, no privileges needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "journey/correlator.h"
#include "support/journey_text.h"
#include "support/recordings.h"

namespace tpk::journey {
namespace {

using testing::recording;
using testing::replay;
using testing::tcp_flags;

// Hop names with "<" after the receive side's.
std::string hop_names(const Packet& p) { return testing::hop_names(p, true); }

const Hop* find_hop(const Packet& p, model::EventKind e) {
    for (const auto& h : p.hops)
        if (h.event == e) return &h;
    return nullptr;
}

struct Expected {
    const char* kind;
    Direction direction;
    const char* flags;
    std::uint32_t rel_seq;
    std::uint32_t rel_ack;
    std::uint32_t payload_len;
    Cause cause;
    const char* hops;
};

constexpr auto kC2S = Direction::client_to_server;
constexpr auto kS2C = Direction::server_to_client;

void expect_packets(const Journey& j, const std::vector<Expected>& want) {
    ASSERT_EQ(j.packets.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& p = j.packets[i];
        const auto& w = want[i];
        SCOPED_TRACE("packet #" + std::to_string(i + 1));
        EXPECT_EQ(packet_kind_name(p.kind), w.kind);
        EXPECT_EQ(p.direction, w.direction);
        EXPECT_EQ(tcp_flags(p.tcp_flags), w.flags);
        EXPECT_EQ(p.rel_seq, w.rel_seq);
        EXPECT_EQ(p.rel_ack, w.rel_ack);
        EXPECT_EQ(p.payload_len, w.payload_len);
        EXPECT_EQ(p.cause, w.cause);
        EXPECT_EQ(hop_names(p), w.hops);
    }
}

// Every packet that reached a device has its own frame, with its headers.
void expect_frames_match(const Journey& j) {
    std::vector<std::size_t> used;
    for (const auto& p : j.packets) {
        if (!p.frame) continue;
        EXPECT_EQ(p.frame->seq, p.seq);
        EXPECT_EQ(p.frame->ack, p.ack);
        EXPECT_EQ(p.frame->tcp_flags, p.tcp_flags);
        EXPECT_EQ(p.frame->payload_len, p.payload_len);
        EXPECT_EQ(p.frame->flow.src, p.flow.src);
        used.push_back(p.frame->index);
    }
    std::sort(used.begin(), used.end());
    EXPECT_EQ(std::adjacent_find(used.begin(), used.end()), used.end()) << "a frame used twice";
    EXPECT_TRUE(j.unmatched_frames.empty());
}

// ---------------------------------------------------------------- resets

const char* kSynHopsForResets =
    "syscall_enter fib_table_lookup fib_table_lookup fib_table_lookup net_dev_queue "
    "net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< consume_skb<";

// python3: connect() to a bound port nobody listens on.
TEST(CorrelatorReset, RefusedConnectIsSynThenRst) {
    auto j = replay("trace-tcp-refused.jsonl");
    expect_packets(
        j, {
               {"handshake", kC2S, "S", 0, 0, 0, Cause::syscall,
                "syscall_enter fib_table_lookup fib_table_lookup net_dev_queue net_dev_start_xmit "
                "netif_rx< net_dev_xmit netif_receive_skb< tcp_send_reset< kfree_skb<"},
               // The server's ISN is never seen, so the RST's rel_seq is its raw
               // seq: 0, as RFC 793 has a reset of a SYN.
               {"reset", kS2C, "R.", 0, 1, 0, Cause::reply,
                "tcp_send_reset fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx< "
                "net_dev_xmit netif_receive_skb< tcp_receive_reset< inet_sock_set_state<"},
           });
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames_matched, 2u);
    const auto& syn = j.packets[0];
    const auto& rst = j.packets[1];
    EXPECT_TRUE(syn.dropped);
    EXPECT_EQ(syn.drop_reason, "NO_SOCKET");
    ASSERT_NE(find_hop(syn, model::EventKind::kfree_skb), nullptr);
    EXPECT_EQ(find_hop(syn, model::EventKind::kfree_skb)->layer, model::Layer::transport);
    EXPECT_EQ(rst.reply_to, 0u);
    EXPECT_EQ(rst.ack, syn.seq + 1);
    EXPECT_EQ(rst.sent_by, "kernel, answering a received packet with a reset (tcp_send_reset)");
    ASSERT_NE(rst.error_syscall, kNone);
    const auto& connect = j.syscalls[rst.error_syscall];
    EXPECT_EQ(connect.name, "connect");
    EXPECT_EQ(connect.ret, -ECONNREFUSED);
    EXPECT_EQ(connect.role, Role::client);
    EXPECT_EQ(syn.send_syscall, rst.error_syscall);  // the SYN's connect() is the one refused
    EXPECT_EQ(j.stats.resets, 1u);
    EXPECT_EQ(j.stats.retransmits, 0u);
    // The client's socket: SYN-SENT, then closed by the reset.
    ASSERT_EQ(j.states.size(), 2u);
    EXPECT_EQ(j.states[1].old_state, 2);  // SYN-SENT
    EXPECT_EQ(j.states[1].new_state, 7);  // CLOSE
    EXPECT_EQ(j.states[1].packet, 1u);
}

// The "answered with a reset" hop goes only to the packet that owns the skb
// the reset answers: the same recording with the event's skb changed to an
// address no packet had leaves the SYN without it; the RST keeps its hop.
TEST(CorrelatorReset, AnsweredHopOnlyOnThePacketOfItsSkb) {
    auto input = recording("trace-tcp-refused.jsonl");
    std::size_t changed = 0;
    for (auto& e : input.events)
        if (e.kind == model::EventKind::tcp_send_reset && e.skb) {
            e.skb = 0xdead0000;
            ++changed;
        }
    ASSERT_EQ(changed, 1u);
    auto j = correlate(std::move(input));
    ASSERT_EQ(j.packets.size(), 2u);
    const auto& syn = j.packets[0];
    const auto& rst = j.packets[1];
    EXPECT_EQ(find_hop(syn, model::EventKind::tcp_send_reset), nullptr) << hop_names(syn);
    EXPECT_NE(find_hop(rst, model::EventKind::tcp_send_reset), nullptr) << hop_names(rst);
}

// python3: a server and its forked client; the client closes with
// SO_LINGER {1, 0} after one message each way.
TEST(CorrelatorReset, AbortiveCloseSendsRstInsteadOfFin) {
    auto j = replay("trace-tcp-abort.jsonl");
    const char* kHandshake =
        "syscall_enter fib_table_lookup fib_table_lookup fib_table_lookup net_dev_queue "
        "net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< consume_skb<";
    const char* kData =
        "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< "
        "net_dev_xmit netif_receive_skb< tcp_probe< sk_data_ready< sock_send_length "
        "skb_copy_datagram_iovec< sock_recv_length< syscall_exit<";
    const char* kAck =
        "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< tcp_probe<";
    expect_packets(
        j, {
               {"handshake", kC2S, "S", 0, 0, 0, Cause::syscall, kHandshake},
               {"handshake", kS2C, "S.", 0, 1, 0, Cause::reply,
                "fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
                "netif_receive_skb< inet_sock_set_state<"},
               {"handshake", kC2S, ".", 1, 1, 0, Cause::reply,
                "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< "
                "inet_sock_set_state< inet_sock_set_state<"},
               {"data", kC2S, "P.", 1, 1, 5, Cause::syscall, kData},
               {"ack", kS2C, ".", 1, 6, 0, Cause::reply, kAck},
               {"data", kS2C, "P.", 1, 6, 2, Cause::syscall, kData},
               {"ack", kC2S, ".", 6, 3, 0, Cause::reply, kAck},
               // tcp_send_active_reset() reports the RST after transmitting it.
               {"reset", kC2S, "R.", 6, 3, 0, Cause::syscall,
                "syscall_enter net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
                "netif_receive_skb< tcp_probe< tcp_receive_reset< inet_sock_set_state< "
                "tcp_send_reset"},
           });
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames_matched, 8u);
    const auto& rst = j.packets[7];
    EXPECT_EQ(j.syscalls[rst.send_syscall].name, "close");
    EXPECT_EQ(j.syscalls[rst.send_syscall].role, Role::client);
    ASSERT_NE(rst.error_syscall, kNone);
    const auto& told = j.syscalls[rst.error_syscall];
    EXPECT_EQ(told.name, "recvfrom");
    EXPECT_EQ(told.ret, -ECONNRESET);
    EXPECT_EQ(told.role, Role::server);
    // The reset is listed with the call it failed.
    EXPECT_EQ(told.packets, std::vector<std::size_t>{7});
    EXPECT_EQ(j.stats.resets, 1u);
    // Forked: the child first closes the listener it inherited, then acts as
    // the client; the process takes the role of most of its calls.
    ASSERT_EQ(j.processes.size(), 2u);
    EXPECT_EQ(j.processes[0].role, Role::server);
    EXPECT_EQ(j.processes[1].role, Role::client);
}

// python3: the server closes at once; after its FIN the client still sends 8
// bytes, which the server's kernel drops (TCP_ABORT_ON_DATA) and answers with
// a bare RST; the client's next send() fails with EPIPE (CLOSE-WAIT).
TEST(CorrelatorReset, DataForAClosedSocketIsAnsweredWithRst) {
    auto j = replay("trace-tcp-late-data.jsonl");
    expect_packets(
        j, {
               {"handshake", kC2S, "S", 0, 0, 0, Cause::syscall, kSynHopsForResets},
               {"handshake", kS2C, "S.", 0, 1, 0, Cause::reply,
                "fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
                "netif_receive_skb< inet_sock_set_state<"},
               {"handshake", kC2S, ".", 1, 1, 0, Cause::reply,
                "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< "
                "inet_sock_set_state< inet_sock_set_state<"},
               {"teardown", kS2C, "F.", 1, 1, 0, Cause::syscall,
                "syscall_enter net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
                "netif_receive_skb< tcp_probe< inet_sock_set_state< sk_data_ready<"},
               {"data", kC2S, "P.", 1, 2, 8, Cause::syscall,
                "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< "
                "net_dev_xmit netif_receive_skb< inet_sock_set_state< inet_sock_set_state< "
                "tcp_send_reset< kfree_skb< sock_send_length"},
               // A RST answering a segment with ACK takes its seq from that ACK
               // and carries no ACK itself (RFC 793).
               {"reset", kS2C, "R", 2, 0, 0, Cause::reply,
                "tcp_send_reset fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx< "
                "net_dev_xmit netif_receive_skb< tcp_receive_reset< inet_sock_set_state<"},
           });
    expect_frames_match(j);
    const auto& late = j.packets[4];
    const auto& rst = j.packets[5];
    EXPECT_TRUE(late.dropped);
    EXPECT_EQ(late.drop_reason, "TCP_ABORT_ON_DATA");
    EXPECT_EQ(late.recv_syscall, kNone);
    EXPECT_EQ(rst.reply_to, 4u);
    EXPECT_EQ(rst.seq, late.ack);
    ASSERT_NE(rst.error_syscall, kNone);
    EXPECT_EQ(j.syscalls[rst.error_syscall].name, "sendto");
    EXPECT_EQ(j.syscalls[rst.error_syscall].ret, -EPIPE);
    EXPECT_EQ(j.syscalls[rst.error_syscall].role, Role::client);
}

// The same program under load: the client's ACK of the FIN left on its own
// (delayed-ACK timer), so the server's socket was already replaced by a
// TIME-WAIT sock, which answers the late data with the reset and frees it
// with NOT_SPECIFIED. Answered with a reset is refused, so still a drop.
TEST(CorrelatorReset, DataForATimeWaitSocketIsAnsweredWithRst) {
    auto j = replay("trace-tcp-late-data-time-wait.jsonl");
    ASSERT_EQ(j.packets.size(), 7u);
    const auto& ack = j.packets[4];
    const auto& late = j.packets[5];
    const auto& rst = j.packets[6];
    EXPECT_EQ(ack.sent_by, "delayed-ACK timer");
    EXPECT_EQ(late.payload_len, 8u);
    EXPECT_TRUE(late.dropped);
    EXPECT_EQ(late.drop_reason, "NOT_SPECIFIED");
    EXPECT_EQ(hop_names(late),
              "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< "
              "net_dev_xmit netif_receive_skb< tcp_send_reset< kfree_skb< sock_send_length");
    EXPECT_EQ(tcp_flags(rst.tcp_flags), "R");
    EXPECT_EQ(rst.reply_to, 5u);
    ASSERT_NE(rst.error_syscall, kNone);
    EXPECT_EQ(j.syscalls[rst.error_syscall].ret, -EPIPE);
    // The server's socket left for TIME-WAIT on the delayed ACK.
    bool to_time_wait = false;
    for (const auto& st : j.states)
        to_time_wait |= st.role == Role::server && st.old_state == 5 && st.new_state == 7 &&
                        st.packet == 4;  // FIN-WAIT-2 -> CLOSE
    EXPECT_TRUE(to_time_wait);
    expect_frames_match(j);
}

// ---------------------------------------------------------------- retransmits

const char* kDroppedOnArrival =
    "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
    "netif_receive_skb< kfree_skb< sock_send_length";
const char* kResent =
    "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit tcp_retransmit_skb "
    "netif_receive_skb< tcp_probe< sk_data_ready< skb_copy_datagram_iovec< sock_recv_length< "
    "syscall_exit<";

const char* kSynHops =
    "syscall_enter fib_table_lookup fib_table_lookup fib_table_lookup net_dev_queue "
    "net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< consume_skb<";
const char* kDataHops =
    "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< "
    "net_dev_xmit netif_receive_skb< tcp_probe< sk_data_ready< sock_send_length "
    "skb_copy_datagram_iovec< sock_recv_length< syscall_exit<";

// The exchange's packets, its first SYN and its message as given (each a
// packet or two when dropped and resent).
std::vector<Expected> exchange_with(std::vector<Expected> syn, std::vector<Expected> message) {
    const char* kAck =
        "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< tcp_probe<";
    std::vector<Expected> all = syn;
    std::vector<Expected> rest = {
        {"handshake", kS2C, "S.", 0, 1, 0, Cause::reply,
         "fib_table_lookup net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
         "netif_receive_skb< inet_sock_set_state<"},
        {"handshake", kC2S, ".", 1, 1, 0, Cause::reply,
         "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< "
         "inet_sock_set_state< inet_sock_set_state<"},
    };
    all.insert(all.end(), rest.begin(), rest.end());
    all.insert(all.end(), message.begin(), message.end());
    rest = {
        {"ack", kS2C, ".", 1, 21, 0, Cause::reply, kAck},
        {"data", kS2C, "P.", 1, 21, 2, Cause::syscall, kDataHops},
        {"ack", kC2S, ".", 21, 3, 0, Cause::reply, kAck},
        {"teardown", kC2S, "F.", 21, 3, 0, Cause::syscall,
         "syscall_enter net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
         "netif_receive_skb< tcp_probe< inet_sock_set_state< sk_data_ready<"},
        {"teardown", kS2C, "F.", 3, 22, 0, Cause::syscall,
         "syscall_enter net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit "
         "netif_receive_skb< inet_sock_set_state< inet_sock_set_state< kfree_skb<"},
        {"teardown", kC2S, ".", 22, 4, 0, Cause::reply,
         "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< "
         "inet_sock_set_state<"},
    };
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
}

const Expected kSyn = {"handshake", kC2S, "S", 0, 0, 0, Cause::syscall, kSynHops};

// The same bytes in both copies, the first dropped and read by nobody, the
// second read once by the server; the client's one send() wrote both.
void expect_resent(const Journey& j, const char* drop_reason) {
    const auto& lost = j.packets[3];
    const auto& again = j.packets[4];
    EXPECT_TRUE(lost.dropped);
    EXPECT_EQ(lost.drop_reason, drop_reason);
    EXPECT_FALSE(lost.retransmit);
    EXPECT_EQ(lost.recv_syscall, kNone);
    EXPECT_TRUE(again.retransmit);
    EXPECT_EQ(again.retransmit_of, 3u);
    EXPECT_EQ(again.seq, lost.seq);
    EXPECT_FALSE(again.dropped);
    ASSERT_NE(again.recv_syscall, kNone);
    EXPECT_EQ(j.syscalls[again.recv_syscall].ret, 20);
    EXPECT_EQ(j.syscalls[again.recv_syscall].role, Role::server);
    ASSERT_NE(lost.send_syscall, kNone);
    EXPECT_EQ(again.send_syscall, lost.send_syscall);
    EXPECT_EQ(j.syscalls[lost.send_syscall].name, "sendto");
    EXPECT_EQ(j.stats.retransmits, 1u);
    EXPECT_EQ(j.stats.resets, 0u);
    // Only the retransmit is marked: a pure ACK or a FIN is never one.
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        if (i == 4) continue;
        EXPECT_FALSE(j.packets[i].retransmit) << "packet #" << i + 1;
    }
}

// The exchange in a namespace whose nftables drop the 20-byte message once
// on arrival (hook input): it reached lo and the capture, then died in
// netfilter; the retransmit timer resent it.
TEST(CorrelatorRetransmit, DroppedOnArrivalThenResentByTheTimer) {
    auto j = replay("trace-tcp-retransmit.jsonl");
    expect_packets(j, exchange_with({kSyn},
                                    {{"data", kC2S, "P.", 1, 1, 20, Cause::syscall, kDroppedOnArrival},
                                     {"data", kC2S, "P.", 1, 1, 20, Cause::timer, kResent}}));
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames_matched, 11u);  // both copies were captured
    expect_resent(j, "NETFILTER_DROP");
    const Hop* drop = find_hop(j.packets[3], model::EventKind::kfree_skb);
    ASSERT_NE(drop, nullptr);
    EXPECT_EQ(drop->layer, model::Layer::network);
    EXPECT_TRUE(drop->receive_side);
    EXPECT_LT(j.packets[3].frame->index, j.packets[4].frame->index);
    EXPECT_EQ(j.packets[4].sent_by.rfind("retransmit timer (RTO or tail-loss probe); bytes from "
                                         "sendto (client python3 pid ",
                                         0),
              0u)
        << j.packets[4].sent_by;
}

// The kernel's word is not needed: without the tcp_retransmit_skb event (as
// if lost) the sequence numbers still tell the retransmit and its original.
TEST(CorrelatorRetransmit, SeenInTheSequenceNumbersWithoutTheTracepoint) {
    auto input = recording("trace-tcp-retransmit.jsonl");
    auto before = input.events.size();
    std::erase_if(input.events, [](const model::Event& e) {
        return e.kind == model::EventKind::tcp_retransmit_skb;
    });
    ASSERT_EQ(input.events.size(), before - 1);
    auto j = correlate(std::move(input));
    std::string resent = kResent;
    resent.erase(resent.find(" tcp_retransmit_skb"), std::string(" tcp_retransmit_skb").size());
    expect_packets(j, exchange_with({kSyn},
                                    {{"data", kC2S, "P.", 1, 1, 20, Cause::syscall, kDroppedOnArrival},
                                     {"data", kC2S, "P.", 1, 1, 20, Cause::timer, resent.c_str()}}));
    expect_resent(j, "NETFILTER_DROP");
    EXPECT_EQ(j.packets[4].sent_by.rfind("timer (softirq, no syscall); bytes from sendto", 0), 0u)
        << j.packets[4].sent_by;
}

// tcp_retransmit_skb with a non-zero err sent nothing: the journey says so in
// a note and attaches it to no packet (the recording's event, made to fail).
TEST(CorrelatorRetransmit, FailedRetransmitIsANoteNotAHop) {
    auto input = recording("trace-tcp-retransmit.jsonl");
    std::size_t failed = 0;
    for (auto& e : input.events)
        if (e.kind == model::EventKind::tcp_retransmit_skb) e.ret = -EBUSY, ++failed;
    ASSERT_EQ(failed, 1u);
    auto j = correlate(std::move(input));
    for (const auto& p : j.packets)
        EXPECT_EQ(find_hop(p, model::EventKind::tcp_retransmit_skb), nullptr) << hop_names(p);
    bool noted = std::any_of(j.notes.begin(), j.notes.end(), [](const std::string& n) {
        return n.find("failed with EBUSY") != std::string::npos;
    });
    EXPECT_TRUE(noted);
}

// Dropped on its way out (hook output): the skb died before any device, so
// the capture saw only the second copy, which must get that frame. The first
// transmit failed, so TCP still had the bytes as unsent and sent them again
// as new data: no tcp_retransmit_skb, yet a retransmit on the wire.
TEST(CorrelatorRetransmit, DroppedOnItsWayOutHasNoFrameAndTheResendHasIt) {
    auto j = replay("trace-tcp-output-drop.jsonl");
    std::string resent = kResent;
    resent.erase(resent.find(" tcp_retransmit_skb"), std::string(" tcp_retransmit_skb").size());
    expect_packets(j, exchange_with({kSyn},
                                    {{"data", kC2S, "P.", 1, 1, 20, Cause::syscall,
                                      "syscall_enter tcp_sendmsg_locked kfree_skb sock_send_length"},
                                     {"data", kC2S, "P.", 1, 1, 20, Cause::timer, resent.c_str()}}));
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames, 10u);
    EXPECT_EQ(j.stats.frames_matched, 10u);
    EXPECT_FALSE(j.packets[3].frame.has_value());
    ASSERT_TRUE(j.packets[4].frame.has_value());
    EXPECT_EQ(j.stats.packets_without_frame, 1u);
    expect_resent(j, "NETFILTER_DROP");
    const Hop* drop = find_hop(j.packets[3], model::EventKind::kfree_skb);
    ASSERT_NE(drop, nullptr);
    EXPECT_EQ(drop->layer, model::Layer::network);
    EXPECT_FALSE(drop->receive_side);
}

// The exchange whose SYN the namespace dropped once on arrival: connect()
// waited for the SYN retransmit timer (1 s, TCP_TIMEOUT_INIT); the SYN-ACK
// answers the second SYN.
TEST(CorrelatorRetransmit, LostSynResentByTheTimer) {
    auto j = replay("trace-tcp-syn-retransmit.jsonl");
    expect_packets(
        j, exchange_with(
               {{"handshake", kC2S, "S", 0, 0, 0, Cause::syscall,
                 "syscall_enter fib_table_lookup fib_table_lookup fib_table_lookup net_dev_queue "
                 "net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< kfree_skb<"},
                {"handshake", kC2S, "S", 0, 0, 0, Cause::timer,
                 "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit tcp_retransmit_skb "
                 "netif_receive_skb< consume_skb<"}},
               {{"data", kC2S, "P.", 1, 1, 20, Cause::syscall, kDataHops}}));
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames_matched, 11u);
    EXPECT_TRUE(j.packets[0].dropped);
    EXPECT_TRUE(j.packets[1].retransmit);
    EXPECT_EQ(j.packets[1].retransmit_of, 0u);
    EXPECT_EQ(j.packets[1].sent_by, "retransmit timer (the SYN was not answered)");
    EXPECT_EQ(find_hop(j.packets[1], model::EventKind::tcp_retransmit_skb)->detail,
              "resends the SYN");
    EXPECT_EQ(j.packets[2].reply_to, 1u);
    EXPECT_EQ(j.stats.retransmits, 1u);
    EXPECT_EQ(j.connections.size(), 1u);
    EXPECT_EQ(j.connections[0].client_isn, j.packets[0].seq);
}

// Six 20-byte segments, the second dropped once on arrival: the server
// SACKs the third, and the client resends the hole while it processes that
// ACK, inside its own next send() (loopback delivers the ACK there). The
// server's one read took all 120 bytes, most of them coalesced into the
// first segment's skb (no copy names them): the stream offsets tell.
TEST(CorrelatorRetransmit, FastRetransmitOnTheSackNotBySend) {
    auto j = replay("trace-tcp-fast-retransmit.jsonl");
    struct Row {
        const char* kind;
        Direction direction;
        std::uint32_t rel_seq, rel_ack, payload_len;
        Cause cause;
    };
    const std::vector<Row> want = {
        {"handshake", kC2S, 0, 0, 0, Cause::syscall}, {"handshake", kS2C, 0, 1, 0, Cause::reply},
        {"handshake", kC2S, 1, 1, 0, Cause::reply},   {"data", kC2S, 1, 1, 20, Cause::syscall},
        {"ack", kS2C, 1, 21, 0, Cause::reply},        {"data", kC2S, 21, 1, 20, Cause::syscall},
        {"data", kC2S, 41, 1, 20, Cause::syscall},    {"ack", kS2C, 1, 21, 0, Cause::reply},
        {"data", kC2S, 21, 1, 20, Cause::reply},      {"ack", kS2C, 1, 61, 0, Cause::reply},
        {"data", kC2S, 61, 1, 20, Cause::syscall},    {"ack", kS2C, 1, 81, 0, Cause::reply},
        {"data", kC2S, 81, 1, 20, Cause::syscall},    {"ack", kS2C, 1, 101, 0, Cause::reply},
        {"data", kC2S, 101, 1, 20, Cause::syscall},   {"ack", kS2C, 1, 121, 0, Cause::reply},
        {"data", kS2C, 1, 121, 2, Cause::syscall},    {"ack", kC2S, 121, 3, 0, Cause::reply},
        {"teardown", kC2S, 121, 3, 0, Cause::syscall}, {"teardown", kS2C, 3, 122, 0, Cause::syscall},
        {"teardown", kC2S, 122, 4, 0, Cause::reply},
    };
    ASSERT_EQ(j.packets.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE("packet #" + std::to_string(i + 1));
        const auto& p = j.packets[i];
        EXPECT_EQ(packet_kind_name(p.kind), want[i].kind);
        EXPECT_EQ(p.direction, want[i].direction);
        EXPECT_EQ(p.rel_seq, want[i].rel_seq);
        EXPECT_EQ(p.rel_ack, want[i].rel_ack);
        EXPECT_EQ(p.payload_len, want[i].payload_len);
        EXPECT_EQ(p.cause, want[i].cause);
        EXPECT_EQ(p.retransmit, i == 8);
    }
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames_matched, 21u);
    const auto& lost = j.packets[5];
    const auto& again = j.packets[8];
    EXPECT_TRUE(lost.dropped);
    EXPECT_EQ(hop_names(lost),
              "syscall_enter tcp_sendmsg_locked net_dev_queue net_dev_start_xmit netif_rx< "
              "net_dev_xmit netif_receive_skb< kfree_skb< sock_send_length");
    EXPECT_EQ(again.retransmit_of, 5u);
    EXPECT_EQ(again.reply_to, 7u);  // the ACK that SACKed packet #7 and still asks for 21
    EXPECT_EQ(hop_names(again),
              "net_dev_queue net_dev_start_xmit netif_rx< net_dev_xmit netif_receive_skb< "
              "tcp_probe< sk_data_ready< tcp_retransmit_skb skb_copy_datagram_iovec< "
              "syscall_exit<");
    EXPECT_EQ(again.sent_by.rfind("fast retransmit (an ACK showed the bytes lost); bytes from "
                                  "sendto (client python3 pid ",
                                  0),
              0u)
        << again.sent_by;
    // Its bytes: written by the second send(), read by the server's one read.
    ASSERT_NE(again.send_syscall, kNone);
    EXPECT_EQ(again.send_syscall, lost.send_syscall);
    ASSERT_NE(again.recv_syscall, kNone);
    EXPECT_EQ(j.syscalls[again.recv_syscall].ret, 120);
    EXPECT_EQ(j.syscalls[again.recv_syscall].role, Role::server);
    // The request sock that sent the SYN-ACK is not the server's socket.
    EXPECT_EQ(j.connections.size(), 1u);
    EXPECT_EQ(j.connections[0].server_sk, j.syscalls[again.recv_syscall].sk);
    // The forked client's calls are the client's, apart from closing the
    // listener it inherited.
    for (const auto& s : j.syscalls) {
        if (s.pid != j.syscalls[again.send_syscall].pid || s.name == "close") continue;
        EXPECT_EQ(s.role, Role::client) << s.name;
    }
}

// The lab journey (3 x 200,004 B each way) in a namespace whose nftables drop
// every 15th TCP packet longer than 100 B: two 64 KiB GSO segments lost and
// fast-retransmitted, and the client's late FIN answered by the server's
// TIME-WAIT socket, which frees it with kfree_skb NOT_SPECIFIED.
TEST(CorrelatorRetransmit, LossyBulkEveryDropIsResentAndEveryByteRead) {
    auto j = replay("journey-tcp-lossy.jsonl");
    expect_frames_match(j);
    EXPECT_EQ(j.stats.frames, j.packets.size());
    EXPECT_EQ(j.stats.frames_matched, j.packets.size());
    EXPECT_EQ(j.stats.retransmits, 2u);
    std::vector<std::size_t> dropped, resent;
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        if (j.packets[i].dropped) dropped.push_back(i);
        if (j.packets[i].retransmit) resent.push_back(i);
    }
    ASSERT_EQ(dropped.size(), 2u);
    ASSERT_EQ(resent.size(), 2u);
    for (std::size_t k = 0; k < 2; ++k) {
        SCOPED_TRACE("drop " + std::to_string(k));
        const auto& lost = j.packets[dropped[k]];
        const auto& again = j.packets[resent[k]];
        EXPECT_EQ(lost.drop_reason, "NETFILTER_DROP");
        EXPECT_EQ(lost.recv_syscall, kNone);
        EXPECT_EQ(again.retransmit_of, dropped[k]);
        EXPECT_EQ(again.seq, lost.seq);
        EXPECT_EQ(again.payload_len, lost.payload_len);
        EXPECT_EQ(again.cause, Cause::reply);
        EXPECT_NE(find_hop(again, model::EventKind::tcp_retransmit_skb), nullptr);
        EXPECT_EQ(again.send_syscall, lost.send_syscall);
        EXPECT_NE(again.recv_syscall, kNone);
    }
    // Every byte each way arrived once, in packets that were read.
    std::uint64_t c2s = 0, s2c = 0;
    for (const auto& p : j.packets) {
        if (p.dropped || p.payload_len == 0) continue;
        (p.direction == kC2S ? c2s : s2c) += p.payload_len;
        EXPECT_NE(p.recv_syscall, kNone) << "seq " << p.rel_seq;
    }
    EXPECT_EQ(c2s, 3u * 200004u);
    EXPECT_EQ(s2c, 3u * 200004u);
    // The late FIN: freed NOT_SPECIFIED by the TIME-WAIT socket that answered it.
    const auto& fin = j.packets[j.packets.size() - 2];
    EXPECT_EQ(tcp_flags(fin.tcp_flags), "F.");
    EXPECT_EQ(fin.drop_reason, "NOT_SPECIFIED");
    EXPECT_FALSE(fin.dropped);
    EXPECT_EQ(j.packets.back().reply_to, j.packets.size() - 2);
    // The sockets are the ones the programs read from, not the TIME-WAIT sock.
    ASSERT_EQ(j.connections.size(), 1u);
    for (const auto& s : j.syscalls) {
        if (s.name != "recvfrom" || s.ret <= 0) continue;
        EXPECT_EQ(s.sk, s.role == Role::server ? j.connections[0].server_sk
                                               : j.connections[0].client_sk);
    }
}

// The lab journey (5 x 100,004 B each way) with every 7th TCP packet longer
// than 100 B dropped on its way out (hook output): four segments die before
// any device (no frame), and TCP, which still counts their bytes as unsent,
// sends them again in the same send(), on a received ACK or from a timer,
// without tcp_retransmit_skb. A FIN resent too early is dropped as old data.
TEST(CorrelatorRetransmit, LossyOnTheWayOutEveryLostSegmentIsSentAgain) {
    auto j = replay("journey-tcp-lossy-output.jsonl");
    expect_frames_match(j);
    std::size_t lost_before_device = 0;
    for (std::size_t i = 0; i < j.packets.size(); ++i) {
        const auto& p = j.packets[i];
        SCOPED_TRACE("packet #" + std::to_string(i + 1));
        EXPECT_NE(p.cause, Cause::unknown);
        if (!p.dropped || p.drop_reason != "NETFILTER_DROP") continue;
        ++lost_before_device;
        EXPECT_FALSE(p.frame.has_value());
        EXPECT_EQ(find_hop(p, model::EventKind::net_dev_queue), nullptr);
        ASSERT_NE(find_hop(p, model::EventKind::kfree_skb), nullptr);
        EXPECT_FALSE(find_hop(p, model::EventKind::kfree_skb)->receive_side);
        EXPECT_NE(p.sender_sk, 0u);
        // Exactly one later packet carries its bytes again, and was captured.
        std::size_t again = 0;
        for (std::size_t k = 0; k < j.packets.size(); ++k) {
            if (j.packets[k].retransmit_of != i) continue;
            ++again;
            EXPECT_GT(k, i);
            EXPECT_EQ(j.packets[k].seq, p.seq);
            EXPECT_TRUE(j.packets[k].frame.has_value());
            EXPECT_NE(j.packets[k].recv_syscall, kNone);
        }
        EXPECT_EQ(again, 1u);
    }
    EXPECT_EQ(lost_before_device, 4u);
    EXPECT_EQ(j.stats.packets_without_frame, 4u);
    EXPECT_EQ(j.stats.frames_matched, j.packets.size() - 4);
    EXPECT_TRUE(j.unmatched_frames.empty());
    std::uint64_t c2s = 0, s2c = 0;
    for (const auto& p : j.packets) {
        if (p.dropped || p.payload_len == 0) continue;
        (p.direction == kC2S ? c2s : s2c) += p.payload_len;
        EXPECT_NE(p.recv_syscall, kNone) << "seq " << p.rel_seq;
    }
    EXPECT_EQ(c2s, 5u * 100004u);
    EXPECT_EQ(s2c, 5u * 100004u);
    // The early FIN retransmit: the peer already had it.
    std::size_t old_fins = 0;
    for (const auto& p : j.packets) {
        if (p.drop_reason != "TCP_OLD_DATA") continue;
        ++old_fins;
        EXPECT_EQ(tcp_flags(p.tcp_flags), "F.");
        EXPECT_TRUE(p.retransmit);
        EXPECT_NE(find_hop(p, model::EventKind::tcp_retransmit_skb), nullptr);
    }
    EXPECT_EQ(old_fins, 1u);
}

}  // namespace
}  // namespace tpk::journey
