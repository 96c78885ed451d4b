#include "commands/command.h"

namespace tpk::commands {

// One declaration and one call per subcommand file in src/commands/.
void register_bench(CLI::App& app, Runner* run);
void register_sockets(CLI::App& app, Runner* run);
void register_route(CLI::App& app, Runner* run);
void register_capture(CLI::App& app, Runner* run);

void register_all(CLI::App& app, Runner* run) {
    (void)app;
    (void)run;
    register_bench(app, run);
    register_sockets(app, run);
    register_route(app, run);
    register_capture(app, run);
}

Runner default_runner() {
    return [] () -> Result<int> {
        return make_error("no command given; see tracepacket --help");
    };
}

}  // namespace tpk::commands
