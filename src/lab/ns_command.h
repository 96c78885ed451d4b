// A shell command running beside a lab, inside one of its namespaces: what
// `journey --two-hosts --lab-watch-client/--lab-watch-server` (hidden, for
// tests) start so tcpdump can watch each veth end while the journey runs.
// The lab's namespaces are anonymous: no `ip netns exec` reaches them.
//
// start() forks (call it before any thread of this process exists), the
// child enters the namespace, dies with this process (PR_SET_PDEATHSIG,
// so it never keeps a lab namespace alive), and execs /bin/sh -c "exec
// COMMAND" (one command: it replaces the shell) in a process group of its
// own. start()
// returns once the command wrote its first line to stderr (tcpdump's
// "listening on ...": from then on it captures) or after the timeout.
// stop() sends SIGTERM to the group (tcpdump then flushes and writes its counts), waits
// a bounded time, then SIGKILL; the destructor does it too.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "lab/netns.h"
#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

class NsCommand {
public:
    static Result<std::unique_ptr<NsCommand>> start(const NetNamespace& ns, const std::string& command,
                                                    std::chrono::milliseconds ready_timeout);
    NsCommand(const NsCommand&) = delete;
    NsCommand& operator=(const NsCommand&) = delete;
    ~NsCommand();

    // Ends it; its exit status (128 + signal when killed). What it wrote to
    // stderr is passed on to this process's stderr.
    int stop();
    pid_t pid() const { return pid_; }

private:
    NsCommand() = default;
    pid_t pid_ = -1;
    UniqueFd stderr_;
    bool reaped_ = false;
    int status_ = 0;
};

}  // namespace tpk::lab
