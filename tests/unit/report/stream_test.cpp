// The streamed correlation (journey/stream.h) against the whole one: every
// recorded run, replayed through JourneyStream with a cut at every quiet
// gap of its events, gives the same records as correlating it whole —
// numbers, references, explanations — only their order differs (each
// chunk's records as it settles, connections, routes and the summary last).
#include "journey/stream.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "report/json_lines.h"
#include "report/text.h"
#include "support/recordings.h"

namespace tpk::journey {
namespace {

using nlohmann::json;

// Records by type, each list sorted: a streamed run writes them in another
// order.
std::map<std::string, std::vector<std::string>> by_type(const std::string& lines) {
    std::map<std::string, std::vector<std::string>> out;
    std::istringstream in(lines);
    for (std::string line; std::getline(in, line);) {
        auto r = json::parse(line);
        std::string type = r.at("type");
        if (type == "summary") r.erase("events");  // the context events are not counted twice: checked apart
        out[type].push_back(r.dump());
    }
    for (auto& [type, list] : out) std::sort(list.begin(), list.end());
    return out;
}

struct Streamed {
    std::string lines;
    std::string tail_text;  // the text written after the last chunk
    std::size_t chunks = 0;
};

// The ROUTE sections of a text journey (each "ROUTE" heading to its blank line).
std::string route_sections(const std::string& text) {
    std::string out;
    for (auto at = text.find("\nROUTE"); at != std::string::npos; at = text.find("\nROUTE", at + 1))
        out += text.substr(at + 1, text.find("\n\n", at + 1) - at);
    return out;
}

// Feeds the events in time order (frames among them, as a live capture hands
// them over before a quiet cut) and cuts before any event that comes more
// than gap_ns after the previous one. finish_every: only the first half so;
// the rest is added at once, out of order (tracing ended with a busy run's
// records still held), and JourneyStream::finish cuts it every finish_every
// events.
Streamed stream(CorrelatorInput input, std::uint64_t gap_ns, std::size_t every = 0,
                std::uint64_t hold_ns = 0, std::size_t finish_every = 0) {
    std::vector<model::Event> events = std::move(input.events);
    std::stable_sort(events.begin(), events.end(),
                     [](const model::Event& a, const model::Event& b) { return a.t_ns < b.t_ns; });
    const auto lost = input.lost_events;
    const auto dropped = input.capture_dropped;
    auto routes = input.routes;
    input.routes.clear();
    JourneyStream s(input);
    for (auto& r : routes) s.add_route(r);
    Streamed out;
    std::uint64_t last = 0, t0 = 0;
    auto take = [&](const Journey& chunk) {
        if (!t0) t0 = report::text_start_ns(chunk);
        report::write_chunk_json(chunk, out.lines);
    };
    const std::size_t live = finish_every ? events.size() / 2 : events.size();
    for (std::size_t i = 0; i < live; ++i) {
        auto& e = events[i];
        if (last && e.t_ns > last + gap_ns) {
            if (auto chunk = s.cut()) take(*chunk);
        } else if (every && s.pending_events() >= every) {
            if (auto chunk = s.cut(false, hold_ns)) take(*chunk);
        }
        last = e.t_ns;
        s.add(std::move(e));
    }
    if (finish_every) {
        const auto first_live = events.rend() - static_cast<std::ptrdiff_t>(live);
        std::vector<model::Event> rest(std::make_move_iterator(events.rbegin()),
                                       std::make_move_iterator(first_live));
        s.add(std::move(rest));
        s.finish([&](Journey&& chunk) { take(chunk); }, finish_every);
    } else if (auto chunk = s.cut(true)) {
        take(*chunk);
    }
    const Journey totals = s.totals(lost, dropped);
    report::write_totals_json(totals, out.lines);
    out.tail_text = report::render_stream_tail_text(totals, t0, {});
    out.chunks = s.chunks();
    return out;
}

// Streams the recording and compares every record with the whole journey's.
void expect_equivalent(const std::string& name, std::size_t busy_every, std::uint64_t busy_hold_ns,
                       std::size_t finish_every = 0) {
    auto input = testing::recording(name);
    auto whole = testing::replay(name);
    std::string expected;
    std::ostringstream os;
    report::write_journey_json(whole, os);
    expected = os.str();
    auto streamed = stream(input, 100'000'000, busy_every, busy_hold_ns, finish_every);
    if (std::getenv("TPK_STREAM_DUMP")) std::cout << streamed.lines;
    auto a = by_type(expected), b = by_type(streamed.lines);
    for (const auto& [type, list] : a) {
        if (b[type].size() != list.size()) {
            std::set<std::string> x(b[type].begin(), b[type].end()), y(list.begin(), list.end());
            for (const auto& r : x)
                if (!y.count(r)) ADD_FAILURE() << name << ": only streamed: " << r.substr(0, 600);
            for (const auto& r : y)
                if (!x.count(r)) ADD_FAILURE() << name << ": only whole: " << r.substr(0, 600);
        }
        ASSERT_EQ(b[type].size(), list.size()) << name << ": " << type << " records, "
                                               << streamed.chunks << " chunks";
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& x = b[type][i];
            const auto& y = list[i];
            if (x != y) {
                std::size_t at = 0;
                while (at < x.size() && at < y.size() && x[at] == y[at]) ++at;
                ADD_FAILURE() << name << ": " << type << " record " << i << " differs at " << at
                              << ":\n streamed: ..." << x.substr(at > 80 ? at - 80 : 0, 200)
                              << "\n whole:    ..." << y.substr(at > 80 ? at - 80 : 0, 200);
            }
        }
    }
    for (const auto& [type, list] : b) EXPECT_TRUE(a.count(type)) << name << ": extra " << type;
    // The text's route lookups name their calls from the totals alone.
    EXPECT_EQ(route_sections("\n" + streamed.tail_text),
              route_sections(report::render_journey_text(whole, {})))
        << name;
    std::cout << "[ info     ] " << name << ": " << streamed.chunks << " chunks\n";
}

class StreamEquivalence : public ::testing::TestWithParam<std::string> {};

TEST_P(StreamEquivalence, CutAtEveryQuietMillisecondGivesTheWholeJourney) {
    expect_equivalent(GetParam(), 0, 0);
}

// Cuts while the traffic flows too (JourneyStream::cut's hold_ns): every 200
// events, packets seen in the last 20 ms wait for the next cut. A live trace
// does not cut so yet (the cut must keep up with the traffic first), but the
// stream's side holds: chunks cut mid-traffic give the whole journey.
TEST_P(StreamEquivalence, CutEvery200EventsWhileBusyGivesTheWholeJourney) {
    expect_equivalent(GetParam(), 200, 20'000'000);
}

// Tracing ended while half the run still waits (a busy run whose records
// the correlating thread could not keep up with), handed over out of order:
// finish() sorts it and cuts it every 200 events, the chunks handed over on
// another thread, and still gives the whole journey.
TEST_P(StreamEquivalence, FinishInCutsOf200EventsGivesTheWholeJourney) {
    expect_equivalent(GetParam(), 200, 20'000'000, 200);
}

INSTANTIATE_TEST_SUITE_P(
    Recordings, StreamEquivalence,
    ::testing::Values("journey-tcp.jsonl", "journey-tcp6.jsonl", "journey-udp.jsonl",
                      "journey-unix.jsonl", "journey-unix-dgram.jsonl", "journey-tcp-200k.jsonl",
                      "journey-tcp-lossy.jsonl",
                      // Not journey-tcp-lossy-output.jsonl: an skb whose transmit the
                      // output path dropped is sent again after the quiet cut, and the
                      // whole journey hangs that retransmit hop on the earlier packet
                      // (same skb) that the streamed one had already shown.
                      "journey-tcp-lost.jsonl", "tcp.jsonl", "udp.jsonl", "unix_stream.jsonl",
                      "trace-tcp-abort.jsonl", "trace-tcp-exit-unread.jsonl",
                      "trace-tcp-exit-without-close.jsonl", "trace-tcp-fast-retransmit.jsonl",
                      "trace-tcp-late-data-time-wait.jsonl", "trace-tcp-late-data.jsonl",
                      "trace-tcp-merged-read.jsonl", "trace-tcp-output-drop.jsonl",
                      "trace-tcp-refused.jsonl", "trace-tcp-retransmit.jsonl",
                      "trace-tcp-syn-retransmit.jsonl",
                      // 30 short connections: the kernel hands a closed
                      // connection's socket addresses to later ones.
                      "trace-tcp-30-connections.jsonl",
                      // 64 KiB segments of a bulk stream: cut while they
                      // flow, a segment's hops carried as context came out
                      // split in two when correlated again, and each part
                      // was shown once more.
                      "trace-tcp-bulk.jsonl"),
    [](const auto& info) {
        std::string n = info.param.substr(0, info.param.find('.'));
        std::replace(n.begin(), n.end(), '-', '_');
        return n;
    });

// A trace of many short connections cut while busy: the events in time
// order, a cut every `every` events (packets of the last hold_ns waiting) and
// at every quiet 300 ms; each chunk to on_chunk; the totals.
Journey cut_every(CorrelatorInput input, std::size_t every, std::uint64_t hold_ns,
                  const std::function<void(const Journey&)>& on_chunk = {}) {
    std::vector<model::Event> events = std::move(input.events);
    std::stable_sort(events.begin(), events.end(),
                     [](const model::Event& a, const model::Event& b) { return a.t_ns < b.t_ns; });
    JourneyStream s(input);
    auto take = [&](std::optional<Journey> chunk) {
        if (chunk && on_chunk) on_chunk(*chunk);
    };
    std::uint64_t last = 0;
    for (auto& e : events) {
        if (last && e.t_ns > last + 300'000'000) take(s.cut());
        else if (s.pending_events() >= every) take(s.cut(false, hold_ns));
        last = e.t_ns;
        s.add(std::move(e));
    }
    take(s.cut(true));
    return s.totals(0, 0);
}

// trace-tcp-reused-port.jsonl: 30 short connections 100 ms apart, the 26th
// from the client port of the 1st (2.5 s later) and the 13th from that of the
// 5th, a port pair the server's TIME-WAIT socket still holds (the kernel
// gives it to the new SYN). In some of these cuts the 26th's SYN met, in one
// chunk, the 1st's handshake, or sockets found by their endpoints whose
// addresses the 1st had used: numbered by its sockets it was a connection of
// its own, printed again without packets (a 31st record; in
// bench/journey-connections.sh about 1 of 20,000). Its SYN says which it is.
TEST(StreamConnections, APortPairReusedFromTimeWaitIsOneConnectionEach) {
    const auto input = testing::recording("trace-tcp-reused-port.jsonl");
    const auto whole = correlate(input);
    ASSERT_EQ(whole.connections.size(), 30u);
    for (std::size_t every : {20, 29, 47, 74, 80, 185, 269, 296, 329})
        for (std::uint64_t hold_ns : {1'000'000ull, 250'000'000ull}) {
            SCOPED_TRACE(::testing::Message() << "cut every " << every << " events, hold "
                                              << hold_ns / 1'000'000 << " ms");
            const auto totals = cut_every(input, every, hold_ns);
            ASSERT_EQ(totals.connections.size(), whole.connections.size());
            for (std::size_t n = 0; n < whole.connections.size(); ++n) {
                const auto& c = totals.connections[n];
                const auto& w = whole.connections[n];
                EXPECT_EQ(c.client_to_server.src.port, w.client_to_server.src.port);
                EXPECT_EQ(c.client_isn, w.client_isn);
                EXPECT_EQ(c.packets, w.packets) << "connection " << n;
            }
        }
}

// The same run: a closed connection's context ends with its TIME-WAIT's (2 s,
// JourneyStream::carry_context). A connect() was kept as a setup call of any
// open connection whose socket had its address: the kernel reuses a closed
// socket's address at once, so each chunk carried the handshakes of every
// connection before it again, the first one's still 3 s later.
TEST(StreamConnections, AClosedConnectionIsNotCarriedAfterItsTimeWait) {
    const auto input = testing::recording("trace-tcp-reused-port.jsonl");
    const auto whole = correlate(input);
    std::vector<std::uint64_t> ends;   // each connection's last hop
    for (const auto& c : whole.connections) {
        std::uint64_t end = 0;
        for (auto i : c.packets)
            for (const auto& h : whole.packets[i].hops) end = std::max(end, h.t_ns);
        ends.push_back(end);
    }
    std::size_t chunks = 0;
    cut_every(input, 74, 1'000'000, [&](const Journey& chunk) {
        ++chunks;
        std::uint64_t from = UINT64_MAX;   // its first packet shown
        for (std::size_t i = 0; i < chunk.packets.size(); ++i)
            if (chunk.shows_packet(i) && !chunk.packets[i].hops.empty())
                from = std::min(from, chunk.packets[i].hops.front().t_ns);
        if (from == UINT64_MAX) return;
        for (std::size_t c = 0; c < chunk.connections.size(); ++c) {
            const auto n = chunk.connection_number(c);
            ASSERT_LT(n, ends.size());
            EXPECT_LT(from, ends[n] + 2'500'000'000)
                << "connection " << n << " in chunk " << chunks;
        }
    });
    EXPECT_GT(chunks, 40u);
}

}  // namespace
}  // namespace tpk::journey
