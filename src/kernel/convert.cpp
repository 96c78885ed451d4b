#include "kernel/convert.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include <bpf/btf.h>

#include "kernel/kernel_support.h"
#include "kernel/syscalls.h"

namespace tpk::kernel {
namespace {

using model::EventKind;

std::string bounded_string(const char* p, std::size_t max) {
    return std::string(p, strnlen(p, max));
}

void convert_flow(const tpk_event& raw, model::Event& e) {
    if (raw.flow_source == TPK_FLOW_NONE) return;
    auto& f = e.flow;
    f.protocol = raw.protocol;
    f.src.family = f.dst.family = raw.family;
    if (raw.family == AF_UNIX) {
        f.unix_inode = raw.unix_inode;
        f.unix_peer_inode = raw.unix_peer_inode;
        return;
    }
    f.src.port = raw.sport;
    f.dst.port = raw.dport;
    std::size_t n = raw.family == AF_INET ? 4 : 16;
    std::copy_n(raw.saddr, n, f.src.addr.begin());
    std::copy_n(raw.daddr, n, f.dst.addr.begin());
}

std::uint64_t arg(const tpk_event& raw, int index) {
    return index == kNoArg ? 0 : raw.args[index];
}

std::string reason_name(const std::unordered_map<int, std::string>& names, std::int32_t value) {
    auto it = names.find(value);
    return it != names.end() ? it->second : "reason_" + std::to_string(value);
}

// The names of a kernel enum from its BTF, with `prefix` dropped.
Result<std::unordered_map<int, std::string>> enum_names(const char* enum_name,
                                                        std::string_view prefix) {
    const struct btf* btf = vmlinux_btf();   // parsed once per process
    if (!btf) return errno_error(std::string("read the kernel's BTF for ") + enum_name + " names");
    std::unordered_map<int, std::string> names;
    int id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
    if (id > 0) {
        const struct btf_type* t = btf__type_by_id(btf, id);
        const struct btf_enum* values = btf_enum(t);
        for (int i = 0; i < btf_vlen(t); ++i) {
            std::string_view name = btf__name_by_offset(btf, values[i].name_off);
            if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
            names.emplace(values[i].val, std::string(name));
        }
    }
    return names;
}

void convert_syscall(const tpk_event& raw, model::Event& e) {
    e.syscall_nr = raw.syscall_nr;
    e.syscall = syscall_name(raw.syscall_nr);
    if (const auto* info = find_syscall(raw.syscall_nr)) {
        if (info->fd_arg != kNoArg) e.fd = static_cast<std::int32_t>(arg(raw, info->fd_arg));
        e.size = arg(raw, info->size_arg);
        e.flags = arg(raw, info->flags_arg);
    }
    if (raw.kind == TPK_EV_SYSCALL_EXIT) e.ret = raw.ret;
}

}  // namespace

std::optional<EventKind> event_kind_of(std::uint32_t raw_kind) {
    switch (raw_kind) {
        case TPK_EV_SYSCALL_ENTER: return EventKind::syscall_enter;
        case TPK_EV_SYSCALL_EXIT: return EventKind::syscall_exit;
        case TPK_EV_SOCK_SEND_LENGTH: return EventKind::sock_send_length;
        case TPK_EV_SOCK_RECV_LENGTH: return EventKind::sock_recv_length;
        case TPK_EV_TCP_SENDMSG_LOCKED: return EventKind::tcp_sendmsg_locked;
        case TPK_EV_FIB_TABLE_LOOKUP: return EventKind::fib_table_lookup;
        case TPK_EV_NET_DEV_QUEUE: return EventKind::net_dev_queue;
        case TPK_EV_NET_DEV_START_XMIT: return EventKind::net_dev_start_xmit;
        case TPK_EV_NET_DEV_XMIT: return EventKind::net_dev_xmit;
        case TPK_EV_NETIF_RX: return EventKind::netif_rx;
        case TPK_EV_NETIF_RECEIVE_SKB: return EventKind::netif_receive_skb;
        case TPK_EV_TCP_PROBE: return EventKind::tcp_probe;
        case TPK_EV_INET_SOCK_SET_STATE: return EventKind::inet_sock_set_state;
        case TPK_EV_SK_DATA_READY: return EventKind::sk_data_ready;
        case TPK_EV_SKB_COPY_DATAGRAM_IOVEC: return EventKind::skb_copy_datagram_iovec;
        case TPK_EV_CONSUME_SKB: return EventKind::consume_skb;
        case TPK_EV_KFREE_SKB: return EventKind::kfree_skb;
        case TPK_EV_TCP_RETRANSMIT_SKB: return EventKind::tcp_retransmit_skb;
        case TPK_EV_TCP_SEND_RESET: return EventKind::tcp_send_reset;
        case TPK_EV_TCP_RECEIVE_RESET: return EventKind::tcp_receive_reset;
        case TPK_EV_PROCESS_FORK: return EventKind::process_fork;
        case TPK_EV_PROCESS_EXIT: return EventKind::process_exit;
        case TPK_EV_IP_OUTPUT: return EventKind::ip_output;
        case TPK_EV_IP_RCV: return EventKind::ip_rcv;
        case TPK_EV_IP_LOCAL_DELIVER: return EventKind::ip_local_deliver;
        default: return std::nullopt;
    }
}

std::optional<tpk_event> raw_event_of(const void* data, std::size_t size) {
    if (size < TPK_EVENT_SHORT_SIZE) return std::nullopt;
    tpk_event raw{};
    std::memcpy(&raw, data, std::min(size, sizeof(raw)));
    return raw;
}

namespace {

// A hop kept in a data call's record, as the record it stands for: the
// call's flow, pid, tid and comm (the hop ran in its thread, on its sock)
// with the hop's own fields. A hop's own record carries no syscall fields.
tpk_event event_of_sub(const tpk_event& exit, const tpk_sub_event& sub) {
    tpk_event e = exit;
    e.kind = sub.kind;
    e.t_ns = sub.t_ns;
    e.cpu = sub.cpu;
    if (sub.kind == TPK_EV_SYSCALL_ENTER) {
        e.ret = 0;
        return e;
    }
    e.syscall_nr = 0;
    std::fill(std::begin(e.args), std::end(e.args), 0);
    e.fd_is_socket = 0;
    e.sk = sub.sk;
    e.skb = sub.skb;
    e.ret = sub.ret;
    e.size = sub.size;
    e.skb_len = sub.skb_len;
    e.msg_flags = sub.msg_flags;
    return e;
}

// A staged packet hop as the record it stands for: the first hop's event
// with the hop's own fields; net_dev_xmit's record has no flow and
// tcp_probe's no device.
tpk_event event_of_hop(const tpk_event& first, const tpk_hop& hop) {
    tpk_event e{};
    std::memcpy(&e, &first, TPK_EVENT_SHORT_SIZE);   // a short record's tail is zero
    e.kind = hop.kind;
    e.t_ns = hop.t_ns;
    e.sk = hop.sk;
    e.ret = hop.ret;
    e.skb_len = hop.skb_len;
    e.ifindex = hop.ifindex;
    if (hop.flags & TPK_HOP_NO_DEV) std::fill(std::begin(e.dev), std::end(e.dev), 0);
    if (hop.flags & TPK_HOP_NO_FLOW) {
        e.seq = e.ack = e.payload_len = 0;
        e.family = e.sport = e.dport = 0;
        e.protocol = e.tcp_flags = e.flow_source = 0;
        std::fill(std::begin(e.saddr), std::end(e.saddr), 0);
        std::fill(std::begin(e.daddr), std::end(e.daddr), 0);
    }
    return e;
}

std::size_t expand_hops(const tpk_event& first, const tpk_hop* hops, std::size_t n,
                        RawEvents& out) {
    n = std::min(n, out.size());
    for (std::size_t i = 0; i < n; ++i) out[i] = event_of_hop(first, hops[i]);
    return n;
}

}  // namespace

std::size_t expand_stage(const tpk_packet_record& stage, RawEvents& out) {
    return expand_hops(stage.first, stage.hops, std::min<std::size_t>(stage.nhops, TPK_PACKET_HOPS),
                       out);
}

std::size_t expand_record(const void* data, std::size_t size, RawEvents& out) {
    __u32 kind = 0;
    if (size < sizeof(kind)) return 0;
    std::memcpy(&kind, data, sizeof(kind));
    if (kind == TPK_EV_PACKET) {
        constexpr std::size_t head = offsetof(tpk_packet_record, hops);
        if (size < head) return 0;
        tpk_packet_record r{};
        std::memcpy(&r, data, std::min(size, sizeof(r)));
        std::size_t hops = std::min<std::size_t>({r.nhops, TPK_PACKET_HOPS,
                                                  (size - head) / sizeof(tpk_hop)});
        return expand_hops(r.first, r.hops, hops, out);
    }
    if (kind != TPK_EV_SYSCALL) {
        auto raw = raw_event_of(data, size);
        if (!raw) return 0;
        out[0] = *raw;
        return 1;
    }
    constexpr std::size_t head = offsetof(tpk_syscall_record, subs);
    if (size < head) return 0;
    tpk_syscall_record r{};
    std::memcpy(&r, data, std::min(size, sizeof(r)));
    std::size_t subs = std::min<std::size_t>({r.nsubs, TPK_MAX_SUBS,
                                              (size - head) / sizeof(tpk_sub_event)});
    std::size_t n = 0;
    for (std::size_t i = 0; i < subs; ++i) out[n++] = event_of_sub(r.exit, r.subs[i]);
    out[n] = r.exit;
    out[n].kind = TPK_EV_SYSCALL_EXIT;
    return n + 1;
}

namespace {

// fill_sock_flow()'s direction (bpf/traced.bpf.h): rx puts the peer first.
void turn_around(tpk_event& e) {
    std::swap(e.sport, e.dport);
    std::swap(e.saddr, e.daddr);
    std::swap(e.unix_inode, e.unix_peer_inode);
}

}  // namespace

void SockFlows::learn(const tpk_event& raw) {
    if ((raw.kind != TPK_EV_SYSCALL_ENTER && raw.kind != TPK_EV_SYSCALL_EXIT) || !raw.sk ||
        raw.flow_source != TPK_FLOW_SOCK)
        return;
    const auto* info = find_syscall(raw.syscall_nr);
    tpk_event flow = raw;
    if (info && (info->knobs & TPK_SC_RX)) turn_around(flow);
    local_first_[raw.sk] = flow;
}

void SockFlows::fill(tpk_event& e, std::uint64_t sk, bool rx) const {
    auto it = local_first_.find(sk);
    if (it == local_first_.end()) return;
    const tpk_event& f = it->second;
    e.family = f.family;
    e.protocol = f.protocol;
    e.flow_source = f.flow_source;
    e.sport = f.sport;
    e.dport = f.dport;
    std::copy(std::begin(f.saddr), std::end(f.saddr), std::begin(e.saddr));
    std::copy(std::begin(f.daddr), std::end(f.daddr), std::begin(e.daddr));
    e.unix_inode = f.unix_inode;
    e.unix_peer_inode = f.unix_peer_inode;
    if (rx) turn_around(e);
}

std::size_t expand_unfinished(const tpk_syscall_start& start, const tpk_event& thread,
                              RawEvents& out) {
    if (!start.active || !start.deferred) return 0;
    tpk_syscall_record r{};
    r.exit = thread;
    r.exit.kind = TPK_EV_SYSCALL;
    r.exit.syscall_nr = start.nr;
    std::copy(std::begin(start.args), std::end(start.args), std::begin(r.exit.args));
    r.exit.sk = start.sk;
    r.exit.fd_is_socket = start.fd_is_socket;
    r.nsubs = start.nsubs;
    std::copy(std::begin(start.subs), std::end(start.subs), std::begin(r.subs));
    std::size_t n = expand_record(&r, sizeof(r), out);
    return n ? n - 1 : 0;   // everything but the exit that has not happened
}

std::optional<model::Event> convert_event(const tpk_event& raw, const DropReasonNames& drop_names,
                                          const ResetReasonNames& reset_names) {
    auto kind = event_kind_of(raw.kind);
    if (!kind) return std::nullopt;
    model::Event e;
    e.kind = *kind;
    e.t_ns = raw.t_ns;
    e.pid = raw.pid;
    e.tid = raw.tid;
    e.cpu = raw.cpu;
    e.comm = bounded_string(raw.comm, sizeof(raw.comm));
    e.skb = raw.skb;
    e.sk = raw.sk;
    convert_flow(raw, e);
    e.tcp_flags = raw.tcp_flags;
    e.seq = raw.seq;
    e.ack = raw.ack;
    e.payload_len = raw.payload_len;
    e.skb_len = raw.skb_len;
    e.ifindex = raw.ifindex;
    e.dev = bounded_string(raw.dev, sizeof(raw.dev));

    switch (raw.kind) {
        case TPK_EV_SYSCALL_ENTER:
        case TPK_EV_SYSCALL_EXIT:
            convert_syscall(raw, e);
            break;
        case TPK_EV_SOCK_SEND_LENGTH:
        case TPK_EV_SOCK_RECV_LENGTH:
            // The tracepoint's ret: bytes moved, or -errno.
            e.ret = raw.ret;
            e.size = raw.ret > 0 ? static_cast<std::uint64_t>(raw.ret) : 0;
            e.flags = raw.msg_flags;
            break;
        case TPK_EV_SKB_COPY_DATAGRAM_IOVEC:
            e.size = raw.size;      // bytes copied to user space
            break;
        case TPK_EV_TCP_SENDMSG_LOCKED:
            e.size = raw.size;      // bytes still to send from the msghdr
            break;
        case TPK_EV_INET_SOCK_SET_STATE:
            e.old_state = raw.old_state;
            e.new_state = raw.new_state;
            break;
        case TPK_EV_FIB_TABLE_LOOKUP:
            e.table = raw.table;
            e.route_err = raw.route_err;
            std::copy_n(raw.gateway, 16, e.gateway.begin());
            break;
        case TPK_EV_NET_DEV_XMIT:
            e.ret = raw.ret;        // the driver's NETDEV_TX_* code
            break;
        case TPK_EV_TCP_RETRANSMIT_SKB:
            e.ret = raw.ret;        // 0, or -errno: nothing was sent again
            break;
        case TPK_EV_KFREE_SKB:
            e.drop_reason = raw.drop_reason;
            e.drop_reason_name = reason_name(drop_names, raw.drop_reason);
            break;
        case TPK_EV_TCP_SEND_RESET:
            // enum sk_rst_reason, not skb_drop_reason: named from its own enum.
            e.drop_reason = raw.drop_reason;
            e.drop_reason_name = reason_name(reset_names, raw.drop_reason);
            break;
        case TPK_EV_PROCESS_FORK:
        case TPK_EV_PROCESS_EXIT:
            e.ret = raw.ret;        // child tgid (fork), exit code (exit)
            break;
        default:
            break;
    }
    return e;
}

Result<DropReasonNames> load_drop_reason_names() {
    return enum_names("skb_drop_reason", "SKB_DROP_REASON_");
}

Result<ResetReasonNames> load_reset_reason_names() {
    return enum_names("sk_rst_reason", "SK_RST_REASON_");
}

}  // namespace tpk::kernel
