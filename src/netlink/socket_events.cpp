#include "netlink/socket_events.h"

#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "netlink/processes.h"

namespace tpk::netlink {
namespace {

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

model::Event snapshot_event(const SocketSnapshot& s, std::uint64_t t_ns) {
    model::Event e;
    e.kind = model::EventKind::socket_snapshot;
    e.t_ns = t_ns;
    e.new_state = s.state;
    e.recv_q = s.recv_q;
    e.send_q = s.send_q;
    e.flow.src.family = e.flow.dst.family = static_cast<std::uint16_t>(s.family);
    if (is_unix(s.kind)) {
        e.flow.unix_inode = s.inode;
        e.flow.unix_peer_inode = s.peer_inode;
        return e;
    }
    e.flow.protocol = s.kind == SocketKind::tcp ? IPPROTO_TCP : IPPROTO_UDP;
    e.flow.src.port = s.local.port;
    e.flow.dst.port = s.peer.port;
    std::copy(s.local.address.bytes.begin(), s.local.address.bytes.end(), e.flow.src.addr.begin());
    std::copy(s.peer.address.bytes.begin(), s.peer.address.bytes.end(), e.flow.dst.addr.begin());
    return e;
}

Result<std::vector<model::Event>> conversation_snapshots(const Conversation& c) {
    auto own = socket_inode(c.client_fd);
    std::uint64_t own_inode = own ? *own : 0;
    auto list = list_sockets(c.sockets);
    if (!list) return list.error();
    const std::uint64_t now = monotonic_ns();
    std::uint64_t server_inode = 0;  // the server's end of our connection
    for (const auto& s : *list)
        if (own_inode && s.inode == own_inode) server_inode = s.peer_inode;
    std::vector<model::Event> events;
    for (const auto& s : *list) {
        bool server_side, client_side;
        if (is_unix(s.kind)) {
            server_side = (s.unix_path == c.server_path && !c.server_path.empty()) ||
                          (server_inode && s.inode == server_inode);
            client_side = own_inode && s.inode == own_inode;
        } else {
            server_side = s.local.port == c.server_port;
            client_side = !server_side && s.peer.port == c.server_port;
        }
        if (!server_side && !client_side) continue;
        model::Event e = snapshot_event(s, now);
        e.pid = static_cast<std::uint32_t>(::getpid());
        e.flags = server_side ? kSnapshotOfServer : kSnapshotOfClient;
        events.push_back(std::move(e));
    }
    return events;
}

Result<std::vector<SocketSnapshot>> sockets_of_pids(std::span<const pid_t> pids) {
    auto list = list_sockets(SocketQuery{});
    if (!list) return list.error();
    attach_processes(*list, scan_socket_owners());
    std::vector<SocketSnapshot> ours;
    for (auto& s : *list) {
        bool held = false;
        for (const auto& owner : s.processes)
            held |= std::find(pids.begin(), pids.end(), owner.pid) != pids.end();
        if (held) ours.push_back(std::move(s));
    }
    return ours;
}

}  // namespace tpk::netlink
