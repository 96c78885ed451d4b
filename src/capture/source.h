// libpcap sources: a live interface (immediate mode, nanosecond stamps) or a
// pcap/pcapng file. A Source owns its pcap_t and delivers Frames to a sink
// until a count, the end of the file, an error or the stop fd (a signalfd).
#pragma once

#include <pcap/pcap.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::capture {

using PcapHandle = ScopedHandle<pcap_t, pcap_close>;

// One frame as libpcap delivered it: its stamp, its length on the wire and
// the bytes captured (borrowed from libpcap until the callback returns).
// The journey's decoded view of a frame is journey::Frame.
struct RawFrame {
    std::int64_t sec = 0;
    // libpcap's tv_usec at nanosecond precision: < 1e9 except in a damaged
    // file, whose out-of-range microseconds arrive x1000, sign-extended from 32 bits (the text prints them
    // as tcpdump does).
    std::int64_t nsec = 0;
    std::uint32_t wire_length = 0;
    std::span<const std::byte> data;  // caplen bytes
};

class FrameSink {
public:
    virtual ~FrameSink() = default;
    // An error stops the run and is returned by Source::run.
    virtual Status on_frame(const RawFrame& frame) = 0;
    // Called between batches, so a terminal sees packets without delay.
    virtual Status flush() { return {}; }
};

struct LiveOptions {
    std::string interface = "lo";
    int snaplen = 262144;           // tcpdump's default (MAXIMUM_SNAPLEN)
    bool immediate = true;          // deliver each packet as it arrives
    // Without immediate mode: the TPACKET_V3 block timeout. The kernel hands a
    // block over when it is full or when this expires with packets in it.
    int timeout_ms = 1000;          // tcpdump's
    int buffer_bytes = 4 << 20;     // kernel ring size; tcpdump's default is 2 MiB
    bool promiscuous = false;       // lo has no use for it
    std::string link_type;          // tcpdump -y: e.g. LINUX_SLL2 on `any`; empty: the default
    // Loopback only: the kernel skips this socket when it hands out the
    // PACKET_OUTGOING copy (PACKET_IGNORE_OUTGOING, Linux 4.20). On lo every
    // packet reaches a packet socket twice, sent (dev_queue_xmit_nit clones
    // and stamps it) and received; libpcap keeps only the received one and
    // drops the other in user space (linux_check_direction), after the kernel
    // copied it into the ring. With this the frames delivered are the same
    // and the sender's system call skips the clone, the filter, the copy and
    // the clone's free. On any other device it would lose every frame this
    // host sends. Kernels without the option: libpcap still drops them.
    bool ignore_outgoing = false;
    // Without immediate mode: when the stop fd fires, keep reading until the
    // kernel retires the block being filled (timeout_ms and a margin), so
    // what it holds is written too. Callers that wait themselves leave it off.
    bool wait_for_block_on_stop = false;
};

// Whether the named interface is a loopback device (IFF_LOOPBACK), where
// ignore_outgoing loses nothing; false for `any`, other devices, or a name
// the kernel does not know.
bool is_loopback_interface(const std::string& name);

// The three numbers tcpdump prints at exit (pcap_stats).
struct CaptureStats {
    std::uint64_t captured = 0;           // delivered to us
    std::uint64_t received_by_filter = 0; // ps_recv
    std::uint64_t dropped_by_kernel = 0;  // ps_drop
    std::uint64_t dropped_by_interface = 0;
};

class Source {
public:
    static Result<Source> open_live(const LiveOptions& options);
    static Result<Source> open_file(const std::string& path);
    // Reads a capture from an open stream (takes ownership of f even on
    // failure); name is used in messages. The fuzz target reads from memory.
    static Result<Source> open_stream(std::FILE* f, const std::string& name);

    // Compiles a pcap-filter expression ("tcp port 8080") and installs it.
    Status set_filter(const std::string& expression);

    // Delivers frames until max_count (0: no limit), end of file, a sink
    // error, a read error, or stop_fd becoming readable. A file that breaks
    // off mid-packet is an error naming the packet number (1-based).
    Status run(FrameSink& sink, std::uint64_t max_count, int stop_fd);

    int link_type() const { return pcap_datalink(handle_.get()); }
    int snaplen() const { return pcap_snapshot(handle_.get()); }
    bool is_live() const { return live_; }
    const std::string& name() const { return name_; }
    pcap_t* handle() const { return handle_.get(); }
    std::uint64_t delivered() const { return delivered_; }
    // Live only: pcap_stats plus our own count.
    Result<CaptureStats> stats() const;

private:
    Source(PcapHandle h, std::string name, bool live)
        : handle_(std::move(h)), name_(std::move(name)), live_(live) {}
    Status drain(FrameSink& sink, std::uint64_t max_count, bool* done);
    Status run_file(FrameSink& sink, std::uint64_t max_count, int stop_fd);
    Status run_live(FrameSink& sink, std::uint64_t max_count, int stop_fd);
    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes);

    PcapHandle handle_;
    std::string name_;
    bool live_ = false;
    // Live without immediate mode: a stop waits this long for the kernel to
    // retire the block being filled, so its packets are not lost.
    int block_timeout_ms_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t max_count_ = 0;
    FrameSink* sink_ = nullptr;
    std::optional<Error> sink_error_;
};

// True when fd has something to read now (a signalfd after Ctrl-C).
bool fd_readable(int fd);

}  // namespace tpk::capture
