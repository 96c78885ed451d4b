#include "report/outputs.h"

#include <filesystem>

#include "report/html.h"
#include "report/mermaid.h"
#include "report/pcapng_writer.h"
#include "report/perfetto.h"
#include "report/stack.h"

namespace tpk::report {

namespace {

// Refuses a FILE whose directory is missing before the run, not after it.
CLI::Validator writable_file() {
    return CLI::Validator(
        [](std::string& path) -> std::string {
            if (path.empty()) return "empty file name";
            const auto dir = std::filesystem::path(path).parent_path();
            std::error_code ec;
            if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
                return "directory " + dir.string() + " does not exist";
            if (std::filesystem::is_directory(path, ec)) return path + " is a directory";
            return {};
        },
        "FILE");
}

}  // namespace

void add_output_options(CLI::App& cmd, OutputOptions& o) {
    cmd.add_option("--pcapng", o.pcapng,
                   "Write the captured frames as pcapng, each with its kernel journey as the "
                   "packet comment (Wireshark, tshark, tcpdump -r)")
        ->check(writable_file());
    cmd.add_option("--perfetto", o.perfetto,
                   "Write a Chrome trace-event JSON for ui.perfetto.dev: a track per process and "
                   "per kernel layer, flow arrows per packet")
        ->check(writable_file());
    cmd.add_option("--html", o.html,
                   "Write a self-contained HTML report: sequence diagram, stack with time per "
                   "layer, packets table")
        ->check(writable_file());
    cmd.add_flag("--mermaid", o.mermaid, "Print the packets as a Mermaid sequenceDiagram");
}

void add_html_option(CLI::App& cmd, std::string& path, const std::string& description) {
    cmd.add_option("--html", path, description)->check(writable_file());
}

Status write_outputs(const journey::Journey& j, const OutputOptions& o, std::ostream& out) {
    // A view, not a copy: a long trace's journey is hundreds of megabytes.
    return write_outputs(std::span<const journey::Journey>(&j, 1), o, out);
}

Status write_outputs(std::span<const journey::Journey> journeys, const OutputOptions& o,
                     std::ostream& out) {
    if (journeys.empty()) return {};
    (void)save_last_journey(journeys.back());  // best effort, see outputs.h
    // Each file is written even when another failed (a UNIX journey has no
    // frames for --pcapng but a fine --html); the first error is returned.
    Status result;
    auto keep_first = [&result](Status st) {
        if (!st && result) result = std::move(st);
    };
    if (!o.pcapng.empty()) keep_first(write_pcapng(journeys, o.pcapng));
    if (!o.perfetto.empty()) keep_first(write_perfetto(journeys, o.perfetto));
    if (!o.html.empty()) keep_first(write_html(journeys, o.html));
    if (o.mermaid) {
        for (std::size_t k = 0; k < journeys.size(); ++k) {
            if (journeys.size() > 1) out << (k ? "\n" : "") << "%% " << journeys[k].transport << "\n";
            out << render_mermaid_sequence(journeys[k]);
        }
        out.flush();
    }
    return result;
}

}  // namespace tpk::report
