// The recorded kernel runs of tests/fixtures/events/<kernel>/ (their README
// says how each was made), read the way `journey --replay` reads them: the
// journeys unit tests check without privileges.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "journey/correlator.h"
#include "journey/recording.h"
#include "journey/explain.h"

namespace tpk::testing {

inline const std::string kRecordings = std::string(TPK_FIXTURES_DIR) + "/events/6.18-x86_64/";

// The correlator's input of recording `name` (header, events, frames).
inline journey::CorrelatorInput recording(const std::string& name) {
    std::ifstream in(kRecordings + name);
    EXPECT_TRUE(in) << "missing fixture " << kRecordings + name;
    std::stringstream text;
    text << in.rdbuf();
    auto input = journey::parse_recording(text.str());
    EXPECT_TRUE(input.ok()) << name << ": " << (input.ok() ? "" : input.error().message());
    return input.ok() ? std::move(*input) : journey::CorrelatorInput{};
}

// Correlated and explained, as `journey --replay` does (finish_recording).
inline journey::Journey replay(const std::string& name) {
    auto j = journey::correlate(recording(name));
    journey::explain(j);
    return j;
}

}  // namespace tpk::testing
