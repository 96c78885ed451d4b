#include "kernel/convert.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace tpk::kernel {
namespace {

using model::EventKind;

tpk_event raw_of(std::uint32_t kind) {
    tpk_event raw{};
    raw.kind = kind;
    raw.t_ns = 1'000'000'123;
    raw.pid = 42;
    raw.tid = 43;
    raw.cpu = 1;
    raw.syscall_nr = -1;
    std::strcpy(raw.comm, "client");
    return raw;
}

void set_ipv4(tpk_event& raw, const char* src, std::uint16_t sport, const char* dst,
              std::uint16_t dport) {
    raw.family = AF_INET;
    raw.protocol = IPPROTO_TCP;
    inet_pton(AF_INET, src, raw.saddr);
    inet_pton(AF_INET, dst, raw.daddr);
    raw.sport = sport;
    raw.dport = dport;
}

TEST(Convert, EveryRawKindHasAModelKindOfTheSameName) {
    const char* names[] = {nullptr, "syscall_enter", "syscall_exit", "sock_send_length",
        "sock_recv_length", "tcp_sendmsg_locked", "fib_table_lookup", "net_dev_queue",
        "net_dev_start_xmit", "net_dev_xmit", "netif_rx", "netif_receive_skb", "tcp_probe",
        "inet_sock_set_state", "sk_data_ready", "skb_copy_datagram_iovec", "consume_skb",
        "kfree_skb", "tcp_retransmit_skb", "tcp_send_reset", "tcp_receive_reset",
        "process_fork", "process_exit", "ip_output", "ip_rcv", "ip_local_deliver"};
    static_assert(std::size(names) == TPK_EV_KIND_END);
    std::set<EventKind> seen;
    for (std::uint32_t k = 1; k < TPK_EV_KIND_END; ++k) {
        auto kind = event_kind_of(k);
        ASSERT_TRUE(kind) << k;
        EXPECT_EQ(model::event_name(*kind), names[k]);
        EXPECT_TRUE(seen.insert(*kind).second);
    }
    EXPECT_FALSE(event_kind_of(0));
    EXPECT_FALSE(event_kind_of(TPK_EV_KIND_END));
    EXPECT_FALSE(convert_event(raw_of(999), {}));
}

TEST(Convert, PacketHeadersBecomeTheFlowInPacketDirection) {
    auto raw = raw_of(TPK_EV_NET_DEV_QUEUE);
    set_ipv4(raw, "127.0.0.1", 43952, "127.0.0.2", 8080);
    raw.flow_source = TPK_FLOW_HEADERS;
    raw.skb = 0xffff88817fc16ee0;
    raw.sk = 0xffff888100001000;
    raw.tcp_flags = model::kPsh | model::kAck;
    raw.seq = 750166142;
    raw.ack = 2860156564;
    raw.payload_len = 18;
    raw.skb_len = 84;
    raw.ifindex = 1;
    std::strcpy(raw.dev, "lo");

    auto e = convert_event(raw, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, EventKind::net_dev_queue);
    EXPECT_EQ(e->t_ns, 1'000'000'123u);
    EXPECT_EQ(e->pid, 42u);
    EXPECT_EQ(e->tid, 43u);
    EXPECT_EQ(e->comm, "client");
    EXPECT_EQ(e->skb, 0xffff88817fc16ee0u);
    EXPECT_EQ(e->sk, 0xffff888100001000u);
    EXPECT_EQ(e->flow.protocol, IPPROTO_TCP);
    EXPECT_EQ(e->flow.src.family, AF_INET);
    EXPECT_EQ(e->flow.src.port, 43952);
    EXPECT_EQ(e->flow.dst.port, 8080);
    std::array<std::uint8_t, 16> src{127, 0, 0, 1}, dst{127, 0, 0, 2};
    EXPECT_EQ(e->flow.src.addr, src);
    EXPECT_EQ(e->flow.dst.addr, dst);
    EXPECT_EQ(e->tcp_flags, model::kPsh | model::kAck);
    EXPECT_EQ(e->seq, 750166142u);
    EXPECT_EQ(e->ack, 2860156564u);
    EXPECT_EQ(e->payload_len, 18u);
    EXPECT_EQ(e->skb_len, 84u);
    EXPECT_EQ(e->dev, "lo");
    EXPECT_EQ(e->ifindex, 1);
    EXPECT_EQ(e->syscall_nr, -1);
    EXPECT_EQ(e->fd, -1);
}

TEST(Convert, NoFlowSourceMeansNoFlow) {
    auto raw = raw_of(TPK_EV_NET_DEV_XMIT);
    raw.sport = 99;   // stale bytes must not leak into the flow
    auto e = convert_event(raw, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->flow, model::Flow{});
}

TEST(Convert, Ipv6AddressesKeepAllSixteenBytes) {
    auto raw = raw_of(TPK_EV_NETIF_RX);
    raw.family = AF_INET6;
    raw.protocol = IPPROTO_UDP;
    raw.flow_source = TPK_FLOW_HEADERS;
    inet_pton(AF_INET6, "::1", raw.saddr);
    inet_pton(AF_INET6, "fe80::2", raw.daddr);
    auto e = convert_event(raw, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->flow.src.addr[15], 1);
    EXPECT_EQ(e->flow.dst.addr[0], 0xfe);
    EXPECT_EQ(e->flow.dst.addr[15], 2);
}

TEST(Convert, UnixFlowCarriesInodesOnly) {
    auto raw = raw_of(TPK_EV_SKB_COPY_DATAGRAM_IOVEC);
    raw.family = AF_UNIX;
    raw.flow_source = TPK_FLOW_SOCK;
    raw.unix_inode = 1234;
    raw.unix_peer_inode = 1235;
    raw.sport = 7;   // meaningless for UNIX
    raw.size = 18;
    auto e = convert_event(raw, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->flow.src.family, AF_UNIX);
    EXPECT_EQ(e->flow.dst.family, AF_UNIX);
    EXPECT_EQ(e->flow.unix_inode, 1234u);
    EXPECT_EQ(e->flow.unix_peer_inode, 1235u);
    EXPECT_EQ(e->flow.src.port, 0);
    EXPECT_EQ(e->flow.protocol, 0);
    EXPECT_EQ(e->size, 18u);   // bytes copied to user
}

TEST(Convert, SyscallArgumentsFollowTheTable) {
    auto enter = raw_of(TPK_EV_SYSCALL_ENTER);
    enter.syscall_nr = SYS_sendto;
    enter.args[0] = 5;           // fd
    enter.args[1] = 0x7fff0000;  // buf
    enter.args[2] = 18;          // len
    enter.args[3] = 0x4000;      // MSG_NOSIGNAL
    enter.ret = 777;             // not a return value at entry
    auto e = convert_event(enter, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, EventKind::syscall_enter);
    EXPECT_EQ(e->syscall, "sendto");
    EXPECT_EQ(e->syscall_nr, SYS_sendto);
    EXPECT_EQ(e->fd, 5);
    EXPECT_EQ(e->size, 18u);
    EXPECT_EQ(e->flags, 0x4000u);
    EXPECT_EQ(e->ret, 0);

    auto exit = enter;
    exit.kind = TPK_EV_SYSCALL_EXIT;
    exit.ret = -11;  // -EAGAIN
    e = convert_event(exit, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, EventKind::syscall_exit);
    EXPECT_EQ(e->ret, -11);

    auto msg = raw_of(TPK_EV_SYSCALL_ENTER);
    msg.syscall_nr = SYS_recvmsg;
    msg.args[0] = 7;
    msg.args[2] = 0x40;  // MSG_DONTWAIT
    e = convert_event(msg, {});
    EXPECT_EQ(e->fd, 7);
    EXPECT_EQ(e->size, 0u);   // the length is inside the msghdr: exit's ret tells
    EXPECT_EQ(e->flags, 0x40u);

    auto poll = raw_of(TPK_EV_SYSCALL_ENTER);
    poll.syscall_nr = SYS_poll;
    poll.args[0] = 0x7fff1234;   // a pointer, not an fd
    poll.args[1] = 2;
    e = convert_event(poll, {});
    EXPECT_EQ(e->fd, -1);
    EXPECT_EQ(e->size, 2u);
}

TEST(Convert, SocketLengthNegativeReturnIsAnErrorNotASize) {
    auto raw = raw_of(TPK_EV_SOCK_RECV_LENGTH);
    raw.ret = -104;   // -ECONNRESET
    raw.msg_flags = 0x40;
    auto e = convert_event(raw, {});
    EXPECT_EQ(e->ret, -104);
    EXPECT_EQ(e->size, 0u);
    EXPECT_EQ(e->flags, 0x40u);
    raw.ret = 18;
    e = convert_event(raw, {});
    EXPECT_EQ(e->size, 18u);
}

// Packet and socket hops come as short records (the first
// TPK_EVENT_SHORT_SIZE bytes): they read as the whole record with a zero tail.
TEST(Convert, ShortRecordReadsAsTheWholeRecordWithAZeroTail) {
    auto raw = raw_of(TPK_EV_NET_DEV_QUEUE);
    set_ipv4(raw, "127.0.0.1", 40000, "127.0.0.2", 8080);
    raw.flow_source = TPK_FLOW_HEADERS;
    std::strcpy(raw.dev, "lo");
    raw.skb_len = 84;
    std::vector<std::byte> record(TPK_EVENT_SHORT_SIZE);
    std::memcpy(record.data(), &raw, record.size());
    auto parsed = raw_event_of(record.data(), record.size());
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->syscall_nr, 0);
    EXPECT_EQ(parsed->args[5], 0u);
    auto e = convert_event(*parsed, {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->dev, "lo");
    EXPECT_EQ(e->skb_len, 84u);
    EXPECT_EQ(e->flow.dst.port, 8080);
    EXPECT_EQ(e->comm, "client");

    auto full = raw_of(TPK_EV_SYSCALL_EXIT);
    full.args[5] = 99;
    parsed = raw_event_of(&full, sizeof(full));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->args[5], 99u);
    EXPECT_FALSE(raw_event_of(record.data(), TPK_EVENT_SHORT_SIZE - 1)) << "truncated record";
}

// A data call's one record (bpf/events.h, struct tpk_syscall_record) reads
// as the records it stands for: the enter, each hop, then the exit.
tpk_syscall_record send_record() {
    tpk_syscall_record r{};
    r.exit = raw_of(TPK_EV_SYSCALL);
    r.exit.t_ns = 5000;
    r.exit.syscall_nr = SYS_sendto;
    r.exit.args[0] = 7;
    r.exit.args[2] = 64;
    r.exit.ret = 64;
    r.exit.sk = 0xffff0000aa00;
    r.exit.fd_is_socket = 1;
    set_ipv4(r.exit, "127.0.0.1", 40000, "127.0.0.1", 8080);
    r.exit.flow_source = TPK_FLOW_SOCK;
    r.subs[0] = {TPK_EV_SYSCALL_ENTER, 0, 1000, 0, 0, 0, 0, 0, 0, 0};
    r.subs[1] = {TPK_EV_TCP_SENDMSG_LOCKED, 1, 2000, 0xffff0000aa00, 0, 0, 64, 0, 0, 0};
    r.subs[2] = {TPK_EV_SOCK_SEND_LENGTH, 1, 4000, 0xffff0000aa00, 0, 64, 0, 0, 0x40, 0};
    r.nsubs = 3;
    return r;
}

TEST(Convert, SyscallRecordExpandsToEnterHopsAndExit) {
    auto r = send_record();
    RawEvents raws;
    ASSERT_EQ(expand_record(&r, sizeof r, raws), 4u);
    std::vector<model::Event> events;
    for (std::size_t i = 0; i < 4; ++i) {
        auto e = convert_event(raws[i], {});
        ASSERT_TRUE(e) << i;
        events.push_back(*e);
    }
    EXPECT_EQ(events[0].kind, EventKind::syscall_enter);
    EXPECT_EQ(events[0].t_ns, 1000u);
    EXPECT_EQ(events[0].cpu, 0u);
    EXPECT_EQ(events[0].syscall, "sendto");
    EXPECT_EQ(events[0].fd, 7);
    EXPECT_EQ(events[0].size, 64u);
    EXPECT_EQ(events[0].ret, 0) << "an enter has no result yet";
    EXPECT_EQ(events[1].kind, EventKind::tcp_sendmsg_locked);
    EXPECT_EQ(events[1].t_ns, 2000u);
    EXPECT_EQ(events[1].size, 64u);
    EXPECT_EQ(events[1].flow.dst.port, 8080);
    EXPECT_EQ(events[1].comm, "client");
    EXPECT_EQ(events[2].kind, EventKind::sock_send_length);
    EXPECT_EQ(events[2].size, 64u);
    EXPECT_EQ(events[2].flags, 0x40u);
    EXPECT_EQ(events[2].sk, 0xffff0000aa00u);
    EXPECT_EQ(events[3].kind, EventKind::syscall_exit);
    EXPECT_EQ(events[3].t_ns, 5000u);
    EXPECT_EQ(events[3].ret, 64);
    EXPECT_EQ(events[3].syscall, "sendto");
    // A hop reads exactly as its own (short) record would have.
    auto own = raw_of(TPK_EV_SOCK_SEND_LENGTH);
    own.t_ns = 4000;
    own.cpu = 1;
    own.sk = 0xffff0000aa00;
    own.ret = 64;
    own.msg_flags = 0x40;
    set_ipv4(own, "127.0.0.1", 40000, "127.0.0.1", 8080);
    own.flow_source = TPK_FLOW_SOCK;
    auto short_own = raw_event_of(&own, TPK_EVENT_SHORT_SIZE);
    ASSERT_TRUE(short_own);
    EXPECT_EQ(std::memcmp(&*short_own, &raws[2], sizeof(tpk_event)), 0);
}

TEST(Convert, SyscallRecordCountIsBoundedByItsSize) {
    auto r = send_record();
    RawEvents raws;
    r.nsubs = 1000;   // corrupt: the record's bytes decide
    EXPECT_EQ(expand_record(&r, sizeof r, raws), 1u + TPK_MAX_SUBS);
    std::size_t two_subs = offsetof(tpk_syscall_record, subs) + 2 * sizeof(tpk_sub_event);
    EXPECT_EQ(expand_record(&r, two_subs, raws), 3u);
    EXPECT_EQ(raws[2].kind, static_cast<__u32>(TPK_EV_SYSCALL_EXIT));
    EXPECT_EQ(expand_record(&r, offsetof(tpk_syscall_record, subs) - 1, raws), 0u);
    EXPECT_EQ(expand_record(&r, 2, raws), 0u);
    auto plain = raw_of(TPK_EV_NETIF_RX);
    ASSERT_EQ(expand_record(&plain, TPK_EVENT_SHORT_SIZE, raws), 1u);
    EXPECT_EQ(raws[0].kind, static_cast<__u32>(TPK_EV_NETIF_RX));
}

// A packet's hops staged on one CPU (bpf/events.h, struct tpk_packet_record)
// read as the records they stand for: the first hop's flow and device on
// each, but net_dev_xmit without a flow and tcp_probe without a device, as
// their own records have them.
TEST(Convert, PacketRecordExpandsToItsHops) {
    tpk_packet_record r{};
    r.first = raw_of(TPK_EV_PACKET);
    r.first.skb = 0xffff000011;
    r.first.sk = 0xffff0000aa00;
    set_ipv4(r.first, "127.0.0.1", 40000, "127.0.0.1", 8080);
    r.first.flow_source = TPK_FLOW_HEADERS;
    r.first.seq = 1000;
    r.first.ack = 2000;
    r.first.tcp_flags = 0x18;
    r.first.payload_len = 64;
    r.first.ifindex = 1;
    std::strcpy(r.first.dev, "lo");
    r.hops[0] = {TPK_EV_NET_DEV_QUEUE, 0, 100, 0xffff0000aa00, 0, 130, 1};
    r.hops[1] = {TPK_EV_NET_DEV_XMIT, TPK_HOP_NO_FLOW, 200, 0, 0, 130, 1};
    r.hops[2] = {TPK_EV_NETIF_RECEIVE_SKB, 0, 300, 0, 0, 116, 1};
    r.hops[3] = {TPK_EV_TCP_PROBE, TPK_HOP_NO_DEV, 400, 0xffff0000bb00, 0, 116, 0};
    r.nhops = 4;
    RawEvents raws;
    std::size_t size = offsetof(tpk_packet_record, hops) + 4 * sizeof(tpk_hop);
    ASSERT_EQ(expand_record(&r, size, raws), 4u);
    auto queue = convert_event(raws[0], {});
    ASSERT_TRUE(queue);
    EXPECT_EQ(queue->kind, EventKind::net_dev_queue);
    EXPECT_EQ(queue->t_ns, 100u);
    EXPECT_EQ(queue->skb, 0xffff000011u);
    EXPECT_EQ(queue->skb_len, 130u);
    EXPECT_EQ(queue->dev, "lo");
    EXPECT_EQ(queue->seq, 1000u);
    EXPECT_EQ(queue->flow.dst.port, 8080);
    auto xmit = convert_event(raws[1], {});
    ASSERT_TRUE(xmit);
    EXPECT_EQ(xmit->kind, EventKind::net_dev_xmit);
    EXPECT_EQ(xmit->skb, 0xffff000011u);
    EXPECT_EQ(xmit->flow.protocol, 0) << "net_dev_xmit's own record has no flow";
    EXPECT_EQ(xmit->seq, 0u);
    EXPECT_EQ(xmit->dev, "lo");
    auto probe = convert_event(raws[3], {});
    ASSERT_TRUE(probe);
    EXPECT_EQ(probe->sk, 0xffff0000bb00u) << "each hop keeps its own sock";
    EXPECT_EQ(probe->dev, "");
    EXPECT_EQ(probe->ifindex, 0);
    EXPECT_EQ(probe->flow.src.port, 40000);
    // The hop reads byte for byte as its own short record would.
    tpk_event own{};
    std::memcpy(&own, &r.first, TPK_EVENT_SHORT_SIZE);
    own.kind = TPK_EV_NETIF_RECEIVE_SKB;
    own.t_ns = 300;
    own.sk = 0;
    own.skb_len = 116;
    EXPECT_EQ(std::memcmp(&own, &raws[2], sizeof(tpk_event)), 0);

    r.nhops = 1000;   // corrupt: the record's bytes decide
    EXPECT_EQ(expand_record(&r, size, raws), 4u);
    EXPECT_EQ(expand_record(&r, sizeof r, raws), static_cast<std::size_t>(TPK_PACKET_HOPS));
    EXPECT_EQ(expand_record(&r, offsetof(tpk_packet_record, hops) - 1, raws), 0u);
    // The same, read from a stage left at the end of tracing.
    r.nhops = 2;
    EXPECT_EQ(expand_stage(r, raws), 2u);
    EXPECT_EQ(raws[1].kind, static_cast<__u32>(TPK_EV_NET_DEV_XMIT));
}

// A call still blocked at the end gets its sock's flow from the calls seen
// on it, turned to its own direction (a read sees the peer first).
TEST(Convert, SockFlowsGiveACallItsSocksFlowInItsDirection) {
    SockFlows flows;
    auto sent = send_record().exit;   // sendto's exit: local 40000 -> peer 8080
    sent.kind = TPK_EV_SYSCALL_EXIT;
    flows.learn(sent);
    tpk_event read{};
    flows.fill(read, sent.sk, /*rx=*/true);
    EXPECT_EQ(read.sport, 8080);
    EXPECT_EQ(read.dport, 40000);
    EXPECT_EQ(read.flow_source, TPK_FLOW_SOCK);
    tpk_event write{};
    flows.fill(write, sent.sk, /*rx=*/false);
    EXPECT_EQ(write.sport, 40000);
    EXPECT_EQ(write.dport, 8080);
    tpk_event other{};
    flows.fill(other, 0x1234, false);
    EXPECT_EQ(other.family, 0) << "no call seen on that sock: no flow";

    // A recvfrom's flow is learned the other way round.
    auto got = sent;
    got.syscall_nr = SYS_recvfrom;
    std::swap(got.sport, got.dport);
    got.sk = 0xbeef;
    flows.learn(got);
    tpk_event again{};
    flows.fill(again, 0xbeef, false);
    EXPECT_EQ(again.sport, 40000);
    EXPECT_EQ(again.dport, 8080);
}

TEST(Convert, StatesRoutesAndForks) {
    auto state = raw_of(TPK_EV_INET_SOCK_SET_STATE);
    state.old_state = 2;   // SYN_SENT
    state.new_state = 1;   // ESTABLISHED
    auto e = convert_event(state, {});
    EXPECT_EQ(model::tcp_state_name(e->old_state), "SYN-SENT");
    EXPECT_EQ(model::tcp_state_name(e->new_state), "ESTABLISHED");

    auto route = raw_of(TPK_EV_FIB_TABLE_LOOKUP);
    route.table = 254;
    route.route_err = 0;
    route.gateway[0] = 10;
    route.gateway[3] = 1;
    e = convert_event(route, {});
    EXPECT_EQ(e->table, 254u);
    EXPECT_EQ(e->gateway[0], 10);
    EXPECT_EQ(e->gateway[3], 1);

    auto fork = raw_of(TPK_EV_PROCESS_FORK);
    fork.ret = 4321;
    e = convert_event(fork, {});
    EXPECT_EQ(e->kind, EventKind::process_fork);
    EXPECT_EQ(e->ret, 4321);
}

TEST(Convert, DropReasonsAreNamedFromTheTableOrByNumber) {
    DropReasonNames names{{2, "NOT_SPECIFIED"}, {3, "NO_SOCKET"}};
    auto raw = raw_of(TPK_EV_KFREE_SKB);
    raw.drop_reason = 3;
    EXPECT_EQ(convert_event(raw, names)->drop_reason_name, "NO_SOCKET");
    EXPECT_EQ(convert_event(raw, names)->drop_reason, 3);
    raw.drop_reason = 4000;
    EXPECT_EQ(convert_event(raw, names)->drop_reason_name, "reason_4000");
}

TEST(Convert, RetransmitCarriesItsError) {
    auto raw = raw_of(TPK_EV_TCP_RETRANSMIT_SKB);
    raw.ret = -EBUSY;
    EXPECT_EQ(convert_event(raw, {})->ret, -EBUSY);
    raw.ret = 0;
    EXPECT_EQ(convert_event(raw, {})->ret, 0);
}

// tcp_send_reset's reason is another enum (sk_rst_reason) with other values.
TEST(Convert, ResetReasonsAreNamedFromTheirOwnTable) {
    DropReasonNames drops{{12, "NOT_A_RESET_REASON"}};
    ResetReasonNames resets{{12, "TCP_ABORT_ON_LINGER"}};
    auto raw = raw_of(TPK_EV_TCP_SEND_RESET);
    raw.drop_reason = 12;
    EXPECT_EQ(convert_event(raw, drops, resets)->drop_reason_name, "TCP_ABORT_ON_LINGER");
    EXPECT_EQ(convert_event(raw, drops, resets)->drop_reason, 12);
    raw.drop_reason = 4000;
    EXPECT_EQ(convert_event(raw, drops, resets)->drop_reason_name, "reason_4000");
}

TEST(Convert, CommWithoutTerminatorStaysInBounds) {
    auto raw = raw_of(TPK_EV_SK_DATA_READY);
    std::memset(raw.comm, 'x', sizeof(raw.comm));
    std::memset(raw.dev, 'y', sizeof(raw.dev));
    auto e = convert_event(raw, {});
    EXPECT_EQ(e->comm, std::string(16, 'x'));
    EXPECT_EQ(e->dev, std::string(16, 'y'));
}

// The running kernel's BTF names the drop reasons; without it (no BTF) the
// loader says so instead of returning an empty table silently.
TEST(Convert, DropReasonNamesComeFromTheKernelBtf) {
    auto names = load_drop_reason_names();
    if (!names) GTEST_SKIP() << "no kernel BTF: " << names.error().message();
    bool found = false;
    for (const auto& [value, name] : *names) found |= name == "NO_SOCKET";
    EXPECT_TRUE(found);
}

TEST(Convert, ResetReasonNamesComeFromTheKernelBtf) {
    auto names = load_reset_reason_names();
    if (!names) GTEST_SKIP() << "no kernel BTF: " << names.error().message();
    if (names->empty()) GTEST_SKIP() << "this kernel has no enum sk_rst_reason (before 6.10)";
    bool found = false;
    for (const auto& [value, name] : *names) found |= name == "TCP_ABORT_ON_LINGER";
    EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tpk::kernel
