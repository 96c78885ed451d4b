#include "capture/source.h"

#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "util/fd.h"

namespace tpk::capture {

namespace {

Error pcap_error(pcap_t* h, const std::string& what) {
    return make_error(what + ": " + pcap_geterr(h));
}

// pcap_activate's failures in the words a user can act on.
Error activate_error(pcap_t* h, int rc, const std::string& iface) {
    switch (rc) {
        case PCAP_ERROR_PERM_DENIED:
            return make_error("capturing on " + iface +
                              " needs CAP_NET_RAW (run as root, or `setcap cap_net_raw+ep` the "
                              "binary); reading a saved file with -r works without it", EPERM);
        case PCAP_ERROR_NO_SUCH_DEVICE:
            return make_error("no interface named '" + iface + "' (see `ip link`)", ENODEV);
        case PCAP_ERROR_IFACE_NOT_UP:
            return make_error("interface " + iface + " is down (ip link set " + iface + " up)", ENETDOWN);
        default:
            return make_error("start capture on " + iface + ": " + pcap_statustostr(rc) + ": " +
                              pcap_geterr(h));
    }
}

// Best effort: a kernel before 4.20 refuses the option (ENOPROTOOPT) and
// libpcap then drops the outgoing copies on lo itself (linux_check_direction
// in pcap-linux.c), so the frames are the same either way.
void ignore_outgoing_copies(pcap_t* p) {
    const int one = 1;
    (void)::setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
}

}  // namespace

bool is_loopback_interface(const std::string& name) {
    ifreq ifr{};
    if (name.empty() || name.size() >= sizeof ifr.ifr_name) return false;
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return false;
    return (ifr.ifr_flags & IFF_LOOPBACK) != 0;
}

bool fd_readable(int fd) {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

Result<Source> Source::open_live(const LiveOptions& o) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle h(pcap_create(o.interface.c_str(), err));
    if (!h) return make_error("open interface " + o.interface + ": " + err);
    pcap_t* p = h.get();
    pcap_set_snaplen(p, o.snaplen);
    pcap_set_promisc(p, o.promiscuous ? 1 : 0);
    pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
    // Without immediate mode packets wait for a full TPACKET_V3 block or this
    // timeout (libpcap's tp_retire_blk_tov).
    pcap_set_timeout(p, o.timeout_ms);
    pcap_set_buffer_size(p, o.buffer_bytes);
    if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) {
        // Older kernels without nanosecond stamps: microseconds still work.
    }
    const int rc = pcap_activate(p);
    if (rc < 0) return activate_error(p, rc, o.interface);
    if (o.ignore_outgoing) ignore_outgoing_copies(p);
    if (!o.link_type.empty()) {
        const int dlt = pcap_datalink_name_to_val(o.link_type.c_str());
        if (dlt < 0 || pcap_set_datalink(p, dlt) != 0)
            return make_error("interface " + o.interface + " does not offer link type '" + o.link_type +
                              "' (try LINUX_SLL2 or LINUX_SLL on `any`, EN10MB on lo)");
    }
    if (pcap_setnonblock(p, 1, err) != 0) return make_error("set non-blocking: " + std::string(err));
    Source source(std::move(h), o.interface, true);
    if (!o.immediate && o.wait_for_block_on_stop) source.block_timeout_ms_ = o.timeout_ms;
    return source;
}

Result<Source> Source::open_file(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE] = {};
    // pcap_open_offline reads both pcap and pcapng.
    PcapHandle h(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err));
    if (!h) return make_error("read " + path + ": " + err);
    return Source(std::move(h), path, false);
}

Result<Source> Source::open_stream(std::FILE* f, const std::string& name) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle h(pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err));
    if (!h) {
        std::fclose(f);
        return make_error("read " + name + ": " + err);
    }
    return Source(std::move(h), name, false);
}

Status Source::set_filter(const std::string& expression) {
    if (expression.empty()) return {};
    bpf_program program{};
    const bpf_u_int32 netmask = PCAP_NETMASK_UNKNOWN;
    if (pcap_compile(handle_.get(), &program, expression.c_str(), 1, netmask) != 0)
        return make_error("bad filter '" + expression + "': " + pcap_geterr(handle_.get()) +
                          " (the syntax is pcap-filter(7), as in tcpdump)");
    const int rc = pcap_setfilter(handle_.get(), &program);
    pcap_freecode(&program);
    if (rc != 0) return pcap_error(handle_.get(), "install filter '" + expression + "'");
    return {};
}

void Source::on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* self = reinterpret_cast<Source*>(user);
    if (self->sink_error_) return;
    RawFrame f;
    f.sec = h->ts.tv_sec;
    // With nanosecond precision libpcap stores nanoseconds in tv_usec.
    f.nsec = h->ts.tv_usec;
    f.wire_length = h->len;
    f.data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes), h->caplen);
    ++self->delivered_;
    Status s = self->sink_->on_frame(f);
    if (!s) {
        self->sink_error_ = std::move(s).take_error();
        pcap_breakloop(self->handle_.get());
        return;
    }
    if (self->max_count_ && self->delivered_ >= self->max_count_) pcap_breakloop(self->handle_.get());
}

Status Source::run(FrameSink& sink, std::uint64_t max_count, int stop_fd) {
    sink_ = &sink;
    max_count_ = max_count;
    sink_error_.reset();
    Status s = live_ ? run_live(sink, max_count, stop_fd) : run_file(sink, max_count, stop_fd);
    Status f = sink.flush();
    if (!s) return s;
    return f;
}

Status Source::run_file(FrameSink& sink, std::uint64_t max_count, int stop_fd) {
    for (;;) {
        const int n = pcap_dispatch(handle_.get(), 4096, &Source::on_packet, reinterpret_cast<u_char*>(this));
        if (sink_error_) return *sink_error_;
        if (n == PCAP_ERROR) {
            return make_error(name_ + ": packet " + std::to_string(delivered_ + 1) + ": " +
                              pcap_geterr(handle_.get()) + " (the " + std::to_string(delivered_) +
                              " packets before it were read)");
        }
        if (n == 0 || n == PCAP_ERROR_BREAK) return {};  // end of file, or count reached
        if (max_count && delivered_ >= max_count) return {};
        if (auto fs = sink.flush(); !fs) return fs;
        if (fd_readable(stop_fd)) return {};
    }
}

// Hands the sink everything the ring holds now; done when the count was
// reached or the loop was broken.
Status Source::drain(FrameSink& sink, std::uint64_t max_count, bool* done) {
    for (;;) {
        const int n = pcap_dispatch(handle_.get(), -1, &Source::on_packet, reinterpret_cast<u_char*>(this));
        if (sink_error_) return *sink_error_;
        if (n == PCAP_ERROR) return pcap_error(handle_.get(), "capture on " + name_);
        if (n == PCAP_ERROR_BREAK || (max_count && delivered_ >= max_count)) {
            *done = true;
            return sink.flush();
        }
        if (n <= 0) return sink.flush();
    }
}

namespace {

std::int64_t monotonic_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Status Source::run_live(FrameSink& sink, std::uint64_t max_count, int stop_fd) {
    const int pfd = pcap_get_selectable_fd(handle_.get());
    if (pfd < 0) return make_error("interface " + name_ + " has no selectable fd");
    // After a stop in block mode: until when to keep reading (0: not stopping).
    std::int64_t stop_at = 0;
    for (;;) {
        pollfd fds[2] = {{pfd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
        const bool watch_stop = stop_fd >= 0 && stop_at == 0;
        int wait_ms = 1000;
        if (stop_at) wait_ms = static_cast<int>(std::max<std::int64_t>(0, stop_at - monotonic_ms()));
        const int ready = ::poll(fds, watch_stop ? 2 : 1, wait_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return errno_error("poll " + name_);
        }
        // Drain what the ring holds (also on timeout: TPACKET_V3 blocks may
        // have been retired by the kernel's block timer).
        bool done = false;
        if (auto st = drain(sink, max_count, &done); !st || done) return st;
        if (stop_at && monotonic_ms() >= stop_at) return {};
        if (watch_stop && (fds[1].revents & POLLIN)) {
            if (block_timeout_ms_ == 0) return {};
            // The block being filled is not ours until the kernel's retire
            // timer (tp_retire_blk_tov, jiffies: a few ticks late at most)
            // hands it over; stopping now would lose what it holds.
            stop_at = monotonic_ms() + block_timeout_ms_ + 50;
        }
    }
}

Result<CaptureStats> Source::stats() const {
    pcap_stat st{};
    if (pcap_stats(handle_.get(), &st) != 0) return pcap_error(handle_.get(), "capture statistics");
    CaptureStats c;
    c.captured = delivered_;
    c.received_by_filter = st.ps_recv;
    c.dropped_by_kernel = st.ps_drop;
    c.dropped_by_interface = st.ps_ifdrop;
    return c;
}

}  // namespace tpk::capture
