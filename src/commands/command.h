// Every subcommand lives in its own file and registers itself here: it adds a
// CLI11 subcommand whose callback stores the function main will run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "util/result.h"

namespace tpk::commands {

// What main runs after parsing: returns the exit code, or an Error that main
// prints as "tracepacket: error: ..." with exit code 1.
using Runner = std::function<Result<int>()>;

// Adds every subcommand to app; the chosen one stores its runner in *run.
void register_all(CLI::App& app, Runner* run);
// What `tracepacket` with no subcommand runs.
Runner default_runner();

}  // namespace tpk::commands
