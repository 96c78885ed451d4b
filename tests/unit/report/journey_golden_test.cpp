// Golden files of the text and JSON Lines output for every recorded run in
// tests/fixtures/events/6.18-x86_64/, replayed the way `journey --replay FILE`
// does (read, correlate, explain: tests/support/recordings.h): tests/unit/report/golden/journeys/
// <fixture>.txt (TextStyle{color = false, width = 100}) and <fixture>.jsonl.
// Run with TPK_UPDATE_GOLDEN=1 to rewrite them, then review the diff
// (golden/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "journey/text.h"
#include "report/json_lines.h"
#include "report/text.h"
#include "support/recordings.h"
#include "unit/report/golden.h"

namespace tpk::report {
namespace {

using journey::tcp_flags_text;

namespace fs = std::filesystem;

const std::string kRecordingDir = std::string(TPK_FIXTURES_DIR) + "/events/6.18-x86_64/";
const std::string kGoldenDir = std::string(TPK_SOURCE_DIR) + "/tests/unit/report/golden/journeys/";

// Recordings larger than this are skipped (GTEST_SKIP, so the run lists
// them): their goldens would be too big to review. One is: the 3 MB of
// trace-tcp-bulk.jsonl (64 KiB segments) are there for the streamed
// correlation's tests (stream_test.cpp).
constexpr std::uintmax_t kMaxRecordingBytes = 2u << 20;

// tests/unit/report/golden.h's comparison, for the files of this folder.
void expect_golden(const std::string& name, const std::string& actual) {
    testing::expect_golden_file(kGoldenDir + name, name, actual);
}

// Every *.jsonl of the folder, sorted (file names, without the folder).
std::vector<std::string> recordings() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(kRecordingDir))
        if (e.is_regular_file() && e.path().extension() == ".jsonl")
            out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string stem(const std::string& file) { return fs::path(file).stem().string(); }

class JourneyGolden : public ::testing::TestWithParam<std::string> {
protected:
    journey::Journey replayed() {
        return tpk::testing::replay(GetParam());
    }
    void SetUp() override {
        const auto size = fs::file_size(kRecordingDir + GetParam());
        if (size > kMaxRecordingBytes)
            GTEST_SKIP() << GetParam() << " has " << size << " bytes, more than golden files are kept for";
    }
};

TEST_P(JourneyGolden, Text) {
    const auto j = replayed();
    expect_golden(stem(GetParam()) + ".txt", render_journey_text(j, TextStyle{false, 100}));
}

TEST_P(JourneyGolden, JsonLines) {
    const auto j = replayed();
    std::ostringstream out;
    write_journey_json(j, out);
    expect_golden(stem(GetParam()) + ".jsonl", out.str());
}

INSTANTIATE_TEST_SUITE_P(Recordings, JourneyGolden, ::testing::ValuesIn(recordings()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string name = stem(info.param);
                             for (char& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return name;
                         });

// A golden file whose recording is gone (or renamed) is reported, not kept.
TEST(JourneyGoldenFiles, EachHasItsRecording) {
    if (std::getenv("TPK_UPDATE_GOLDEN")) GTEST_SKIP() << "rewriting the golden files";
    std::set<std::string> stems;
    for (const auto& r : recordings()) stems.insert(stem(r));
    for (const auto& e : fs::directory_iterator(kGoldenDir)) {
        const auto ext = e.path().extension().string();
        if (ext != ".txt" && ext != ".jsonl") continue;
        EXPECT_TRUE(stems.count(e.path().stem().string()))
            << e.path().filename() << " has no recording in " << kRecordingDir;
    }
}

}  // namespace
}  // namespace tpk::report
