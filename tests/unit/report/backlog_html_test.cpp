// tracepacket backlog's writers on one small run built here (the lab has no
// recording: its runs are checked live in tests/runtime/labs/backlog_test):
// the queue chart is a step line whose levels are the samples' values, in
// proportion, at increasing times; the peak and the limit are the findings';
// one row and one bar per client with the outcome the findings give; the
// drop with its reason; and the text's sentences, word for word.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/backlog.h"
#include "report/labels.h"
#include "unit/report/html_checks.h"

namespace tpk::report {
namespace {

using journey::BacklogRun;
using tpk::testing::count_of;
using tpk::testing::element;

constexpr std::uint64_t kT0 = 1'000'000'000;  // the first connect()
constexpr std::uint64_t ms(double v) { return kT0 + static_cast<std::uint64_t>(v * 1e6); }
constexpr std::uint16_t kServer = 40000;

model::Event segment(model::EventKind kind, std::uint64_t t, std::uint16_t client, bool to_server,
                     std::uint8_t flags) {
    model::Event e;
    e.kind = kind;
    e.t_ns = t;
    e.flow.protocol = IPPROTO_TCP;
    e.flow.src.family = e.flow.dst.family = AF_INET;
    e.flow.src.port = to_server ? client : kServer;
    e.flow.dst.port = to_server ? kServer : client;
    e.tcp_flags = flags;
    return e;
}

// Backlog 3, five clients: four connect (one is served), the fifth's SYN is
// refused and never answered; one handshake ACK dropped TCP_LISTEN_OVERFLOW.
BacklogRun small_run() {
    BacklogRun r;
    r.options.backlog = 3;
    r.options.clients = 5;
    r.options.accept_delay = std::chrono::milliseconds(40);
    r.duration_s = 0.2;
    r.server_port = kServer;
    r.netns_inode = 4026532000;
    r.syncookies = "1";
    r.t0_ns = kT0;
    r.end_ns = ms(200);
    r.end_reason = "duration reached (0.2 s)";
    r.queue = {{ms(-0.5), 0, 3, 0}, {ms(1), 2, 3, 1}, {ms(2), 4, 3, 0}, {ms(50), 3, 3, 0}};
    for (int i = 1; i <= 5; ++i) {
        lab::BacklogClient c;
        c.index = i;
        c.port = static_cast<std::uint16_t>(50000 + i);
        c.connect_start_ns = ms(0.01 * i);
        if (i <= 4) c.connected_ns = ms(0.5 + 0.1 * i), c.sent_ns = c.connected_ns + 1000;
        if (i == 1) c.served_ns = ms(45);
        r.clients.push_back(c);
    }
    r.accepts.push_back({ms(44), 50001, true});
    r.counters.push_back({ms(-1), {{"TcpExt.ListenOverflows", 0}, {"TcpExt.ListenDrops", 0}}});
    r.counters.push_back({ms(3), {{"TcpExt.ListenOverflows", 2}, {"TcpExt.ListenDrops", 2}}});
    // Client 5: SYN arrives, no SYN-ACK (refused). Client 4: its ACK dropped.
    r.events.push_back(segment(model::EventKind::net_dev_queue, ms(0.05), 50005, true, model::kSyn));
    r.events.push_back(segment(model::EventKind::netif_receive_skb, ms(0.06), 50005, true, model::kSyn));
    auto drop = segment(model::EventKind::kfree_skb, ms(0.9), 50004, true, model::kAck);
    drop.drop_reason_name = "TCP_LISTEN_OVERFLOW";
    r.events.push_back(drop);
    return r;
}

// The distinct y levels of a polyline's points, in order.
std::vector<double> levels(const std::string& polyline) {
    const std::string key = "points=\"";
    const auto at = polyline.find(key);
    std::istringstream in(polyline.substr(at + key.size(), polyline.find('"', at + key.size()) - at - key.size()));
    std::vector<double> ys;
    std::string pair;
    double last_x = -1;
    while (in >> pair) {
        const double x = std::stod(pair.substr(0, pair.find(','))), y = std::stod(pair.substr(pair.find(',') + 1));
        EXPECT_GE(x, last_x) << "time runs left to right";
        last_x = x;
        if (ys.empty() || ys.back() != y) ys.push_back(y);
    }
    return ys;
}

TEST(BacklogHtml, QueueChartStepsThroughTheSamplesToThePeak) {
    const BacklogRun run = small_run();
    const std::string svg = render_backlog_queue_svg(run);
    EXPECT_NE(svg.find("data-peak-accept-queue=\"4\" data-accept-limit=\"3\" data-peak-syn-queue=\"1\" "
                       "data-samples=\"4\""),
              std::string::npos)
        << svg;
    const auto accept = levels(element(svg, "<polyline class=\"accept-queue\"", "polyline"));
    ASSERT_EQ(accept.size(), 4u) << "0, 2, 4, 3";
    // Heights above the zero line in proportion to the values 2, 4, 3.
    const double unit = (accept[0] - accept[2]) / 4;
    ASSERT_GT(unit, 0);
    EXPECT_NEAR(accept[0] - accept[1], 2 * unit, 0.2);
    EXPECT_NEAR(accept[0] - accept[3], 3 * unit, 0.2);
    const auto syn = levels(element(svg, "<polyline class=\"syn-queue\"", "polyline"));
    ASSERT_EQ(syn.size(), 3u) << "0, 1, 0";
    EXPECT_NEAR(syn[0] - syn[1], unit, 0.2);
    EXPECT_EQ(syn[0], accept[0]) << "one zero line";
    // The limit's line at 3, the full mark at backlog + 1 = the peak.
    auto line_y = [&](const std::string& cls) {
        const std::string l = svg.substr(svg.find("<line class=\"" + cls + "\""));
        const auto y1 = l.find("y1=\"");
        return std::stod(l.substr(y1 + 4));
    };
    EXPECT_NEAR(accept[0] - line_y("accept-limit"), 3 * unit, 0.2);
    EXPECT_NEAR(line_y("accept-full"), accept[2], 0.2);
    EXPECT_EQ(count_of(svg, "class=\"drop-mark\""), 2u) << "the refused SYN and the dropped ACK";
}

TEST(BacklogHtml, PageHoldsEveryClientTheDropsAndTheTextsSentences) {
    const BacklogRun run = small_run();
    const std::string page = render_backlog_html(run);
    EXPECT_EQ(testing::html_balance_problem(page), "");
    EXPECT_EQ(page.find("<script"), std::string::npos);

    const auto results = journey::backlog_client_results(run);
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(results[0].outcome, "served");
    EXPECT_EQ(results[4].outcome, "connect_timeout");
    EXPECT_EQ(count_of(page, "<tr class=\"client-result"), 5u);
    EXPECT_EQ(count_of(page, "<g class=\"client\""), 5u);
    for (const auto& r : results) {
        EXPECT_NE(page.find("<g class=\"client\" data-client=\"" + std::to_string(r.client.index) +
                            "\" data-outcome=\"" + r.outcome + "\""),
                  std::string::npos);
        EXPECT_NE(page.find(html_escape(r.detail)), std::string::npos) << r.detail;
    }
    const std::string drops = element(page, "<table class=\"drops\"", "table");
    EXPECT_NE(drops.find("data-reason=\"TCP_LISTEN_OVERFLOW\""), std::string::npos) << drops;
    EXPECT_NE(drops.find("data-reason=\"SYN_REFUSED\""), std::string::npos) << drops;
    EXPECT_NE(page.find("<tr data-counter=\"TcpExt.ListenOverflows\"><td class=\"mono\">TcpExt.ListenOverflows</td>"
                        "<td class=\"num\">+2</td>"),
              std::string::npos);

    // The text's sentences, not rewritten: intro, summary, why, timeline.
    const std::string text = render_backlog_text(run);
    const auto f = find(run);
    std::vector<std::string> shared = backlog_intro_lines(run);
    for (const auto& s : backlog_summary_lines(run, f)) shared.push_back(s);
    for (const auto& s : journey::backlog_explanation(run, f)) shared.push_back(s);
    for (const auto& l : journey::backlog_timeline(run)) shared.push_back(l.text);
    for (const auto& s : shared) {
        EXPECT_NE(text.find(s), std::string::npos) << s;
        EXPECT_NE(page.find(html_escape(s)), std::string::npos) << s;
    }
}

TEST(BacklogHtml, JsonLinesAndTextTellTheSameClients) {
    const BacklogRun run = small_run();
    std::ostringstream out;
    write_backlog_json(run, out);
    std::istringstream in(out.str());
    std::string line;
    std::vector<nlohmann::json> results;
    nlohmann::json summary;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        if (j.at("type") == "backlog_client_result") results.push_back(j);
        if (j.at("type") == "backlog_summary") summary = j;
    }
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(summary.at("peak_accept_queue"), 4);
    EXPECT_EQ(summary.at("listener_drops_seen"), 2);
    EXPECT_EQ(summary.at("outcomes").at("served"), 1);
    EXPECT_EQ(results[4].at("outcome"), "connect_timeout");
    EXPECT_TRUE(results[4].at("connect_ms").is_null());
    EXPECT_EQ(results[3].at("drops"), 1) << "client 4's ACK";
}

TEST(BacklogHtml, WithoutKernelEventsOrSamplesThePageSaysSo) {
    BacklogRun run = small_run();
    run.events.clear();
    run.tracer_missing = "BPF needs CAP_BPF & <root>";
    std::string page = render_backlog_html(run);
    EXPECT_EQ(testing::html_balance_problem(page), "");
    EXPECT_NE(page.find(html_escape("Kernel events unavailable: " + *run.tracer_missing)), std::string::npos);
    EXPECT_EQ(page.find("<table class=\"drops\""), std::string::npos);
    // Counts from kernel events are not known, not zero.
    const std::string row = element(page, "<tr class=\"client-result", "tr");
    EXPECT_NE(row.find("<td class=\"num\">-</td>"), std::string::npos) << row;

    // A run that ended before its first sample (SIGINT at once): still a page.
    BacklogRun empty;
    empty.end_reason = "SIGINT";
    page = render_backlog_html(empty);
    EXPECT_EQ(testing::html_balance_problem(page), "");
    EXPECT_NE(page.find("data-samples=\"0\""), std::string::npos);
}

}  // namespace
}  // namespace tpk::report
