// tracepacket client: the lab client on any transport. Options in, the
// client from src/lab/, one line per thing it did out.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <string>

#include "commands/command.h"
#include "lab/client.h"
#include "lab/payload.h"

namespace tpk::commands {
namespace {

struct ClientArgs {
    std::string transport = "tcp";
    std::string connect;
    std::string message = "Hello from client!";
    std::string size;
    std::uint64_t count = 1;
    bool verify = false;
    double timeout_s = 10;
    bool quiet = false;
};

void print_line(const std::string& line) {
    fmt::print("client: {}\n", line);
    std::fflush(stdout);
}

Result<lab::ClientOptions> to_options(const ClientArgs& a) {
    lab::ClientOptions o;
    auto t = lab::parse_transport(a.transport);
    if (!t) return t.error();
    o.transport = *t;
    if (a.connect.empty()) {
        o.address = lab::default_address(o.transport);
    } else {
        auto addr = lab::parse_address(o.transport, a.connect);
        if (!addr) return addr.error();
        o.address = *addr;
    }
    o.message = a.message;
    if (!a.size.empty()) {
        auto size = lab::parse_size(a.size);
        if (!size) return size.error();
        if (*size == 0) return make_error("--size must be at least 1 byte");
        o.size = *size;
        o.verify = true;  // generated payloads are only useful against --echo
    }
    if (a.count < 1) return make_error("--count must be at least 1");
    o.count = a.count;
    o.verify = o.verify || a.verify;
    if (!(a.timeout_s > 0) || a.timeout_s > 3600)
        return make_error("--timeout must be between 0 and 3600 seconds");
    o.timeout_ms = static_cast<int>(std::ceil(a.timeout_s * 1000));
    o.salt = static_cast<std::uint64_t>(::getpid());
    // A line per message only while that stays readable.
    o.log_messages = !a.quiet && o.count <= 10;
    return o;
}

Result<int> run(const ClientArgs& args) {
    auto opts = to_options(args);
    if (!opts) return opts.error();
    lab::ClientEvents events;
    events.on_log = print_line;
    auto summary = lab::run_client(*opts, events);
    if (!summary) return summary.error();
    return 0;
}

}  // namespace

void register_client(CLI::App& app, Runner* run_out) {
    auto args = std::make_shared<ClientArgs>();
    auto* cmd = app.add_subcommand(
        "client",
        "Run the lab client: connect to a lab server, send messages one at a time and wait "
        "for each reply. With --size (or --verify) every reply must be the exact echo of what "
        "was sent (run the server with --echo); a difference is an error.");
    cmd->add_option("-t,--transport", args->transport,
                    "tcp (127.0.0.1), tcp6 (::1), udp, udp6, unix (stream), unix-dgram, "
                    "unix-seqpacket")
        ->capture_default_str();
    cmd->add_option("-c,--connect", args->connect,
                    "Server address: HOST:PORT, [V6]:PORT, PORT (loopback), /path or @abstract. "
                    "Default 127.0.0.1:8080, [::1]:8080 or /tmp/tracepacket-<transport>.sock")
        ->type_name("ADDR");
    auto* message = cmd->add_option("-m,--message", args->message, "Text to send")
                        ->capture_default_str();
    auto* size = cmd->add_option("-s,--size", args->size,
                                 "Send generated N-byte messages instead (64, 1K, 1M) and "
                                 "verify their echo. UDP carries at most 65507 bytes, udp6 "
                                 "65527")
                     ->type_name("N");
    message->excludes(size);
    cmd->add_option("-n,--count", args->count, "Messages to send")->capture_default_str();
    cmd->add_flag("--verify", args->verify,
                  "Require every reply to equal the message (a server with --echo)");
    cmd->add_option("--timeout", args->timeout_s,
                    "Seconds to wait for the server to read or answer before giving up")
        ->capture_default_str();
    cmd->add_flag("-q,--quiet", args->quiet, "Print only the summary");
    cmd->callback([args, run_out] { *run_out = [args] { return run(*args); }; });
}

}  // namespace tpk::commands
