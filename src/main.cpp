// tracepacket: parse, run, print the error, pick the exit code. Nothing else.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <exception>

#include "commands/command.h"

int main(int argc, char** argv) {
    CLI::App app{
        "tracepacket: follow your bytes from send() to recv() through the Linux network stack.\n"
        "With no command it runs the default journey: a TCP client and server on 127.0.0.1."};
    app.set_version_flag("--version", "tracepacket 0.1.0");
    app.require_subcommand(0, 1);
    app.fallthrough();

    tpk::commands::Runner run;
    tpk::commands::register_all(app, &run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 prints the message (and --help); usage errors exit 2 like
        // other Unix tools, not CLI11's 1xx codes.
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (!run) run = tpk::commands::default_runner();
    try {
        auto result = run();
        if (!result) {
            std::fflush(stdout);
            fmt::print(stderr, "tracepacket: error: {}\n", result.error().message());
            return 1;
        }
        return *result;
    } catch (const std::exception& e) {
        // Library exceptions (json, fmt) that escaped their wrappers are bugs,
        // but still end with one clear line rather than std::terminate.
        fmt::print(stderr, "tracepacket: internal error: {}\n", e.what());
        return 70;
    }
}
