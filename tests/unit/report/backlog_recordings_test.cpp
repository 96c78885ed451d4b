// tracepacket backlog's writers on recorded runs (tests/fixtures/labs/
// 6.18-x86_64/backlog-*.jsonl, README there): the text and JSON Lines against
// their goldens (tests/unit/report/golden/labs/; TPK_UPDATE_GOLDEN=1 rewrites
// them), the HTML page against the findings of the same run, the recording
// read and written back byte for byte, and broken recordings refused with
// the line's number, never thrown.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <fmt/format.h>
#include <vector>

#include "journey/backlog.h"
#include "report/backlog.h"
#include "report/labels.h"
#include "unit/report/golden.h"
#include "unit/report/html_checks.h"

namespace tpk::report {
namespace {

using journey::BacklogRun;
using tpk::testing::count_of;
using tpk::testing::element;

const std::string kDir = std::string(TPK_FIXTURES_DIR) + "/labs/6.18-x86_64/";

BacklogRun load(const std::string& name) {
    auto run = journey::read_backlog_recording_file(kDir + name);
    EXPECT_TRUE(run.ok()) << (run.ok() ? "" : run.error().message());
    return run.ok() ? std::move(*run) : BacklogRun{};
}

class BacklogRecording : public ::testing::TestWithParam<const char*> {};

TEST_P(BacklogRecording, TextAndJsonLinesMatchTheirGoldens) {
    const std::string name = GetParam();
    const BacklogRun run = load(name + ".jsonl");
    ASSERT_FALSE(run.clients.empty());
    const std::string base = testing::golden_path("labs/" + name);
    testing::expect_golden_file(base + ".txt", name + ".txt", render_backlog_text(run));
    std::ostringstream json;
    write_backlog_json(run, json);
    testing::expect_golden_file(base + ".jsonl", name + ".jsonl", json.str());
}

TEST_P(BacklogRecording, HtmlPageShowsTheRunsFindings) {
    const BacklogRun run = load(std::string(GetParam()) + ".jsonl");
    const auto f = find(run);
    const std::string page = render_backlog_html(run);
    EXPECT_EQ(tpk::testing::html_balance_problem(page), "");
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(f.peak_accept_queue, f.accept_limit + 1) << "backlog + 1 on Linux";
    EXPECT_NE(page.find(fmt::format("data-peak-accept-queue=\"{}\" data-accept-limit=\"{}\" data-peak-syn-queue=\"{}\" "
                                    "data-samples=\"{}\"",
                                    f.peak_accept_queue, f.accept_limit, f.peak_syn_queue, run.queue.size())),
              std::string::npos);
    EXPECT_NE(page.find(fmt::format("<title>accept queue, peak {}</title>", f.peak_accept_queue)), std::string::npos);

    const auto results = journey::backlog_client_results(run);
    ASSERT_EQ(results.size(), static_cast<std::size_t>(run.options.clients));
    EXPECT_EQ(count_of(page, "<tr class=\"client-result"), results.size());
    EXPECT_EQ(count_of(page, "<g class=\"client\""), results.size());
    for (const auto& r : results) EXPECT_NE(page.find(html_escape(r.detail)), std::string::npos) << r.detail;

    // Every drop of the timeline, with its reason: the listener's add up to ListenDrops.
    const auto lines = journey::backlog_timeline(run);
    std::size_t drops = 0, listener = 0;
    for (const auto& l : lines) {
        if (l.json.at("type") != "backlog_drop") continue;
        ++drops;
        listener += l.json.at("listener_drop").get<bool>();
        EXPECT_NE(page.find("data-reason=\"" + l.json.at("reason").get<std::string>() + "\""), std::string::npos);
    }
    EXPECT_EQ(count_of(element(page, "<table class=\"drops\"", "table"), "<tr class=\"drop\""), drops);
    EXPECT_EQ(static_cast<std::int64_t>(listener), f.counter_deltas.at("TcpExt.ListenDrops"));
    EXPECT_EQ(count_of(page, "class=\"drop-mark\""), drops);
    for (const auto& p : journey::backlog_explanation(run, f)) EXPECT_NE(page.find(html_escape(p)), std::string::npos);
    for (const auto& l : lines) EXPECT_NE(page.find(html_escape(l.text)), std::string::npos) << l.text;
}

TEST_P(BacklogRecording, WrittenBackByteForByte) {
    const std::string path = kDir + GetParam() + ".jsonl";
    const std::string original = testing::read_text(path);
    std::istringstream in(original);
    auto run = journey::read_backlog_recording(in);
    ASSERT_TRUE(run.ok()) << run.error().message();
    std::ostringstream out;
    journey::write_backlog_recording(*run, out);
    EXPECT_EQ(out.str(), original);
}

INSTANTIATE_TEST_SUITE_P(Runs, BacklogRecording,
                         ::testing::Values("backlog-3-8-delay250", "backlog-3-10-delay700",
                                           "backlog-3-6-never-accepts"),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (auto& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

TEST(BacklogRecordingFile, TheRichestRunHasEveryKindOfDrop) {
    const BacklogRun run = load("backlog-3-10-delay700.jsonl");
    const auto f = find(run);
    EXPECT_GT(f.syns_refused, 0);
    EXPECT_GT(f.acks_dropped, 0);
    EXPECT_GT(f.cookie_acks_dropped, 0);
    EXPECT_GT(f.synack_retransmits, 0);
    const std::string page = render_backlog_html(run);
    for (const char* reason : {"SYN_REFUSED", "TCP_LISTEN_OVERFLOW", "NO_SOCKET"})
        EXPECT_NE(page.find(std::string("data-reason=\"") + reason + "\""), std::string::npos) << reason;
    EXPECT_GT(count_of(page, "class=\"retransmit-mark\""), 0u);
}

// Variants of a real recording, made here: each must be refused with the
// line it broke on, none may throw.
TEST(BacklogRecordingFile, BrokenRecordingsAreErrorsNamingTheLine) {
    const std::string original = testing::read_text(kDir + "backlog-3-6-never-accepts.jsonl");
    std::vector<std::string> lines;
    std::istringstream in(original);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_GT(lines.size(), 5u);
    auto join = [](const std::vector<std::string>& ls) {
        std::string s;
        for (const auto& l : ls) s += l + "\n";
        return s;
    };
    struct Case {
        std::string what, text, error;
    };
    std::vector<Case> cases;
    cases.push_back({"empty", "", "empty"});
    {
        auto ls = lines;
        ls.erase(ls.begin());
        cases.push_back({"no header", join(ls), "line 1"});
    }
    {
        auto ls = lines;
        ls[3] = ls[3].substr(0, ls[3].size() / 2);  // cut mid-line
        cases.push_back({"truncated line 4", join(ls), "line 4"});
    }
    {
        auto ls = lines;
        ls[2] = R"({"kind":"backlog_queue","t_ns":1})";  // fields missing
        cases.push_back({"missing fields", join(ls), "line 3"});
    }
    {
        auto ls = lines;
        ls[2] = R"({"kind":"backlog_queue","t_ns":"soon","accept_queue":1,"accept_limit":3,"syn_queue":0})";
        cases.push_back({"wrong type", join(ls), "line 3"});
    }
    // Floats where integers go (found by fuzz/backlog_recording_fuzz: a
    // plain cast to an integer type, undefined when it does not fit).
    {
        auto ls = lines;
        ls[1] = R"({"kind":"backlog_queue","t_ns":3.1e104,"accept_queue":1,"accept_limit":3,"syn_queue":0})";
        cases.push_back({"float time", join(ls), "line 2"});
    }
    {
        auto ls = lines;
        ls.back() = R"({"kind":"kfree_skb","t_ns":1.8e23})";
        cases.push_back({"float event time", join(ls), "line " + std::to_string(ls.size())});
    }
    {
        auto ls = lines;
        ls.back() = R"({"kind":"no_such_event","t_ns":1})";
        cases.push_back({"unknown kind", join(ls), "line " + std::to_string(ls.size())});
    }
    for (const auto& c : cases) {
        std::istringstream s(c.text);
        Result<BacklogRun> r = make_error("not run");
        EXPECT_NO_THROW(r = journey::read_backlog_recording(s)) << c.what;
        ASSERT_FALSE(r.ok()) << c.what;
        EXPECT_NE(r.error().message().find(c.error), std::string::npos) << c.what << ": " << r.error().message();
    }
}

}  // namespace
}  // namespace tpk::report
