#include "journey/correlator_events.h"

#include <algorithm>
#include <unordered_map>

namespace tpk::journey::stages {

using K = EventKind;

bool is_skb_hop(EventKind k) {
    switch (k) {
        case K::ip_output:
        case K::ip_rcv:
        case K::ip_local_deliver:
        case K::net_dev_queue:
        case K::net_dev_start_xmit:
        case K::net_dev_xmit:
        case K::netif_rx:
        case K::netif_receive_skb:
        case K::tcp_probe:
        case K::skb_copy_datagram_iovec:
        case K::consume_skb:
        case K::kfree_skb:
            return true;
        default:
            return false;
    }
}

EventStreams sort_events(const std::vector<Event>& events, std::uint16_t server_port) {
    EventStreams out;
    // By time, equal times in input order: sorting (time, position) pairs
    // does what a stable sort of the events would, without reading an event
    // (hundreds of bytes apart) per comparison.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
    order.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i)
        order.emplace_back(events[i].t_ns, static_cast<std::uint32_t>(i));
    std::sort(order.begin(), order.end());
    out.all.reserve(events.size());
    for (auto [t, i] : order) out.all.push_back(&events[i]);
    for (const Event* e : out.all) {
        if (e->kind == K::frame) {
            out.frames.push_back(e);
            continue;
        }
        if (e->kind == K::socket_snapshot) {
            SocketView v;
            v.t_ns = e->t_ns;
            // flags carries the side when the snapshot's taker knew it (1
            // client, 2 server); else the server port tells.
            v.role = e->flags == 1 ? Role::client : e->flags == 2 ? Role::server : Role::unknown;
            if (v.role == Role::unknown && server_port)
                v.role = e->flow.src.port == server_port ? Role::server : Role::client;
            v.flow = e->flow;
            v.state = e->new_state;
            v.recv_q = e->recv_q;
            v.send_q = e->send_q;
            out.sockets.push_back(v);
            continue;
        }
        if (e->kind == K::process_exit) out.exits.push_back(e);
        if (e->kind == K::syscall_enter || e->kind == K::syscall_exit ||
            e->kind == K::process_fork || e->kind == K::process_exit)
            continue;
        if (!is_skb_hop(e->kind) || e->skb == 0) {
            out.side.push_back(e);
            continue;
        }
        out.skb_hops.push_back(e);
    }
    return out;
}

namespace {

// What a call's enter or exit event says of it: who, which call, which fd
// and sock, and when it (or, for an exit without its enter, its end) was seen.
Syscall syscall_of(const Event& e) {
    Syscall s;
    s.name = e.syscall;
    s.nr = e.syscall_nr;
    s.pid = e.pid;
    s.tid = e.tid;
    s.comm = e.comm;
    s.fd = e.fd;
    s.enter_ns = e.t_ns;
    s.sk = e.sk;
    return s;
}

}  // namespace

std::vector<Syscall> pair_syscalls(const std::vector<const Event*>& all,
                                   const std::vector<Process>& processes) {
    std::vector<Syscall> syscalls;
    std::unordered_map<std::uint32_t, std::size_t> open;  // tid -> syscall
    for (const Event* e : all) {
        if (e->kind == K::syscall_enter) {
            Syscall s = syscall_of(*e);
            s.size = e->size;
            s.flags = e->flags;
            open[e->tid] = syscalls.size();
            syscalls.push_back(std::move(s));
        } else if (e->kind == K::syscall_exit) {
            auto it = open.find(e->tid);
            if (it != open.end() && syscalls[it->second].nr == e->syscall_nr) {
                auto& s = syscalls[it->second];
                s.exit_ns = e->t_ns;
                s.ret = e->ret;
                if (!s.sk) s.sk = e->sk;
                else if (e->sk && e->sk != s.sk) s.new_sk = e->sk;  // accept()
                if (s.name == "socket" || s.name == "socketpair") s.new_sk = e->sk;
                open.erase(it);
            } else {
                // The enter happened before tracing started (or was lost).
                Syscall s = syscall_of(*e);
                s.exit_ns = e->t_ns;
                s.ret = e->ret;
                syscalls.push_back(std::move(s));
            }
        }
    }
    // In enter order already unless an exit came without its enter.
    auto by_enter = [](const Syscall& a, const Syscall& b) { return a.enter_ns < b.enter_ns; };
    if (!std::is_sorted(syscalls.begin(), syscalls.end(), by_enter))
        std::stable_sort(syscalls.begin(), syscalls.end(), by_enter);
    for (std::size_t i = 0; i < syscalls.size(); ++i) {
        auto& s = syscalls[i];
        if (auto r = role_of_pid(s.pid, processes); r != Role::unknown) s.role = r;
    }
    return syscalls;
}

}  // namespace tpk::journey::stages
