// The stack command's pieces: the last-journey cache (saved, read back,
// refused when damaged) and the text that fits 100 columns.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "report/outputs.h"
#include "report/stack.h"
#include "unit/report/golden.h"
#include "unit/report/sample_journey.h"

namespace tpk::report {
namespace {

using testing::expect_golden;
using testing::sample_tcp_journey;

// Points XDG_CACHE_HOME at a fresh directory for one test.
class CacheDir {
public:
    CacheDir() {
        char tmpl[] = "/tmp/tpk-report-cache-XXXXXX";
        path_ = ::mkdtemp(tmpl);
        const char* old = std::getenv("XDG_CACHE_HOME");
        if (old) old_ = old;
        ::setenv("XDG_CACHE_HOME", path_.c_str(), 1);
    }
    ~CacheDir() {
        if (old_) ::setenv("XDG_CACHE_HOME", old_->c_str(), 1);
        else ::unsetenv("XDG_CACHE_HOME");
        std::filesystem::remove_all(path_);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::optional<std::string> old_;
};

std::size_t count_of(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

std::size_t widest_line(const std::string& text) {
    std::size_t widest = 0, cols = 0;
    for (unsigned char c : text) {
        if (c == '\n') {
            widest = std::max(widest, cols);
            cols = 0;
        } else if ((c & 0xC0) != 0x80) {
            ++cols;
        }
    }
    return std::max(widest, cols);
}

TEST(Stack, SavedJourneyReadsBack) {
    CacheDir cache;
    const auto j = sample_tcp_journey();
    ASSERT_TRUE(save_last_journey(j));
    EXPECT_EQ(last_journey_path(), cache.path() + "/tracepacket/last-journey.json");
    auto loaded = load_last_journey();
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(loaded->has_value());
    const LastJourney& l = **loaded;
    EXPECT_EQ(l.transport, "tcp");
    EXPECT_EQ(l.device, "lo");
    EXPECT_EQ(l.median_one_way_ns, j.stats.median_one_way_ns);
    ASSERT_EQ(l.layers.size(), j.layer_summary.size());
    for (std::size_t i = 0; i < l.layers.size(); ++i) {
        EXPECT_EQ(l.layers[i].layer, j.layer_summary[i].layer);
        EXPECT_EQ(l.layers[i].receive_side, j.layer_summary[i].receive_side);
        EXPECT_EQ(l.layers[i].median_ns, j.layer_summary[i].median_ns);
    }
    // No temporary file left beside it.
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(cache.path() + "/tracepacket"))
        files += e.is_regular_file();
    EXPECT_EQ(files, 1u);
}

TEST(Stack, NothingSavedIsNotAnError) {
    CacheDir cache;
    auto loaded = load_last_journey();
    ASSERT_TRUE(loaded);
    EXPECT_FALSE(loaded->has_value());
    const std::string text = render_stack_text(std::nullopt, false);
    EXPECT_NE(text.find("run `tracepacket journey` first"), std::string::npos);
    EXPECT_NE(render_stack_mermaid(std::nullopt).find("run tracepacket journey first"), std::string::npos);
}

TEST(Stack, DamagedCacheSaysWhatToDo) {
    CacheDir cache;
    std::filesystem::create_directories(cache.path() + "/tracepacket");
    std::ofstream(cache.path() + "/tracepacket/last-journey.json") << "{not json";
    auto loaded = load_last_journey();
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message().find("run `tracepacket journey`"), std::string::npos)
        << loaded.error().message();
}

TEST(Stack, TextGoldenWithin100Columns) {
    const auto last = last_journey_of(sample_tcp_journey());
    const std::string text = render_stack_text(last, false);
    expect_golden("stack.txt", text);
    EXPECT_LE(widest_line(text), 100u);
    EXPECT_EQ(text.find('\033'), std::string::npos);
    const std::string bare = render_stack_text(std::nullopt, false);
    EXPECT_LE(widest_line(bare), 100u);
    const std::string colored = render_stack_text(last, true);
    EXPECT_NE(colored.find("\033["), std::string::npos);
}

TEST(Outputs, WritesEveryFileAndSavesTheStack) {
    CacheDir cache;
    OutputOptions o;
    o.pcapng = cache.path() + "/j.pcapng";
    o.perfetto = cache.path() + "/j.json";
    o.html = cache.path() + "/j.html";
    o.mermaid = true;
    std::ostringstream out;
    ASSERT_TRUE(write_outputs(sample_tcp_journey(), o, out));
    for (const auto& f : {o.pcapng, o.perfetto, o.html})
        EXPECT_GT(std::filesystem::file_size(f), 0u) << f;
    EXPECT_EQ(out.str().rfind("sequenceDiagram", 0), 0u);
    auto loaded = load_last_journey();
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(loaded->has_value());
}

TEST(Outputs, MissingDirectoryRefusedWhileParsing) {
    CLI::App app;
    OutputOptions o;
    add_output_options(app, o);
    const char* argv[] = {"t", "--html", "/nonexistent-dir-tpk/j.html"};
    try {
        app.parse(3, argv);
        FAIL() << "parsed";
    } catch (const CLI::ValidationError& e) {
        EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
    }
    OutputOptions ok;
    CLI::App app2;
    add_output_options(app2, ok);
    const char* argv2[] = {"t", "--pcapng", "/tmp/x.pcapng", "--mermaid"};
    EXPECT_NO_THROW(app2.parse(4, argv2));
    EXPECT_EQ(ok.pcapng, "/tmp/x.pcapng");
    EXPECT_TRUE(ok.mermaid);
}

TEST(Outputs, WriteErrorNamesTheFlag) {
    CacheDir cache;
    OutputOptions o;
    o.perfetto = "/proc/version";  // exists, not writable
    std::ostringstream out;
    auto st = write_outputs(sample_tcp_journey(), o, out);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("--perfetto"), std::string::npos) << st.error().message();
}

TEST(Outputs, OneFailureDoesNotStopTheOtherFiles) {
    CacheDir cache;
    auto j = sample_tcp_journey();
    j.transport = "unix";
    for (auto& p : j.packets) p.frame.reset();
    j.unmatched_frames.clear();
    OutputOptions o;
    o.pcapng = cache.path() + "/j.pcapng";
    o.html = cache.path() + "/j.html";
    std::ostringstream out;
    auto st = write_outputs(j, o, out);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("--pcapng"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(o.html));
}

TEST(Stack, UnixMarksTheLevelsItSkips) {
    auto j = sample_tcp_journey();
    j.transport = "unix";
    const auto last = last_journey_of(j);
    const std::string text = render_stack_text(last, false);
    EXPECT_EQ(count_of(text, "(unused by UNIX)"), 4u) << text;
    EXPECT_EQ(count_of(render_stack_mermaid(last), "(unused by UNIX)"), 4u);
}

}  // namespace
}  // namespace tpk::report
