// Small pieces of text every report writer shares: durations, TCP flags,
// endpoints, one line per hop, the lanes of the stack. Pure functions over
// the journey; no writer computes anything the journey does not hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "journey/journey.h"
#include "journey/text.h"

namespace tpk::report {

// "0 ns", "812 ns", "1.23 µs", "12.3 µs", "123 µs", "1.23 ms", "1.23 s"
using journey::duration_text;
// "S", "S.", "P.", "F.", ".", "R." as tcpdump prints TCP flags; "" for none.
using journey::tcp_flags_text;
// "127.0.0.1:41234", "[::1]:80", "unix:12345", "?" when the family is unknown.
using journey::endpoint_text;
// "127.0.0.1:41234 > 127.0.0.1:8080", as tcpdump writes a flow.
using journey::flow_text;

// "#3 c->s data P. seq 1:19 ack 1 len 18" (sequence numbers relative).
std::string packet_title(const journey::Journey& j, std::size_t index);
// "+1.234 µs  transport  tcp_probe  skb 0xffff... len 32 lo  [cpu 1 swapper/1]"
std::string hop_line(const journey::Hop& h);
// The time from a packet's cause to its last hop; 0 without hops.
std::int64_t packet_span_ns(const journey::Packet& p);
// The transport's display name for a lane: "TCP", "UDP", "UNIX" or "TCP/UDP".
std::string transport_label(const journey::Journey& j);
// The device the packets crossed ("lo"), from the hops, else the route, else "lo".
std::string device_label(const journey::Journey& j);

// Where a hop sits in a picture of the two stacks side by side:
//   0 client app, 1 socket, 2 transport, 3 network, 4 device (shared),
//   5 network, 6 transport, 7 socket, 8 server app.
inline constexpr int kLaneCount = 9;
int lane_of(const journey::Packet& p, const journey::Hop& h);

// The levels of the protocol stack as the `stack` command and the HTML
// report draw them, top to bottom, with the model layer each one shows.
struct StackLevel {
    std::string_view name;       // "transport"
    std::string_view what;       // "TCP/UDP: tcp_sendmsg, tcp_probe"
    model::Layer layer;
};
inline constexpr StackLevel kStackLevels[] = {
    {"application", "system calls: send(), recv(), connect()", model::Layer::application},
    {"socket", "socket buffers, wake-up, copy to user", model::Layer::socket},
    {"transport", "TCP/UDP: segments, ACKs, state", model::Layer::transport},
    {"network", "IP: route decision (cached per socket)", model::Layer::network},
    {"data link", "device queue and transmit", model::Layer::device},
    {"loopback", "lo hands the frame to the receive path", model::Layer::receive},
};

// Escapes for embedding text in HTML/SVG.
std::string html_escape(std::string_view s);

}  // namespace tpk::report
