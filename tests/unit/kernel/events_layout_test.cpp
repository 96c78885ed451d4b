// bpf/events.h is read by two compilers (clang -target bpf and g++): its
// layout must not depend on either. These asserts fail the build when a
// field moves; the BPF side's offsets come from the same header.
#include <linux/types.h>

#include <cstddef>

#include <gtest/gtest.h>

#include "events.h"

static_assert(sizeof(tpk_event) == 256, "tpk_event is 256 bytes, no implicit padding");
static_assert(alignof(tpk_event) == 8);
static_assert(offsetof(tpk_event, kind) == 0, "the kind tag comes first");
static_assert(offsetof(tpk_event, cpu) == 4);
static_assert(offsetof(tpk_event, t_ns) == 8);
static_assert(offsetof(tpk_event, skb) == 16);
static_assert(offsetof(tpk_event, sk) == 24);
static_assert(offsetof(tpk_event, unix_inode) == 32);
static_assert(offsetof(tpk_event, unix_peer_inode) == 40);
static_assert(offsetof(tpk_event, ret) == 48);
static_assert(offsetof(tpk_event, pid) == 56);
static_assert(offsetof(tpk_event, tid) == 60);
static_assert(offsetof(tpk_event, seq) == 64);
static_assert(offsetof(tpk_event, ack) == 68);
static_assert(offsetof(tpk_event, payload_len) == 72);
static_assert(offsetof(tpk_event, skb_len) == 76);
static_assert(offsetof(tpk_event, ifindex) == 80);
static_assert(offsetof(tpk_event, size) == 84);
static_assert(offsetof(tpk_event, msg_flags) == 88);
static_assert(offsetof(tpk_event, family) == 92);
static_assert(offsetof(tpk_event, sport) == 94);
static_assert(offsetof(tpk_event, dport) == 96);
static_assert(offsetof(tpk_event, protocol) == 98);
static_assert(offsetof(tpk_event, tcp_flags) == 99);
static_assert(offsetof(tpk_event, flow_source) == 100);
static_assert(offsetof(tpk_event, fd_is_socket) == 101);
static_assert(offsetof(tpk_event, pad) == 102);
static_assert(offsetof(tpk_event, saddr) == 104);
static_assert(offsetof(tpk_event, daddr) == 120);
static_assert(offsetof(tpk_event, comm) == 136);
static_assert(offsetof(tpk_event, dev) == 152);
static_assert(offsetof(tpk_event, syscall_nr) == 168);
static_assert(offsetof(tpk_event, old_state) == 172);
static_assert(offsetof(tpk_event, new_state) == 176);
static_assert(offsetof(tpk_event, table) == 180);
static_assert(offsetof(tpk_event, route_err) == 184);
static_assert(offsetof(tpk_event, drop_reason) == 188);
static_assert(offsetof(tpk_event, gateway) == 192);
static_assert(offsetof(tpk_event, args) == 208);
// Short records (packet and socket hops) end where the long-only fields begin.
static_assert(offsetof(tpk_event, syscall_nr) == TPK_EVENT_SHORT_SIZE);
static_assert(TPK_EVENT_SHORT_SIZE % 8 == 0, "records stay 8-byte aligned in the ring");

static_assert(TPK_PORT_TCP != TPK_PORT_UDP && TPK_PORT_TCP < TPK_PORT_TABLES &&
              TPK_PORT_UDP < TPK_PORT_TABLES);
static_assert(TPK_PORTS == 65536, "one flag per 16-bit port");

// A data system call's record: the exit event, a count, then the hops.
static_assert(sizeof(tpk_sub_event) == 56);
static_assert(offsetof(tpk_sub_event, t_ns) == 8);
static_assert(offsetof(tpk_sub_event, ret) == 32);
static_assert(offsetof(tpk_syscall_record, exit) == 0, "the kind tag comes first here too");
static_assert(offsetof(tpk_syscall_record, nsubs) == 256);
static_assert(offsetof(tpk_syscall_record, subs) == 264);
static_assert(sizeof(tpk_syscall_record) == 264 + TPK_MAX_SUBS * 56);
static_assert(offsetof(tpk_syscall_start, subs) % 8 == 0);
// A packet's staged hops: the first hop's event, a count, then the hops.
static_assert(sizeof(tpk_hop) == 40);
static_assert(offsetof(tpk_packet_record, first) == 0);
static_assert(offsetof(tpk_packet_record, nhops) == 256);
static_assert(offsetof(tpk_packet_record, hops) == 264);
static_assert((TPK_PACKET_HOPS & (TPK_PACKET_HOPS - 1)) == 0, "the BPF side masks hop indexes");

// The fields sum to the size: nothing was padded in behind our back.
TEST(EventsLayout, FieldsFillTheStructExactly) {
    tpk_event e{};
    std::size_t sum = sizeof e.kind + sizeof e.cpu + sizeof e.t_ns + sizeof e.skb + sizeof e.sk +
                      sizeof e.unix_inode + sizeof e.unix_peer_inode + sizeof e.args + sizeof e.msg_flags +
                      sizeof e.ret + sizeof e.pid + sizeof e.tid + sizeof e.seq + sizeof e.ack +
                      sizeof e.payload_len + sizeof e.skb_len + sizeof e.ifindex +
                      sizeof e.syscall_nr + sizeof e.old_state + sizeof e.new_state +
                      sizeof e.table + sizeof e.route_err + sizeof e.drop_reason + sizeof e.size +
                      sizeof e.saddr + sizeof e.daddr + sizeof e.gateway + sizeof e.family +
                      sizeof e.sport + sizeof e.dport + sizeof e.protocol + sizeof e.tcp_flags +
                      sizeof e.flow_source + sizeof e.fd_is_socket + sizeof e.pad + sizeof e.comm +
                      sizeof e.dev;
    EXPECT_EQ(sum, sizeof(tpk_event));
}
