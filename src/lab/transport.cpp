#include "lab/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "lab/call_timing.h"

namespace tpk::lab {
namespace {

struct TransportInfo {
    Transport t;
    std::string_view name;
    int family;
    int type;
};

constexpr TransportInfo kInfo[] = {
    {Transport::tcp, "tcp", AF_INET, SOCK_STREAM},
    {Transport::tcp6, "tcp6", AF_INET6, SOCK_STREAM},
    {Transport::udp, "udp", AF_INET, SOCK_DGRAM},
    {Transport::udp6, "udp6", AF_INET6, SOCK_DGRAM},
    {Transport::unix_stream, "unix", AF_UNIX, SOCK_STREAM},
    {Transport::unix_dgram, "unix-dgram", AF_UNIX, SOCK_DGRAM},
    {Transport::unix_seqpacket, "unix-seqpacket", AF_UNIX, SOCK_SEQPACKET},
};

const TransportInfo& info(Transport t) {
    for (const auto& i : kInfo)
        if (i.t == t) return i;
    assert(false && "every Transport has an entry in kInfo");
    return kInfo[0];
}

Result<std::uint16_t> parse_port(std::string_view s, std::string_view whole) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > 65535)
        return make_error("malformed address '" + std::string(whole) +
                          "': port must be a number from 0 to 65535");
    return static_cast<std::uint16_t>(value);
}

Result<Address> parse_unix(std::string_view text) {
    Address a;
    auto* sun = reinterpret_cast<sockaddr_un*>(&a.storage);
    sun->sun_family = AF_UNIX;
    bool abstract = text.front() == '@';
    std::string_view name = abstract ? text.substr(1) : text;
    // Abstract names have no NUL terminator; paths need one.
    std::size_t room = sizeof(sun->sun_path) - (abstract ? 1 : 1);
    if (name.empty() || name.size() > room)
        return make_error("malformed address '" + std::string(text) + "': a UNIX socket " +
                          (abstract ? "name" : "path") + " must be 1 to " +
                          std::to_string(room) + " bytes");
    if (abstract) {
        sun->sun_path[0] = '\0';
        std::memcpy(sun->sun_path + 1, name.data(), name.size());
        a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    } else {
        std::memcpy(sun->sun_path, name.data(), name.size());
        a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1);
    }
    return a;
}

Result<Address> parse_inet(Transport t, std::string_view text) {
    int family = socket_family(t);
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return make_error("malformed address '" + std::string(text) +
                              "': expected [IPV6]:PORT");
        host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            return make_error("malformed address '" + std::string(text) +
                              "': write IPv6 addresses as [ADDR]:PORT");
    } else {
        port_text = text;  // bare port: loopback
    }
    auto port = parse_port(port_text, text);
    if (!port) return port.error();
    if (host.empty()) host = family == AF_INET ? "127.0.0.1" : "::1";

    Address a;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(*port);
        if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1)
            return make_error("malformed address '" + std::string(text) + "': '" + host +
                              "' is not an IPv4 address (transport " +
                              std::string(transport_name(t)) + ")");
        a.length = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(*port);
        if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1)
            return make_error("malformed address '" + std::string(text) + "': '" + host +
                              "' is not an IPv6 address (transport " +
                              std::string(transport_name(t)) + ")");
        a.length = sizeof(sockaddr_in6);
    }
    return a;
}

std::string describe(const Address& a) {
    if (a.family() == AF_UNIX) return a.to_string();
    return a.to_string();
}

// A socket file nobody has bound any more answers connect() with
// ECONNREFUSED (unix_find_other finds the inode but no listening sock); any
// other answer (success, EAGAIN on a full backlog, EPROTOTYPE for another
// socket type) means a live server owns it.
bool unix_path_is_stale(Transport t, const Address& addr) {
    UniqueFd probe(::socket(AF_UNIX, socket_type(t) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) return false;
    return ::connect(probe.get(), addr.sa(), addr.length) != 0 && errno == ECONNREFUSED;
}

// Refuses to replace anything but a socket; removes a left-over socket only
// with force, and never one a running server still owns.
Status prepare_unix_path(Transport t, const Address& addr, bool force) {
    const std::string path = addr.unix_path();
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return errno_error("stat " + path);
    }
    if (!S_ISSOCK(st.st_mode))
        return make_error(path + " exists and is not a socket; refusing to touch it (choose "
                                 "another path with --listen)",
                          EEXIST);
    if (!unix_path_is_stale(t, addr))
        return make_error("socket file " + path +
                              " is in use by a running server; stop it or choose another path",
                          EADDRINUSE);
    if (!force)
        return make_error("socket file " + path +
                              " already exists (left over from an earlier run?): use --force "
                              "to replace it",
                          EEXIST);
    if (::unlink(path.c_str()) != 0) return errno_error("remove " + path);
    return {};
}

// "port 8080 on 127.0.0.1 is already in use (tcp)"
std::string in_use_message(Transport t, const Address& addr) {
    std::string where;
    if (is_unix(t)) {
        where = "address " + addr.to_string();
    } else {
        std::string text = addr.to_string();
        auto colon = text.rfind(':');
        std::string host = text.substr(0, colon);
        if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
        where = "port " + text.substr(colon + 1) + " on " + host;
    }
    return where + " is already in use (" + std::string(transport_name(t)) +
           "): stop the other server or choose another address with --listen";
}

}  // namespace

std::string_view transport_name(Transport t) { return info(t).name; }

std::string transport_names() {
    std::string out;
    for (const auto& i : kInfo) {
        if (!out.empty()) out += ", ";
        out += i.name;
    }
    return out;
}

Result<Transport> parse_transport(std::string_view name) {
    for (const auto& i : kInfo)
        if (i.name == name) return i.t;
    return make_error("unknown transport '" + std::string(name) + "' (valid: " +
                      transport_names() + ")");
}

int socket_family(Transport t) { return info(t).family; }
int socket_type(Transport t) { return info(t).type; }
bool is_unix(Transport t) { return socket_family(t) == AF_UNIX; }
bool is_byte_stream(Transport t) { return socket_type(t) == SOCK_STREAM; }
bool is_connection_oriented(Transport t) { return socket_type(t) != SOCK_DGRAM; }

std::size_t max_message_size(Transport t) {
    switch (t) {
        case Transport::udp: return 65507;
        case Transport::udp6: return 65527;
        default: return 0;
    }
}

std::size_t message_limit(Transport t, int fd) {
    if (is_byte_stream(t)) return 0;
    if (!is_unix(t)) return max_message_size(t);
    // unix_dgram_sendmsg (also used by seqpacket) refuses len > sk_sndbuf - 32
    // with EMSGSIZE; SO_SNDBUF reads back the doubled kernel value.
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || sndbuf <= 32) return 0;
    return static_cast<std::size_t>(sndbuf) - 32;
}

bool Address::is_abstract() const {
    if (family() != AF_UNIX) return false;
    const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage);
    return length > offsetof(sockaddr_un, sun_path) && sun->sun_path[0] == '\0';
}

std::string Address::unix_path() const {
    if (family() != AF_UNIX || is_abstract()) return {};
    const auto* sun = reinterpret_cast<const sockaddr_un*>(&storage);
    return std::string(sun->sun_path, strnlen(sun->sun_path, sizeof(sun->sun_path)));
}

std::string Address::to_string() const { return sockaddr_to_string(sa(), length); }

std::string sockaddr_to_string(const sockaddr* sa, socklen_t len) {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (sa->sa_family) {
        case AF_INET: {
            const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
            inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
            return std::string(buf) + ":" + std::to_string(ntohs(sin->sin_port));
        }
        case AF_INET6: {
            const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
            inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
            // Appends, not "[" + std::string: GCC 12 warns falsely there (-Wrestrict, PR 105329).
            std::string out = "[";
            out.append(buf).append("]:").append(std::to_string(ntohs(sin6->sin6_port)));
            return out;
        }
        case AF_UNIX: {
            const auto* sun = reinterpret_cast<const sockaddr_un*>(sa);
            auto off = offsetof(sockaddr_un, sun_path);
            if (len <= off) return "(unnamed)";
            std::size_t n = len - off;
            if (sun->sun_path[0] == '\0') return std::string("@").append(sun->sun_path + 1, n - 1);
            return std::string(sun->sun_path, strnlen(sun->sun_path, n));
        }
        default: return "(family " + std::to_string(sa->sa_family) + ")";
    }
}

Address default_address(Transport t) {
    auto parsed = is_unix(t) ? parse_address(t, "/tmp/tracepacket-" +
                                                    std::string(transport_name(t)) + ".sock")
                             : parse_address(t, "8080");
    assert(parsed.ok());
    return *parsed;
}

Result<Address> parse_address(Transport t, std::string_view text) {
    if (text.empty()) return make_error("malformed address '': empty");
    if (is_unix(t)) {
        if (text.front() != '/' && text.front() != '@' && text.front() != '.')
            return make_error("malformed address '" + std::string(text) + "' for transport " +
                              std::string(transport_name(t)) +
                              ": expected a path (/tmp/x.sock) or an @abstract name");
        return parse_unix(text);
    }
    if (text.front() == '/' || text.front() == '@')
        return make_error("malformed address '" + std::string(text) + "' for transport " +
                          std::string(transport_name(t)) + ": expected HOST:PORT");
    return parse_inet(t, text);
}

UnixPathOwner& UnixPathOwner::operator=(UnixPathOwner&& o) noexcept {
    if (this != &o) {
        if (!path_.empty()) ::unlink(path_.c_str());
        path_ = std::move(o.path_);
        o.path_.clear();
    }
    return *this;
}

UnixPathOwner::~UnixPathOwner() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

Result<BoundSocket> open_server(Transport t, const Address& addr, const ListenOptions& opts) {
    BoundSocket s;
    s.fd.reset(timed_call("socket", -1, 0, [&] {
        return ::socket(socket_family(t), socket_type(t) | SOCK_CLOEXEC, 0);
    }));
    if (!s.fd) return errno_error("socket(" + std::string(transport_name(t)) + ")");
    std::string path = addr.unix_path();
    if (!path.empty()) {
        if (auto st = prepare_unix_path(t, addr, opts.force); !st)
            return std::move(st).take_error();
    } else if (!is_unix(t) && socket_type(t) == SOCK_STREAM) {
        // TCP only: lets a restarted server bind while old connections sit in
        // TIME_WAIT. On UDP SO_REUSEADDR would let two servers share a port
        // (and split its datagrams), hiding "port in use".
        int one = 1;
        timed_call("setsockopt", s.fd.get(), sizeof one, [&] {
            return ::setsockopt(s.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        });
    }
    int fd = s.fd.get();
    if (timed_call("bind", fd, 0, [&] { return ::bind(fd, addr.sa(), addr.length); }) != 0) {
        int e = errno;
        if (e == EADDRINUSE) return make_error(in_use_message(t, addr), e);
        return errno_error(e, "bind " + describe(addr));
    }
    if (!path.empty()) s.path = UnixPathOwner(path);
    if (is_connection_oriented(t) &&
        timed_call("listen", s.fd.get(), static_cast<std::uint64_t>(opts.backlog),
                   [&] { return ::listen(s.fd.get(), opts.backlog); }) != 0)
        return errno_error("listen on " + describe(addr));
    s.address.length = sizeof s.address.storage;
    if (::getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&s.address.storage),
                      &s.address.length) != 0)
        s.address = addr;
    return s;
}

Result<BoundSocket> open_client(Transport t, const Address& addr) {
    BoundSocket s;
    s.fd.reset(timed_call("socket", -1, 0, [&] {
        return ::socket(socket_family(t), socket_type(t) | SOCK_CLOEXEC, 0);
    }));
    if (!s.fd) return errno_error("socket(" + std::string(transport_name(t)) + ")");
    if (t == Transport::unix_dgram) {
        // Autobind (an address of just the family) gives the client an
        // abstract name, so the server's reply has somewhere to go.
        sockaddr_un self{};
        self.sun_family = AF_UNIX;
        if (timed_call("bind", s.fd.get(), 0, [&] {
                return ::bind(s.fd.get(), reinterpret_cast<sockaddr*>(&self), sizeof(sa_family_t));
            }) != 0)
            return errno_error("autobind unix-dgram client");
    }
    if (timed_call("connect", s.fd.get(), 0,
                   [&] { return ::connect(s.fd.get(), addr.sa(), addr.length); }) != 0) {
        int e = errno;
        if (e == ECONNREFUSED || e == ENOENT)
            return make_error(std::string(e == ENOENT ? "no socket at " : "connection refused by ") +
                                  describe(addr) +
                                  ": is a server listening there? (tracepacket server --transport " +
                                  std::string(transport_name(t)) + ")",
                              e);
        return errno_error(e, "connect " + describe(addr));
    }
    s.address = addr;
    return s;
}

}  // namespace tpk::lab
