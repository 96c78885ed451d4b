// Runs a traced session: starts COMMAND held until the tracer follows it (or
// follows running PIDs), passes events to a sink until the command or all
// the pids exit, or SIGINT/SIGTERM arrives, then drains the ring buffer.
// Shared by record-events and trace; signals come through a signalfd in the
// poll set, not a global flag (STYLE.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/tracer.h"
#include "util/result.h"

namespace tpk::kernel {

struct SessionOptions {
    std::vector<std::string> command;  // run this (argv), or
    std::vector<pid_t> pids;           // follow these running processes
    // Written once the programs are attached and the command is followed;
    // removed at the end. Tests wait for it instead of sleeping.
    std::string ready_file;
};

struct SessionResult {
    int exit_code = 0;          // the command's, 128 + signal when it was killed
    int interrupted_by = 0;     // SIGINT/SIGTERM that ended the session, or 0
    pid_t command_pid = 0;
    std::uint64_t events = 0;
    std::uint64_t lost_events = 0;
};

// The tracer must be loaded and attached. The command's pid is added to it
// before the command execs, so its first system call is seen.
Result<SessionResult> run_session(Tracer& tracer, const SessionOptions& options,
                                  const EventSink& sink);

// "123,456" -> {123, 456}; every pid must name a running process.
Result<std::vector<pid_t>> parse_pid_list(const std::string& text);

}  // namespace tpk::kernel
