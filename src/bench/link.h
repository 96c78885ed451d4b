// A connected pair of endpoints over one transport, made before the fork:
// the measuring process keeps `near`, the forked peer keeps `far`.
#pragma once

#include <cstddef>

#include "bench/transport.h"
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
};

struct LinkOptions {
    // TCP_NODELAY on both sides. Latency runs set it: a message longer than
    // one segment (64 KiB > the 65483-byte loopback MSS) would otherwise have
    // its tail held by Nagle until the head is acknowledged.
    bool tcp_no_delay = false;
};

// Sockets go through lab::open_server/open_client on 127.0.0.1 / ::1 port 0,
// or an abstract UNIX name (no file to leave behind); datagram servers then
// connect() back to the client so both sides can plain read()/write().
Result<Link> open_link(const Transport& t, const LinkOptions& opts = {});

}  // namespace tpk::bench
