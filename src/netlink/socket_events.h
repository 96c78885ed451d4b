// sock_diag's answers as the events the correlator reads: one
// model::EventKind::socket_snapshot per socket (state, queues, flow). For
// sources that have no kernel tracer to report socket states: the journey's
// lab run without BPF, `trace -p PID` without BPF. Journey-neutral: the
// caller puts the events where its recording wants them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/event.h"
#include "netlink/sock_diag.h"
#include "util/result.h"

namespace tpk::netlink {

// A snapshot's flags when its taker knew the side (the correlator reads
// them; 0: unknown, it guesses from the server port).
inline constexpr std::uint64_t kSnapshotOfClient = 1;
inline constexpr std::uint64_t kSnapshotOfServer = 2;

// One socket as an event at t_ns (CLOCK_MONOTONIC): its state, queues and
// flow (local -> peer; UNIX: inode -> peer inode). pid and flags are 0.
model::Event snapshot_event(const SocketSnapshot& socket, std::uint64_t t_ns);

// A client/server conversation this process is the client of.
struct Conversation {
    SocketQuery sockets;            // the kinds to dump (tcp, udp or unix_sockets)
    std::uint16_t server_port = 0;  // inet: the server's port
    std::string server_path;        // UNIX: the server's bound path ("" unbound)
    int client_fd = -1;             // the client's socket, open in this process
};

// Both ends of the conversation and the server's listener, as events of this
// process (pid) with their side in flags, from one dump taken now.
Result<std::vector<model::Event>> conversation_snapshots(const Conversation& conversation);

// The sockets these processes hold, from one dump of every kind with their
// owners read from /proc/PID/fd.
Result<std::vector<SocketSnapshot>> sockets_of_pids(std::span<const pid_t> pids);

}  // namespace tpk::netlink
