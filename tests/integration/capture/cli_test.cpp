// `tracepacket capture` as a user runs it, unprivileged: reading fixtures,
// writing pcap and pcapng, filters, counts, damaged files, bad input, and the
// message without CAP_NET_RAW. Where tcpdump/tshark are installed the output
// and the written files are checked against them too.
#include <gtest/gtest.h>

#include "support/command_run.h"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(TPK_FIXTURES_DIR) / "captures";

using tpk::testing::Outcome;

// Runs a shell command with stdout and stderr captured separately; TZ=UTC so
// timestamps are stable.
Outcome run(const std::string& command) { return tpk::testing::run_command("TZ=UTC " + command); }

std::string tpk(const std::string& args) { return std::string(TPK_BINARY) + " capture " + args; }

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null").c_str()) == 0; }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

class CaptureCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tpk-cli-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(CaptureCli, ReadPrintsWhatTcpdumpPrints) {
    if (!have("tcpdump")) GTEST_SKIP() << "needs tcpdump to compare against; run scripts/install-deps";
    for (const char* f : {"lo-mixed.pcapng", "gen-small.pcap", "link-sll.pcap", "link-raw.pcap", "snap-40.pcap"}) {
        const std::string file = (kDir / f).string();
        const Outcome ours = run(tpk("-nn -r " + file));
        const Outcome theirs = run("tcpdump -nn -r " + file);
        ASSERT_EQ(ours.status, 0) << ours.err;
        EXPECT_GT(lines(ours.out), 0);
        EXPECT_EQ(ours.out, theirs.out) << f;
        EXPECT_NE(ours.err.find("reading from file"), std::string::npos);
        EXPECT_NE(ours.err.find(std::to_string(lines(ours.out)) + " packets read"), std::string::npos) << ours.err;
    }
}

TEST_F(CaptureCli, FilterAndCountSelectPackets) {
    const std::string file = (kDir / "gen-small.pcap").string();
    const Outcome udp = run(tpk("-r " + file + " udp"));
    ASSERT_EQ(udp.status, 0) << udp.err;
    EXPECT_GT(lines(udp.out), 0);
    EXPECT_EQ(udp.out.find("Flags ["), std::string::npos) << "a TCP line passed the udp filter";
    if (have("tcpdump")) {
        EXPECT_EQ(udp.out, run("tcpdump -nn -r " + file + " udp").out);
    }
    const Outcome five = run(tpk("-c 5 -r " + file + " tcp and port 34567"));
    EXPECT_EQ(five.status, 0);
    EXPECT_EQ(lines(five.out), 5);
}

TEST_F(CaptureCli, WritesPcapAndPcapngThatReadBackTheSame) {
    const std::string in = (kDir / "lo-mixed.pcapng").string();
    const std::string original = run(tpk("-v -x -r " + in)).out;
    ASSERT_FALSE(original.empty());
    for (const char* name : {"copy.pcap", "copy.pcapng"}) {
        const std::string out = (dir_ / name).string();
        const Outcome w = run(tpk("-r " + in + " -w " + out));
        ASSERT_EQ(w.status, 0) << w.err;
        EXPECT_EQ(w.out, "") << "-w prints no packets";
        EXPECT_EQ(run(tpk("-v -x -r " + out)).out, original) << name;
        std::ifstream f(out, std::ios::binary);
        std::array<unsigned char, 4> magic{};
        f.read(reinterpret_cast<char*>(magic.data()), 4);
        const bool pcapng = magic == std::array<unsigned char, 4>{0x0a, 0x0d, 0x0d, 0x0a};
        EXPECT_EQ(pcapng, std::string(name).ends_with(".pcapng")) << name;
        if (have("tshark")) {
            const Outcome t = run("tshark -r " + out + " -T fields -e frame.number");
            EXPECT_EQ(t.status, 0) << t.err;
            EXPECT_EQ(lines(t.out), 36) << "tshark reads all 36 packets of " << name;
        }
    }
}

TEST_F(CaptureCli, DamagedFileShowsPacketsThenNamesTheBadOne) {
    const Outcome r = run(tpk("-r " + (kDir / "truncated-record.pcap").string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(lines(r.out), 19);
    EXPECT_NE(r.err.find("packet 20: truncated dump file"), std::string::npos) << r.err;
    const Outcome ng = run(tpk("-r " + (kDir / "truncated-block.pcapng").string()));
    EXPECT_EQ(ng.status, 1);
    EXPECT_EQ(lines(ng.out), 9);
    EXPECT_NE(ng.err.find("packet 10:"), std::string::npos) << ng.err;
}

TEST_F(CaptureCli, BadInputIsOneClearLine) {
    struct Case {
        std::string args;
        std::string says;
    };
    const std::string file = (kDir / "gen-small.pcap").string();
    for (const Case& c : {Case{"-r " + file + " tcp port", "bad filter 'tcp port'"},
                          Case{"-r " + (dir_ / "missing.pcap").string(), "missing.pcap"},
                          Case{"-r " + (kDir / "make-variants.py").string(), "make-variants.py"},
                          Case{"-r " + file + " -w /nonexistent-dir/x.pcapng", "/nonexistent-dir/x.pcapng"},
                          Case{"-i lo --buffered --immediate-mode -c 1", "--buffered and --immediate-mode"},
                          Case{"-i lo --page-cache -c 1", "--page-cache"}}) {
        SCOPED_TRACE(c.args);
        const Outcome r = run(tpk(c.args));
        EXPECT_EQ(r.status, 1);
        EXPECT_NE(r.err.find("tracepacket: error: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    }
}

TEST_F(CaptureCli, WithoutCapNetRawSaysSoAndPointsToRead) {
    std::string prefix;
    if (::geteuid() == 0) {
        if (!have("setpriv")) GTEST_SKIP() << "running as root and setpriv is missing to drop privileges";
        prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ";
    }
    const Outcome r = run(prefix + tpk("-i lo -c 1"));
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("CAP_NET_RAW"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-r"), std::string::npos) << r.err;
}

}  // namespace
