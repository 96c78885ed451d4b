// The output options every journey-producing command shares, and the one
// call that writes them: `journey` and `trace` wire them in with two lines,
//     report::add_output_options(cmd, opts.outputs);
//     if (auto st = report::write_outputs(journey, opts.outputs); !st) return st.error();
#pragma once

#include <CLI/CLI.hpp>

#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "journey/journey.h"
#include "util/result.h"

namespace tpk::report {

struct OutputOptions {
    std::string pcapng;     // --pcapng FILE
    std::string perfetto;   // --perfetto FILE
    std::string html;       // --html FILE
    bool mermaid = false;   // --mermaid: the sequence diagram on stdout

    // Each of them needs the whole journey at once: a streamed run
    // (commands/chunk_printer.h) is not streamed with them.
    bool need_whole_journey() const {
        return mermaid || !pcapng.empty() || !perfetto.empty() || !html.empty();
    }
};

// Adds --pcapng FILE, --perfetto FILE, --html FILE and --mermaid to cmd. A
// FILE whose directory does not exist is refused while parsing.
void add_output_options(CLI::App& cmd, OutputOptions& o);

// Adds --html FILE alone (the labs' pages), refused as above.
void add_html_option(CLI::App& cmd, std::string& path, const std::string& description);

// Writes every file asked for, prints the Mermaid diagram to out when
// asked, and saves the journey's layer times for `tracepacket stack`
// (best effort: a cache that cannot be written never fails the run).
Status write_outputs(const journey::Journey& j, const OutputOptions& o, std::ostream& out = std::cout);
// --compare: all journeys in one file of each format; the last one is saved.
Status write_outputs(std::span<const journey::Journey> journeys, const OutputOptions& o,
                     std::ostream& out = std::cout);

}  // namespace tpk::report
