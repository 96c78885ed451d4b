#include "bench/link.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace tpk::bench {
namespace {

Result<lab::Address> loopback_address(lab::Transport t) {
    if (!lab::is_unix(t)) return lab::parse_address(t, "0");  // loopback, ephemeral port
    static std::atomic<unsigned> serial{0};
    return lab::parse_address(t, "@tracepacket-bench-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(serial++));
}

Status set_int_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return errno_error(what);
    return {};
}

Result<lab::Address> local_address(int fd) {
    lab::Address a;
    a.length = sizeof a.storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0)
        return errno_error("getsockname");
    return a;
}

// unix_dgram_sendmsg() refuses len > sk_sndbuf - 32 with EMSGSIZE (and
// unix_seqpacket_sendmsg() calls it), so the send buffer bounds a message.
Result<std::size_t> max_message(lab::Transport t, int fd) {
    if (lab::is_byte_stream(t)) return std::size_t{0};
    if (!lab::is_unix(t)) return lab::max_message_size(t);
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0)
        return errno_error("getsockopt SO_SNDBUF");
    return static_cast<std::size_t>(sndbuf > 32 ? sndbuf - 32 : 0);
}

// A socket belongs to the network namespace its socket() call ran in, for
// its whole life: each end is made inside its namespace and then used from
// wherever (the measuring loop, the forked peer).
Result<lab::BoundSocket> open_server_on(lab::Transport t, const lab::Address& addr, const NetPath* path) {
    if (!path) return lab::open_server(t, addr);
    auto inside = path->far_ns->enter();
    if (!inside) return inside.error();
    return lab::open_server(t, addr);
}

Result<lab::BoundSocket> open_client_on(lab::Transport t, const lab::Address& addr, const NetPath* path) {
    if (!path) return lab::open_client(t, addr);
    auto inside = path->near_ns->enter();
    if (!inside) return inside.error();
    return lab::open_client(t, addr);
}

std::uint32_t tcp_mss_of(lab::Transport t, int fd) {
    if (t != lab::Transport::tcp && t != lab::Transport::tcp6) return 0;
    int mss = 0;
    socklen_t len = sizeof mss;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len) != 0 || mss < 0) return 0;
    return static_cast<std::uint32_t>(mss);
}

Result<Link> open_socket_link(lab::Transport t, const LinkOptions& opts) {
    Result<lab::Address> addr = loopback_address(t);
    if (opts.path && lab::socket_family(t) == AF_INET6) {
        if (opts.path->far_address6.empty()) return make_error(opts.path->name + " has no IPv6 addresses");
        addr = lab::parse_address(t, "[" + opts.path->far_address6 + "]:0");
    } else if (opts.path) {
        addr = lab::parse_address(t, opts.path->far_address + ":0");
    }
    if (!addr) return addr.error();
    auto server = open_server_on(t, *addr, opts.path);
    if (!server) return wrap(server.error(), "bench server");
    auto client = open_client_on(t, server->address, opts.path);
    if (!client) return wrap(client.error(), "bench client");

    Link link;
    if (lab::is_connection_oriented(t)) {
        link.far.fd.reset(::accept4(server->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!link.far.fd) return errno_error("accept (" + std::string(lab::transport_name(t)) + ")");
    } else {
        auto peer = local_address(client->fd.get());
        if (!peer) return peer.error();
        if (::connect(server->fd.get(), peer->sa(), peer->length) != 0)
            return errno_error("connect bench server back to " + peer->to_string());
        link.far.fd = std::move(server->fd);
    }
    link.near.fd = std::move(client->fd);

    if (opts.tcp_no_delay && (t == lab::Transport::tcp || t == lab::Transport::tcp6)) {
        for (int fd : {link.near.in(), link.far.in()})
            if (auto st = set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "set TCP_NODELAY"); !st)
                return std::move(st).take_error();
    }
    auto max = max_message(t, link.near.in());
    if (!max) return max.error();
    link.max_message = *max;
    link.tcp_mss = tcp_mss_of(t, link.near.in());
    return link;
}

Result<Link> open_pipe_link() {
    int to_far[2];
    int to_near[2];
    if (::pipe2(to_far, O_CLOEXEC) != 0) return errno_error("pipe");
    Link link;
    link.far.fd.reset(to_far[0]);
    link.near.out_fd.reset(to_far[1]);
    if (::pipe2(to_near, O_CLOEXEC) != 0) return errno_error("pipe");
    link.near.fd.reset(to_near[0]);
    link.far.out_fd.reset(to_near[1]);
    return link;
}

Result<Link> open_socketpair_link() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return errno_error("socketpair");
    Link link;
    link.near.fd.reset(sv[0]);
    link.far.fd.reset(sv[1]);
    return link;
}

}  // namespace

std::string net_path_refusal(const Transport& t) {
    if (t.kind != Transport::Kind::socket)
        return "not an IP socket: its bytes never reach a network device";
    if (lab::is_unix(t.socket))
        return "UNIX sockets never reach IP or a network device, so nothing of theirs can cross "
               "the veth pair (and an abstract name is private to its network namespace)";
    return {};
}

Result<Link> open_link(const Transport& t, const LinkOptions& opts) {
    if (opts.path)
        if (auto why = net_path_refusal(t); !why.empty())
            return make_error(std::string(transport_name(t)) + " over " + opts.path->name + ": " + why);
    switch (t.kind) {
        case Transport::Kind::pipe: return open_pipe_link();
        case Transport::Kind::socketpair: return open_socketpair_link();
        case Transport::Kind::socket: break;
    }
    auto link = open_socket_link(t.socket, opts);
    if (!link) return wrap(link.error(), std::string(transport_name(t)));
    return link;
}

}  // namespace tpk::bench
