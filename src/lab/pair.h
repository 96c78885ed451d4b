// Runs a server and a client as two separate processes, the way the journey
// needs them (two pids, two sockets, nothing shared but the kernel): fork both
// while this process has a single thread, hold them on pipes, let the caller
// start its tracing (threads too) in on_started, release the server, wait
// until it reports its bound address over a pipe (no sleeping), hand that
// address to the client, reap both.
//
// Forking before any thread exists matters: a child forked while another
// thread holds the allocator's lock inherits it locked. glibc's malloc guards
// against that with fork handlers; AddressSanitizer's allocator (GCC 12) does
// not, and the child would hang in its first malloc.
#pragma once

#include <functional>

#include "lab/transport.h"
#include "util/result.h"

namespace tpk::lab {

// The server calls this once it listens; the client gets the address.
using ReadyCallback = std::function<void(const Address&)>;
// Each side returns its exit code or an Error; both run in a child process.
using ServerMain = std::function<Result<int>(const ReadyCallback& ready)>;
using ClientMain = std::function<Result<int>(const Address& server)>;

struct PairPids {
    int server = 0;
    int client = 0;
};

struct PairHooks {
    // Called in the parent once both children exist and before either runs
    // its main: trace their pids, start capture and reader threads here. An
    // Error stops both children and is returned by run_pair.
    std::function<Status(const PairPids&)> on_started;
};

// Returns the larger of the two exit codes, or the first side's Error
// ("client: connection refused by ..."). The server must end by itself once
// its client is done (ServerOptions::count). If one side fails (an Error or a
// signal) the other is sent SIGTERM, and so are both when this process gets
// SIGINT/SIGTERM (then the result is 128 + signal); nothing is left running.
Result<int> run_pair(const ServerMain& server, const ClientMain& client,
                     const PairHooks& hooks = {});

}  // namespace tpk::lab
