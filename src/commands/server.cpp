// tracepacket server: the lab server on any transport. Options in, the
// server from src/lab/, one line per thing it did out.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>

#include "commands/command.h"
#include "lab/ready_file.h"
#include "lab/server.h"
#include "lab/signals.h"

namespace tpk::commands {
namespace {

struct ServerArgs {
    std::string transport = "tcp";
    std::string listen;
    std::string reply = "Hello from server!";
    bool echo = false;
    std::uint64_t count = 0;
    int backlog = 128;
    bool force = false;
    bool quiet = false;
    std::string ready_file;
};

void print_line(const std::string& line) {
    fmt::print("server: {}\n", line);
    std::fflush(stdout);  // a test or a pipe reading us sees each line as it happens
}

Result<lab::ServerOptions> to_options(const ServerArgs& a) {
    lab::ServerOptions o;
    auto t = lab::parse_transport(a.transport);
    if (!t) return t.error();
    o.transport = *t;
    if (a.listen.empty()) {
        o.address = lab::default_address(o.transport);
    } else {
        auto addr = lab::parse_address(o.transport, a.listen);
        if (!addr) return addr.error();
        o.address = *addr;
    }
    if (a.backlog < 1) return make_error("--backlog must be at least 1");
    o.echo = a.echo;
    o.reply = a.reply;
    if (!o.echo && o.reply.empty()) return make_error("--reply needs some text (or use --echo)");
    o.count = a.count;
    o.listen.backlog = a.backlog;
    o.listen.force = a.force;
    o.log_messages = !a.quiet;
    return o;
}

Result<int> run(const ServerArgs& args) {
    auto opts = to_options(args);
    if (!opts) return opts.error();
    // First, so it is destroyed last: signals stay blocked until the socket
    // and its file are gone.
    auto stop = lab::SignalStop::open();
    if (!stop) return stop.error();

    std::optional<Error> ready_error;
    lab::UnixPathOwner ready_file;
    lab::ServerEvents events;
    events.on_log = [&](const std::string& line) {
        if (!args.quiet || line.rfind("listening", 0) == 0) print_line(line);
    };
    events.on_listening = [&](const lab::Address& bound) {
        if (args.ready_file.empty()) return;
        auto owner = lab::write_ready_file(args.ready_file, bound.to_string());
        if (owner) ready_file = std::move(*owner);
        else ready_error = owner.error();
    };
    auto summary = lab::run_server(*opts, stop->fd(), events);
    if (!summary) return summary.error();
    if (ready_error) return wrap(*ready_error, "--ready-file");
    if (summary->stopped) print_line("stopped by " + lab::signal_name(stop->take()));
    print_line(lab::describe(*summary));
    return 0;
}

}  // namespace

void register_server(CLI::App& app, Runner* run_out) {
    auto args = std::make_shared<ServerArgs>();
    auto* cmd = app.add_subcommand(
        "server",
        "Run the lab server: answer each message with a fixed reply (or echo it back), on any "
        "transport, for many clients at once. Runs until --count messages are answered or "
        "Ctrl-C / SIGTERM, then closes its sockets and removes its socket file.");
    cmd->add_option("-t,--transport", args->transport,
                    "tcp (127.0.0.1), tcp6 (::1), udp, udp6, unix (stream), unix-dgram, "
                    "unix-seqpacket")
        ->capture_default_str();
    cmd->add_option("-l,--listen", args->listen,
                    "Address to bind: HOST:PORT, [V6]:PORT, PORT (loopback; 0 picks a free "
                    "one), /path or @abstract for unix transports. Default 127.0.0.1:8080, "
                    "[::1]:8080 or /tmp/tracepacket-<transport>.sock")
        ->type_name("ADDR");
    auto* reply = cmd->add_option("-r,--reply", args->reply, "Text sent back for every message")
                      ->capture_default_str();
    auto* echo = cmd->add_flag("-e,--echo", args->echo, "Send every message back unchanged");
    reply->excludes(echo);
    cmd->add_option("-n,--count", args->count,
                    "Stop after answering N messages (0: until Ctrl-C)")
        ->capture_default_str();
    cmd->add_option("--backlog", args->backlog,
                    "listen() backlog: connections the kernel queues before accept()")
        ->capture_default_str();
    cmd->add_flag("--force", args->force,
                  "Replace a left-over UNIX socket file at the address (never a regular file, "
                  "never a socket a running server owns)");
    cmd->add_flag("-q,--quiet", args->quiet, "Print only the listening line and the summary");
    cmd->add_option("--ready-file", args->ready_file,
                    "When listening, write the bound address (one line) to PATH; a FIFO gets "
                    "one write. For scripts and tests that must wait for the server")
        ->type_name("PATH");
    cmd->callback([args, run_out] { *run_out = [args] { return run(*args); }; });
}

}  // namespace tpk::commands
