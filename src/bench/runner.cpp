#include "bench/runner.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "bench/link.h"

namespace tpk::bench {
namespace {

std::uint64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Writes a whole message: a stream or pipe may take several writes, a
// datagram is one.
bool write_message(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Reads a whole message of n bytes; a datagram must arrive as one read of n.
bool read_message(int fd, char* p, std::size_t n, bool datagram) {
    if (datagram) {
        ssize_t r;
        do r = ::read(fd, p, n);
        while (r < 0 && errno == EINTR);
        return r == static_cast<ssize_t>(n);
    }
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

// The peer's exit status when it could not enter the server's namespace.
constexpr int kPeerSetnsFailed = 125;

std::optional<int> near_cpu(const std::optional<CpuPin>& pin) {
    return pin ? std::optional<int>(pin->near_cpu) : std::nullopt;
}
std::optional<int> far_cpu(const std::optional<CpuPin>& pin) {
    return pin ? std::optional<int>(pin->far_cpu) : std::nullopt;
}

// The error for a failed read or write on the measuring side: the peer's
// fate when it died (a datagram read then returns 0, see
// ShutdownOnPeerExit), else errno.
Error io_error(Peer& peer, const char* what, std::size_t size) {
    const int e = errno;
    const std::string fate = peer.early_exit();
    const std::string doing = std::string(what) + " of " + std::to_string(size) + " B";
    if (!fate.empty()) return make_error(doing + ": the peer process " + fate);
    return errno_error(e, doing);
}

// The peer of a latency run: sends every message back until killed.
int echo_loop(const LinkEnd& far, std::size_t size, bool datagram) {
    std::vector<char> buf(size);
    while (read_message(far.in(), buf.data(), size, datagram))
        if (!write_message(far.out(), buf.data(), size)) return 1;
    return 0;
}

// The peer of a throughput run: writes until the reader goes away.
int send_loop(const LinkEnd& far, std::size_t size) {
    std::vector<char> buf(size, 'x');
    while (write_message(far.out(), buf.data(), size)) {
    }
    return 0;
}

// Forks the peer with only its own end open: the near end closed in the
// child, the far end closed here, so either side's death is seen as EOF on
// streams and pipes.
// On a NetPath the peer process also moves into the server's namespace, so
// the server side is in its host in every respect (its /proc/PID/ns/net).
Result<Peer> spawn_peer(Link& link, const std::optional<CpuPin>& pin, const NetPath* path,
                        const std::function<int(const LinkEnd&)>& body) {
    auto peer = Peer::spawn(
        [&] {
            link.near = LinkEnd{};
            if (path && ::setns(path->far_ns->fd(), CLONE_NEWNET) != 0) return kPeerSetnsFailed;
            return body(link.far);
        },
        far_cpu(pin));
    link.far = LinkEnd{};
    return peer;
}

// The measuring side is the client: on a NetPath it runs in the client's
// namespace for the cell (until the guard dies), as the peer runs in the
// server's.
Result<std::optional<lab::EnteredNetns>> enter_client_side(const NetPath* path) {
    if (!path) return std::optional<lab::EnteredNetns>();
    auto inside = path->near_ns->enter();
    if (!inside) return inside.error();
    return std::optional<lab::EnteredNetns>(std::move(*inside));
}

}  // namespace

std::string skip_reason(const Transport& t, std::size_t size, std::size_t max_message) {
    if (max_message == 0 || size <= max_message) return {};
    std::string why = std::string(transport_name(t)) + " carries at most " +
                      std::to_string(max_message) + " B in one message";
    if (t.kind == Transport::Kind::socket && lab::is_unix(t.socket))
        why += " (sk_sndbuf - 32; raise net.core.wmem_default to send more)";
    return why;
}

double ThroughputResult::megabytes_per_second() const {
    return elapsed_ns ? static_cast<double>(bytes) / seconds() / 1e6 : 0;
}
double ThroughputResult::gigabits_per_second() const {
    return elapsed_ns ? static_cast<double>(bytes) * 8 / seconds() / 1e9 : 0;
}
double ThroughputResult::messages_per_second() const {
    return elapsed_ns ? static_cast<double>(messages) / seconds() : 0;
}

Result<LatencyResult> run_latency(const Transport& t, const LatencyOptions& opts) {
    LatencyResult result;
    result.transport = t;
    result.size = opts.size;
    if (opts.path) result.path = opts.path->name;
    auto link = open_link(t, LinkOptions{.tcp_no_delay = true, .path = opts.path});
    if (!link) return link.error();
    result.tcp_mss = link->tcp_mss;
    result.skipped = skip_reason(t, opts.size, link->max_message);
    if (!result.skipped.empty()) return result;

    const bool datagram = keeps_boundaries(t);
    auto in_client_ns = enter_client_side(opts.path);
    if (!in_client_ns) return in_client_ns.error();
    IgnoreSigpipe no_sigpipe;
    ShutdownOnPeerExit unblock(link->near.in());
    auto pinned = ScopedPin::pin(near_cpu(opts.pin));
    if (!pinned) return pinned.error();
    auto peer = spawn_peer(*link, opts.pin, opts.path, [&](const LinkEnd& far) {
        return echo_loop(far, opts.size, datagram);
    });
    if (!peer) return peer.error();

    std::vector<char> out(opts.size, 'p');
    std::vector<char> in(opts.size);
    std::vector<std::uint64_t> samples;
    // Reserved up to a million (8 MB); a run bounded by time rather than count
    // grows it only as far as it gets.
    samples.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(opts.round_trips, 1'000'000)));
    // The warm-up gets a tenth of the time budget at most, so a slow machine
    // still measures; the measured part stops at the count or the deadline
    // (after one sample at least).
    const std::uint64_t budget = static_cast<std::uint64_t>(opts.max_time.count());
    const std::uint64_t began = now_ns();
    const std::uint64_t warm_until = began + budget / 10;
    const std::uint64_t deadline = began + budget;
    bool warming = opts.warmup > 0;
    std::uint64_t warm = 0;
    while (samples.size() < opts.round_trips) {
        const std::uint64_t start = now_ns();
        if (!write_message(link->near.out(), out.data(), opts.size))
            return io_error(*peer, "write", opts.size);
        if (!read_message(link->near.in(), in.data(), opts.size, datagram))
            return io_error(*peer, "read", opts.size);
        const std::uint64_t end = now_ns();
        if (warming) {
            warming = ++warm < opts.warmup && end < warm_until;
            continue;
        }
        samples.push_back(end - start);
        if (end >= deadline) break;
    }
    peer->stop();
    result.summary = summarize(samples);
    return result;
}

Result<ThroughputResult> run_throughput(const Transport& t, const ThroughputOptions& opts) {
    ThroughputResult result;
    result.transport = t;
    result.size = opts.size;
    if (opts.path) result.path = opts.path->name;
    auto link = open_link(t, LinkOptions{.path = opts.path});
    if (!link) return link.error();
    result.tcp_mss = link->tcp_mss;
    result.skipped = skip_reason(t, opts.size, link->max_message);
    if (!result.skipped.empty()) return result;

    const bool datagram = keeps_boundaries(t);
    auto in_client_ns = enter_client_side(opts.path);
    if (!in_client_ns) return in_client_ns.error();
    IgnoreSigpipe no_sigpipe;
    ShutdownOnPeerExit unblock(link->near.in());
    auto pinned = ScopedPin::pin(near_cpu(opts.pin));
    if (!pinned) return pinned.error();
    auto peer = spawn_peer(*link, opts.pin, opts.path, [&](const LinkEnd& far) {
        return send_loop(far, opts.size);
    });
    if (!peer) return peer.error();

    std::vector<char> buf(opts.size);
    const int fd = link->near.in();
    // The clock starts at the first byte, so fork and connection set-up are
    // not counted as time without data.
    ssize_t first;
    do first = ::read(fd, buf.data(), buf.size());
    while (first < 0 && errno == EINTR);
    if (first <= 0) return io_error(*peer, "read", opts.size);
    const std::uint64_t start = now_ns();
    const std::uint64_t want = static_cast<std::uint64_t>(opts.duration.count());
    std::uint64_t now = start;
    while (now - start < want) {
        ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return io_error(*peer, "read", opts.size);
        result.bytes += static_cast<std::uint64_t>(r);
        ++result.messages;
        now = now_ns();
    }
    peer->stop();
    result.elapsed_ns = now - start;
    if (!datagram) result.messages = result.bytes / opts.size;
    return result;
}

}  // namespace tpk::bench
