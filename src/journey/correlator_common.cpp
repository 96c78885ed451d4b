#include "journey/correlator_common.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

bool is_receive_side(K k) {
    switch (k) {
        case K::ip_rcv:
        case K::ip_local_deliver:
        case K::netif_rx:
        case K::netif_receive_skb:
        case K::tcp_probe:
        case K::sk_data_ready:
        case K::skb_copy_datagram_iovec:
        case K::consume_skb:
        case K::kfree_skb:
        case K::sock_recv_length:
        case K::tcp_receive_reset:
            return true;
        default:
            return false;
    }
}

// Where a drop happened, from its reason (include/net/dropreason-core.h):
// kfree_skb itself is reported from wherever the skb died.
Layer drop_layer(const std::string& reason) {
    auto starts = [&](const char* prefix) { return reason.rfind(prefix, 0) == 0; };
    if (reason == "NETFILTER_DROP" || reason == "OTHERHOST" || reason == "XFRM_POLICY" ||
        reason == "PKT_TOO_SMALL" || starts("IP_") || starts("IPV6"))
        return Layer::network;
    if (reason == "NO_SOCKET" || starts("TCP_") || reason == "UDP_CSUM")
        return Layer::transport;
    if (starts("QDISC_") || starts("DEV_") || starts("TC_") || starts("NEIGH_") ||
        reason == "FULL_RING")
        return Layer::device;
    if (reason == "CPU_BACKLOG") return Layer::receive;
    return Layer::socket;
}

}  // namespace

bool flow_empty(const Flow& f) {
    return f.protocol == 0 && f.src.family == 0 && f.dst.family == 0 && f.unix_inode == 0;
}

Flow reversed(const Flow& f) {
    Flow r = f;
    std::swap(r.src, r.dst);
    std::swap(r.unix_inode, r.unix_peer_inode);
    return r;
}

bool same_conversation(const Flow& a, const Flow& b) {
    if (a.protocol != b.protocol) return false;
    return (a.src == b.src && a.dst == b.dst) || (a.src == b.dst && a.dst == b.src);
}

bool is_send_syscall(const std::string& n) {
    return n == "sendto" || n == "sendmsg" || n == "send" || n == "write" || n == "writev" ||
           n == "sendmmsg" || n == "pwrite64";
}
bool is_recv_syscall(const std::string& n) {
    return n == "recvfrom" || n == "recvmsg" || n == "recv" || n == "read" || n == "readv" ||
           n == "recvmmsg";
}

void sort_hops_by_time(std::vector<Hop>& hops) {
    auto by_time = [](const Hop& a, const Hop& b) { return a.t_ns < b.t_ns; };
    if (hops.size() > 16) {   // as ever: equal times keep std::sort's order
        if (!std::is_sorted(hops.begin(), hops.end(), by_time))
            std::sort(hops.begin(), hops.end(), by_time);
        return;
    }
    // Up to 16, std::sort is an insertion sort (stable); this one leaves
    // a hop in its place alone, where std::sort moves each out and back.
    for (auto i = hops.begin() + (hops.empty() ? 0 : 1); i < hops.end(); ++i) {
        if (!by_time(*i, *(i - 1))) continue;
        Hop moving = std::move(*i);
        auto j = i;
        for (; j != hops.begin() && by_time(moving, *(j - 1)); --j) *j = std::move(*(j - 1));
        *j = std::move(moving);
    }
}

Hop hop_from(const Event& e) {
    Hop h;
    h.event = e.kind;
    h.layer = model::layer_of(e.kind);
    h.receive_side = is_receive_side(e.kind);
    h.t_ns = e.t_ns;
    h.pid = e.pid;
    h.tid = e.tid;
    h.cpu = e.cpu;
    h.comm = e.comm;
    h.skb = e.skb;
    h.sk = e.sk;
    h.len = e.skb_len;
    h.dev = e.dev;
    h.ret = e.ret;
    h.old_state = e.old_state;
    h.new_state = e.new_state;
    // The IP hops stand for two functions each, IPv4's and IPv6's.
    if (e.kind == K::ip_output || e.kind == K::ip_rcv || e.kind == K::ip_local_deliver) {
        bool v6 = e.flow.src.family == AF_INET6;
        h.detail = e.kind == K::ip_output ? (v6 ? "ip6_output" : "ip_output")
                   : e.kind == K::ip_rcv  ? (v6 ? "ipv6_rcv" : "ip_rcv")
                                          : (v6 ? "ip6_input" : "ip_local_deliver");
        h.dev.clear();
    }
    if (e.kind == K::kfree_skb) {
        h.detail = "drop " + (e.drop_reason_name.empty() ? std::to_string(e.drop_reason)
                                                           : e.drop_reason_name);
        h.layer = drop_layer(e.drop_reason_name);
    }
    // The skb of tcp_retransmit_skb is the write-queue original: its length is
    // the bytes resent (tcp_transmit_skb sends a clone of it).
    if (e.kind == K::tcp_retransmit_skb) {
        // payload_len is end_seq - seq: a SYN or FIN counts one.
        bool syn = e.tcp_flags & model::kSyn, fin = e.tcp_flags & model::kFin;
        std::uint32_t bytes = e.payload_len - (syn ? 1 : 0) - (fin ? 1 : 0);
        h.detail = syn ? "resends the SYN" : fmt::format("resends {} B", bytes);
        if (fin) h.detail += bytes ? " and the FIN" : "";
        if (fin && !bytes) h.detail = "resends the FIN";
    }
    if (e.kind == K::tcp_send_reset)
        h.detail = e.skb ? "answered with a reset" : "socket resets its connection";
    if (e.kind == K::tcp_receive_reset) h.detail = "socket closed by the reset";
    if (e.kind == K::inet_sock_set_state)
        h.detail = fmt::format("{} -> {}", model::tcp_state_name(e.old_state),
                               model::tcp_state_name(e.new_state));
    if (e.kind == K::skb_copy_datagram_iovec && e.size) h.detail = fmt::format("{} B", e.size);
    if (e.kind == K::fib_table_lookup)
        h.detail = e.route_err ? fmt::format("table {} err {}", e.table, e.route_err)
                               : fmt::format("table {}", e.table);
    return h;
}

Hop syscall_hop(const Syscall& s, std::size_t index, bool enter, bool receive_side) {
    Hop h;
    h.event = enter ? K::syscall_enter : K::syscall_exit;
    h.layer = Layer::application;
    h.receive_side = receive_side;
    h.t_ns = enter ? s.enter_ns : s.exit_ns;
    h.pid = s.pid;
    h.tid = s.tid;
    h.comm = s.comm;
    h.sk = s.sk;
    h.detail = s.name + (enter ? " enter" : fmt::format(" exit = {}", s.ret));
    h.syscall = index;
    return h;
}

const Hop* first_send_device_hop(const Packet& p) {
    for (const Hop& h : p.hops)
        if (!h.receive_side && (h.event == K::net_dev_queue || h.event == K::net_dev_start_xmit))
            return &h;
    return nullptr;
}

bool same_context(const Hop& h, const Event& e) {
    return h.tid == e.tid && (e.tid != 0 || h.cpu == e.cpu);
}

bool has_event(const Packet& p, K kind) {
    return std::any_of(p.hops.begin(), p.hops.end(), [&](const Hop& h) { return h.event == kind; });
}

// When a packet reached the wire: the device starts to transmit it
// (net:net_dev_start_xmit). A capture on lo keeps the received copy (libpcap
// drops lo's outgoing one), which the same CPU takes next (loopback_xmit ->
// netif_rx -> its backlog), so this is capture order but for two packets sent
// within a microsecond on two CPUs. Packets that never reach a device (UNIX
// sockets) keep the time of their first hop.
std::uint64_t wire_time(const Packet& p) {
    std::uint64_t first = UINT64_MAX;
    for (const auto& h : p.hops) {
        if (h.event == K::net_dev_start_xmit && !h.receive_side) return h.t_ns;
        first = std::min(first, h.t_ns);
    }
    return first == UINT64_MAX ? 0 : first;
}

std::vector<std::size_t> wire_order(const std::vector<PacketState>& ps) {
    // (wire time, index): each packet's hops are scanned once, and equal
    // times keep their index order, as a stable sort by wire time would.
    std::vector<std::pair<std::uint64_t, std::size_t>> keyed(ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) keyed[i] = {wire_time(ps[i].p), i};
    if (!std::is_sorted(keyed.begin(), keyed.end())) std::sort(keyed.begin(), keyed.end());
    std::vector<std::size_t> order(ps.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = keyed[i].second;
    return order;
}

namespace {

bool endpoint_less(const model::Endpoint& x, const model::Endpoint& y) {
    return std::tie(x.family, x.port, x.addr) < std::tie(y.family, y.port, y.addr);
}

// FNV-1a over an endpoint's fields.
std::size_t hash_endpoint(const model::Endpoint& e, std::size_t h) {
    auto mix = [&h](std::uint8_t byte) { h = (h ^ byte) * 1099511628211ull; };
    mix(static_cast<std::uint8_t>(e.family));
    mix(static_cast<std::uint8_t>(e.family >> 8));
    mix(static_cast<std::uint8_t>(e.port));
    mix(static_cast<std::uint8_t>(e.port >> 8));
    for (auto byte : e.addr) mix(byte);
    return h;
}

constexpr std::size_t kFnvBasis = 1469598103934665603ull;

template <typename Map, typename Key>
std::size_t find_or_none(const Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? kNone : it->second;
}

}  // namespace

ConversationKey::ConversationKey(const Flow& f) : protocol(f.protocol), a(f.src), b(f.dst) {
    if (endpoint_less(b, a)) std::swap(a, b);
}

std::size_t ConversationKeyHash::operator()(const ConversationKey& k) const {
    return hash_endpoint(k.b, hash_endpoint(k.a, (kFnvBasis ^ k.protocol) * 1099511628211ull));
}

std::size_t ConnectionIndex::EndKeyHash::operator()(const EndKey& k) const {
    return hash_endpoint(k.e, (kFnvBasis ^ k.protocol) * 1099511628211ull);
}

ConnectionIndex::ConnectionIndex(const std::vector<Connection>& connections,
                                 const std::vector<std::uint64_t>& starts)
    : starts_(starts) {
    for (std::size_t i = 0; i < connections.size(); ++i) {
        const auto& c = connections[i];
        const Flow& f = c.client_to_server;
        // emplace keeps the first, assignment the last.
        if (f.protocol) conversation_[ConversationKey(f)].push_back(i);   // all, in order
        for (auto sk : {c.client_sk, c.server_sk, c.listen_sk})
            if (sk) last_socket_[sk] = i;
        if (c.client_sk) socket_role_.emplace(c.client_sk, Role::client);
        if (c.server_sk) socket_role_.emplace(c.server_sk, Role::server);
        if (c.listen_sk) socket_role_.emplace(c.listen_sk, Role::server);
        last_serving_[port_key(f.protocol, f.dst.port)] = i;
        first_serving_.emplace(port_key(f.protocol, f.dst.port), i);
        first_client_.emplace(EndKey{f.protocol, f.src}, i);
        first_server_.emplace(EndKey{f.protocol, f.dst}, i);
    }
}

std::size_t ConnectionIndex::of_flow(const Flow& f, std::uint64_t t_ns) const {
    if (f.protocol == 0) return kNone;
    auto it = conversation_.find(ConversationKey(f));
    if (it == conversation_.end()) return kNone;
    std::size_t found = it->second.front();
    if (t_ns)
        for (auto c : it->second)
            if (c < starts_.size() && starts_[c] <= t_ns) found = c;
    return found;
}

std::size_t ConnectionIndex::last_with_socket(std::uint64_t sk) const {
    return find_or_none(last_socket_, sk);
}

std::size_t ConnectionIndex::last_serving(std::uint8_t protocol, std::uint16_t port) const {
    return find_or_none(last_serving_, port_key(protocol, port));
}

std::size_t ConnectionIndex::first_client_end(std::uint8_t protocol,
                                              const model::Endpoint& e) const {
    return find_or_none(first_client_, EndKey{protocol, e});
}

std::size_t ConnectionIndex::first_server_end(std::uint8_t protocol,
                                              const model::Endpoint& e) const {
    return find_or_none(first_server_, EndKey{protocol, e});
}

std::size_t ConnectionIndex::first_serving(std::uint8_t protocol, std::uint16_t port) const {
    return find_or_none(first_serving_, port_key(protocol, port));
}

Role ConnectionIndex::socket_role(std::uint64_t sk) const {
    auto it = socket_role_.find(sk);
    return it == socket_role_.end() ? Role::unknown : it->second;
}

namespace {

template <typename Packets, typename PacketOf>
std::vector<std::uint64_t> starts_of(const Packets& packets, std::size_t connections,
                                     PacketOf packet_of) {
    std::vector<std::uint64_t> starts(connections, UINT64_MAX);
    for (const auto& item : packets) {
        const Packet& p = packet_of(item);
        if (p.connection < connections && !p.hops.empty())
            starts[p.connection] = std::min(starts[p.connection], p.hops.front().t_ns);
    }
    return starts;
}

}  // namespace

std::vector<std::uint64_t> connection_starts(const std::vector<Packet>& packets,
                                             std::size_t connections) {
    return starts_of(packets, connections, [](const Packet& p) -> const Packet& { return p; });
}

std::vector<std::uint64_t> connection_starts(const std::vector<PacketState>& packets,
                                             std::size_t connections) {
    return starts_of(packets, connections,
                     [](const PacketState& ps) -> const Packet& { return ps.p; });
}

Role role_of_pid(std::uint32_t pid, const std::vector<Process>& processes) {
    for (const auto& p : processes)
        if (p.pid == pid) return p.role;
    return Role::unknown;
}

const Hop* untraced_sender(const Packet& p, const std::vector<Syscall>& syscalls) {
    const Hop* first = nullptr;
    for (const Hop& h : p.hops)
        if (!h.receive_side && h.event != EventKind::syscall_enter &&
            (!first || h.t_ns < first->t_ns))
            first = &h;
    if (!first || first->pid == 0 || first->comm.rfind("ksoftirqd", 0) == 0) return nullptr;
    // A traced program's calls are known (none was open then), and a socket
    // traced calls used belongs to them, not to the task a softirq ran in.
    for (const auto& s : syscalls)
        if (s.pid == first->pid || (p.sender_sk && s.sk == p.sender_sk)) return nullptr;
    return first;
}

}  // namespace tpk::journey::stages
