// journey --two-hosts --html from the recorded runs: the two-hosts journey
// (tests/fixtures/events/6.18-x86_64/journey-tcp-two-hosts.jsonl) beside the
// loopback one (journey-tcp.jsonl): one sequence diagram each, side by side,
// drawn by html.cpp with one arrow per packet; the facts against loopback
// with the text's sentences; the page alone without the loopback journey.
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "report/html.h"
#include "report/labels.h"
#include "report/two_hosts.h"
#include "support/recordings.h"
#include "support/two_hosts.h"
#include "unit/report/html_checks.h"

namespace tpk::report {
namespace {

using tpk::testing::count_of;
using tpk::testing::element;

class TwoHostsHtml : public ::testing::Test {
protected:
    journey::Journey veth = testing::replay("journey-tcp-two-hosts.jsonl");
    journey::Journey lo = testing::replay("journey-tcp.jsonl");
};

TEST_F(TwoHostsHtml, BothDiagramsSideBySideWithEachJourneysPackets) {
    ASSERT_FALSE(veth.packets.empty());
    ASSERT_FALSE(lo.packets.empty());
    auto v = journey::two_hosts_view(veth, testing::two_hosts_lab_facts(), &lo);
    const std::string page = render_two_hosts_html(veth, v, &lo);
    EXPECT_EQ(testing::html_balance_problem(page), "");
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(count_of(page, "<svg class=\"sequence\""), 2u) << "one diagram per journey, not repeated below";

    const std::string left = element(page, "<div class=\"path\" data-path=\"veth\"", "div");
    const std::string right = element(page, "<div class=\"path\" data-path=\"loopback\"", "div");
    ASSERT_FALSE(left.empty());
    ASSERT_FALSE(right.empty());
    EXPECT_LT(page.find(left), page.find(right)) << "veth on the left";
    EXPECT_NE(left.find("data-packets=\"" + std::to_string(veth.packets.size()) + "\""), std::string::npos);
    EXPECT_NE(right.find("data-packets=\"" + std::to_string(lo.packets.size()) + "\""), std::string::npos);
    EXPECT_EQ(count_of(left, "<g class=\"packet\""), veth.packets.size());
    EXPECT_EQ(count_of(right, "<g class=\"packet\""), lo.packets.size());
    // The same drawing as the journey's own page: its lanes, its devices.
    EXPECT_EQ(left, element(left, "<div class=\"path\"", "div"));
    EXPECT_NE(left.find(render_sequence_svg(veth, 0)), std::string::npos);
    EXPECT_NE(right.find(render_sequence_svg(lo, 1)), std::string::npos);
    EXPECT_NE(left.find(">veth-client</text>"), std::string::npos);
    EXPECT_NE(right.find(">lo</text>"), std::string::npos);
    // Distinct arrow markers: both diagrams live in one document.
    EXPECT_NE(left.find("id=\"arrow-0-data\""), std::string::npos);
    EXPECT_NE(right.find("id=\"arrow-1-data\""), std::string::npos);
}

TEST_F(TwoHostsHtml, WhatChangedSaysTheTextsSentences) {
    auto v = journey::two_hosts_view(veth, testing::two_hosts_lab_facts(), &lo);
    const std::string page = render_two_hosts_html(veth, v, &lo);
    const TwoHostsNotes notes = two_hosts_notes(v);
    for (const auto* sentence : {&notes.hosts, &notes.neighbour, &notes.route, &notes.devices, &notes.size}) {
        ASSERT_FALSE(sentence->empty());
        EXPECT_NE(page.find(html_escape(*sentence)), std::string::npos) << *sentence;
        // and the text says them too (wrapped there, so its first words)
        TextStyle plain;
        plain.color = false;
        plain.explain = true;
        EXPECT_NE(render_two_hosts_text(v, plain).find(sentence->substr(0, 40)), std::string::npos);
    }
    const std::string facts = element(page, "<table class=\"facts\"", "table");
    EXPECT_NE(facts.find(fmt::format("<tr data-fact=\"packets\"><td><b>packets</b></td><td>{}</td><td>{}</td>",
                                     veth.packets.size(), lo.packets.size())),
              std::string::npos)
        << facts;
    EXPECT_NE(facts.find(html_escape("type " + v.route_type)), std::string::npos);
    EXPECT_NE(facts.find("type " + v.lo_route_type), std::string::npos);
    EXPECT_NE(facts.find(std::to_string(v.syn_mss)), std::string::npos);
    EXPECT_NE(facts.find(std::to_string(v.lo_syn_mss)), std::string::npos);
    for (const auto& d : v.devices) EXPECT_NE(facts.find(d.dev + " (net:["), std::string::npos) << d.dev;
    // Time per layer: both paths' columns.
    const std::string layers = element(page, "<table class=\"compare\"", "table");
    EXPECT_NE(layers.find("tcp veth send"), std::string::npos) << layers;
    EXPECT_NE(layers.find("tcp lo receive"), std::string::npos) << layers;
}

TEST_F(TwoHostsHtml, WithoutLoopbackTheTwoHostsJourneyAlone) {
    auto v = journey::two_hosts_view(veth, testing::two_hosts_lab_facts(), nullptr);
    const std::string page = render_two_hosts_html(veth, v, nullptr);
    EXPECT_EQ(testing::html_balance_problem(page), "");
    EXPECT_EQ(count_of(page, "<svg class=\"sequence\""), 1u);
    EXPECT_EQ(count_of(page, "<div class=\"path\""), 1u);
    EXPECT_EQ(page.find("data-path=\"loopback\""), std::string::npos);
    EXPECT_NE(page.find("not run (--compare-loopback)"), std::string::npos);
    EXPECT_NE(page.find("What changes off loopback"), std::string::npos);
}

}  // namespace
}  // namespace tpk::report
