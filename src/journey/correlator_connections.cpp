#include "journey/correlator_connections.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <map>
#include <optional>
#include <set>

namespace tpk::journey::stages {
namespace {

using K = EventKind;


// Who is the client: the sender of a SYN without ACK; else the side that is
// not a known server port; else the first sender.
Flow client_direction(const std::vector<PacketState>& ps, const std::vector<std::size_t>& members,
                      const ServerPorts& server_ports) {
    for (std::size_t i : members) {
        const auto& p = ps[i].p;
        if (p.flow.protocol == IPPROTO_TCP && (p.tcp_flags & model::kSyn) &&
            !(p.tcp_flags & model::kAck))
            return p.flow;
    }
    const Flow& first = ps[members.front()].p.flow;
    const bool to_server = server_ports.contains(first.dst.port);
    const bool from_server = server_ports.contains(first.src.port);
    if (from_server && !to_server) return reversed(first);
    return first;
}

}  // namespace


// sk -> its local and remote endpoints, from every source that names both:
// the socket tracepoints give local -> remote; a transmitted skb's owner is its
// sender; tcp_probe's socket is the receiver.
SocketMap learn_sockets(const EventStreams& events, std::vector<PacketState>& packets,
                        std::vector<Syscall>& syscalls, const Timeline& at) {
    SocketMap sockets;
    auto& sk_flow = sockets.flow;
    auto& sk_family = sockets.family;
    for (const Event* e : events.side) {
        if (!e->sk) continue;
        if (e->flow.src.family) sk_family[e->sk] = e->flow.src.family;
        if (e->kind == K::inet_sock_set_state || e->kind == K::tcp_sendmsg_locked) {
            // tcp_v4_connect() sets SYN-SENT before inet_hash_connect() picks
            // the local port: a flow from port 0 is replaced by a later one.
            auto known = sk_flow.find(e->sk);
            bool better = known == sk_flow.end() ||
                          (known->second.src.port == 0 && e->flow.src.port != 0);
            if (e->flow.protocol && better) sk_flow[e->sk] = e->flow;
        }
    }
    for (const Event* e : events.all) {
        if ((e->kind == K::syscall_enter || e->kind == K::syscall_exit) && e->sk &&
            e->flow.src.family)
            sk_family[e->sk] = e->flow.src.family;
    }
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        // A SYN-ACK leaves from the request sock (tcp_v4_send_synack), a
        // mini socket with the connection's endpoints that never carries data:
        // taking it for the server's socket would give its packets and reads
        // to the wrong sk.
        bool syn_ack = (p.tcp_flags & model::kSyn) && (p.tcp_flags & model::kAck);
        if (p.sender_sk && !syn_ack && !sk_flow.count(p.sender_sk))
            sk_flow[p.sender_sk] = p.flow;
        if (p.receiver_sk && !sk_flow.count(p.receiver_sk))
            sk_flow[p.receiver_sk] = reversed(p.flow);
    }
    // Packets whose owners were not on their events: find them by endpoint.
    // Several socks can share a connection's endpoints (a TIME-WAIT sock
    // answers its last segments): prefer one a system call used.
    std::set<std::uint64_t> used;
    for (const auto& s : syscalls) {
        if (s.sk) used.insert(s.sk);
        if (s.new_sk) used.insert(s.new_sk);
    }
    for (auto& ps : packets) {
        auto& p = ps.p;
        if (p.flow.protocol == 0) continue;
        auto pick = [&](const model::Endpoint& local, const model::Endpoint& remote) {
            std::uint64_t any = 0, called = 0;
            for (const auto& [sk, f] : sk_flow) {
                if (f.protocol != p.flow.protocol || f.src != local || f.dst != remote) continue;
                if (!any) any = sk;
                if (!called && used.count(sk)) called = sk;
            }
            return called ? called : any;
        };
        if (!p.sender_sk) p.sender_sk = pick(p.flow.src, p.flow.dst);
        if (!p.receiver_sk) p.receiver_sk = pick(p.flow.dst, p.flow.src);
    }
    // A syscall's socket: its own sk, or the socket tracepoints that fired
    // inside its window on the same thread.
    for (const Event* e : events.side) {
        if (e->kind != K::sock_send_length && e->kind != K::sock_recv_length &&
            e->kind != K::tcp_sendmsg_locked && e->kind != K::inet_sock_set_state)
            continue;
        if (!e->sk) continue;
        std::size_t s = at.open_syscall(e->tid, e->t_ns);
        if (s == kNone || syscalls[s].sk) continue;
        // inet_sock_set_state fires for whichever socket softirq touches, so
        // it names the syscall's socket only for the caller's own transitions
        // (connect: CLOSE -> SYN-SENT, listen: CLOSE -> LISTEN).
        if (e->kind == K::inet_sock_set_state && e->old_state != 7) continue;
        syscalls[s].sk = e->sk;
    }
    // fd -> sk per process: connect/close/shutdown on a known fd.
    std::map<std::pair<std::uint32_t, int>, std::uint64_t> fd_sk;
    for (const auto& s : syscalls) {
        if (s.sk && s.fd >= 0) fd_sk[{s.pid, s.fd}] = s.sk;
        if (s.new_sk && s.ret >= 0) fd_sk[{s.pid, static_cast<int>(s.ret)}] = s.new_sk;
    }
    for (auto& s : syscalls) {
        if (s.sk || s.fd < 0) continue;
        if (auto it = fd_sk.find({s.pid, s.fd}); it != fd_sk.end()) s.sk = it->second;
    }
    return sockets;
}

Role role_of_sk(std::uint64_t sk, const ConnectionIndex& connections, const SocketMap& sockets,
                const ServerPorts& server_ports) {
    if (!sk) return Role::unknown;
    if (auto role = connections.socket_role(sk); role != Role::unknown) return role;
    auto it = sockets.flow.find(sk);
    if (it != sockets.flow.end()) {
        // The first connection with the socket's local end as its client end
        // (client), as its server end or, for a listener, its server port (server).
        const Flow& f = it->second;
        const std::size_t client = connections.first_client_end(f.protocol, f.src);
        const std::size_t server =
            std::min(connections.first_server_end(f.protocol, f.src),
                     f.dst.port == 0 ? connections.first_serving(f.protocol, f.src.port) : kNone);
        if (client != kNone || server != kNone)
            return client <= server ? Role::client : Role::server;
        if (server_ports.contains(f.src.port)) return Role::server;
    }
    return Role::unknown;
}

std::string transport_of(const Flow& f) {
    bool v6 = f.src.family == AF_INET6;
    if (f.protocol == IPPROTO_TCP) return v6 ? "tcp6" : "tcp";
    if (f.protocol == IPPROTO_UDP) return v6 ? "udp6" : "udp";
    return "unix";
}

// The socket a packet was delivered to: sk_data_ready, nested in its receive
// processing, names it (UDP skbs do not carry it).
void find_receivers(const std::vector<const Event*>& side, const Timeline& at,
                    std::vector<PacketState>& packets) {
    for (const Event* e : side) {
        if (e->kind != K::sk_data_ready || !e->sk) continue;
        std::size_t rx = at.receiving_packet(e->cpu, e->tid, e->t_ns);
        if (rx != kNone && !packets[rx].p.receiver_sk) packets[rx].p.receiver_sk = e->sk;
    }
}

std::vector<Connection> build_connections(std::vector<PacketState>& packets,
                                          std::vector<Syscall>& syscalls,
                                          const SocketMap& sockets, const ServerPorts& server_ports) {
    std::vector<Connection> connections;
    const auto& sk_flow = sockets.flow;
    // Per connection, in order of first packet: a conversation's packets,
    // until a SYN that opens it again. On lo the kernel reuses a port pair
    // still in TIME-WAIT at once (tcp_tw_reuse): a new SYN with another
    // initial sequence number is another connection.
    std::vector<std::vector<std::size_t>> groups;
    struct Current {
        std::size_t group;
        std::optional<std::uint32_t> syn_seq;   // its client's SYN
    };
    std::unordered_map<ConversationKey, Current, ConversationKeyHash> group_of;
    auto opening_syn = [](const Packet& p) {
        return p.flow.protocol == IPPROTO_TCP && (p.tcp_flags & model::kSyn) &&
               !(p.tcp_flags & model::kAck);
    };
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& p = packets[i].p;
        if (p.flow.protocol == 0) continue;
        auto [it, fresh] = group_of.emplace(ConversationKey(p.flow), Current{groups.size(), {}});
        const bool syn = opening_syn(p);
        if (!fresh && syn && it->second.syn_seq && *it->second.syn_seq != p.seq)
            it->second = Current{groups.size(), {}};
        if (it->second.group == groups.size()) groups.emplace_back();
        if (syn && !it->second.syn_seq) it->second.syn_seq = p.seq;
        groups[it->second.group].push_back(i);
    }
    // The known sockets by their ends, in sk_flow's order: listeners (no
    // remote end) by their local end, the others by both ends.
    struct Ends {
        std::uint8_t protocol;
        model::Endpoint local, remote;
        bool operator==(const Ends&) const = default;
    };
    struct EndsHash {
        std::size_t operator()(const Ends& e) const {
            return ConversationKeyHash{}(
                ConversationKey(Flow{e.protocol, e.local, e.remote, 0, 0}));
        }
    };
    std::unordered_map<Ends, std::vector<std::uint64_t>, EndsHash> listeners, by_ends;
    for (const auto& [sk, f] : sk_flow) {
        if (f.dst.port == 0) listeners[{f.protocol, f.src, {}}].push_back(sk);
        by_ends[{f.protocol, f.src, f.dst}].push_back(sk);
    }
    auto sockets_at = [](const auto& map, const Ends& e) -> const std::vector<std::uint64_t>* {
        auto it = map.find(e);
        return it == map.end() ? nullptr : &it->second;
    };
    for (std::size_t g = 0; g < groups.size(); ++g) {
        Connection c;
        c.client_to_server = client_direction(packets, groups[g], server_ports);
        c.transport = transport_of(c.client_to_server);
        // Each end's socket: the one most of its packets name. Others
        // appear at the edges: the request sock sends the SYN-ACK, a
        // TIME-WAIT sock answers (and frees) the last segments.
        std::map<std::uint64_t, std::size_t> client_votes, server_votes;
        for (std::size_t i : groups[g]) {
            const auto& p = packets[i].p;
            bool from_client = p.flow.src == c.client_to_server.src;
            if (p.tcp_flags & model::kSyn) {
                if (from_client) c.client_isn = p.seq;
                else c.server_isn = p.seq;
            }
            auto& sender = from_client ? client_votes : server_votes;
            auto& receiver = from_client ? server_votes : client_votes;
            if (p.sender_sk && !(!from_client && (p.tcp_flags & model::kSyn))) ++sender[p.sender_sk];
            if (p.receiver_sk) ++receiver[p.receiver_sk];
        }
        auto most = [](const std::map<std::uint64_t, std::size_t>& votes) {
            std::uint64_t best = 0;
            std::size_t n = 0;
            for (const auto& [sk, count] : votes)
                if (count > n) {
                    best = sk;
                    n = count;
                }
            return best;
        };
        c.client_sk = most(client_votes);
        c.server_sk = most(server_votes);
        // Sockets whose local end is the server's but are not connected to
        // the client: the listener (the last one known). Ends the votes left
        // without a socket: the first one known with both its endpoints.
        const Flow& cs = c.client_to_server;
        if (auto* l = sockets_at(listeners, {cs.protocol, cs.dst, {}}))
            for (auto sk : *l)
                if (sk != c.server_sk) c.listen_sk = sk;
        if (!c.client_sk)
            if (auto* s = sockets_at(by_ends, {cs.protocol, cs.src, cs.dst}))
                c.client_sk = s->front();
        if (!c.server_sk)
            if (auto* s = sockets_at(by_ends, {cs.protocol, cs.dst, cs.src}))
                c.server_sk = s->front();
        connections.push_back(std::move(c));
    }
    // Roles of syscalls whose process the caller did not name (trace): by
    // the socket they used, then the role most of the process's other calls
    // have (a forked client first closes the listener it inherited).
    const ConnectionIndex index(connections);
    std::map<std::uint32_t, std::pair<std::size_t, std::size_t>> votes;  // client, server
    for (auto& s : syscalls) {
        if (s.role == Role::unknown)
            s.role = role_of_sk(s.new_sk ? s.new_sk : s.sk, index, sockets, server_ports);
        if (s.role == Role::client) ++votes[s.pid].first;
        if (s.role == Role::server) ++votes[s.pid].second;
    }
    for (auto& s : syscalls) {
        auto it = votes.find(s.pid);
        if (s.role != Role::unknown || it == votes.end()) continue;
        s.role = it->second.first > it->second.second ? Role::client : Role::server;
    }
    // Connection g is group g.
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const auto& c = connections[g];
        for (std::size_t i : groups[g]) {
            auto& p = packets[i].p;
            p.connection = g;
            p.direction = p.flow.src == c.client_to_server.src ? Direction::client_to_server
                                                               : Direction::server_to_client;
        }
    }
    return connections;
}

}  // namespace tpk::journey::stages
