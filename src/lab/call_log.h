// Without the kernel side the lab's own system calls are still measured, from
// user space (lab/call_timing.h): each child writes them, as the same
// syscall_enter/syscall_exit events the tracer would produce, into a memfd
// the parent created before forking and reads after the child exits. Coarser
// than the kernel's view (it includes the libc wrapper) and blind to packets,
// which is why such a run is marked PARTIAL.
#pragma once

#include <vector>

#include "lab/call_timing.h"
#include "model/event.h"
#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

class CallLog {
public:
    // A memfd named name (as /proc/PID/fd shows it), before the fork.
    static Result<CallLog> create(const char* name);

    // In a child: from now on every lab call of this process is written to
    // the log, then passed to after (if any), e.g. to snapshot the sockets
    // once connect() returned. The log must outlive the calls.
    void record_calls(CallObserver after = {});

    // One call as its enter and exit events, stamped with this process.
    void write_call(const TimedCall& call);
    void write_event(const model::Event& event);

    // In the parent, once the children are done: every event written, in
    // order. A line that does not parse is an error naming it.
    Result<std::vector<model::Event>> read_events() const;

private:
    explicit CallLog(UniqueFd fd) : fd_(std::move(fd)) {}

    UniqueFd fd_;
};

}  // namespace tpk::lab
