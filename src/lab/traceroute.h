// The probes of `tracepacket traceroute`: one packet with a chosen TTL over
// an ordinary socket with IP_RECVERR, so the ICMP errors it provokes (time
// exceeded from a router, port/host unreachable from the end) come back on
// the socket's error queue with the router's address (SO_EE_OFFENDER). No
// raw socket is needed for UDP and TCP; ICMP uses a ping socket
// (SOCK_DGRAM, IPPROTO_ICMP: net.ipv4.ping_group_range must admit the caller).
// Sockets only: this room knows nothing about routes or tracing.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "util/result.h"

namespace tpk::lab {

enum class ProbeProtocol { udp, icmp, tcp };
Result<ProbeProtocol> parse_probe_protocol(const std::string& name);
std::string probe_protocol_name(ProbeProtocol p);

enum class ProbeAnswer {
    timeout,        // nothing within the wait
    time_exceeded,  // ICMP type 11 from a router: the TTL ran out there
    reached,        // the destination answered: port unreachable (UDP), echo reply, SYN-ACK or RST
    unreachable,    // another ICMP destination unreachable (net, host, prohibited, ...),
                    // or the local stack refused to send (local_errno)
};
std::string probe_answer_name(ProbeAnswer a);

struct ProbeResult {
    ProbeAnswer answer = ProbeAnswer::timeout;
    in_addr responder{};        // who answered (the offender of an ICMP error)
    double rtt_ms = 0;
    int icmp_type = -1, icmp_code = -1;  // of the ICMP error, when there was one
    int local_errno = 0;        // the probe never left: no route (ENETUNREACH), ...
};

struct ProbeSpec {
    in_addr destination{};
    ProbeProtocol protocol = ProbeProtocol::udp;
    int ttl = 1;
    std::uint16_t port = 0;     // UDP: 33434 + probe number (traceroute's); TCP: 80
    std::uint16_t sequence = 0; // ICMP echo sequence
    std::chrono::milliseconds wait{5000};
};

// Sends one probe and waits for its answer. Errors are for the local
// failures only (socket, permission); no answer is a result, not an error.
Result<ProbeResult> send_probe(const ProbeSpec& spec);

}  // namespace tpk::lab
