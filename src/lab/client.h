// The lab client: connects, sends messages one at a time and waits for each
// reply; with verify, every reply must be the exact echo of what was sent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lab/transport.h"
#include "util/result.h"

namespace tpk::lab {

struct ClientOptions {
    Transport transport = Transport::tcp;
    Address address = default_address(Transport::tcp);
    std::string message = "Hello from client!";
    std::size_t size = 0;       // > 0: send generated size-byte payloads instead of message
    std::uint64_t count = 1;    // messages to send
    bool verify = false;        // each reply must equal what was sent (server --echo)
    int timeout_ms = 10000;     // longest wait for the server to read or answer
    std::uint64_t salt = 0;     // varies the generated payloads between clients
    bool log_messages = true;   // a log line per message
};

struct ClientEvents {
    std::function<void(const std::string&)> on_log;
};

struct ClientSummary {
    std::uint64_t messages = 0;         // answered
    std::uint64_t bytes_sent = 0;       // payload bytes (without framing)
    std::uint64_t bytes_received = 0;
};

Result<ClientSummary> run_client(const ClientOptions& opts, const ClientEvents& events = {});

// Fails when a size-byte message cannot travel in one message of transport
// t (UDP: 65507 bytes, UDP over IPv6: 65527), before any socket exists.
Status check_message_size(Transport t, std::size_t size);

}  // namespace tpk::lab
