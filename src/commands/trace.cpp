// tracepacket trace: the journey of any program's sockets. Follows running
// pids (-p) or runs a command (-- COMMAND ARGS), captures on lo meanwhile, and
// prints the same journey as `tracepacket journey`. Loopback traffic between
// two traced programs is shown end to end.
#include <fmt/core.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <linux/types.h>

#include "commands/chunk_printer.h"
#include "commands/command.h"
#include "commands/journey_session.h"
#include "events.h"
#include "journey/correlator.h"
#include "kernel/session.h"
#include "report/json_lines.h"
#include "report/outputs.h"
#include "report/text.h"
#include "util/keep_until_exit.h"

namespace tpk::commands {

using report::render_compare_text;
using report::terminal_style;
using report::TextStyle;
using report::write_journey_json;
namespace {

struct TraceCliOptions {
    std::string pids;
    std::vector<std::string> command;
    bool json = false;
    bool brief = false;   // no explanation lines in the text
    bool no_capture = false;
    int snaplen = -1;         // -1: the default (kJourneySnaplen, or whole frames for --pcapng)
    std::string output;       // -o FILE: tracepacket's own output (text or JSON)
    std::uint64_t linger_ms = 500;
    std::uint64_t max_held = 0;   // 0: kMaxHeldStreamed or kMaxHeldWhole
    bool no_stream = false;   // the whole journey at the end
    std::string ready_file;   // hidden: written once tracing runs (tests)
    std::string record_raw;   // hidden: save the recording
    std::string bench_floor;  // hidden: make bench's cost breakdown (attach, decide)
    std::size_t finish_slice = 0;   // hidden: TraceTarget::finish_slice_events (tests)
    report::OutputOptions outputs;  // --pcapng, --perfetto, --html, --mermaid
};

// --max-held's defaults: ~3 GB of records waiting either way (streamed, they
// are correlated a slice at a time; whole, every event at once).
constexpr std::uint64_t kMaxHeldStreamed = 8'000'000;
constexpr std::uint64_t kMaxHeldWhole = 4'000'000;

// The bytes of each frame the journey's capture keeps by default: the
// headers (Ethernet 14, IPv6 40, TCP with options 60) and the start of the
// payload. The journey reads no more of a frame; whole frames of a bulk
// transfer on lo (64 KiB each) made the kernel copy every byte into the
// capture's ring, and most frames were dropped (docs/performance.md).
constexpr int kJourneySnaplen = 256;
// Less would cut headers the frames are matched by: 114 bytes with IPv6 and
// a TCP header full of options.
constexpr int kMinSnaplen = 128;

// Streamed unless something needs the whole run at once: the report files,
// --mermaid, the raw recording.
bool wants_whole(const TraceCliOptions& o) {
    return o.no_stream || !o.record_raw.empty() || o.outputs.need_whole_journey();
}

Result<int> run_trace(const TraceCliOptions& o) {
    TraceTarget target;
    if (o.pids.empty() && o.command.empty())
        return make_error("nothing to trace: give -p PID[,PID] or -- COMMAND [ARGS]");
    // Both at once: follow a running server while the command talks to it.
    if (!o.pids.empty()) {
        auto pids = kernel::parse_pid_list(o.pids);
        if (!pids) return pids.error();
        target.pids = std::move(*pids);
    }
    target.command = o.command;
    target.ready_file = o.ready_file;
    target.capture = !o.no_capture;
    if (o.snaplen > 0 && o.snaplen < kMinSnaplen)
        return make_error(fmt::format(
            "--snaplen {}: too short for the headers the journey matches frames by (up to 114 "
            "bytes); give at least {}, or 0 for whole frames",
            o.snaplen, kMinSnaplen));
    target.snaplen = o.snaplen >= 0 ? o.snaplen : o.outputs.pcapng.empty() ? kJourneySnaplen : 0;
    if (o.bench_floor == "attach") target.bench_floor = TPK_FLOOR_ATTACH;
    else if (o.bench_floor == "clock") target.bench_floor = TPK_FLOOR_CLOCK;
    else if (o.bench_floor == "decide") target.bench_floor = TPK_FLOOR_DECIDE;
    else if (!o.bench_floor.empty())
        return make_error("--bench-floor '" + o.bench_floor +
                          "': expected attach, clock or decide");
    target.linger_ms = o.linger_ms;
    const bool whole = wants_whole(o);
    target.max_held_records = o.max_held ? o.max_held : whole ? kMaxHeldWhole : kMaxHeldStreamed;
    if (o.finish_slice) target.finish_slice_events = o.finish_slice;
    // Where tracepacket's own output goes. Opened before tracing starts, so
    // a path that cannot be written fails at once, not after the run.
    std::ofstream file;
    if (!o.output.empty()) {
        file.open(o.output, std::ios::out | std::ios::trunc);
        if (!file) return errno_error("-o " + o.output + ": cannot write it");
    } else if (!o.command.empty()) {
        // Without -o, tracepacket's output owns stdout (`trace --json -- curl
        // URL | jq` gets JSON Lines only); the command's stdout goes to
        // stderr, so the terminal still shows it. strace does the reverse
        // (its trace on stderr), which would put the journey out of a pipe's
        // reach.
        target.command_stdout = STDERR_FILENO;
    }
    std::ostream& out = o.output.empty() ? std::cout : file;
    TextStyle style = o.output.empty() ? terminal_style() : TextStyle{};
    style.explain = !o.brief;

    ChunkPrinter printer(o.json, style, out);
    if (!whole) target.on_chunk = [&](journey::Journey& chunk) { printer.print(chunk); };

    auto rec = record_trace(target);
    if (!rec) return rec.error();
    if (!o.record_raw.empty())
        if (auto ok = write_recording(*rec, o.record_raw); !ok) return ok.error();
    int code = rec->exit_code;
    if (rec->stream) {
        auto totals = printer.finish(*rec);
        if (!out)
            return errno_error("write the journey" + (o.output.empty() ? "" : " to " + o.output));
        if (auto st = report::write_outputs(totals, o.outputs); !st) return st.error();
        util::keep_until_exit(std::move(*rec));
        return code;
    }
    auto j = finish_recording(std::move(*rec));
    if (o.json) {
        write_journey_json(j, out);
    } else if (!o.outputs.mermaid) {  // --mermaid replaces the text, as in journey
        report::write_journey_text(j, style, out);
    }
    out.flush();
    if (!out) return errno_error("write the journey" + (o.output.empty() ? "" : " to " + o.output));
    if (auto st = report::write_outputs(j, o.outputs); !st) return st.error();
    util::keep_until_exit(std::move(j));
    util::keep_until_exit(std::move(*rec));
    return code;
}

}  // namespace

void register_trace(CLI::App& app, Runner* run) {
    auto opts = std::make_shared<TraceCliOptions>();
    auto* cmd = app.add_subcommand(
        "trace",
        "Follow the sockets of running programs (-p) or of a command (-- COMMAND ARGS) through "
        "the kernel and print their packets' journeys (needs root or CAP_BPF+CAP_PERFMON)");
    cmd->add_option("-p,--pid", opts->pids, "pids to follow, comma separated (until they exit "
                                            "or Ctrl-C; SIGINT/SIGTERM to tracepacket alone "
                                            "stops tracing and leaves the command running)");
    cmd->add_flag("--json", opts->json, "JSON Lines (docs/json-schema.md) instead of text");
    cmd->add_option("-o,--output", opts->output,
                    "write the journey to FILE (the command's stdout stays where it was); "
                    "without it the journey owns stdout and the command's stdout goes to stderr");
    cmd->add_option("--linger", opts->linger_ms,
                    "after the command (or the last -p pid) ends, keep tracing until its sockets' "
                    "traffic settles (no event for 100 ms), at most MS milliseconds; the output "
                    "says when this cut anything short")
        ->check(CLI::Range(0, 60000))
        ->default_val(500);
    cmd->add_option("--max-held", opts->max_held,
                    "at most N kernel records wait to be correlated at once (when the traffic "
                    "leaves no CPU to correlate them as they come, or with --no-stream); beyond, "
                    "records are dropped and the output says how many. Memory: ~370 bytes per "
                    "record waiting, plus ~1 GB while they are correlated in slices; with "
                    "--no-stream ~2 KB per record, all correlated at once")
        ->check(CLI::Range(std::uint64_t{1000}, std::uint64_t{1'000'000'000}))
        ->default_str(fmt::format("{} streamed, {} with --no-stream", kMaxHeldStreamed,
                                  kMaxHeldWhole));
    cmd->add_flag("--no-stream", opts->no_stream,
                  "print the whole journey once tracing ends (by default each part is printed "
                  "as soon as its traffic has been quiet for 300 ms, or every second while it "
                  "is not; --pcapng, --perfetto, --html and --mermaid imply this)");
    cmd->add_flag("--brief", opts->brief,
                  "text without the explanation under each packet and hop");
    report::add_output_options(*cmd, opts->outputs);
    cmd->add_flag("--no-capture", opts->no_capture,
                  "do not capture on lo meanwhile (less overhead; packets get no wire view)");
    cmd->add_option("-s,--snaplen", opts->snaplen,
                    "bytes the capture keeps of each frame (at least 128): the journey needs "
                    "the headers only; 0 keeps whole frames, as tcpdump -s 0 (the default with "
                    "--pcapng)")
        ->check(CLI::Range(0, 262144))
        ->default_str(fmt::format("{}, or 0 with --pcapng", kJourneySnaplen));
    cmd->add_option("--ready-file", opts->ready_file, "written once tracing runs")->group("");
    cmd->add_option("--record-raw", opts->record_raw, "save the recorded events")->group("");
    cmd->add_option("--bench-floor", opts->bench_floor,
                    "make bench: programs attached doing nothing (attach), reading the clock "
                    "once (clock), or deciding but recording nothing (decide)")
        ->group("");
    cmd->add_option("--finish-slice", opts->finish_slice,
                    "events per slice correlated once tracing has ended")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
        ->group("");
    cmd->add_option("command", opts->command, "the command to run and trace (after --)");
    cmd->callback([opts, run] { *run = [opts] { return run_trace(*opts); }; });
}

}  // namespace tpk::commands
