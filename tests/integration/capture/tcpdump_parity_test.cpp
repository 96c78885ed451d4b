// `tracepacket capture -r` against Debian's tcpdump 4.99 on hand-made frames
// (scripts/gen-pcap --suite, written by each test into its own folder):
// TCP options tcpdump names (issue #12 item 12), IPv6 extension headers and
// ICMPv6 (item 13), ARP, records tcpdump refuses and odd time stamps (item
// 14). Each test runs tcpdump on the same file and compares line by line,
// with -nn and with -v/-vv, and checks that the lines the item is about are
// there at all (so two empty outputs cannot agree).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/command_run.h"

namespace fs = std::filesystem;

namespace {

using tpk::testing::Outcome;

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null").c_str()) == 0; }

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> v;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
}

class TcpdumpParity : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have("tcpdump")) GTEST_SKIP() << "needs tcpdump to compare against; run scripts/install-deps";
        if (!have("python3")) GTEST_SKIP() << "needs python3 for scripts/gen-pcap";
        dir_ = fs::temp_directory_path() / ("tpk-parity-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    // Writes the suite with scripts/gen-pcap; returns the file.
    std::string generate(const std::string& suite) {
        const std::string file = (dir_ / (suite + ".pcap")).string();
        const Outcome g =
            tpk::testing::run_command(std::string(TPK_SOURCE_DIR) + "/scripts/gen-pcap " + file + " --suite " + suite);
        EXPECT_EQ(g.status, 0) << g.err;
        return file;
    }

    // Our text and tcpdump's for the same file and flags, compared line by
    // line; returns ours.
    std::string compare(const std::string& file, const std::string& flags, std::size_t frames) {
        const Outcome ours =
            tpk::testing::run_command("TZ=UTC " + std::string(TPK_BINARY) + " capture " + flags + " -r " + file);
        const Outcome theirs = tpk::testing::run_command("TZ=UTC tcpdump " + flags + " -r " + file);
        EXPECT_EQ(ours.status, 0) << ours.err;
        EXPECT_EQ(theirs.status, 0) << theirs.err;
        const auto a = lines_of(ours.out), b = lines_of(theirs.out);
        EXPECT_GE(b.size(), frames) << "tcpdump printed fewer lines than there are frames";
        for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
            EXPECT_EQ(i < a.size() ? a[i] : "(end)", i < b.size() ? b[i] : "(end)")
                << flags << " line " << i + 1 << " of " << fs::path(file).filename();
        }
        return ours.out;
    }

    fs::path dir_;
};

// Item 12: MPTCP (every subtype), TCP Fast Open, AccECN, TCP-MD5, TCP-AO.
TEST_F(TcpdumpParity, TcpOptionsAsTcpdumpNamesThem) {
    const std::string file = generate("tcp-options");
    const std::string text = compare(file, "-nn", 51);
    for (const char* expected : {"mptcp 12 capable v0 csum {0x819c3f2b1ae450}", "mptcp 12 join backup id 3 token",
                                 "mptcp 28 dss ack 1099511627781 seq 8589934601 subseq 1 len 5 csum 0xbeef",
                                 "mptcp 18 add-addr v1 id 2 10.0.0.9:8080 hmac", "mptcp 6 rem-addr id 1 2 7",
                                 "mptcp 3 prio backup", "mptcp 12 fail seq", "mptcp 12 fast-close key",
                                 "tfo  cookiereq", "exp-tfo cookie a1a2a3a4a5a6a7a8", "exp-acc0", "exp-acc1",
                                 "md5 shared secret not supplied with -M, can't check - 000102",
                                 "md5 snaplen too short", "tcp-ao keyid 5 rnextkeyid 6 mac 0x1011",
                                 "uto 0x4b0 600", "[|mptcp]>", "[bad opt]"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected;
    }
    EXPECT_EQ(text.find("mptcp 0x"), std::string::npos) << "an MPTCP option printed raw";
    compare(file, "-nn -v", 51);
    compare(file, "-nn -x", 51);  // a cut option: tcpdump's dump then starts at the link header
}

// Item 13: hop-by-hop options, jumbograms, BIG TCP's payload length 0, the
// other extension headers, MLD v1/v2, router renumbering, node information.
TEST_F(TcpdumpParity, Ipv6ExtensionHeadersAndIcmpv6AsTcpdumpPrintsThem) {
    const std::string file = generate("ipv6");
    const std::string text = compare(file, "-nn", 60);
    for (const char* expected : {"HBH ICMP6, multicast listener querymax resp delay: 10000 addr: ::",
                                 "multicast listener query v2 [gaddr ff02::1:ff00:1, 2 source(s)]",
                                 "multicast listener report v2, 2 group record(s)",
                                 "HBH 40000 > 5201: Flags [.], seq 1:69973, ack 1, win 512, length 69972",
                                 "2001:db8::2: [|tcp]", "ICMP6, length 0 (invalid)",
                                 "[No valid Jumbo Payload Hop-by-Hop option found] (invalid)",
                                 "RT6 (len=2, type=0 [Deprecated], segleft=1, [0]2001:db8::2)",
                                 "router renumbering, command, seq=7 match(add,2001:db8::1/0)",
                                 "node information query (DNS name, subject=2001:db8::2)",
                                 "node information reply (node addresses 2001:db8::1(60))",
                                 "AH(spi=0x00000100,seq=0x7,icv=0x"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected;
    }
    const std::string verbose = compare(file, "-nn -v", 60);
    EXPECT_NE(verbose.find("HBH (jumbo: 70000)"), std::string::npos);
    EXPECT_NE(verbose.find("[gaddr ff02::1:ff00:1 to_ex, 0 source(s)] [gaddr ff05::2 to_in, 2 source(s)]"),
              std::string::npos);
    compare(file, "-nn -vv", 60);
    compare(file, "-nn -x", 60);
}

// Item 14: ARP's (tha), the record tcpdump refuses, out-of-range time stamps.
TEST_F(TcpdumpParity, ArpZeroLengthRecordsAndOddTimestampsAsTcpdumpPrintsThem) {
    const std::string file = generate("arp-time");
    const std::string text = compare(file, "-nn", 21);
    for (const char* expected : {"Request who-has 10.0.0.2 (02:00:00:00:00:0b) tell 10.0.0.1, length 28",
                                 "Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
                                 "[Invalid header: caplen==0, len==0]", "[Invalid header: caplen==0]",
                                 "22:13:20.1000000 ARP", "22:13:20.4294967295 ARP", "[Error converting time] ARP",
                                 "Reverse Request who-is 02:00:00:00:00:01 tell 02:00:00:00:00:01",
                                 "ARP, Ethernet (len 6), IPv6 (len 16), length 52", "Unknown (77) \n\t0x0000:"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected;
    }
    compare(file, "-nn --nano", 21);
    compare(file, "-nn -v", 21);
    compare(file, "-nn -x", 21);
}

}  // namespace
