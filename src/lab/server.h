// The lab server: answers every message with a fixed reply or echoes it, for
// any transport, many clients at once (one epoll loop, no threads).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lab/transport.h"
#include "util/result.h"

namespace tpk::lab {

struct ServerOptions {
    Transport transport = Transport::tcp;
    Address address = default_address(Transport::tcp);
    bool echo = false;                    // echo each message instead of replying
    std::string reply = "Hello from server!";
    std::uint64_t count = 0;              // stop after answering this many; 0: until stopped
    ListenOptions listen;
    bool log_messages = true;             // a log line per message, not just per client
};

struct ServerEvents {
    // Called once the socket is bound (and listening): the address clients use.
    std::function<void(const Address&)> on_listening;
    // One line of what the server did ("accepted 127.0.0.1:40000").
    std::function<void(const std::string&)> on_log;
};

struct ServerSummary {
    std::uint64_t messages = 0;        // answered
    std::uint64_t bytes_received = 0;  // payload bytes (without framing)
    std::uint64_t bytes_sent = 0;
    std::uint64_t clients = 0;         // connections, or distinct datagram senders
    bool stopped = false;              // stop_fd fired before count was reached
};

// Serves until opts.count messages are answered (and their replies sent) or
// stop_fd (a signalfd, eventfd or pipe; -1 for none) becomes readable.
// Errors of one client are logged and end that client only.
Result<ServerSummary> run_server(const ServerOptions& opts, int stop_fd,
                                 const ServerEvents& events = {});

// "answered 3 messages (54 bytes in, 54 bytes out) from 2 clients"
std::string describe(const ServerSummary& s);

}  // namespace tpk::lab
