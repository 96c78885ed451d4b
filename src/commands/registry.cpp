#include "commands/command.h"

namespace tpk::commands {

// One declaration and one call per subcommand file in src/commands/.
void register_bench(CLI::App& app, Runner* run);
void register_server(CLI::App& app, Runner* run);
void register_client(CLI::App& app, Runner* run);
void register_exchange(CLI::App& app, Runner* run);  // lab_exchange.cpp
void register_sockets(CLI::App& app, Runner* run);
void register_route(CLI::App& app, Runner* run);
void register_capture(CLI::App& app, Runner* run);
void register_record_events(CLI::App& app, Runner* run);

void register_journey(CLI::App& app, Runner* run);
Runner journey_default_runner();  // journey.cpp: the default TCP journey
void register_trace(CLI::App& app, Runner* run);
void register_stack(CLI::App& app, Runner* run);
void register_doctor(CLI::App& app, Runner* run);
void register_backlog(CLI::App& app, Runner* run);
void register_traceroute(CLI::App& app, Runner* run);

void register_all(CLI::App& app, Runner* run) {
    (void)app;
    (void)run;
    register_bench(app, run);
    register_server(app, run);
    register_client(app, run);
    register_exchange(app, run);
    register_sockets(app, run);
    register_route(app, run);
    register_capture(app, run);
    register_record_events(app, run);
    register_journey(app, run);
    register_trace(app, run);
    register_stack(app, run);
    register_doctor(app, run);
    register_backlog(app, run);
    register_traceroute(app, run);
}

// The default TCP journey; the plain lab exchange stays one command away
// (`tracepacket server` and `tracepacket client`).
Runner default_runner() { return journey_default_runner(); }

}  // namespace tpk::commands
