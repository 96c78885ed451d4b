// libFuzzer target: a backlog recording (`tracepacket backlog --replay FILE`)
// read and, when it reads, written by every writer of the lab: text, JSON
// Lines and the HTML page, exactly the path of --replay. A recording is
// outside input: its times, counts and ports may be anything.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "journey/backlog.h"
#include "report/backlog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    auto run = tpk::journey::read_backlog_recording(in);
    if (!run) return 0;
    // Bounded work per input: a recording of a capped run has at most 500 clients.
    if (run->clients.size() > 1000 || run->queue.size() > 100000) return 0;
    std::ostringstream out;
    out << tpk::report::render_backlog_text(*run);
    tpk::report::write_backlog_json(*run, out);
    out << tpk::report::render_backlog_html(*run);
    return 0;
}
