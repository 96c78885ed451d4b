// The DOM-free JSON writer against nlohmann::json, which wrote the journey's
// records before: same bytes for the same values, and bytes that are not
// UTF-8 replaced where nlohmann throws.
#include "report/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace tpk::report {
namespace {

std::string written(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

TEST(JsonWriter, StringsAreEscapedAsNlohmannDumpsThem) {
    const std::string cases[] = {
        "", "plain", "quote \" and backslash \\", "tab\tnew line\nreturn\rbell\aformfeed\fback\b",
        std::string("nul \0 inside", 12), "\x01\x1f\x7f", "µs — UTF-8 ✓ 🚀", "ends with \\",
    };
    for (const auto& s : cases) EXPECT_EQ(written(s), nlohmann::json(s).dump()) << s;
}

TEST(JsonWriter, ABytePastAnyPlainRunIsFound) {
    // Plain runs are scanned 16 bytes a step: a byte to escape (or a UTF-8
    // sequence to check) at every place of the first three steps and the tail.
    for (const std::string special : {"\"", "\\", "\n", "\x1f", "\x7f", "é", "✓"})
        for (std::size_t at = 0; at <= 50; ++at) {
            std::string s(50, 'a');
            s.insert(at, special);
            EXPECT_EQ(written(s), nlohmann::json(s).dump()) << special << " at " << at;
        }
}

TEST(JsonWriter, BytesThatAreNotUtf8BecomeReplacementCharacters) {
    // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
    EXPECT_EQ(written("a\x80z"), "\"a\xEF\xBF\xBDz\"");
    EXPECT_EQ(written("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(written("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(written("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    // What comes out is always valid JSON nlohmann reads back.
    EXPECT_TRUE(nlohmann::json::accept(written("\xff\xfe comm")));
}

TEST(JsonWriter, NestedValuesMatchTheSameTreeDumped) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("a").begin_array().value(std::uint64_t{1}).value(std::int64_t{-2}).null().end_array();
    w.field("b", true);
    w.key("c").begin_object().field("max", std::numeric_limits<std::uint64_t>::max()).end_object();
    w.key("d").hex(0xffff888012345678ull);
    w.key("e").begin_array().end_array();
    w.key("f").begin_object().end_object();
    w.end_object();
    nlohmann::json expected = {{"a", {1, -2, nullptr}},
                               {"b", true},
                               {"c", {{"max", std::numeric_limits<std::uint64_t>::max()}}},
                               {"d", "0xffff888012345678"},
                               {"e", nlohmann::json::array()},
                               {"f", nlohmann::json::object()}};
    EXPECT_EQ(out, expected.dump());
}

TEST(JsonWriter, KeysOfAnyLengthAreWrittenWhole) {
    // Keys short and long, around the room key() asks for at once.
    for (std::size_t n : {0, 1, 60, 61, 62, 200}) {
        const std::string k(n, 'k');
        std::string out;
        JsonWriter w(out);
        w.begin_object().field(k, std::uint64_t{7}).field("z", false).end_object();
        EXPECT_EQ(out, nlohmann::json({{k, 7}, {"z", false}}).dump()) << n;
    }
}

TEST(JsonWriter, RecordsFollowWhatIsInTheStringAndWhatIsAppendedAfterThem) {
    // The writer stores through a cursor into room it adds to the string;
    // closing the outermost object gives the string back, exact, so a
    // newline appended then stays, and the next record starts after it.
    std::string out = "before\n";
    {
        JsonWriter w(out);
        w.begin_object().field("a", std::uint64_t{1}).end_object();
        EXPECT_EQ(out, "before\n{\"a\":1}");
        out += '\n';
        w.begin_object().field("b", "x").end_object();
        out += '\n';
    }
    EXPECT_EQ(out, "before\n{\"a\":1}\n{\"b\":\"x\"}\n");
}

TEST(JsonWriter, ValuesLargerThanItsRoomAreWrittenWhole) {
    // Strings longer than the room grown at once (8 KiB), and the worst case
    // of escaping: every byte a control byte (\u00xx, six bytes each).
    for (std::size_t n : {8191, 8192, 20000}) {
        const std::string plain(n, 'p');
        const std::string controls(n, '\x01');
        std::string out;
        JsonWriter w(out);
        w.begin_array().value(plain).value(controls).end_array();
        EXPECT_EQ(out, nlohmann::json({plain, controls}).dump()) << n;
    }
}

}  // namespace
}  // namespace tpk::report
