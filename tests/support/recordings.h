// The recorded kernel runs of tests/fixtures/events/<kernel>/ (their README
// says how each was made), read the way `journey --replay` reads them: the
// journeys unit tests check without privileges.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "journey/correlator.h"
#include "model/event_io.h"

namespace tpk::testing {

inline const std::string kRecordings = std::string(TPK_FIXTURES_DIR) + "/events/6.18-x86_64/";

// The correlator's input of recording `name` (header, events, frames).
inline journey::CorrelatorInput recording(const std::string& name) {
    std::ifstream in(kRecordings + name);
    EXPECT_TRUE(in) << "missing fixture " << kRecordings + name;
    std::stringstream text;
    text << in.rdbuf();
    journey::CorrelatorInput input;
    journey::read_recording_header(text.str(), input);
    std::istringstream lines(text.str());
    auto events = model::read_events(lines);
    EXPECT_TRUE(events.ok()) << name << ": " << (events.ok() ? "" : events.error().message());
    if (events.ok()) input.events = std::move(*events);
    return input;
}

inline journey::Journey replay(const std::string& name) {
    return journey::correlate(recording(name));
}

}  // namespace tpk::testing
