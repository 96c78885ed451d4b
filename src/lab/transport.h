// The transports the lab speaks and how their addresses are written.
// Everything here is plain socket plumbing, shared by the lab endpoints, the
// benchmark and the journey: no tracing, no printing.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

enum class Transport {
    tcp,             // TCP over 127.0.0.1
    tcp6,            // TCP over ::1
    udp,
    udp6,
    unix_stream,     // "unix"
    unix_dgram,      // "unix-dgram"
    unix_seqpacket,  // "unix-seqpacket"
};

inline constexpr Transport kAllTransports[] = {
    Transport::tcp,         Transport::tcp6,       Transport::udp,           Transport::udp6,
    Transport::unix_stream, Transport::unix_dgram, Transport::unix_seqpacket,
};

std::string_view transport_name(Transport t);
// "tcp, tcp6, udp, udp6, unix, unix-dgram, unix-seqpacket"
std::string transport_names();
Result<Transport> parse_transport(std::string_view name);

int socket_family(Transport t);  // AF_INET, AF_INET6 or AF_UNIX
int socket_type(Transport t);    // SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
bool is_unix(Transport t);
// A byte stream: message boundaries are not kept, so the lab frames messages.
bool is_byte_stream(Transport t);
// Connection-oriented: listen/accept/connect (stream and seqpacket).
bool is_connection_oriented(Transport t);
// Largest message one send can carry, or 0 when only memory limits it.
// UDP: 65535 - 20 (IPv4) - 8 = 65507; UDP over IPv6: 65535 - 8 = 65527.
std::size_t max_message_size(Transport t);
// The same for an open socket: UNIX datagram and seqpacket messages are
// limited by the sender's send buffer (SO_SNDBUF - 32). 0: a byte stream.
std::size_t message_limit(Transport t, int fd);

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const { return storage.ss_family; }
    bool is_abstract() const;     // UNIX abstract name ("@name")
    std::string unix_path() const;  // filesystem path, "" for abstract or inet
    std::string to_string() const;  // "127.0.0.1:8080", "[::1]:8080", "/tmp/x", "@name"
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Parses HOST:PORT, [V6]:PORT, /path or @abstract for the given transport;
// a bare PORT means the transport's loopback address.
Result<Address> parse_address(Transport t, std::string_view text);
// 127.0.0.1:8080, [::1]:8080, or /tmp/tracepacket-<transport>.sock
Address default_address(Transport t);
std::string sockaddr_to_string(const sockaddr* sa, socklen_t len);

// Removes a UNIX socket file when it goes out of scope (the lab's sockets
// leave no files behind).
class UnixPathOwner {
public:
    UnixPathOwner() = default;
    explicit UnixPathOwner(std::string path) : path_(std::move(path)) {}
    UnixPathOwner(UnixPathOwner&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    UnixPathOwner& operator=(UnixPathOwner&& o) noexcept;
    UnixPathOwner(const UnixPathOwner&) = delete;
    UnixPathOwner& operator=(const UnixPathOwner&) = delete;
    ~UnixPathOwner();
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// A bound socket and, for UNIX paths, the file it created.
struct BoundSocket {
    UniqueFd fd;
    Address address;      // the address actually bound (port filled in when 0 was asked)
    UnixPathOwner path;   // declared after fd: the file is removed after the close
};

struct ListenOptions {
    int backlog = 128;
    bool force = false;   // replace an existing UNIX socket file (never a non-socket)
};

// socket + SO_REUSEADDR + bind (+ listen for connection-oriented transports).
// Errors name the address: "port 8080 on 127.0.0.1 is already in use".
Result<BoundSocket> open_server(Transport t, const Address& addr, const ListenOptions& opts = {});
// socket + connect. UNIX datagram clients autobind an abstract name first so
// the server can answer them.
Result<BoundSocket> open_client(Transport t, const Address& addr);

}  // namespace tpk::lab
