// How the journey's facts read as words, for the explaining stage and the
// text writer alike: durations, endpoints, system calls, layer names.
#pragma once

#include <cstdint>
#include <string>

#include "journey/journey.h"

namespace tpk::journey {

// "S", "S.", "P.", "F.", ".", "R." in tcpdump's order (F S R P . U); "" for none.
std::string tcp_flags_text(std::uint8_t flags);
// "0 ns", "812 ns", "1.23 µs", "12.3 µs", "123 µs", "1.23 ms", "1.23 s": three
// significant digits, as people read latencies.
std::string duration_text(std::int64_t ns);
// "127.0.0.1:41234", "[::1]:80", "unix:12345", "unix", "?".
std::string endpoint_text(const model::Endpoint& e, std::uint64_t unix_inode = 0);
// "127.0.0.1:41234 > 127.0.0.1:8080", "unix:12 > unix:13": as tcpdump
// writes a flow, the one form every writer uses.
std::string flow_text(const model::Flow& f);
// "connect(fd=3) = -1 ECONNREFUSED", "recvfrom(fd=5, len=64) = 22".
std::string syscall_text(const Syscall& s);
// Who made a call: "client curl pid 41 tid 41" (the role left out when
// unknown, the program when not known).
std::string caller_text(Role role, const std::string& comm, std::uint32_t pid);
std::string caller_text(const Syscall& s);
// A layer's short name on a path: "app", "socket", "tcp" (or "udp"), "ip", "device", ...
std::string layer_short(model::Layer l, bool transport_udp);

// A socket snapshot's state: TCP's name, or CONNECTED/UNCONNECTED for UNIX
// and UDP sockets (sock_diag reports those with TCP's numbers).
std::string socket_state_name(const SocketView& v);

}  // namespace tpk::journey
