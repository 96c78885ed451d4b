// tracepacket record-events (hidden): traces a command or pids and writes the
// kernel's events as JSON Lines, the --record-raw of STYLE.md. Fixtures for
// the correlator's tests are recorded with it (tests/fixtures/events/README.md).
#include <fmt/core.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands/command.h"
#include "kernel/session.h"
#include "kernel/tracer.h"
#include "model/event_io.h"

namespace tpk::commands {
namespace {

struct RecordOptions {
    std::string output = "-";
    std::string pids;
    std::vector<std::string> ports;   // "tcp:8080", "udp:9000"
    std::vector<std::string> command;
    // As trace: a busy ping-pong filled 8 MiB in ~1500 round trips.
    std::size_t ring_buffer_bytes = 64u << 20;
    bool no_syscalls = false;
    std::string ready_file;
    int verbose = 0;   // -v: libbpf warnings and notes, -vv: its debug log too
};

Result<kernel::TracedPort> parse_port(const std::string& text) {
    auto colon = text.find(':');
    std::string proto = colon == std::string::npos ? "tcp" : text.substr(0, colon);
    std::string number = colon == std::string::npos ? text : text.substr(colon + 1);
    kernel::TracedPort port;
    if (proto == "tcp") port.protocol = IPPROTO_TCP;
    else if (proto == "udp") port.protocol = IPPROTO_UDP;
    else return make_error("--port " + text + ": protocol must be tcp or udp");
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), port.port);
    if (ec != std::errc{} || p != number.data() + number.size() || port.port == 0)
        return make_error("--port " + text + ": expected [tcp:|udp:]PORT with PORT in 1..65535");
    return port;
}

Result<int> run_record(const RecordOptions& o) {
    if (o.verbose > 0)
        kernel::set_logger([max_level = std::min(o.verbose, 2)](int level, std::string_view line) {
            if (level <= max_level)
                fmt::print(stderr, "tracepacket: {}\n", line);
        });
    kernel::TracerOptions topts;
    topts.ring_buffer_bytes = o.ring_buffer_bytes;
    topts.syscalls = !o.no_syscalls;
    for (const auto& text : o.ports) {
        auto port = parse_port(text);
        if (!port) return port.error();
        topts.ports.push_back(*port);
    }
    kernel::SessionOptions sopts;
    sopts.command = o.command;
    sopts.ready_file = o.ready_file;
    if (!o.pids.empty()) {
        auto pids = kernel::parse_pid_list(o.pids);
        if (!pids) return wrap(pids.error(), "-p");
        sopts.pids = std::move(*pids);
    }
    if (sopts.command.empty() && sopts.pids.empty())
        return make_error("record-events: nothing to trace; give -p PID[,PID] or -- COMMAND [ARGS]");

    // "e": O_CLOEXEC, so the traced command does not inherit the recording.
    std::unique_ptr<FILE, int (*)(FILE*)> file(nullptr, std::fclose);
    FILE* out = stdout;
    if (o.output != "-") {
        file.reset(std::fopen(o.output.c_str(), "we"));
        if (!file) return errno_error("open " + o.output);
        out = file.get();
    }
    auto write_event = [out](const model::Event& e) {
        std::string line = model::event_to_json_line(e);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), out);
    };

    auto tracer = kernel::Tracer::start(topts);
    if (!tracer) return tracer.error();
    auto sink = [&](model::Event&& e) { write_event(e); };
    auto result = kernel::run_session(*tracer, sopts, sink);
    tracer->stop();
    if (!result) return result.error();
    if (result->lost_events) {
        model::Event lost;
        lost.kind = model::EventKind::lost_events;
        lost.size = result->lost_events;
        write_event(lost);
        fmt::print(stderr, "tracepacket: {} events lost (ring buffer full); raise --ring-buffer\n",
                   result->lost_events);
    }
    if (std::fflush(out) != 0 || std::ferror(out)) return errno_error("write " + o.output);
    return result->exit_code;
}

}  // namespace

void register_record_events(CLI::App& app, Runner* run) {
    auto opts = std::make_shared<RecordOptions>();
    auto* cmd = app.add_subcommand(
        "record-events",
        "Trace a command or pids and write the kernel's events as JSON Lines (fixtures)");
    cmd->group("");   // hidden: a developer's tool, the --record-raw of STYLE.md
    cmd->add_option("-o,--output", opts->output, "File to write, - for stdout")
        ->capture_default_str();
    cmd->add_option("-p,--pid", opts->pids, "Trace these running processes (PID[,PID...])");
    cmd->add_option("--port", opts->ports,
                    "Trace this port from the start ([tcp:|udp:]PORT), e.g. the server's");
    cmd->add_option("--ring-buffer", opts->ring_buffer_bytes,
                    "Ring buffer bytes (power of two; tiny ones lose events)")
        ->capture_default_str();
    cmd->add_flag("--no-syscalls", opts->no_syscalls, "Do not record system calls");
    cmd->add_option("--ready-file", opts->ready_file,
                    "Create this file once tracing runs (tests wait for it)");
    cmd->add_flag("-v,--verbose", opts->verbose, "Show libbpf's messages (-vv: its debug log)");
    cmd->add_option("command", opts->command, "Command to run and trace (after --)");
    cmd->callback([opts, run] { *run = [opts] { return run_record(*opts); }; });
}

}  // namespace tpk::commands
