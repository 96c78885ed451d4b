// tracepacket backlog, run for real (root: a network namespace and BPF): the
// accept queue tops out at backlog + 1, the listener drops the tracer saw
// equal the namespace's ListenDrops, every client ends served or with its
// timeout reported, and nothing outlives the run (namespace, processes).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "report/labels.h"
#include "runtime/labs/html_page.h"
#include "support/command_run.h"
#include "support/json_lines.h"

namespace {

using tpk::testing::JsonLinesOutput;
using tpk::testing::run_json_lines;

std::string binary() { return TPK_BINARY; }

bool can_run_lab(std::string* why) {
    if (geteuid() != 0) {
        *why = "needs root (a network namespace and BPF); run as root";
        return false;
    }
    return true;
}

#define REQUIRE_LAB()                                       \
    do {                                                    \
        std::string why;                                    \
        if (!can_run_lab(&why)) GTEST_SKIP() << why;        \
    } while (0)

// Every process's network namespace inode, from /proc/*/ns/net.
std::set<std::uint64_t> namespaces_in_use() {
    std::set<std::uint64_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        struct stat st {};
        if (stat((entry.path() / "ns/net").c_str(), &st) == 0) out.insert(st.st_ino);
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

std::int64_t counter(const nlohmann::json& summary, const std::string& key) {
    return summary.at("counter_deltas").value(key, std::int64_t{0});
}

void expect_nothing_left(const JsonLinesOutput& run, const std::string& netns_before) {
    auto labs = run.of("backlog_lab");
    ASSERT_EQ(labs.size(), 1u) << run.raw;
    std::uint64_t inode = labs[0].at("netns_inode");
    EXPECT_EQ(namespaces_in_use().count(inode), 0u) << "the lab's namespace net:[" << inode << "] outlived the run";
    EXPECT_EQ(tpk::testing::run_command("ip netns list").out, netns_before);
}

TEST(BacklogLab, AcceptQueueStopsAtBacklogPlusOneAndDropsMatchTheCounters) {
    REQUIRE_LAB();
    std::string netns_before = tpk::testing::run_command("ip netns list").out;
    std::string host_cookies = read_file("/proc/sys/net/ipv4/tcp_syncookies");
    // A server that never gets to accept() during the run: the queue fills and stays full.
    auto run = run_json_lines(binary() + " backlog --backlog 3 --clients 10 --accept-delay 10000 --duration 2.5 --json");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    const auto& summary = run.summary();
    ASSERT_EQ(summary.at("type"), "backlog_summary") << run.raw;
    ASSERT_TRUE(run.of("backlog_lab")[0].at("kernel_events").get<bool>()) << run.raw;

    EXPECT_EQ(summary.at("accept_limit"), 3);
    EXPECT_EQ(summary.at("peak_accept_queue"), 4) << "backlog + 1 on Linux";
    for (const auto& q : run.of("backlog_queue")) EXPECT_LE(q.at("accept_queue").get<int>(), 4) << q;
    EXPECT_EQ(summary.at("accepted"), 0);

    // Six clients found the queue full: the listener dropped something.
    std::int64_t listen_drops = counter(summary, "TcpExt.ListenDrops");
    EXPECT_GT(listen_drops, 0);
    EXPECT_EQ(summary.at("listener_drops_seen").get<std::int64_t>(), listen_drops) << summary;
    EXPECT_EQ(counter(summary, "TcpExt.ListenOverflows") + counter(summary, "TcpExt.TCPReqQFullDrop"), listen_drops);
    std::int64_t drop_records = 0;
    for (const auto& d : run.of("backlog_drop")) drop_records += d.at("listener_drop").get<bool>();
    EXPECT_EQ(drop_records, listen_drops);
    EXPECT_GT(summary.at("syns_refused").get<int>(), 0);

    // Every client ends in a state it reports: four wait in the accept queue
    // (connected, not accepted), the others timed out or are half-open.
    auto results = run.of("backlog_client_result");
    ASSERT_EQ(results.size(), 10u);
    int waiting = 0;
    for (const auto& r : results) {
        std::string outcome = r.at("outcome");
        EXPECT_TRUE(outcome == "not_accepted" || outcome == "connect_timeout" || outcome == "half_open") << r;
        waiting += outcome == "not_accepted";
        EXPECT_FALSE(r.at("detail").get<std::string>().empty());
    }
    EXPECT_EQ(waiting, 4);

    expect_nothing_left(run, netns_before);
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/tcp_syncookies"), host_cookies);
}

TEST(BacklogLab, EveryClientIsServedWhenTheServerAcceptsInTime) {
    REQUIRE_LAB();
    std::string netns_before = tpk::testing::run_command("ip netns list").out;
    // The refused clients come back on their SYN timer (1 s, then 3 s): the
    // duration is a bound far above that, the lab ends when all are served.
    auto run = run_json_lines(binary() + " backlog --backlog 3 --clients 10 --accept-delay 20 --duration 20 --json");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    const auto& summary = run.summary();
    EXPECT_EQ(summary.at("end"), "every client done");
    EXPECT_EQ(summary.at("accepted"), 10);
    for (const auto& r : run.of("backlog_client_result")) {
        EXPECT_EQ(r.at("outcome"), "served") << r;
        EXPECT_GE(r.at("syns_sent").get<int>(), 1);
        // A client whose SYN was retransmitted waited for the SYN timer.
        if (r.at("syn_retransmits").get<int>() > 0) {
            EXPECT_GE(r.at("connect_ms").get<double>(), 900.0) << r;
        }
    }
    EXPECT_EQ(summary.at("listener_drops_seen").get<std::int64_t>(), counter(summary, "TcpExt.ListenDrops"));
    expect_nothing_left(run, netns_before);
}

TEST(BacklogLab, SyncookiesOffChangesTheLabsNamespaceOnly) {
    REQUIRE_LAB();
    std::string host_cookies = read_file("/proc/sys/net/ipv4/tcp_syncookies");
    auto run = run_json_lines(binary() + " backlog --clients 6 --accept-delay 10000 --duration 0.5 --syncookies off --json");
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    auto lab = run.of("backlog_lab");
    ASSERT_EQ(lab.size(), 1u);
    EXPECT_EQ(lab[0].at("syncookies"), "0");
    EXPECT_TRUE(lab[0].at("syncookies_set").get<bool>());
    EXPECT_EQ(counter(run.summary(), "TcpExt.SyncookiesSent"), 0);
    EXPECT_EQ(read_file("/proc/sys/net/ipv4/tcp_syncookies"), host_cookies);
}

TEST(BacklogLab, SigintAndSigtermEndTheLabAndLeaveNothing) {
    REQUIRE_LAB();
    std::string netns_before = tpk::testing::run_command("ip netns list").out;
    for (const char* signal : {"INT", "TERM"}) {
        // The page is written on a signal's way out too.
        const std::string page = "/tmp/tpk-backlog-signal-" + std::to_string(getpid()) + ".html";
        auto run = run_json_lines(std::string("timeout --preserve-status -s ") + signal + " 1 " + binary() +
                                  " backlog --accept-delay 10000 --duration 60 --json --html " + page);
        std::string why;
        nlohmann::json html = tpk::testing::read_html_page(page, &why);
        std::filesystem::remove(page);
        ASSERT_FALSE(html.is_discarded() || html.is_null()) << why;
        EXPECT_TRUE(html.at("errors").empty()) << html.at("errors");
        EXPECT_EQ(html.at("client_rows").size(), 10u);
        EXPECT_EQ(run.exit_code, std::string(signal) == "INT" ? 130 : 143) << run.raw;
        ASSERT_FALSE(run.records.empty()) << run.raw;
        EXPECT_EQ(run.summary().at("end"), std::string("SIG") + signal);
        EXPECT_EQ(run.of("backlog_client_result").size(), 10u);
        expect_nothing_left(run, netns_before);
    }
}

// --html beside --json: the page is written, parses, and shows what the JSON
// of the same run says: the queue chart's peak (backlog + 1) and limit, one
// row and one bar per client with the same outcomes, every timeline record,
// the drops with their reasons, the explanation's sentences word for word.
TEST(BacklogLab, HtmlPageShowsTheSameRunAsTheJson) {
    REQUIRE_LAB();
    char dir[] = "/tmp/tpk-backlog-html-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string page = std::string(dir) + "/backlog.html";
    auto run = run_json_lines(binary() + " backlog --backlog 3 --clients 7 --accept-delay 10000 --duration 1.5 --json "
                              "--html " + page);
    ASSERT_EQ(run.exit_code, 0) << run.raw;
    std::string why;
    nlohmann::json html = tpk::testing::read_html_page(page, &why);
    const std::string text = tpk::testing::slurp(page);
    std::filesystem::remove_all(dir);
    ASSERT_FALSE(html.is_discarded() || html.is_null()) << why;
    EXPECT_TRUE(html.at("errors").empty()) << html.at("errors");
    EXPECT_TRUE(html.at("doctype").get<bool>());
    EXPECT_EQ(html.at("scripts"), 0) << "readable without JavaScript";

    const auto& summary = run.summary();
    ASSERT_EQ(summary.at("type"), "backlog_summary") << run.raw;
    ASSERT_EQ(summary.at("peak_accept_queue"), 4) << "backlog + 1 on Linux";
    const auto& chart = html.at("queue_chart");
    ASSERT_TRUE(chart.is_object()) << "no queue chart";
    EXPECT_EQ(chart.at("data-peak-accept-queue"), std::to_string(summary.at("peak_accept_queue").get<int>()));
    EXPECT_EQ(chart.at("data-accept-limit"), std::to_string(summary.at("accept_limit").get<int>()));
    EXPECT_EQ(chart.at("data-peak-syn-queue"), std::to_string(summary.at("peak_syn_queue").get<int>()));
    EXPECT_EQ(html.at("accept_queue_title"), "accept queue, peak 4");
    int highest = 0;
    for (const auto& q : run.of("backlog_queue")) highest = std::max(highest, q.at("accept_queue").get<int>());
    EXPECT_EQ(highest, 4);
    EXPECT_EQ(chart.at("data-samples"), std::to_string(run.of("backlog_queue").size()));

    auto results = run.of("backlog_client_result");
    ASSERT_EQ(results.size(), 7u);
    ASSERT_EQ(html.at("client_rows").size(), 7u);
    EXPECT_EQ(html.at("client_chart_rows"), 7);
    for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(html.at("client_rows")[i], results[i].at("outcome"));

    for (const char* type : {"backlog_client", "backlog_accept", "backlog_queue", "backlog_client_state",
                             "backlog_counters", "backlog_drop", "backlog_retransmit"})
        EXPECT_EQ(html.at("timeline_types").value(type, 0), static_cast<int>(run.of(type).size())) << type;
    auto drops = run.of("backlog_drop");
    ASSERT_EQ(html.at("drops").size(), drops.size());
    for (std::size_t i = 0; i < drops.size(); ++i) EXPECT_EQ(html.at("drops")[i], drops[i].at("reason"));
    EXPECT_FALSE(drops.empty()) << "three clients found the accept queue full";

    for (const auto& sentence : summary.at("explanation"))
        EXPECT_NE(text.find(tpk::report::html_escape(sentence.get<std::string>())), std::string::npos) << sentence;
    for (const auto& [key, value] : summary.at("counter_deltas").items())
        EXPECT_NE(text.find("data-counter=\"" + key + "\""), std::string::npos) << key;
}

// A recorded run (--record-raw, the fixtures' format) replays to the very
// output the run printed, without a namespace or BPF.
TEST(BacklogLab, ARecordedRunReplaysToTheSameOutput) {
    REQUIRE_LAB();
    const std::string rec = "/tmp/tpk-backlog-rec-" + std::to_string(getpid()) + ".jsonl";
    auto live = tpk::testing::run_command(binary() + " backlog --clients 5 --accept-delay 100 --duration 3 --json "
                                          "--record-raw " + rec);
    ASSERT_EQ(live.status, 0) << live.err;
    auto replay = tpk::testing::run_command(binary() + " backlog --replay " + rec + " --json");
    std::filesystem::remove(rec);
    ASSERT_EQ(replay.status, 0) << replay.err;
    EXPECT_EQ(replay.out, live.out);
    EXPECT_NE(live.out.find("\"type\":\"backlog_summary\""), std::string::npos);
}

TEST(BacklogLab, HtmlBadPathsAreRefused) {
    auto missing = tpk::testing::run_command(binary() + " backlog --html /nonexistent-tpk-dir/page.html");
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
    auto dir = tpk::testing::run_command(binary() + " backlog --html /tmp");
    EXPECT_NE(dir.status, 0);
    EXPECT_NE(dir.err.find("is a directory"), std::string::npos) << dir.err;
    REQUIRE_LAB();
    // A file that cannot take the page: the run's output is printed, then the error.
    auto full = tpk::testing::run_command(binary() + " backlog --clients 2 --accept-delay 0 --duration 0.5 --json "
                                          "--html /dev/full");
    EXPECT_NE(full.status, 0);
    EXPECT_NE(full.err.find("--html: write /dev/full"), std::string::npos) << full.err;
}

TEST(BacklogLab, BadOptionsAreRefused) {
    for (const char* args : {"--syncookies maybe", "--clients 0", "--clients 100000", "--backlog -1",
                             "--duration 0", "--accept-delay -5", "--replay /nonexistent-tpk/run.jsonl",
                             "--replay /etc/hostname"}) {
        auto r = tpk::testing::run_command(binary() + " backlog " + args);
        EXPECT_NE(r.status, 0) << args;
        EXPECT_FALSE(r.err.empty()) << args;
    }
}

}  // namespace
