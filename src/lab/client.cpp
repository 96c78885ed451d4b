#include "lab/client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/core.h>

#include <cstring>
#include <vector>

#include "lab/call_timing.h"
#include "lab/framing.h"
#include "lab/payload.h"

namespace tpk::lab {
namespace {

std::string limit_reason(Transport t) {
    switch (t) {
        case Transport::udp: return "65535 - 20 (IPv4 header) - 8 (UDP header)";
        case Transport::udp6: return "65535 - 8 (UDP header); IPv6 jumbograms need a larger MTU";
        default: return "the socket's send buffer (SO_SNDBUF) - 32, see unix_dgram_sendmsg";
    }
}

Error too_large(Transport t, std::size_t size, std::size_t limit) {
    return make_error("a " + std::to_string(size) + "-byte message does not fit in one " +
                          std::string(transport_name(t)) + " message (at most " +
                          std::to_string(limit) + " bytes: " + limit_reason(t) +
                          "); use --size " + std::to_string(limit) + " or less",
                      EMSGSIZE);
}

class Client {
public:
    Client(const ClientOptions& opts, const ClientEvents& events) : opts_(opts), events_(events) {}

    Result<ClientSummary> run() {
        if (auto st = connect(); !st) return std::move(st).take_error();
        for (std::uint64_t i = 0; i < opts_.count; ++i)
            if (auto st = exchange(i); !st) return std::move(st).take_error();
        if (opts_.count > 1 || opts_.verify || !opts_.log_messages)
            log(std::to_string(summary_.messages) +
                (summary_.messages == 1 ? " message, " : " messages, ") +
                std::to_string(summary_.bytes_sent) + " bytes sent, " +
                std::to_string(summary_.bytes_received) + " bytes received" +
                (opts_.verify ? ", every echo verified byte for byte" : ""));
        int fd = socket_.fd.get();
        timed_call("close", fd, 0, [&] { return ::close(socket_.fd.release()); });
        return summary_;
    }

private:
    std::size_t payload_size() const { return opts_.size ? opts_.size : opts_.message.size(); }

    Status connect() {
        std::size_t size = payload_size();
        if (size == 0) return make_error("nothing to send: give a --message or a --size above 0");
        if (auto st = check_message_size(opts_.transport, size); !st) return st;
        auto s = open_client(opts_.transport, opts_.address);
        if (!s) return std::move(s).take_error();
        socket_ = std::move(*s);
        std::size_t limit = message_limit(opts_.transport, socket_.fd.get());
        if (limit && size > limit) return too_large(opts_.transport, size, limit);
        int flags = ::fcntl(socket_.fd.get(), F_GETFL);
        if (flags < 0 || ::fcntl(socket_.fd.get(), F_SETFL, flags | O_NONBLOCK) < 0)
            return errno_error("make socket non-blocking");
        sockaddr_storage local{};
        socklen_t len = sizeof local;
        ::getsockname(socket_.fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
        log("connected to " + server() + " (" + std::string(transport_name(opts_.transport)) +
            ") from " + sockaddr_to_string(reinterpret_cast<sockaddr*>(&local), len));
        return {};
    }

    std::string server() const { return opts_.address.to_string(); }

    Status exchange(std::uint64_t index) {
        auto payload = opts_.size ? pattern_payload(opts_.size, index, opts_.salt)
                                  : to_bytes(opts_.message);
        if (auto st = send_message(payload); !st) return st;
        if (opts_.log_messages) log("sent " + describe_payload(payload));
        auto reply = receive_message(index);
        if (!reply) return std::move(reply).take_error();
        if (opts_.log_messages) log("received " + describe_payload(*reply));
        if (opts_.verify)
            if (auto st = verify_echo(payload, *reply, index); !st) return st;
        ++summary_.messages;
        summary_.bytes_sent += payload.size();
        summary_.bytes_received += reply->size();
        return {};
    }

    // Connected UDP and UNIX datagram sockets learn of a missing server only
    // when they send or receive: ECONNREFUSED from an ICMP port unreachable
    // (udp) or from the peer having gone (unix).
    Error io_error(const char* what) const {
        int e = errno;
        if (e == ECONNREFUSED)
            return make_error("connection refused by " + server() + ": is a server listening "
                                  "there? (tracepacket server --transport " +
                                  std::string(transport_name(opts_.transport)) + ")",
                              e);
        if (e == EPIPE || e == ECONNRESET)
            return make_error("the server at " + server() + " closed the connection", e);
        if (e == EMSGSIZE)
            return too_large(opts_.transport, payload_size(),
                             message_limit(opts_.transport, socket_.fd.get()));
        return errno_error(e, std::string(what) + " " + server());
    }

    Status wait_for(short events, const char* waiting_for) {
        pollfd p{socket_.fd.get(), events, 0};
        for (;;) {
            int n = timed_call("poll", p.fd, 1, [&] { return ::poll(&p, 1, opts_.timeout_ms); });
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno_error("poll");
            if (n == 0)
                return make_error(fmt::format("no {} from {} within {:g} s (is it a "
                                              "tracepacket server? see --timeout)",
                                              waiting_for, server(), opts_.timeout_ms / 1000.0),
                                  ETIMEDOUT);
            return {};
        }
    }

    Status send_message(std::span<const std::byte> payload) {
        std::vector<std::byte> framed;
        std::span<const std::byte> wire = payload;
        if (is_byte_stream(opts_.transport)) {
            framed = encode_frame(payload);
            wire = framed;
        }
        std::size_t done = 0;
        while (done < wire.size()) {
            int fd = socket_.fd.get();
            std::size_t left = wire.size() - done;
            ssize_t n = timed_call("sendto", fd, left, [&] {
                return ::send(fd, wire.data() + done, left, MSG_NOSIGNAL);
            });
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                if (auto st = wait_for(POLLOUT, "progress sending"); !st) return st;
                continue;
            }
            if (n < 0) return io_error("send to");
            done += static_cast<std::size_t>(n);
        }
        return {};
    }

    Result<std::vector<std::byte>> receive_message(std::uint64_t index) {
        return is_byte_stream(opts_.transport) ? receive_frame(index) : receive_datagram(index);
    }

    Error closed_early(std::uint64_t index) const {
        return make_error("the server at " + server() + " closed the connection before "
                          "answering message " + std::to_string(index),
                          ECONNRESET);
    }

    Result<std::vector<std::byte>> receive_frame(std::uint64_t index) {
        std::byte chunk[64 * 1024];
        for (;;) {
            auto msg = reader_.next();
            if (!msg) return std::move(msg).take_error();
            if (*msg) return std::move(**msg);
            if (auto st = wait_for(POLLIN, "reply"); !st) return std::move(st).take_error();
            ssize_t n = receive(chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n < 0) return io_error("recv from");
            if (n == 0) return closed_early(index);
            reader_.feed({chunk, static_cast<std::size_t>(n)});
        }
    }

    Result<std::vector<std::byte>> receive_datagram(std::uint64_t index) {
        for (;;) {
            if (auto st = wait_for(POLLIN, "reply"); !st) return std::move(st).take_error();
            // MSG_PEEK | MSG_TRUNC returns the datagram's whole length.
            ssize_t size = receive(nullptr, 0, MSG_PEEK | MSG_TRUNC);
            if (size < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (size < 0) return io_error("recv from");
            std::vector<std::byte> buf(static_cast<std::size_t>(size) + 1);
            ssize_t n = receive(buf.data(), buf.size(), 0);
            if (n < 0) return io_error("recv from");
            if (n == 0 && opts_.transport == Transport::unix_seqpacket) return closed_early(index);
            buf.resize(static_cast<std::size_t>(n));
            return buf;
        }
    }

    ssize_t receive(std::byte* buf, std::size_t size, int flags) {
        int fd = socket_.fd.get();
        return timed_call(
            "recvfrom", fd, size, [&] { return ::recv(fd, buf, size, flags); }, flags);
    }

    void log(const std::string& line) const {
        if (events_.on_log) events_.on_log(line);
    }

    const ClientOptions& opts_;
    const ClientEvents& events_;
    BoundSocket socket_;
    FrameReader reader_;
    ClientSummary summary_;
};

}  // namespace

Status check_message_size(Transport t, std::size_t size) {
    std::size_t limit = is_byte_stream(t) ? kMaxFramePayload : max_message_size(t);
    if (limit && size > limit) {
        if (is_byte_stream(t))
            return make_error("a " + std::to_string(size) + "-byte message is above the lab's " +
                                  std::to_string(limit) + "-byte limit per message",
                              EMSGSIZE);
        return too_large(t, size, limit);
    }
    return {};
}

Result<ClientSummary> run_client(const ClientOptions& opts, const ClientEvents& events) {
    Client client(opts, events);
    return client.run();
}

}  // namespace tpk::lab
