// tracepacket stack: the protocol stack (application, socket, transport,
// network, data link, loopback) annotated with the last journey's median time
// per layer, as text or as a Mermaid graph. The times come from the cache
// file every journey leaves (src/report/stack.h); without one the stack is
// shown bare with a pointer to `tracepacket journey`.
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "commands/command.h"
#include "report/stack.h"

namespace tpk::commands {
namespace {

struct StackOptions {
    bool mermaid = false;
};

// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
bool use_color() {
    const char* no_color = std::getenv("NO_COLOR");
    return ::isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

Result<int> run_stack(const StackOptions& o) {
    auto last = report::load_last_journey();
    if (!last) return last.error();
    fmt::print("{}", o.mermaid ? report::render_stack_mermaid(*last)
                               : report::render_stack_text(*last, use_color()));
    std::fflush(stdout);
    return 0;
}

}  // namespace

void register_stack(CLI::App& app, Runner* run) {
    auto opts = std::make_shared<StackOptions>();
    auto* cmd = app.add_subcommand(
        "stack", "Show the protocol stack with the last journey's time per layer "
                 "(run `tracepacket journey` first)");
    cmd->add_flag("--mermaid", opts->mermaid, "print it as a Mermaid graph");
    cmd->callback([opts, run] { *run = [opts] { return run_stack(*opts); }; });
}

}  // namespace tpk::commands
