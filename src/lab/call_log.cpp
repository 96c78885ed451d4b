#include "lab/call_log.h"

#include <sys/mman.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "model/event_io.h"

namespace tpk::lab {

Result<CallLog> CallLog::create(const char* name) {
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd) return errno_error(std::string("memfd_create ") + name);
    return CallLog(std::move(fd));
}

void CallLog::record_calls(CallObserver after) {
    observe_calls([this, after = std::move(after)](const TimedCall& c) {
        write_call(c);
        if (after) after(c);
    });
}

void CallLog::write_call(const TimedCall& call) {
    model::Event e;
    e.kind = model::EventKind::syscall_enter;
    e.pid = static_cast<std::uint32_t>(::getpid());
    e.tid = e.pid;
    e.comm = "tracepacket";
    e.syscall = call.name;
    e.fd = call.fd;
    e.size = call.size;
    e.flags = static_cast<std::uint64_t>(call.flags);
    e.t_ns = call.enter_ns;
    write_event(e);
    e.kind = model::EventKind::syscall_exit;
    e.t_ns = call.exit_ns;
    e.ret = call.ret;
    write_event(e);
}

void CallLog::write_event(const model::Event& e) {
    // One write per line: the file offset is shared with the parent's
    // descriptor, and nothing here may fail the lab's own call.
    std::string line = model::event_to_json_line(e) + "\n";
    (void)!::write(fd_.get(), line.data(), line.size());
}

Result<std::vector<model::Event>> CallLog::read_events() const {
    std::string text;
    char buf[65536];
    if (::lseek(fd_.get(), 0, SEEK_SET) < 0) return errno_error("rewind the call log");
    for (ssize_t n; (n = ::read(fd_.get(), buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<std::size_t>(n));
    std::istringstream in(text);
    return model::read_events(in);
}

}  // namespace tpk::lab
