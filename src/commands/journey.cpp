// tracepacket journey: run the lab server and client as two processes, trace
// them in the kernel, capture on lo, and show every packet's path through
// every layer. Options in, journey_session records, the correlator joins,
// journey_output prints.
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/runner.h"
#include "commands/chunk_printer.h"
#include "commands/command.h"
#include "commands/journey_session.h"
#include "journey/correlator.h"
#include "lab/payload.h"
#include "report/json_lines.h"
#include "report/outputs.h"
#include "report/text.h"
#include "report/two_hosts.h"
#include "util/keep_until_exit.h"

namespace tpk::commands {

using report::render_compare_text;
using report::render_journey_text;
using report::terminal_style;
using report::TextStyle;
using report::write_journey_json;
namespace {

struct JourneyCliOptions {
    std::string transport = "tcp";
    std::string message = "Hello from client!";
    std::string reply = "Hello from server!";
    std::size_t size = 0;
    std::uint64_t count = 1;
    bool count_given = false;   // --count on the command line (--compare's default differs)
    bool json = false;
    bool brief = false;       // no explanation lines in the text
    bool no_stream = false;   // the whole journey at the end
    std::string compare;
    std::string record_raw;   // hidden: save the recording as a fixture
    std::string replay;       // hidden: correlate a saved recording instead of running
    std::size_t ring_buffer = 0;  // hidden: ring buffer bytes (tests make it lose events)
    std::size_t finish_slice = 0; // hidden: LabJourneyOptions::finish_slice_events (tests)
    bool two_hosts = false;       // across two network namespaces joined by veth
    bool compare_loopback = false;  // --two-hosts: and the same messages on loopback
    TwoHostsOptions lab_watch;    // hidden: commands run in the lab's namespaces (tests)
    report::OutputOptions outputs;  // --pcapng, --perfetto, --html, --mermaid
};

LabJourneyOptions lab_options(const JourneyCliOptions& o, lab::Transport t) {
    LabJourneyOptions lo;
    lo.transport = t;
    lo.message = o.message;
    lo.reply = o.reply;
    lo.size = o.size;
    lo.count = o.count;
    lo.ring_buffer_bytes = o.ring_buffer;
    if (o.finish_slice) lo.finish_slice_events = o.finish_slice;
    return lo;
}

Result<journey::Journey> one_journey(const JourneyCliOptions& o, lab::Transport t) {
    auto rec = record_lab_journey(lab_options(o, t));
    if (!rec) return rec.error();
    if (!o.record_raw.empty())
        if (auto ok = write_recording(*rec, o.record_raw); !ok) return ok.error();
    return finish_recording(std::move(*rec));
}

Result<std::vector<lab::Transport>> parse_compare(const std::string& list) {
    std::vector<lab::Transport> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        auto t = lab::parse_transport(item);
        if (!t) return wrap(t.error(), "--compare");
        out.push_back(*t);
    }
    if (out.size() < 2)
        return make_error("--compare needs two or more transports, e.g. --compare tcp,unix");
    return out;
}

// Messages per transport for --compare when --count is not given.
constexpr std::uint64_t kCompareCount = 200;

// The transport's own one-way time, untraced: bench's ping-pong with the
// journey's message size (round trip / 2, median); 0 when it cannot run.
std::uint64_t untraced_one_way_ns(lab::Transport t, const JourneyCliOptions& o) {
    auto bt = bench::parse_transport(lab::transport_name(t));
    if (!bt) return 0;
    bench::LatencyOptions lo;
    lo.size = o.size ? o.size : o.message.size();
    lo.round_trips = 2000;
    lo.warmup = 200;
    lo.max_time = std::chrono::milliseconds(500);
    auto r = bench::run_latency(*bt, lo);
    if (!r || !r->skipped.empty()) return 0;
    return r->summary.p50_ns / 2;
}

// Streamed unless something needs the whole run at once: the report files,
// --mermaid, the raw recording.
bool wants_whole(const JourneyCliOptions& o) {
    return o.no_stream || !o.record_raw.empty() || o.outputs.need_whole_journey();
}

// text = false: --mermaid replaces the text, so the diagram can be piped alone.
void print(const journey::Journey& j, bool json, bool brief, bool text = true) {
    if (json) {
        write_journey_json(j, std::cout);
        std::cout.flush();
    } else if (text) {
        TextStyle style = terminal_style();
        style.explain = !brief;
        fmt::print("{}", render_journey_text(j, style));
        std::fflush(stdout);
    }
}

// --two-hosts: the journey across the veth pair, what changed against
// loopback, and with --compare-loopback the same messages on lo beside it.
Result<int> run_two_hosts(const JourneyCliOptions& o) {
    auto t = lab::parse_transport(o.transport);
    if (!t) return wrap(t.error(), "--transport");
    auto rec = record_two_hosts_journey(lab_options(o, *t), o.lab_watch);
    if (!rec) return rec.error();
    if (!o.record_raw.empty())
        if (auto ok = write_recording(rec->recording, o.record_raw); !ok) return ok.error();
    auto j = finish_recording(std::move(rec->recording));
    std::optional<journey::Journey> lo;
    if (o.compare_loopback) {
        auto l = one_journey(o, *t);
        if (!l) return wrap(l.error(), "the loopback journey");
        lo = std::move(*l);
    }
    auto view = journey::two_hosts_view(j, rec->facts, lo ? &*lo : nullptr);
    if (o.json) {
        write_journey_json(j, std::cout);
        report::write_two_hosts_json(view, std::cout);
        if (lo) write_journey_json(*lo, std::cout);
        std::cout.flush();
    } else if (!o.outputs.mermaid) {
        print(j, false, o.brief);
        TextStyle style = terminal_style();
        style.explain = !o.brief;
        fmt::print("\n{}", report::render_two_hosts_text(view, style));
        if (lo) {
            // Labelled by path, not transport: both are the same transport.
            journey::Journey a = *lo, b = j;
            a.transport += " lo";
            b.transport += " veth";
            fmt::print("\n{}", render_compare_text({a, b}, style));
        }
        std::fflush(stdout);
    }
    // --html is the two-hosts page (both diagrams side by side and what
    // changed); the other files are written as for any journeys.
    std::vector<journey::Journey> all{j};
    if (lo) all.push_back(*lo);
    report::OutputOptions others = o.outputs;
    others.html.clear();
    Status html;
    if (!o.outputs.html.empty())
        html = report::write_two_hosts_html(j, view, lo ? &*lo : nullptr, o.outputs.html);
    if (auto st = report::write_outputs(all, others); !st) return st.error();
    if (!html) return html.error();
    return 0;
}

Result<int> run_journey(const JourneyCliOptions& o) {
    if (o.count == 0) return make_error("--count must be at least 1");
    if (o.compare_loopback && !o.two_hosts) return make_error("--compare-loopback needs --two-hosts");
    if ((!o.lab_watch.watch_client.empty() || !o.lab_watch.watch_server.empty()) && !o.two_hosts)
        return make_error("--lab-watch-client/--lab-watch-server need --two-hosts");
    if (o.two_hosts && !o.compare.empty())
        return make_error("--two-hosts and --compare do not go together (--compare-loopback puts "
                          "the loopback journey beside the two-hosts one)");
    if (o.two_hosts && !o.replay.empty())
        return make_error("--two-hosts and --replay do not go together (a replay is one journey)");
    if (o.two_hosts) return run_two_hosts(o);
    if (!o.replay.empty()) {
        auto rec = read_recording(o.replay);
        if (!rec) return rec.error();
        auto j = finish_recording(std::move(*rec));
        print(j, o.json, o.brief, !o.outputs.mermaid);
        if (auto st = report::write_outputs(j, o.outputs); !st) return st.error();
        return 0;
    }
    if (!o.compare.empty()) {
        auto transports = parse_compare(o.compare);
        if (!transports) return transports.error();
        // One message is a cold start (page faults, first wake-ups), not the
        // transport: a comparison gets enough for a median without warm-up.
        JourneyCliOptions co = o;
        if (!o.count_given) co.count = kCompareCount;
        std::vector<journey::Journey> all;
        std::vector<std::uint64_t> untraced;
        for (auto t : *transports) {
            auto j = one_journey(co, t);
            if (!j) return wrap(j.error(), std::string(lab::transport_name(t)));
            if (o.json) write_journey_json(*j, std::cout);
            all.push_back(std::move(*j));
            untraced.push_back(untraced_one_way_ns(t, co));
        }
        if (!o.json && !o.outputs.mermaid)
            fmt::print("{}", render_compare_text(all, terminal_style(), untraced));
        if (auto st = report::write_outputs(all, o.outputs); !st) return st.error();
        return 0;
    }
    auto t = lab::parse_transport(o.transport);
    if (!t) return wrap(t.error(), "--transport");
    if (wants_whole(o)) {
        auto j = one_journey(o, *t);
        if (!j) return j.error();
        print(*j, o.json, o.brief, !o.outputs.mermaid);
        if (auto st = report::write_outputs(*j, o.outputs); !st) return st.error();
        return 0;
    }
    // Streamed, as trace is: a long --count run is printed in parts while
    // it runs, in bounded memory; a short one (no part cut) is one journey.
    TextStyle style = terminal_style();
    style.explain = !o.brief;
    ChunkPrinter printer(o.json, style, std::cout);
    auto lo = lab_options(o, *t);
    lo.on_chunk = [&](journey::Journey& chunk) { printer.print(chunk); };
    auto rec = record_lab_journey(lo);
    if (!rec) return rec.error();
    if (rec->stream) {
        printer.finish(*rec);
        util::keep_until_exit(std::move(*rec));
    } else {
        auto j = finish_recording(std::move(*rec));
        print(j, o.json, o.brief);
        util::keep_until_exit(std::move(j));
    }
    if (!std::cout) return errno_error("write the journey");
    return 0;
}

}  // namespace

void register_journey(CLI::App& app, Runner* run) {
    auto opts = std::make_shared<JourneyCliOptions>();
    auto* cmd = app.add_subcommand(
        "journey",
        "Run a client and a server on localhost and follow every packet through every layer "
        "(needs root or CAP_BPF+CAP_PERFMON; without them, shows what still works)");
    cmd->add_option("--transport,-t", opts->transport,
                    "tcp, tcp6, udp, udp6, unix or unix-dgram")
        ->capture_default_str();
    cmd->add_option("--message,-m", opts->message, "what the client sends")->capture_default_str();
    cmd->add_option("--reply,-r", opts->reply, "what the server answers")->capture_default_str();
    cmd->add_option("--size,-s", opts->size,
                    "send generated payloads of N bytes instead of --message (echoed back): "
                    "64, 1K, 1M, as the client takes them")
        ->type_name("N")
        // The lab client's sizes (lab::parse_size), as bytes.
        ->transform([](const std::string& text) {
            auto size = lab::parse_size(text);
            if (!size) throw CLI::ValidationError(size.error().message());
            if (*size == 0) throw CLI::ValidationError("must be at least 1 byte");
            return std::to_string(*size);
        });
    auto* count = cmd->add_option("--count,-c", opts->count,
                                  "messages to send, each answered (--compare: 200 unless given)")
                      ->capture_default_str();
    cmd->add_flag("--json", opts->json, "JSON Lines (docs/json-schema.md) instead of text");
    cmd->add_flag("--brief", opts->brief,
                  "text without the explanation under each packet and hop");
    cmd->add_flag("--no-stream", opts->no_stream,
                  "print the whole journey once the lab ends (by default a long --count run is "
                  "printed in parts while it runs, every second; --pcapng, --perfetto, --html and "
                  "--mermaid imply this)");
    cmd->add_option("--compare", opts->compare,
                    "run several transports and compare them, e.g. tcp,unix: 200 messages each "
                    "unless --count is given, one-way median and spread without the first tenth "
                    "(warm-up), beside the same transports' untraced ping-pong");
    cmd->add_flag("--two-hosts", opts->two_hosts,
                  "run the server and the client in two network namespaces of their own joined by "
                  "a veth pair (198.18.0.1 and 198.18.0.2, no route out; root), and show what "
                  "changes off loopback: ARP, the main table, veth, MTU 1500");
    cmd->add_flag("--compare-loopback", opts->compare_loopback,
                  "with --two-hosts: run the same messages on loopback too, and show the time per "
                  "layer side by side");
    report::add_output_options(*cmd, opts->outputs);
    cmd->add_option("--lab-watch-client", opts->lab_watch.watch_client,
                    "with --two-hosts: a shell command run in the client's namespace meanwhile "
                    "(tests: tcpdump on its veth end)")
        ->group("");
    cmd->add_option("--lab-watch-server", opts->lab_watch.watch_server,
                    "the same in the server's namespace")
        ->group("");
    cmd->add_option("--record-raw", opts->record_raw, "save the recorded events (fixtures)")
        ->group("");
    cmd->add_option("--replay", opts->replay, "correlate a saved recording")->group("");
    cmd->add_option("--ring-buffer", opts->ring_buffer, "ring buffer bytes")->group("");
    cmd->add_option("--finish-slice", opts->finish_slice,
                    "events per slice correlated once the lab has ended")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
        ->group("");
    cmd->callback([opts, run, count] {
        opts->count_given = count->count() > 0;
        *run = [opts] { return run_journey(*opts); };
    });
}

// What `tracepacket` with no command runs: the default journey.
Runner journey_default_runner() {
    return [] { return run_journey(JourneyCliOptions{}); };
}

}  // namespace tpk::commands
