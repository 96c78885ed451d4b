// What a benchmark measures: one of the lab's socket transports, or one of
// two kernel references that need no address (pipe, socketpair) and show how
// far a socket's cost is from the cheapest way two processes can talk.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lab/transport.h"
#include "util/result.h"

namespace tpk::bench {

struct Transport {
    enum class Kind { socket, pipe, socketpair };
    Kind kind = Kind::socket;
    lab::Transport socket = lab::Transport::tcp;  // meaningful when kind == socket

    static Transport of(lab::Transport t) { return {Kind::socket, t}; }
    static Transport pipe() { return {Kind::pipe, lab::Transport::tcp}; }
    static Transport socketpair() { return {Kind::socketpair, lab::Transport::tcp}; }

    bool operator==(const Transport& o) const {
        return kind == o.kind && (kind != Kind::socket || socket == o.socket);
    }
};

// "tcp", ..., "unix-seqpacket", "pipe", "socketpair"
std::string_view transport_name(const Transport& t);
// Every lab transport, then pipe and socketpair: the default list.
std::vector<Transport> all_transports();
// "tcp, tcp6, ..., pipe, socketpair"
std::string transport_names();
Result<Transport> parse_transport(std::string_view name);

// Datagram transports keep message boundaries: one write, one message.
bool keeps_boundaries(const Transport& t);
// TCP and TCP6: the transports whose latency runs set TCP_NODELAY.
bool is_tcp(const Transport& t);

}  // namespace tpk::bench
