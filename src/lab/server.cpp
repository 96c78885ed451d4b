#include "lab/server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <set>
#include <unordered_map>
#include <vector>

#include "lab/call_timing.h"
#include "lab/framing.h"
#include "lab/payload.h"

namespace tpk::lab {
namespace {

constexpr int kMaxEvents = 64;
constexpr std::size_t kReadChunk = 256 * 1024;

struct Connection {
    UniqueFd fd;
    std::string peer;
    FrameReader reader;                     // byte streams only
    std::deque<std::vector<std::byte>> out; // replies not yet (fully) sent
    std::size_t out_offset = 0;             // sent bytes of out.front()
    bool peer_closed = false;
    std::uint32_t interest = EPOLLIN;       // events registered with epoll
};

std::string errno_text() { return std::strerror(errno); }

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

Status set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return errno_error("make socket non-blocking");
    return {};
}

class Server {
public:
    Server(const ServerOptions& opts, int stop_fd, const ServerEvents& events)
        : opts_(opts), stop_fd_(stop_fd), events_(events), reply_(to_bytes(opts.reply)) {}

    Result<ServerSummary> run() {
        if (auto st = open(); !st) return std::move(st).take_error();
        while (!finished()) {
            epoll_event evs[kMaxEvents];
            int n = timed_call("epoll_wait", epoll_.get(), kMaxEvents,
                               [&] { return ::epoll_wait(epoll_.get(), evs, kMaxEvents, -1); });
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error("epoll_wait");
            for (int i = 0; i < n; ++i)
                if (auto st = dispatch(evs[i]); !st) return std::move(st).take_error();
        }
        close_listening();
        return summary_;
    }

private:
    Status open() {
        auto bound = open_server(opts_.transport, opts_.address, opts_.listen);
        if (!bound) return std::move(bound).take_error();
        socket_ = std::move(*bound);
        epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
        if (!epoll_) return errno_error("epoll_create1");
        if (is_connection_oriented(opts_.transport)) {
            if (auto st = set_nonblocking(socket_.fd.get()); !st) return st;
        } else {
            // Datagram replies go out with a blocking sendto, bounded so one
            // client that stopped reading cannot stall the others for long.
            timeval limit{1, 0};
            ::setsockopt(socket_.fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        }
        if (auto st = watch(socket_.fd.get(), EPOLLIN); !st) return st;
        if (stop_fd_ >= 0)
            if (auto st = watch(stop_fd_, EPOLLIN); !st) return st;
        log("listening on " + socket_.address.to_string() + " (" +
            std::string(transport_name(opts_.transport)) + "), " +
            (opts_.echo ? std::string("echoing every message")
                        : "answering \"" + opts_.reply + "\"") +
            (opts_.count ? ", until " + plural(opts_.count, "message is", "messages are") +
                               " answered"
                         : ", until stopped (Ctrl-C)"));
        if (events_.on_listening) events_.on_listening(socket_.address);
        return {};
    }

    Status watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD) {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) return errno_error("epoll_ctl");
        return {};
    }

    bool count_reached() const { return opts_.count != 0 && summary_.messages >= opts_.count; }

    // Done when stopped, or when the last counted reply has left.
    bool finished() const {
        if (summary_.stopped) return true;
        if (!count_reached()) return false;
        for (const auto& [fd, c] : conns_)
            if (!c.out.empty()) return false;
        return true;
    }

    Status dispatch(const epoll_event& ev) {
        int fd = ev.data.fd;
        if (fd == stop_fd_) {
            summary_.stopped = true;
            return {};
        }
        if (fd == socket_.fd.get())
            return is_connection_oriented(opts_.transport) ? accept_all() : serve_datagrams();
        auto it = conns_.find(fd);
        if (it == conns_.end()) return {};
        Connection& c = it->second;
        Status st;
        if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) st = read_from(c);
        if (st && (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) st = flush(c);
        if (!st) {
            log(c.peer + ": " + st.error().message() + "; closing it");
            close(c);
        } else if (c.peer_closed && c.out.empty()) {
            log(c.peer + " closed the connection");
            close(c);
        } else if (c.peer_closed) {
            return update_interest(c);
        }
        return {};
    }

    Status accept_all() {
        for (;;) {
            sockaddr_storage peer{};
            socklen_t len = sizeof peer;
            int fd = timed_call("accept4", socket_.fd.get(), 0, [&] {
                return ::accept4(socket_.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
            });
            if (fd < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return {};
                // Out of descriptors or memory: keep serving the clients we have.
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    log("accept: " + errno_text());
                    return {};
                }
                return errno_error("accept on " + socket_.address.to_string());
            }
            ++summary_.clients;
            Connection c;
            c.fd.reset(fd);
            c.peer = peer_name(reinterpret_cast<sockaddr*>(&peer), len);
            if (auto st = watch(fd, EPOLLIN); !st) return st;
            log("accepted " + c.peer);
            conns_.emplace(fd, std::move(c));
        }
    }

    // UNIX stream clients are usually unnamed: number them instead.
    std::string peer_name(const sockaddr* sa, socklen_t len) const {
        if (sa->sa_family == AF_UNIX && len <= offsetof(sockaddr_un, sun_path) + 1)
            return "client #" + std::to_string(summary_.clients);
        return sockaddr_to_string(sa, len);
    }

    Status read_from(Connection& c) {
        if (count_reached()) return drain_ignored(c);
        return is_byte_stream(opts_.transport) ? read_stream(c) : read_seqpacket(c);
    }

    // Past --count the server answers nothing more but still notices EOF.
    Status drain_ignored(Connection& c) {
        for (;;) {
            ssize_t n = receive(c.fd.get(), scratch(kReadChunk), kReadChunk, MSG_DONTWAIT);
            if (n > 0) continue;
            if (n == 0) c.peer_closed = true;
            if (n < 0 && errno != EAGAIN && errno != EINTR) return errno_error("recv");
            return {};
        }
    }

    Status read_stream(Connection& c) {
        for (;;) {
            ssize_t n = receive(c.fd.get(), scratch(kReadChunk), kReadChunk, MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return {};
            if (n < 0) return errno_error("recv");
            if (n == 0) {
                c.peer_closed = true;
                if (c.reader.buffered())
                    log(c.peer + " left " + std::to_string(c.reader.buffered()) +
                        " bytes of an unfinished message");
                return {};
            }
            c.reader.feed({scratch_.data(), static_cast<std::size_t>(n)});
            for (;;) {
                auto msg = c.reader.next();
                if (!msg) return std::move(msg).take_error();
                if (!*msg) break;
                if (auto st = answer(c, **msg); !st) return st;
                if (count_reached()) return {};
            }
        }
    }

    Status read_seqpacket(Connection& c) {
        for (;;) {
            // MSG_TRUNC with MSG_PEEK returns the message's full length
            // (unix_dgram_recvmsg), so the buffer always fits it.
            ssize_t size = receive(c.fd.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
            if (size < 0 && errno == EINTR) continue;
            if (size < 0 && errno == EAGAIN) return {};
            if (size < 0) return errno_error("recv");
            ssize_t n = receive(c.fd.get(), scratch(static_cast<std::size_t>(size) + 1),
                                static_cast<std::size_t>(size) + 1, MSG_DONTWAIT);
            if (n < 0) return errno_error("recv");
            // A zero-length read is end of file: the lab never sends empty messages.
            if (n == 0) {
                c.peer_closed = true;
                return {};
            }
            if (auto st = answer(c, {scratch_.data(), static_cast<std::size_t>(n)}); !st)
                return st;
            if (count_reached()) return {};
        }
    }

    std::span<const std::byte> reply_for(std::span<const std::byte> message) const {
        return opts_.echo ? message : std::span<const std::byte>(reply_);
    }

    void count_answer(std::span<const std::byte> in, std::span<const std::byte> out,
                      const std::string& peer) {
        ++summary_.messages;
        summary_.bytes_received += in.size();
        summary_.bytes_sent += out.size();
        if (!opts_.log_messages) return;
        log("received " + describe_payload(in) + " from " + peer);
        log("sent " + describe_payload(out) + " to " + peer);
    }

    Status answer(Connection& c, std::span<const std::byte> message) {
        auto reply = reply_for(message);
        if (is_byte_stream(opts_.transport))
            c.out.push_back(encode_frame(reply));
        else
            c.out.emplace_back(reply.begin(), reply.end());
        count_answer(message, reply, c.peer);
        return flush(c);
    }

    Status flush(Connection& c) {
        while (!c.out.empty()) {
            const auto& front = c.out.front();
            std::size_t left = front.size() - c.out_offset;
            ssize_t n = timed_call("sendto", c.fd.get(), left, [&] {
                return ::send(c.fd.get(), front.data() + c.out_offset, left,
                              MSG_DONTWAIT | MSG_NOSIGNAL);
            });
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return update_interest(c);
            if (n < 0) return errno_error("send");
            c.out_offset += static_cast<std::size_t>(n);
            if (c.out_offset == front.size()) {
                c.out.pop_front();
                c.out_offset = 0;
            }
        }
        return update_interest(c);
    }

    // Level-triggered epoll: watch for input until the peer's EOF (else EOF
    // would wake us forever), for output only while replies wait.
    Status update_interest(Connection& c) {
        std::uint32_t want = (c.peer_closed ? 0u : std::uint32_t{EPOLLIN}) |
                             (c.out.empty() ? 0u : std::uint32_t{EPOLLOUT});
        if (want == c.interest) return {};
        c.interest = want;
        return watch(c.fd.get(), want, EPOLL_CTL_MOD);
    }

    void close(Connection& c) {
        int fd = c.fd.get();
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        timed_call("close", fd, 0, [&] { return ::close(c.fd.release()); });
        conns_.erase(fd);
    }

    // Done serving: the connections and the listening socket close now, in
    // this order, as a program closing them by hand would (their UNIX socket
    // file goes with the BoundSocket).
    void close_listening() {
        while (!conns_.empty()) close(conns_.begin()->second);
        int fd = socket_.fd.get();
        if (fd >= 0) timed_call("close", fd, 0, [&] { return ::close(socket_.fd.release()); });
    }

    static ssize_t receive(int fd, std::byte* buf, std::size_t size, int flags) {
        return timed_call(
            "recvfrom", fd, size, [&] { return ::recv(fd, buf, size, flags); }, flags);
    }

    Status serve_datagrams() {
        while (!count_reached()) {
            int fd = socket_.fd.get();
            ssize_t size = receive(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
            if (size < 0 && errno == EINTR) continue;
            if (size < 0 && errno == EAGAIN) return {};
            if (size < 0) {
                // An ICMP error or a vanished UNIX peer: that client's problem.
                log("recv: " + errno_text());
                continue;
            }
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            std::size_t room = static_cast<std::size_t>(size) + 1;
            ssize_t n = timed_call("recvfrom", fd, room, [&] {
                return ::recvfrom(fd, scratch(room), room, MSG_DONTWAIT,
                                  reinterpret_cast<sockaddr*>(&from), &from_len);
            });
            if (n < 0) continue;
            std::span<const std::byte> message(scratch_.data(), static_cast<std::size_t>(n));
            answer_datagram(message, reinterpret_cast<sockaddr*>(&from), from_len);
        }
        return {};
    }

    void answer_datagram(std::span<const std::byte> message, const sockaddr* from,
                         socklen_t from_len) {
        if (from->sa_family == AF_UNIX && from_len <= offsetof(sockaddr_un, sun_path)) {
            log("ignored " + describe_payload(message) +
                " from an unnamed UNIX socket: no address to answer");
            return;
        }
        std::string peer = sockaddr_to_string(from, from_len);
        if (peers_.insert(peer).second) ++summary_.clients;
        auto reply = reply_for(message);
        int fd = socket_.fd.get();
        if (timed_call("sendto", fd, reply.size(), [&] {
                return ::sendto(fd, reply.data(), reply.size(), MSG_NOSIGNAL, from, from_len);
            }) < 0) {
            log("reply to " + peer + " lost: " + errno_text());
            return;
        }
        count_answer(message, reply, peer);
    }

    std::byte* scratch(std::size_t size) {
        if (scratch_.size() < size) scratch_.resize(size);
        return scratch_.data();
    }

    void log(const std::string& line) const {
        if (events_.on_log) events_.on_log(line);
    }

    const ServerOptions& opts_;
    int stop_fd_;
    const ServerEvents& events_;
    std::vector<std::byte> reply_;
    BoundSocket socket_;
    UniqueFd epoll_;
    std::unordered_map<int, Connection> conns_;  // declared after epoll_: closed first
    std::set<std::string> peers_;                // datagram senders seen
    std::vector<std::byte> scratch_;
    ServerSummary summary_;
};

}  // namespace

Result<ServerSummary> run_server(const ServerOptions& opts, int stop_fd,
                                 const ServerEvents& events) {
    Server server(opts, stop_fd, events);
    return server.run();
}

std::string describe(const ServerSummary& s) {
    return "answered " + plural(s.messages, "message", "messages") + " (" +
           std::to_string(s.bytes_received) + " bytes in, " + std::to_string(s.bytes_sent) +
           " bytes out) from " + plural(s.clients, "client", "clients");
}

}  // namespace tpk::lab
