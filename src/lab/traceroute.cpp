#include "lab/traceroute.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace tpk::lab {

Result<ProbeProtocol> parse_probe_protocol(const std::string& name) {
    if (name == "udp") return ProbeProtocol::udp;
    if (name == "icmp") return ProbeProtocol::icmp;
    if (name == "tcp") return ProbeProtocol::tcp;
    return make_error("unknown probe protocol '" + name + "' (valid: udp, icmp, tcp)");
}

std::string probe_protocol_name(ProbeProtocol p) {
    switch (p) {
        case ProbeProtocol::udp: return "udp";
        case ProbeProtocol::icmp: return "icmp";
        case ProbeProtocol::tcp: return "tcp";
    }
    return "?";
}

std::string probe_answer_name(ProbeAnswer a) {
    switch (a) {
        case ProbeAnswer::timeout: return "timeout";
        case ProbeAnswer::time_exceeded: return "time_exceeded";
        case ProbeAnswer::reached: return "reached";
        case ProbeAnswer::unreachable: return "unreachable";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// One ICMP error from the socket's error queue (IP_RECVERR).
bool read_error_queue(int fd, ProbeResult& r, in_addr destination) {
    char control[512];
    char data[512];
    iovec iov{data, sizeof data};
    sockaddr_in from{};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR) continue;
        sock_extended_err ee{};
        std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
        if (ee.ee_origin != SO_EE_ORIGIN_ICMP) continue;
        sockaddr_in offender{};
        std::memcpy(&offender, reinterpret_cast<const char*>(CMSG_DATA(c)) + sizeof ee, sizeof offender);
        r.responder = offender.sin_addr;
        r.icmp_type = ee.ee_type;
        r.icmp_code = ee.ee_code;
        if (ee.ee_type == ICMP_TIME_EXCEEDED) r.answer = ProbeAnswer::time_exceeded;
        else if (ee.ee_type == ICMP_DEST_UNREACH &&
                 (ee.ee_code == ICMP_PORT_UNREACH || offender.sin_addr.s_addr == destination.s_addr))
            r.answer = ProbeAnswer::reached;
        else r.answer = ProbeAnswer::unreachable;
        return true;
    }
    return false;
}

Result<UniqueFd> probe_socket(const ProbeSpec& spec) {
    int type = spec.protocol == ProbeProtocol::tcp ? SOCK_STREAM : SOCK_DGRAM;
    int protocol = spec.protocol == ProbeProtocol::icmp ? IPPROTO_ICMP : 0;
    UniqueFd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
    if (!fd) {
        if (spec.protocol == ProbeProtocol::icmp && (errno == EACCES || errno == EPERM))
            return errno_error("ICMP probes use a ping socket: net.ipv4.ping_group_range does not "
                               "admit this group");
        return errno_error("socket for the " + probe_protocol_name(spec.protocol) + " probe");
    }
    int one = 1, ttl = spec.ttl;
    if (setsockopt(fd.get(), SOL_IP, IP_RECVERR, &one, sizeof one) != 0) return errno_error("IP_RECVERR");
    if (setsockopt(fd.get(), SOL_IP, IP_TTL, &ttl, sizeof ttl) != 0) return errno_error("IP_TTL");
    return fd;
}

}  // namespace

Result<ProbeResult> send_probe(const ProbeSpec& spec) {
    auto fd = probe_socket(spec);
    if (!fd) return std::move(fd).take_error();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr = spec.destination;
    to.sin_port = htons(spec.port);
    ProbeResult r;
    auto start = Clock::now();
    if (spec.protocol == ProbeProtocol::tcp) {
        // A SYN with the TTL: connect() non-blocking; a router's time
        // exceeded lands on the error queue, the end answers SYN-ACK (the
        // connect succeeds) or RST (ECONNREFUSED).
        if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
            if (errno != ENETUNREACH && errno != EHOSTUNREACH) return errno_error("connect (TCP probe)");
            r.answer = ProbeAnswer::unreachable;
            r.local_errno = errno;
            return r;
        }
    } else {
        char payload[32] = {};
        std::size_t len = sizeof payload;
        if (spec.protocol == ProbeProtocol::icmp) {
            // A ping socket fills in the id; we give type, code and sequence.
            icmphdr echo{};
            echo.type = ICMP_ECHO;
            echo.un.echo.sequence = htons(spec.sequence);
            std::memcpy(payload, &echo, sizeof echo);
            to.sin_port = 0;
        }
        if (::sendto(fd->get(), payload, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
            if (errno != ENETUNREACH && errno != EHOSTUNREACH) return errno_error("send the probe");
            r.answer = ProbeAnswer::unreachable;
            r.local_errno = errno;
            return r;
        }
    }
    auto deadline = start + spec.wait;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return r;
        pollfd p{fd->get(), static_cast<short>(POLLIN | (spec.protocol == ProbeProtocol::tcp ? POLLOUT : 0)), 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return r;
        if (p.revents & POLLERR) {
            if (read_error_queue(fd->get(), r, spec.destination)) {
                r.rtt_ms = elapsed_ms(start);
                return r;
            }
        }
        if (spec.protocol == ProbeProtocol::tcp && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
            int err = 0;
            socklen_t elen = sizeof err;
            getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &elen);
            if (err == 0 || err == ECONNREFUSED) {
                r.answer = ProbeAnswer::reached;
                r.responder = spec.destination;
                r.rtt_ms = elapsed_ms(start);
                return r;
            }
            // Another error and nothing on the error queue (a local route
            // error): the probe ends here.
            r.answer = ProbeAnswer::unreachable;
            r.rtt_ms = elapsed_ms(start);
            return r;
        }
        if (p.revents & POLLIN) {
            char reply[512];
            sockaddr_in from{};
            socklen_t flen = sizeof from;
            ssize_t got = recvfrom(fd->get(), reply, sizeof reply, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
            if (got >= static_cast<ssize_t>(sizeof(icmphdr)) && spec.protocol == ProbeProtocol::icmp) {
                icmphdr h{};
                std::memcpy(&h, reply, sizeof h);
                if (h.type == ICMP_ECHOREPLY && ntohs(h.un.echo.sequence) == spec.sequence) {
                    r.answer = ProbeAnswer::reached;
                    r.responder = from.sin_addr;
                    r.rtt_ms = elapsed_ms(start);
                    return r;
                }
            }
            if (got < 0 && errno != EAGAIN && errno != ECONNREFUSED && errno != EHOSTUNREACH) return r;
        }
    }
}

}  // namespace tpk::lab
