// One `tracepacket capture` run: open a live interface or a file, filter,
// then either write the frames to a pcap/pcapng file or decode and print them
// tcpdump-style. The command file only parses options and prints the result.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "capture/source.h"
#include "decode/text.h"
#include "util/result.h"

namespace tpk::capture {

struct SessionOptions {
    std::string interface = "lo";
    std::string read_path;    // -r: read this file instead of capturing
    std::string write_path;   // -w: write frames here (.pcapng -> pcapng, else pcap)
    bool page_cache = false;  // --page-cache: -w through the page cache, not O_DIRECT
    std::uint64_t count = 0;  // -c: stop after this many packets (0: no limit)
    int snaplen = 262144;     // -s
    int buffer_kib = 0;       // -B, like tcpdump's (KiB); 0: 32 MiB with -w, else 4 MiB
    std::string link_type;    // -y
    bool immediate = true;
    std::string filter;       // pcap-filter expression
    decode::TextOptions text;
    // Called once the source is open and filtered, before the first packet
    // (the command prints tcpdump's "listening on ..." line from it).
    std::function<void(const Source&)> on_open;
};

// "listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes"
// or "reading from file F, link-type ...", as tcpdump says it.
std::string describe_source(const Source& source);

struct SessionSummary {
    bool live = false;
    std::uint64_t packets = 0;           // delivered to us (after the filter)
    std::optional<CaptureStats> stats;   // live captures only
    std::uint64_t malformed = 0;         // frames with a Malformed marker
};

// Runs to completion (count, end of file, stop_fd readable). out receives the
// text (nullptr: decode but print nothing). On an error the summary so far is
// lost, but everything decoded before it has been written to out.
Result<SessionSummary> run_session(const SessionOptions& options, std::FILE* out, int stop_fd,
                                   SessionSummary* partial = nullptr);

// "5 packets captured\n5 packets received by filter\n0 packets dropped by kernel\n"
std::string format_summary(const SessionSummary& s);

// pcapng when the name ends in .pcapng (or .ntar), else classic pcap.
bool wants_pcapng(const std::string& path);

}  // namespace tpk::capture
