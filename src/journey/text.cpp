#include "journey/text.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace tpk::journey {

std::string tcp_flags_text(std::uint8_t flags) {
    std::string s;
    // tcpdump's order (print-tcp.c tcp_flag_values): F S R P . U
    if (flags & model::kFin) s += 'F';
    if (flags & model::kSyn) s += 'S';
    if (flags & model::kRst) s += 'R';
    if (flags & model::kPsh) s += 'P';
    if (flags & model::kAck) s += '.';
    if (flags & model::kUrg) s += 'U';
    return s;
}

namespace {

// Three significant digits, as people read latencies: 1.23, 12.3, 123.
std::string three_digits(double v) {
    if (v < 10) return fmt::format("{:.2f}", v);
    if (v < 100) return fmt::format("{:.1f}", v);
    return fmt::format("{:.0f}", v);
}

}  // namespace

std::string duration_text(std::int64_t ns) {
    const char* sign = ns < 0 ? "-" : "";
    const double a = std::fabs(static_cast<double>(ns));
    if (a < 1e3) return fmt::format("{}{} ns", sign, static_cast<long long>(a));
    // Round first so 999.9 µs prints as "1.00 ms", not "1000 µs".
    if (std::round(a / 1e1) < 1e5) return fmt::format("{}{} µs", sign, three_digits(a / 1e3));
    if (std::round(a / 1e4) < 1e5) return fmt::format("{}{} ms", sign, three_digits(a / 1e6));
    return fmt::format("{}{} s", sign, three_digits(a / 1e9));
}

std::string endpoint_text(const model::Endpoint& e, std::uint64_t unix_inode) {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (e.family) {
        case AF_INET:
            inet_ntop(AF_INET, e.addr.data(), buf, sizeof buf);
            return fmt::format("{}:{}", buf, e.port);
        case AF_INET6:
            inet_ntop(AF_INET6, e.addr.data(), buf, sizeof buf);
            return fmt::format("[{}]:{}", buf, e.port);
        case AF_UNIX:
            return unix_inode ? fmt::format("unix:{}", unix_inode) : "unix";
        default:
            return "?";
    }
}

std::string flow_text(const model::Flow& f) {
    return endpoint_text(f.src, f.unix_inode) + " > " + endpoint_text(f.dst, f.unix_peer_inode);
}

std::string caller_text(Role role, const std::string& comm, std::uint32_t pid) {
    std::string text = role == Role::unknown ? "" : std::string(role_name(role)) + " ";
    if (!comm.empty()) text += comm + " ";
    return text + fmt::format("pid {}", pid);
}

std::string caller_text(const Syscall& s) {
    return caller_text(s.role, s.comm, s.pid) + fmt::format(" tid {}", s.tid);
}

std::string syscall_text(const Syscall& s) {
    std::string args;
    if (s.fd >= 0) args = fmt::format("fd={}", s.fd);
    if (s.size) args += fmt::format("{}len={}", args.empty() ? "" : ", ", s.size);
    std::string ret = s.exit_ns ? fmt::format(" = {}", s.ret) : " (no return seen)";
    if (s.exit_ns && s.ret < 0 && s.ret > -4096) {
        const char* name = strerrorname_np(static_cast<int>(-s.ret));
        ret = fmt::format(" = -1 {}", name ? name : std::to_string(-s.ret));
    }
    return fmt::format("{}({}){}", s.name, args, ret);
}

std::string layer_short(model::Layer l, bool transport_udp) {
    using model::Layer;
    switch (l) {
        case Layer::application: return "app";
        case Layer::socket: return "socket";
        case Layer::transport: return transport_udp ? "udp" : "tcp";
        case Layer::network: return "ip";
        case Layer::device: return "device";
        case Layer::receive: return "receive";
        case Layer::capture: return "capture";
    }
    return "?";
}

std::string socket_state_name(const SocketView& v) {
    if (v.flow.src.family == AF_UNIX) {
        // sock_diag reports UNIX states with the TCP numbers: 1 connected, 7
        // unconnected, 10 listening.
        if (v.state == 1) return "CONNECTED";
        if (v.state == 7) return "UNCONNECTED";
    }
    if (v.flow.protocol == IPPROTO_UDP && v.state == 7) return "UNCONNECTED";
    if (v.flow.protocol == IPPROTO_UDP && v.state == 1) return "CONNECTED";
    return std::string(model::tcp_state_name(v.state));
}

}  // namespace tpk::journey
