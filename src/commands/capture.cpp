// tracepacket capture: tcpdump's flags for the wire view. Parses options,
// wires a signalfd for Ctrl-C, runs capture::run_session and prints the
// tcpdump-style counters at exit. The work lives in src/capture/.
#include <fmt/core.h>

#include <cstdio>
#include <string>
#include <vector>

#include "capture/session.h"
#include "commands/command.h"
#include "lab/signals.h"

namespace tpk::commands {
namespace {

struct CaptureFlags {
    capture::SessionOptions session;
    std::vector<std::string> filter_words;
    int name_lookups = 0;  // -n/-nn: accepted for tcpdump habits; we never resolve names
    bool buffered = false;
    bool immediate = false;
};

std::string join(const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words) {
        if (!s.empty()) s += ' ';
        s += w;
    }
    return s;
}

Result<int> run_capture(CaptureFlags flags) {
    capture::SessionOptions& o = flags.session;
    o.filter = join(flags.filter_words);
    if (flags.buffered && flags.immediate)
        return make_error("--buffered and --immediate-mode contradict each other: pick one");
    if (o.page_cache && o.write_path.empty())
        return make_error("--page-cache is how -w writes its file: give -w FILE too");
    // As tcpdump: printing wants each packet at once; -w wants throughput, so
    // the kernel hands packets over in blocks unless --immediate-mode.
    o.immediate = flags.immediate || (!flags.buffered && o.write_path.empty());
    if (o.snaplen <= 0) o.snaplen = 262144;  // tcpdump: -s 0 means the maximum
    auto stop = lab::SignalStop::open();
    if (!stop) return std::move(stop).take_error();
    o.on_open = [](const capture::Source& source) {
        std::fprintf(stderr, "%s\n", capture::describe_source(source).c_str());
    };
    auto summary = capture::run_session(o, stdout, stop->fd());
    std::fflush(stdout);
    // Consume the SIGINT/SIGTERM that stopped us: once SignalStop restores
    // the mask a pending one would kill the process (exit 130) instead of the
    // normal exit tcpdump makes after Ctrl-C.
    (void)stop->take();
    if (!summary) return std::move(summary).take_error();
    const std::string text = capture::format_summary(*summary);
    std::fputs(text.c_str(), stderr);
    return 0;
}

}  // namespace

void register_capture(CLI::App& app, Runner* run) {
    auto flags = std::make_shared<CaptureFlags>();
    auto* cmd = app.add_subcommand(
        "capture",
        "Capture packets like tcpdump (libpcap, nanosecond stamps) and print them in tcpdump -nn "
        "style (immediate mode), or write them with -w (kernel blocks, like tcpdump -w); -r reads "
        "pcap and pcapng files.");
    auto& s = flags->session;
    cmd->add_option("-i,--interface", s.interface, "interface to capture on (default lo; `any` for all)");
    cmd->add_option("-c,--count", s.count, "stop after this many packets");
    cmd->add_option("-s,--snaplen", s.snaplen, "bytes to keep of each packet (default 262144)");
    cmd->add_option("-w,--write", s.write_path, "write packets to FILE (pcapng if it ends in .pcapng, else pcap)");
    cmd->add_option("-r,--read", s.read_path, "read packets from a pcap or pcapng FILE (needs no privileges)");
    cmd->add_option("-B,--buffer-size", s.buffer_kib, "kernel capture buffer in KiB (default 32768 with -w, else 4096)")
        ->check(CLI::Range(1, 2 * 1024 * 1024 - 1));
    cmd->add_option("-y,--linktype", s.link_type, "link type to capture, e.g. LINUX_SLL2 with -i any");
    cmd->add_flag("-v", s.text.verbose, "more detail: TTL, ID, lengths, checksums (-vv: more)");
    cmd->add_flag("-x", s.text.hex, "hex dump of each packet after its link header (-xx: with it)");
    cmd->add_flag("-n", flags->name_lookups, "no name lookups (always the case; accepted as -n and -nn)");
    cmd->add_flag("-S,--absolute-tcp-sequence-numbers", s.text.absolute_seq, "print raw TCP seq/ack");
    cmd->add_flag("--nano", s.text.nano, "print nanosecond timestamps");
    cmd->add_flag("--buffered", flags->buffered,
                  "no immediate mode: the kernel hands packets over in blocks (less CPU, later delivery; "
                  "the default with -w)");
    cmd->add_flag("--immediate-mode", flags->immediate,
                  "deliver each packet as it arrives, also with -w (as tcpdump's --immediate-mode)");
    cmd->add_flag("--page-cache", s.page_cache,
                  "with -w: write through the page cache (memory absorbs a burst a slow disk "
                  "cannot take) instead of the default: 4 MiB blocks straight to the disk "
                  "(O_DIRECT, where the file system takes it), which costs far less CPU");
    cmd->add_option("filter", flags->filter_words, "pcap-filter expression, e.g. tcp port 8080")
        ->expected(0, -1);
    cmd->callback([flags, run] { *run = [flags] { return run_capture(*flags); }; });
}

}  // namespace tpk::commands
