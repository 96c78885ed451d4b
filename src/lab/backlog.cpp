#include "lab/backlog.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tpk::lab {

namespace {

std::uint16_t local_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
}

std::uint16_t peer_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    return ntohs(a.sin_port);
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Waits for fd to become ready (events) or the stop eventfd, at most
// timeout_ms (-1: no limit). True when fd is ready, false on stop/timeout.
bool wait_ready(int fd, short events, int stop_fd, int timeout_ms) {
    pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    int n = fd >= 0 ? 2 : 1;
    pollfd* set = fd >= 0 ? p : p + 1;
    for (;;) {
        int r = ::poll(set, static_cast<nfds_t>(n), timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        if (p[1].revents) return false;
        return fd >= 0 && p[0].revents;
    }
}

}  // namespace

std::uint64_t BacklogLab::now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<BacklogLab>> BacklogLab::listen(const BacklogOptions& options) {
    std::unique_ptr<BacklogLab> lab(new BacklogLab(options));
    lab->stop_event_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!lab->stop_event_) return errno_error("eventfd");
    lab->listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!lab->listener_) return errno_error("socket");
    sockaddr_in a = loopback(0);
    if (::bind(lab->listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return errno_error("bind 127.0.0.1:0");
    if (::listen(lab->listener_.get(), options.backlog) != 0)
        return errno_error("listen with backlog " + std::to_string(options.backlog));
    lab->port_ = local_port(lab->listener_.get());
    return lab;
}

BacklogLab::~BacklogLab() { stop(); }

Status BacklogLab::start() {
    clients_.resize(static_cast<std::size_t>(options_.clients));
    for (int i = 0; i < options_.clients; ++i) clients_[static_cast<std::size_t>(i)].index = i + 1;
    server_ = std::thread([this] { serve(); });
    client_thread_ = std::thread([this] { run_clients(); });
    return {};
}

void BacklogLab::stop() {
    if (stopping_.exchange(true)) {
        if (server_.joinable()) server_.join();
        if (client_thread_.joinable()) client_thread_.join();
        return;
    }
    std::uint64_t one = 1;
    if (stop_event_) (void)::write(stop_event_.get(), &one, sizeof one);
    if (client_thread_.joinable()) client_thread_.join();
    if (server_.joinable()) server_.join();
    listener_.reset();
}

bool BacklogLab::all_done() const {
    std::lock_guard lock(mutex_);
    if (clients_.empty()) return false;
    return std::all_of(clients_.begin(), clients_.end(), [](const BacklogClient& c) { return c.done(); });
}

std::vector<BacklogClient> BacklogLab::clients() const {
    std::lock_guard lock(mutex_);
    return clients_;
}

std::vector<BacklogAccept> BacklogLab::accepts() const {
    std::lock_guard lock(mutex_);
    return accepts_;
}

std::string BacklogLab::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

// The slow server: waits accept_delay, accepts one connection, reads the
// client's message (on loopback it is usually queued already: the client
// wrote it to a socket the kernel had completed but nobody had accepted),
// answers and closes. Meanwhile the accept queue fills up.
void BacklogLab::serve() {
    const int stop_fd = stop_event_.get();
    for (;;) {
        if (wait_ready(-1, 0, stop_fd, static_cast<int>(options_.accept_delay.count())) ||
            stopping_.load())
            return;
        if (!wait_ready(listener_.get(), POLLIN, stop_fd, -1)) return;
        UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) {
            if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
            std::lock_guard lock(mutex_);
            failure_ = errno_error("accept").message();
            return;
        }
        BacklogAccept accepted{now_ns(), peer_port(conn.get()), false};
        // The message is usually queued already. One whose segment the
        // kernel dropped comes back only on the client's retransmission
        // timer: wait at most min(accept delay, 100 ms) for it, so the pace
        // of accept() stays the one asked for.
        int wait_ms = static_cast<int>(std::min<long>(options_.accept_delay.count(), 100));
        if (wait_ready(conn.get(), POLLIN, stop_fd, wait_ms)) {
            char buffer[256];
            accepted.message_read = ::recv(conn.get(), buffer, sizeof buffer, MSG_DONTWAIT) > 0;
        }
        static constexpr char kReply[] = "accepted\n";
        (void)::send(conn.get(), kReply, sizeof kReply - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        std::lock_guard lock(mutex_);
        accepts_.push_back(accepted);
    }
}

// Every client opens its connection non-blocking in one burst (as many
// clients connecting "at once" as one thread can), then each one, when its
// connect() completes, writes its message and waits for the server's answer.
void BacklogLab::run_clients() {
    const std::size_t n = clients_.size();
    std::vector<UniqueFd> fds(n);
    for (std::size_t i = 0; i < n; ++i) {
        BacklogClient update;
        fds[i].reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        {
            std::lock_guard lock(mutex_);
            update = clients_[i];
        }
        if (!fds[i]) {
            update.connect_errno = errno;
        } else {
            sockaddr_in a = loopback(port_);
            update.connect_start_ns = now_ns();
            int r = ::connect(fds[i].get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
            update.port = local_port(fds[i].get());
            if (r == 0) update.connected_ns = now_ns();
            else if (errno != EINPROGRESS) update.connect_errno = errno;
        }
        std::lock_guard lock(mutex_);
        clients_[i] = update;
    }
    static constexpr char kMessage[] = "hello from a client of the backlog lab\n";
    for (;;) {
        std::vector<pollfd> set;
        std::vector<std::size_t> who;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = 0; i < n; ++i) {
                const auto& c = clients_[i];
                if (c.done() || !fds[i]) continue;
                set.push_back({fds[i].get(), static_cast<short>(c.connected_ns ? POLLIN : POLLOUT), 0});
                who.push_back(i);
            }
        }
        if (set.empty()) return;
        set.push_back({stop_event_.get(), POLLIN, 0});
        int r = ::poll(set.data(), static_cast<nfds_t>(set.size()), -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || set.back().revents) return;
        for (std::size_t k = 0; k + 1 < set.size(); ++k) {
            if (!set[k].revents) continue;
            std::size_t i = who[k];
            int fd = fds[i].get();
            std::uint64_t t = now_ns();
            std::lock_guard lock(mutex_);
            auto& c = clients_[i];
            if (!c.connected_ns) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    c.connect_errno = err;
                    fds[i].reset();
                    continue;
                }
                c.connected_ns = t;
                // The message goes out at once: the kernel queues it on the
                // server's child socket whether or not accept() ran.
                if (::send(fd, kMessage, sizeof kMessage - 1, MSG_NOSIGNAL) > 0) c.sent_ns = now_ns();
                continue;
            }
            char buffer[64];
            ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
            if (got > 0 || got == 0) {
                c.served_ns = t;
                fds[i].reset();
            } else if (errno != EAGAIN && errno != EINTR) {
                c.recv_errno = errno;  // reset by the server (its listener closed)
                fds[i].reset();
            }
        }
    }
}

}  // namespace tpk::lab
