#include "journey/correlator_states.h"

#include <algorithm>

#include <fmt/format.h>

namespace tpk::journey::stages {
namespace {

using K = EventKind;

// A state change the socket's own syscall made (connect: SYN-SENT, close:
// FIN-WAIT-1, listen: LISTEN), as opposed to one made while receiving.
std::size_t own_syscall(const Event& e, const std::vector<Syscall>& syscalls, const Timeline& at) {
    std::size_t s = at.open_syscall(e.tid, e.t_ns);
    if (s == kNone) return kNone;
    const auto& sc = syscalls[s];
    if (e.sk && (sc.sk == e.sk || sc.new_sk == e.sk)) return s;
    return kNone;
}

}  // namespace

std::vector<StateChange> build_states(const std::vector<const Event*>& side,
                                      const std::vector<Connection>& connections,
                                      const std::vector<std::uint64_t>& connection_starts,
                                      const SocketMap& sockets, const ServerPorts& server_ports,
                                      const std::vector<Syscall>& syscalls, const Timeline& at) {
    std::vector<StateChange> states;
    const ConnectionIndex index(connections, connection_starts);
    for (const Event* e : side) {
        if (e->kind != K::inet_sock_set_state) continue;
        StateChange s;
        s.t_ns = e->t_ns;
        s.sk = e->sk;
        s.flow = e->flow;
        s.old_state = e->old_state;
        s.new_state = e->new_state;
        s.connection = index.of_flow(e->flow, e->t_ns);
        // The listener: its remote end is empty; it belongs to the (last)
        // connection whose server end it is.
        if (s.connection == kNone)
            s.connection = index.last_serving(e->flow.protocol, e->flow.src.port);
        s.role = role_of_sk(e->sk, index, sockets, server_ports);
        if (s.role == Role::unknown && s.connection != kNone) {
            const auto& con = connections[s.connection];
            s.role = e->flow.src == con.client_to_server.src ? Role::client : Role::server;
        }
        s.syscall = own_syscall(*e, syscalls, at);
        s.packet = at.receiving_packet(e->cpu, e->tid, e->t_ns);
        states.push_back(std::move(s));
    }
    return states;
}

void add_route_notes(Route& r, bool any_traced) {
    bool any_table_254 = std::any_of(r.lookups.begin(), r.lookups.end(),
                                     [](const FibLookup& f) { return f.table == 254; });
    if (any_table_254 && r.type == "local")
        r.notes.push_back(
            "fib_table_lookup reports table 254 (main) although the route is a local one: "
            "with no policy rules the kernel keeps the local and main tables in one trie");
    if (!r.lookups.empty())
        r.notes.push_back(fmt::format(
            "{} route lookup(s) while tracing, at connect/handshake; data packets reuse "
            "the socket's cached route (no lookup per packet)",
            r.lookups.size()));
    else if (r.destination.find(':') != std::string::npos)
        r.notes.push_back(
            "IPv6 route lookups (fib6:fib6_table_lookup) are not among the traced "
            "tracepoints, so no kernel lookup is listed");
    else if (r.has_answer && any_traced)
        r.notes.push_back(
            "no route lookup was traced: the sockets used routes cached before tracing "
            "started, or the transport needs none");
}

std::vector<Route> build_routes(std::vector<Route> routes, const std::vector<const Event*>& side,
                                const std::vector<Syscall>& syscalls,
                                const LookupPackets& lookup_packets, const Timeline& at,
                                bool any_traced) {
    std::vector<FibLookup> lookups;
    for (const Event* e : side) {
        if (e->kind != K::fib_table_lookup) continue;
        FibLookup f;
        f.t_ns = e->t_ns;
        f.pid = e->pid;
        f.comm = e->comm;
        f.table = e->table;
        f.err = e->route_err;
        f.gateway = e->gateway;
        f.flow = e->flow;
        f.dev = e->dev;
        f.during_syscall = at.open_syscall(e->tid, e->t_ns);
        if (f.during_syscall != kNone) f.during_call = syscalls[f.during_syscall].name;
        if (auto it = lookup_packets.find(e); it != lookup_packets.end()) f.packet = it->second;
        lookups.push_back(std::move(f));
    }
    if (routes.empty() && !lookups.empty()) routes.emplace_back();
    if (!routes.empty()) {
        auto& r = routes.front();
        r.lookups = std::move(lookups);
        add_route_notes(r, any_traced);
    }
    return routes;
}

}  // namespace tpk::journey::stages
