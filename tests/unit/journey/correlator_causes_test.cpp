// The attribution stages alone (src/journey/correlator_timeline.cpp,
// correlator_causes.cpp, correlator_retransmits.cpp): why a packet was sent,
// from hand-made syscalls and packets.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "journey/correlator_causes.h"
#include "journey/correlator_classify.h"
#include "journey/correlator_retransmits.h"
#include "journey/correlator_timeline.h"
#include "support/flows.h"
#include "support/recordings.h"

namespace tpk::journey::stages {
namespace {

using K = model::EventKind;

Flow tcp_flow(std::uint16_t from, std::uint16_t to) {
    return tpk::testing::loopback_tcp_flow(from, to);
}

Syscall call(const char* name, std::uint32_t tid, std::uint64_t enter, std::uint64_t exit,
             std::uint64_t sk, std::int64_t ret) {
    Syscall s;
    s.name = name;
    s.pid = s.tid = tid;
    s.enter_ns = enter;
    s.exit_ns = exit;
    s.sk = sk;
    s.ret = ret;
    return s;
}

Hop hop(K kind, std::uint64_t t, std::uint32_t tid, std::uint32_t cpu = 0) {
    Hop h;
    h.event = kind;
    h.t_ns = t;
    h.tid = tid;
    h.cpu = cpu;
    return h;
}

// The client (tid 7, sock 0x51) sends 10 B with sendto(); loopback runs the
// server's receive of it inside that call, and the server's ACK leaves from
// there; the server (tid 9, sock 0x52) reads the bytes. Later a delayed ACK
// leaves in softirq, and a packet whose transmit hops were lost shows up.
struct Exchange {
    std::vector<Syscall> syscalls = {call("sendto", 7, 100, 500, 0x51, 10),
                                     call("recvfrom", 9, 260, 450, 0x52, 10)};
    std::vector<PacketState> packets;
    SocketMap sockets;

    Exchange() {
        PacketState data;
        data.p.flow = tcp_flow(40000, 5000);
        data.p.tcp_flags = model::kPsh | model::kAck;
        data.p.payload_len = 10;
        data.p.sender_sk = 0x51;
        data.p.hops = {hop(K::net_dev_queue, 200, 7), hop(K::netif_receive_skb, 250, 7)};
        data.rx_ns = 250;
        data.rx_tid = 7;
        data.end_ns = 400;
        data.copies.push_back({300, 9, 10});
        packets.push_back(data);

        PacketState ack;
        ack.p.flow = tcp_flow(5000, 40000);
        ack.p.tcp_flags = model::kAck;
        ack.p.sender_sk = 0x52;
        ack.p.hops = {hop(K::net_dev_queue, 300, 7)};
        packets.push_back(ack);

        PacketState delayed = ack;
        delayed.p.hops = {hop(K::net_dev_queue, 1000, 0, 1)};
        packets.push_back(delayed);

        PacketState lost = ack;
        lost.p.hops = {hop(K::net_dev_start_xmit, 1100, 0, 1)};
        packets.push_back(lost);
    }
};

TEST(CorrelatorTimeline, OpenSyscallAndReceivingPacket) {
    Exchange x;
    const Timeline at(x.syscalls, x.packets);
    EXPECT_EQ(at.open_syscall(7, 150), 0u);
    EXPECT_EQ(at.open_syscall(7, 500), 0u);  // the exit's own time is still inside
    EXPECT_EQ(at.open_syscall(7, 50), kNone);
    EXPECT_EQ(at.open_syscall(7, 600), kNone);
    EXPECT_EQ(at.open_syscall(9, 300), 1u);
    EXPECT_EQ(at.receiving_packet(0, 7, 300), 0u);
    EXPECT_EQ(at.receiving_packet(0, 7, 450), kNone);  // its skb was gone at 400
    EXPECT_EQ(at.receiving_packet(1, 7, 300), kNone);  // another CPU
    EXPECT_EQ(at.next_queued(7, 150), 0u);
    EXPECT_EQ(at.next_queued(7, 250), 1u);
    EXPECT_EQ(at.next_queued(7, 600), kNone);
}

TEST(CorrelatorCauses, SyscallReplyTimerUnknown) {
    Exchange x;
    const Timeline at(x.syscalls, x.packets);
    attach_causes(x.packets, x.syscalls, x.sockets, at, {});

    const auto& data = x.packets[0].p;
    EXPECT_EQ(data.cause, Cause::syscall);
    EXPECT_EQ(data.send_syscall, 0u);
    EXPECT_EQ(data.recv_syscall, 1u);
    EXPECT_EQ(x.packets[0].copy_len, 10u);
    ASSERT_EQ(data.hops.size(), 4u);  // + sendto enter, recvfrom exit
    EXPECT_EQ(data.hops[2].detail, "sendto enter");
    EXPECT_EQ(data.hops[3].detail, "recvfrom exit = 10");
    EXPECT_TRUE(data.hops[3].receive_side);

    // Sent inside the client's sendto, but from the server's socket: TCP
    // answering the packet it was receiving.
    const auto& ack = x.packets[1].p;
    EXPECT_EQ(ack.cause, Cause::reply);
    EXPECT_EQ(ack.reply_to, 0u);
    EXPECT_EQ(ack.send_syscall, kNone);

    EXPECT_EQ(x.packets[2].p.cause, Cause::timer);
    EXPECT_EQ(x.packets[3].p.cause, Cause::unknown);
}

// A read with MSG_PEEK copies but leaves the skb queued: the next read takes it.
TEST(CorrelatorCauses, APeekIsNotTheConsumingRead) {
    Exchange x;
    x.syscalls[1].ret = 0;
    x.syscalls[1].flags = kMsgPeek;
    x.syscalls[1].exit_ns = 290;
    x.syscalls.push_back(call("recvfrom", 9, 295, 450, 0x52, 10));
    x.packets[0].copies = {{280, 9, 10}, {300, 9, 10}};
    const Timeline at(x.syscalls, x.packets);
    EXPECT_EQ(consuming_read(x.packets[0], x.syscalls, at), 2u);
    EXPECT_EQ(x.packets[0].copy_len, 10u);
}

// Bytes by stream offset: the n-th byte sent is the n-th byte read.
TEST(CorrelatorCauses, StreamRangesFindSendAndRead) {
    std::vector<Syscall> syscalls = {call("sendto", 7, 100, 110, 0x51, 10),
                                     call("sendto", 7, 120, 130, 0x51, 10),
                                     call("recvfrom", 9, 140, 150, 0x52, 20)};
    Connection c;
    c.client_to_server = tcp_flow(40000, 5000);
    c.client_isn = 1000;
    c.server_isn = 5000;
    c.client_sk = 0x51;
    c.server_sk = 0x52;
    PacketState second;
    second.p.flow = c.client_to_server;
    second.p.connection = 0;
    second.p.direction = Direction::client_to_server;
    second.p.seq = 1000 + 1 + 10;  // the second send's bytes
    second.p.payload_len = 10;
    std::vector<PacketState> packets = {second};
    attach_stream_ranges(packets, syscalls, {c});
    EXPECT_EQ(packets[0].p.send_syscall, 1u);
    EXPECT_EQ(packets[0].p.recv_syscall, 2u);
    ASSERT_EQ(packets[0].p.hops.size(), 1u);
    EXPECT_EQ(packets[0].p.hops[0].event, K::syscall_exit);
}

// The client (pid 7) exits without close(): do_exit() closes its socket
// after sched_process_exit, and the FIN leaves in the exiting task. The same
// FIN with no exit seen is a timer's; a FIN whose first hop is a receive in
// that task is another sender's packet.
TEST(CorrelatorCauses, AFinSentInAnExitingTaskIsTheExits) {
    std::vector<Syscall> syscalls = {call("recvfrom", 7, 100, 200, 0x51, 2)};
    syscalls[0].comm = "redis-cli";
    PacketState fin;
    fin.p.flow = tcp_flow(40000, 5000);
    fin.p.tcp_flags = model::kFin | model::kAck;
    fin.p.sender_sk = 0x51;
    Hop first = hop(K::net_dev_queue, 400, 7);
    first.pid = 7;
    first.comm = "redis-cli";
    fin.p.hops = {first};
    PacketState received = fin;
    received.p.hops[0].event = K::netif_receive_skb;
    std::vector<PacketState> packets = {fin, received};
    Event exit;
    exit.kind = K::process_exit;
    exit.pid = exit.tid = 7;
    exit.t_ns = 300;
    SocketMap sockets;
    const Timeline at(syscalls, packets);
    attach_causes(packets, syscalls, sockets, at, {&exit});
    EXPECT_EQ(packets[0].p.cause, Cause::exit);
    EXPECT_EQ(packets[0].p.exit_pid, 7u);
    EXPECT_EQ(packets[0].p.send_syscall, kNone);
    EXPECT_NE(packets[1].p.cause, Cause::exit);

    // The exit came after the FIN left: not the exit's.
    std::vector<PacketState> before = {fin};
    exit.t_ns = 500;
    attach_causes(before, syscalls, sockets, at, {&exit});
    EXPECT_EQ(before[0].p.cause, Cause::timer);

    // Before 2023's kernels close() ran tcp_close() as task work after sys_exit: a FIN
    // of close()'s socket before the thread's next call is close()'s.
    syscalls.push_back(call("close", 7, 300, 350, 0x51, 0));
    std::vector<PacketState> deferred = {fin};
    const Timeline at2(syscalls, deferred);
    attach_causes(deferred, syscalls, sockets, at2, {});
    EXPECT_EQ(deferred[0].p.cause, Cause::syscall);
    EXPECT_EQ(deferred[0].p.send_syscall, 1u);
}

// 30 bytes in three 10-byte segments; the second and third were merged into
// the first's skb in the receive queue, whose two copies took 25 and 5 B
// (two reads). Every segment gets the copies that took its bytes, and the
// read that took its last byte.
TEST(CorrelatorCauses, SegmentsMergedInTheReceiveQueueShareTheCopy) {
    std::vector<Syscall> syscalls = {call("recvfrom", 9, 100, 200, 0x52, 25),
                                     call("recvfrom", 9, 300, 400, 0x52, 5)};
    std::vector<PacketState> packets;
    for (std::uint32_t k = 0; k < 3; ++k) {
        PacketState s;
        s.p.flow = tcp_flow(40000, 5000);
        s.p.tcp_flags = model::kAck | model::kPsh;
        s.p.seq = 1000 + 10 * k;
        s.p.payload_len = 10;
        s.p.skbs = {0x100u + k};
        s.p.hops = {hop(K::tcp_probe, 10 + k, 7)};
        packets.push_back(s);
    }
    Hop c1 = hop(K::skb_copy_datagram_iovec, 150, 9), c2 = hop(K::skb_copy_datagram_iovec, 350, 9);
    c1.skb = c2.skb = 0x100;
    packets[0].p.hops.push_back(c1);
    packets[0].p.hops.push_back(c2);
    packets[0].copies = {{150, 9, 25}, {350, 9, 5}};
    const Timeline at(syscalls, packets);
    share_merged_copies(packets, syscalls, at);

    auto copies = [](const Packet& p) {
        std::vector<std::string> out;
        for (const auto& h : p.hops)
            if (h.event == K::skb_copy_datagram_iovec) out.push_back(h.detail);
        return out;
    };
    EXPECT_EQ(copies(packets[0].p), (std::vector<std::string>{"25 B (15 B merged in)",
                                                              "5 B (all merged in)"}));
    EXPECT_EQ(copies(packets[1].p), (std::vector<std::string>{"10 B of 25 B (merged)"}));
    EXPECT_EQ(copies(packets[2].p),
              (std::vector<std::string>{"5 B of 25 B (merged)", "5 B of 5 B (merged)"}));
    EXPECT_EQ(packets[1].p.recv_syscall, 0u);
    EXPECT_EQ(packets[2].p.recv_syscall, 1u);
    EXPECT_EQ(packets[2].p.hops.back().event, K::syscall_exit);
    EXPECT_EQ(packets[1].p.hops.back().event, K::syscall_exit);
    for (const auto& h : packets[1].p.hops) {
        if (h.event == K::skb_copy_datagram_iovec) {
            EXPECT_EQ(h.skb, 0x100u);  // the skb it read
        }
    }
}

// Timers: a pure ACK at the sender's next seq is a delayed ACK; one below
// it (tcp_xmit_probe_skb() sends snd_una - 1) is a keepalive or window
// probe. A FIN the exit sent names the program, pid and side.
TEST(CorrelatorClassify, TimersAndExitsSayWhichOne) {
    Connection c;
    c.client_to_server = tcp_flow(40000, 5000);
    auto packet = [](std::uint32_t seq, std::uint32_t len, std::uint8_t flags, Cause cause) {
        PacketState s;
        s.p.flow = tcp_flow(40000, 5000);
        s.p.connection = 0;
        s.p.direction = Direction::client_to_server;
        s.p.seq = seq;
        s.p.payload_len = len;
        s.p.tcp_flags = flags;
        s.p.cause = cause;
        Hop h = hop(K::net_dev_queue, 10, 7);
        h.pid = 7;
        h.comm = "redis-cli";
        s.p.hops = {h};
        return s;
    };
    const std::uint8_t A = model::kAck;
    std::vector<PacketState> packets = {
        packet(100, 10, A | model::kPsh, Cause::unknown), packet(110, 0, A, Cause::timer),
        packet(109, 0, A, Cause::timer), packet(110, 0, A | model::kFin, Cause::exit)};
    packets[3].p.exit_pid = 7;
    std::vector<PacketState> untraced = {packets[1]};
    classify(packets, {c}, {call("recvfrom", 7, 1, 2, 0x51, 10)});
    EXPECT_EQ(packets[1].p.sent_by, "delayed-ACK timer");
    EXPECT_EQ(packets[2].p.sent_by, "keepalive or zero-window probe timer");
    EXPECT_EQ(packets[3].p.sent_by,
              "exit of client redis-cli pid 7 (no close(): the kernel closed its socket)");
    // Pid 7 traced nothing: its own call may have sent the ACK as well.
    classify(untraced, {c}, {});
    EXPECT_EQ(untraced[0].p.sent_by, "delayed-ACK timer, or a call of redis-cli pid 7, which is "
                                     "not traced (it left in that task)");
}

// The ACK that completes the handshake and a keepalive probe sent after one
// byte (snd_una - 1 = the byte's seq) carry the same relative seq and ack:
// only the first is the handshake's, and the probe, answered and freed as
// an old sequence, is not a loss.
TEST(CorrelatorClassify, AKeepaliveWithTheHandshakesNumbersIsNotTheHandshake) {
    Connection c;
    c.client_to_server = tcp_flow(40000, 5000);
    c.client_isn = 1000;
    c.server_isn = 5000;
    auto packet = [&](bool back, std::uint32_t seq, std::uint32_t len, Cause cause) {
        PacketState s;
        s.p.flow = back ? tcp_flow(5000, 40000) : tcp_flow(40000, 5000);
        s.p.connection = 0;
        s.p.direction = back ? Direction::server_to_client : Direction::client_to_server;
        s.p.tcp_flags = model::kAck;
        s.p.seq = seq;
        s.p.payload_len = len;
        s.p.ack = back ? 1002 : 5001;
        s.p.cause = cause;
        s.p.hops = {hop(K::net_dev_queue, 10, 0)};
        return s;
    };
    std::vector<PacketState> packets = {
        packet(false, 1001, 0, Cause::reply),  packet(false, 1001, 1, Cause::syscall),
        packet(false, 1001, 0, Cause::timer),  packet(true, 5001, 0, Cause::reply)};
    packets[1].p.tcp_flags |= model::kPsh;
    packets[2].p.hops.push_back(hop(K::kfree_skb, 20, 0));
    packets[2].p.dropped = true;
    packets[2].p.drop_reason = "TCP_OLD_SEQUENCE";
    packets[3].p.reply_to = 2;
    std::vector<Syscall> syscalls = {call("sendto", 7, 1, 2, 0x51, 1)};
    packets[1].p.send_syscall = 0;
    classify(packets, {c}, syscalls);
    EXPECT_EQ(packets[0].p.kind, PacketKind::handshake);
    EXPECT_EQ(packets[2].p.kind, PacketKind::ack);
    EXPECT_EQ(packets[2].p.sent_by, "keepalive or zero-window probe timer");
    EXPECT_FALSE(packets[2].p.dropped);
}

PacketState segment(std::uint32_t seq, std::uint32_t len, std::uint64_t wire_t) {
    PacketState s;
    s.p.flow = tcp_flow(40000, 5000);
    s.p.connection = 0;
    s.p.direction = Direction::client_to_server;
    s.p.tcp_flags = model::kAck;
    s.p.seq = seq;
    s.p.payload_len = len;
    Hop h;
    h.event = K::net_dev_start_xmit;
    h.t_ns = wire_t;
    s.p.hops.push_back(h);
    return s;
}

TEST(CorrelatorRetransmits, SequenceSpaceSentBeforeIsARetransmit) {
    std::vector<PacketState> packets = {segment(100, 10, 10), segment(110, 10, 20),
                                        segment(100, 10, 30),
                                        segment(119, 0, 40)};  // a keepalive: no space
    mark_retransmits(packets);
    EXPECT_FALSE(packets[0].p.retransmit);
    EXPECT_FALSE(packets[1].p.retransmit);
    EXPECT_TRUE(packets[2].p.retransmit);
    EXPECT_EQ(packets[2].p.retransmit_of, 0u);
    EXPECT_FALSE(packets[3].p.retransmit);
}

TEST(CorrelatorRetransmits, AFailedRetransmitIsANote) {
    Event e;
    e.kind = K::tcp_retransmit_skb;
    e.flow = tcp_flow(40000, 5000);
    e.seq = 100;
    e.payload_len = 10;
    e.ret = -16;  // EBUSY
    std::vector<PacketState> packets = {segment(100, 10, 10)};
    auto notes = attach_retransmits({&e}, packets);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("failed with EBUSY"), std::string::npos) << notes[0];
    EXPECT_FALSE(packets[0].p.retransmit);
}

TEST(CorrelatorRetransmits, TheTracepointGoesToThePacketItSentBefore) {
    Event e;
    e.kind = K::tcp_retransmit_skb;
    e.flow = tcp_flow(40000, 5000);
    e.seq = 100;
    e.payload_len = 10;
    e.t_ns = 35;  // fires after the clone was transmitted, in the same context
    std::vector<PacketState> packets = {segment(100, 10, 10), segment(100, 10, 30)};
    for (auto& s : packets) s.p.hops[0].receive_side = false;
    packets[0].p.hops[0].event = packets[1].p.hops[0].event = K::net_dev_queue;
    auto notes = attach_retransmits({&e}, packets);
    EXPECT_TRUE(notes.empty());
    EXPECT_FALSE(packets[0].p.retransmit);
    EXPECT_TRUE(packets[1].p.retransmit);
    EXPECT_EQ(packets[1].p.hops.back().detail, "resends 10 B");
}

// Recorded runs of tests/runtime/journey/causes_test.cpp's scripts (issue
// #12): the FIN and the reset a client's exit sent, and two segments one
// read took.
TEST(CorrelatorCausesReplay, TheExitSentTheFinAndTheReset) {
    for (const char* name : {"trace-tcp-exit-without-close.jsonl", "trace-tcp-exit-unread.jsonl"}) {
        SCOPED_TRACE(name);
        auto j = testing::replay(name);
        const Packet* last = nullptr;
        for (const auto& p : j.packets)
            if (p.direction == Direction::client_to_server &&
                (p.tcp_flags & (model::kFin | model::kRst)))
                last = &p;
        ASSERT_NE(last, nullptr);
        EXPECT_EQ(last->cause, Cause::exit);
        EXPECT_EQ(last->send_syscall, kNone);
        ASSERT_NE(last->exit_pid, 0u);
        // The pid that connected, named with its program.
        bool connected = false;
        for (const auto& s : j.syscalls) connected |= s.pid == last->exit_pid && s.name == "connect";
        EXPECT_TRUE(connected);
        EXPECT_EQ(last->sent_by.rfind("exit of client python3 pid " +
                                          std::to_string(last->exit_pid) + " (no close()",
                                      0),
                  0u)
            << last->sent_by;
        EXPECT_NE(last->explain.find("exited without close()"), std::string::npos);
    }
}

TEST(CorrelatorCausesReplay, TwoSegmentsOneReadBothHaveTheCopy) {
    auto j = testing::replay("trace-tcp-merged-read.jsonl");
    std::vector<const Packet*> data;
    for (const auto& p : j.packets)
        if (p.direction == Direction::client_to_server && p.payload_len) data.push_back(&p);
    ASSERT_EQ(data.size(), 2u);
    std::vector<std::uint64_t> skbs;
    for (const Packet* p : data) {
        ASSERT_NE(p->recv_syscall, kNone);
        EXPECT_EQ(j.syscalls[p->recv_syscall].ret, 513);
        for (const auto& h : p->hops)
            if (h.event == K::skb_copy_datagram_iovec) skbs.push_back(h.skb);
    }
    ASSERT_EQ(skbs.size(), 2u);
    EXPECT_EQ(skbs[0], skbs[1]);  // one copy of the first's skb moved both
    EXPECT_EQ(skbs[0], data[0]->skbs.at(0));
}

}  // namespace
}  // namespace tpk::journey::stages
