// tracepacket exchange: the classic experiment the journey grew from. A server
// and a client, each in its own process; the client sends "Hello from
// client!", the server answers "Hello from server!", both say what they did.
// (It was the default job until the journey existed.)
#include <fmt/core.h>

#include <memory>
#include <string>

#include "commands/command.h"
#include "lab/client.h"
#include "lab/pair.h"
#include "lab/server.h"
#include "lab/signals.h"

namespace tpk::commands {
namespace {

struct ExchangeArgs {
    std::string transport = "tcp";
    std::string listen;
};

auto printer(const char* who) {
    return [who](const std::string& line) {
        fmt::print("{}: {}\n", who, line);
        std::fflush(stdout);
    };
}

lab::ServerMain serve_once(lab::Transport t, lab::Address addr) {
    return [t, addr](const lab::ReadyCallback& ready) -> Result<int> {
        auto stop = lab::SignalStop::open();
        if (!stop) return stop.error();
        lab::ServerOptions opts;  // "Hello from server!"
        opts.transport = t;
        opts.address = addr;
        opts.count = 1;
        lab::ServerEvents events;
        events.on_listening = ready;
        events.on_log = printer("server");
        auto summary = lab::run_server(opts, stop->fd(), events);
        if (!summary) return summary.error();
        printer("server")(lab::describe(*summary));
        return 0;
    };
}

lab::ClientMain send_hello(lab::Transport t) {
    return [t](const lab::Address& server) -> Result<int> {
        lab::ClientOptions opts;  // "Hello from client!", one message
        opts.transport = t;
        opts.address = server;
        lab::ClientEvents events;
        events.on_log = printer("client");
        auto summary = lab::run_client(opts, events);
        if (!summary) return summary.error();
        return 0;
    };
}

Result<int> run_exchange(const ExchangeArgs& args) {
    auto t = lab::parse_transport(args.transport);
    if (!t) return t.error();
    auto addr = args.listen.empty() ? Result<lab::Address>(lab::default_address(*t))
                                    : lab::parse_address(*t, args.listen);
    if (!addr) return addr.error();
    fmt::print("tracepacket: the lab exchange, a {} client and server on {} in two processes\n",
               lab::transport_name(*t), addr->to_string());
    return lab::run_pair(serve_once(*t, *addr), send_hello(*t));
}

}  // namespace

void register_exchange(CLI::App& app, Runner* run_out) {
    auto args = std::make_shared<ExchangeArgs>();
    auto* cmd = app.add_subcommand(
        "exchange",
        "The classic experiment: a server and a client in two processes; the client sends "
        "\"Hello from client!\", the server answers \"Hello from server!\", both print what "
        "they did.");
    cmd->add_option("-t,--transport", args->transport,
                    "tcp, tcp6, udp, udp6, unix, unix-dgram, unix-seqpacket")
        ->capture_default_str();
    cmd->add_option("-l,--listen", args->listen,
                    "Server address (default 127.0.0.1:8080, [::1]:8080 or "
                    "/tmp/tracepacket-<transport>.sock; port 0 picks a free one)")
        ->type_name("ADDR");
    cmd->callback([args, run_out] { *run_out = [args] { return run_exchange(*args); }; });
}

}  // namespace tpk::commands
