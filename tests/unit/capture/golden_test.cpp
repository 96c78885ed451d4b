// Decodes every capture in tests/fixtures/captures/ through the same path as
// `tracepacket capture -r` and compares the text with its .golden file
// (recorded from our output and checked line by line against tcpdump 4.99
// when made; see make-variants.py). Truncated and corrupt files must print
// the packets before the damage and then an error naming the packet.
// TPK_UPDATE_GOLDEN=1 rewrites the goldens: review the diff before committing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture/session.h"

namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(TPK_FIXTURES_DIR) / "captures";

struct Variant {
    std::string suffix;  // "" for -nn, "v", "vv", "x"
    int verbose = 0;
    int hex = 0;
};

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs the capture session on the file; returns stdout text plus, on error,
// a last line "# error: <message>".
std::string render(const fs::path& file, const Variant& v) {
    tpk::capture::SessionOptions o;
    o.read_path = file.string();
    o.text.verbose = v.verbose;
    o.text.hex = v.hex;
    o.text.utc = true;
    o.text.interface_names = false;  // cooked v2 ifindexes name other devices on other machines
    char* data = nullptr;
    std::size_t size = 0;
    std::FILE* out = open_memstream(&data, &size);
    auto result = tpk::capture::run_session(o, out, -1);
    std::fclose(out);
    std::string text(data, size);
    std::free(data);
    if (!result) {
        // The path in the message depends on the checkout; keep the file name.
        std::string message = result.error().message();
        const auto at = message.find(file.string());
        if (at != std::string::npos) message.replace(at, file.string().size(), file.filename().string());
        text += "# error: " + message + "\n";
    }
    return text;
}

std::vector<fs::path> fixture_files() {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kDir)) {
        const auto ext = e.path().extension();
        if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

void check_golden(const fs::path& file, const Variant& v) {
    const fs::path golden = file.string() + (v.suffix.empty() ? "" : "." + v.suffix) + ".golden";
    const std::string text = render(file, v);
    if (std::getenv("TPK_UPDATE_GOLDEN")) {
        std::ofstream(golden, std::ios::binary) << text;
        return;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with TPK_UPDATE_GOLDEN=1 and review";
    const std::string expected = read_all(golden);
    if (text == expected) return;
    std::istringstream a(text), b(expected);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
        if (!ha && !hb) break;
        ASSERT_EQ(ha ? la : "(end)", hb ? lb : "(end)") << golden.filename() << " line " << line;
    }
}

TEST(CaptureGolden, FixturesExist) {
    // The fixtures are the point of this suite: an empty folder must not pass.
    EXPECT_GE(fixture_files().size(), 10u);
}

TEST(CaptureGolden, EveryFixtureMatchesItsGolden) {
    for (const auto& f : fixture_files()) {
        SCOPED_TRACE(f.filename().string());
        check_golden(f, {});
    }
}

TEST(CaptureGolden, VerboseAndHexMatchTheirGoldens) {
    for (const char* name : {"lo-mixed.pcapng", "any-veth-arp.pcapng", "any-sll2-veth-arp.pcapng", "malformed.pcap",
                             "snap-60.pcap"}) {
        SCOPED_TRACE(name);
        check_golden(kDir / name, {"v", 1, 0});
        check_golden(kDir / name, {"vv", 2, 0});
        check_golden(kDir / name, {"x", 0, 1});
    }
}

TEST(CaptureGolden, DamagedFilesPrintPacketsBeforeTheDamageThenNameIt) {
    struct Case {
        const char* file;
        int packets_before;
        const char* packet;
    };
    for (const Case c : {Case{"truncated-record.pcap", 19, "packet 20"}, Case{"truncated-block.pcapng", 9, "packet 10"},
                         Case{"corrupt-caplen.pcap", 4, "packet 5"}}) {
        SCOPED_TRACE(c.file);
        const std::string text = render(kDir / c.file, {});
        const auto error_at = text.find("# error: ");
        ASSERT_NE(error_at, std::string::npos) << "no error for a damaged file";
        EXPECT_NE(text.find(c.packet, error_at), std::string::npos) << text.substr(error_at);
        EXPECT_EQ(std::count(text.begin(), text.begin() + error_at, '\n'), c.packets_before);
    }
}

TEST(CaptureGolden, MissingFileIsOneClearError) {
    tpk::capture::SessionOptions o;
    o.read_path = (kDir / "no-such-file.pcap").string();
    auto r = tpk::capture::run_session(o, nullptr, -1);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("no-such-file.pcap"), std::string::npos) << r.error().message();
}

}  // namespace
