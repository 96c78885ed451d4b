// What `tracepacket` with no command runs until the journey exists: the
// classic exchange. A TCP server on 127.0.0.1:8080 and a client, each in its
// own process; the client sends "Hello from client!", the server answers
// "Hello from server!", both say what they did.
#include <fmt/core.h>

#include "commands/command.h"
#include "lab/client.h"
#include "lab/pair.h"
#include "lab/server.h"
#include "lab/signals.h"

namespace tpk::commands {
namespace {

auto printer(const char* who) {
    return [who](const std::string& line) {
        fmt::print("{}: {}\n", who, line);
        std::fflush(stdout);
    };
}

Result<int> serve_once(const lab::ReadyCallback& ready) {
    auto stop = lab::SignalStop::open();
    if (!stop) return stop.error();
    lab::ServerOptions opts;  // tcp, 127.0.0.1:8080, "Hello from server!"
    opts.count = 1;
    lab::ServerEvents events;
    events.on_listening = ready;
    events.on_log = printer("server");
    auto summary = lab::run_server(opts, stop->fd(), events);
    if (!summary) return summary.error();
    printer("server")(lab::describe(*summary));
    return 0;
}

Result<int> send_hello(const lab::Address& server) {
    lab::ClientOptions opts;  // tcp, "Hello from client!", one message
    opts.address = server;
    lab::ClientEvents events;
    events.on_log = printer("client");
    auto summary = lab::run_client(opts, events);
    if (!summary) return summary.error();
    return 0;
}

}  // namespace

Runner lab_exchange_runner() {
    return []() -> Result<int> {
        fmt::print("tracepacket: the lab exchange, a TCP client and server on 127.0.0.1:8080 in "
                   "two processes (see tracepacket --help for more)\n");
        return lab::run_pair(serve_once, send_hello);
    };
}

}  // namespace tpk::commands
