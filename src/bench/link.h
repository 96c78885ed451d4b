// A connected pair of endpoints over one transport, made before the fork:
// the measuring process keeps `near`, the forked peer keeps `far`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/transport.h"
#include "lab/netns.h"
#include "util/fd.h"
#include "util/result.h"

namespace tpk::bench {

// One side of a link. Sockets read and write one fd; a pipe side reads one
// pipe and writes the other, so `out_fd` is set only for pipes.
struct LinkEnd {
    UniqueFd fd;
    UniqueFd out_fd;

    int in() const { return fd.get(); }
    int out() const { return out_fd ? out_fd.get() : fd.get(); }
};

struct Link {
    LinkEnd near;
    LinkEnd far;
    // Largest message one write can carry on this link; 0 when only memory
    // limits it (streams, pipes).
    std::size_t max_message = 0;
    // TCP_MAXSEG of the measuring side once connected (the MSS the path's
    // MTU allows, less TCP options); 0 for other transports.
    std::uint32_t tcp_mss = 0;
};

// Where a link's two sockets live when not both on this namespace's
// loopback: `bench --two-hosts` puts the measuring side's socket in one
// namespace and the peer's in another (commands/two_hosts_lab.h), so their
// traffic crosses the veth pair between them. TCP and UDP only.
struct NetPath {
    std::string name;                       // "veth": how results name the path
    const lab::NetNamespace* near_ns = nullptr;  // the measuring side (the client)
    const lab::NetNamespace* far_ns = nullptr;   // the peer (the server)
    std::string far_address;                // the server's IPv4 address in far_ns
    std::string far_address6;               // and its IPv6 one; empty: none (tcp6/udp6 refused)
};

// Whether a transport can be measured over a NetPath at all (TCP and UDP
// can), and why not: empty when it can.
std::string net_path_refusal(const Transport& t);

struct LinkOptions {
    // TCP_NODELAY on both sides. Latency runs set it: a message longer than
    // one segment (64 KiB > the 65483-byte loopback MSS) would otherwise have
    // its tail held by Nagle until the head is acknowledged.
    bool tcp_no_delay = false;
    // Not null: the server socket is made in path->far_ns, bound to
    // path->far_address, the client in path->near_ns. Null: loopback here.
    const NetPath* path = nullptr;
};

// Sockets go through lab::open_server/open_client on 127.0.0.1 / ::1 port 0,
// or an abstract UNIX name (no file to leave behind), or across opts.path;
// datagram servers then connect() back to the client so both sides can plain
// read()/write().
Result<Link> open_link(const Transport& t, const LinkOptions& opts = {});

}  // namespace tpk::bench
