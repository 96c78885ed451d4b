// How drops, retransmits and resets read, in text and in JSON Lines, on the
// recorded runs of tests/fixtures/events/6.18-x86_64/trace-tcp-*.jsonl (see
// its README): the lines a person looks for, exactly.
#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "journey/text.h"
#include "report/json_lines.h"
#include "report/text.h"
#include "journey/explain.h"
#include "support/recordings.h"

namespace tpk::report {
namespace {

using journey::tcp_flags_text;

using testing::replay;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// The lines of packet #n's block, up to its hop table.
std::vector<std::string> packet_block(const std::string& text, int n) {
    auto all = lines_of(text);
    std::string head = "#";
    head += std::to_string(n);
    head += ' ';
    std::vector<std::string> out;
    bool in = false;
    for (const auto& l : all) {
        if (l.rfind(head, 0) == 0) in = true;
        else if (in && l.find("+µs") != std::string::npos) break;
        if (in) out.push_back(l);
    }
    return out;
}

// The block as one string, wrapped lines joined again (a continuation line
// is indented by 10 or more spaces, a new line of the block by 5), so the
// checks do not depend on where a port number made a line wrap.
std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) {
        if (!s.empty() && l.rfind("          ", 0) == 0) {
            s.back() = ' ';
            s += l.substr(l.find_first_not_of(' '));
        } else {
            s += l;
        }
        s += '\n';
    }
    return s;
}

std::size_t columns(const std::string& line) {
    std::size_t n = 0;
    for (unsigned char c : line) n += (c & 0xC0) != 0x80;
    return n;
}

std::vector<nlohmann::json> records(const journey::Journey& j) {
    std::ostringstream out;
    write_journey_json(j, out);
    std::vector<nlohmann::json> r;
    for (const auto& l : lines_of(out.str())) r.push_back(nlohmann::json::parse(l));
    return r;
}

std::vector<nlohmann::json> of(const std::vector<nlohmann::json>& all, const std::string& type) {
    std::vector<nlohmann::json> out;
    for (const auto& r : all)
        if (r.at("type") == type) out.push_back(r);
    return out;
}

TEST(JourneyErrorsText, FitsOneHundredColumns) {
    for (const char* name : {"trace-tcp-refused.jsonl", "trace-tcp-abort.jsonl",
                             "trace-tcp-retransmit.jsonl", "trace-tcp-output-drop.jsonl"}) {
        for (const auto& l : lines_of(render_journey_text(replay(name), TextStyle{})))
            EXPECT_LE(columns(l), 100u) << name << ": " << l;
    }
}

TEST(JourneyErrorsText, RefusedConnect) {
    auto text = render_journey_text(replay("trace-tcp-refused.jsonl"), TextStyle{});
    auto syn = joined(packet_block(text, 1));
    auto rst = joined(packet_block(text, 2));
    EXPECT_NE(syn.find("\n     DROPPED: NO_SOCKET in tcp (receive side)\n"), std::string::npos)
        << syn;
    EXPECT_NE(rst.find("#2   reset     server -> client  [R.] seq 0 ack 1 len 0\n"),
              std::string::npos)
        << rst;
    EXPECT_NE(rst.find("\n     RESET    the kernel answered packet #1 with it: no socket takes "
                       "127.0.0.1:"),
              std::string::npos)
        << rst;
    EXPECT_NE(rst.find("(nothing listens there)\n"), std::string::npos) << rst;
    EXPECT_NE(rst.find("\n     reported to the client (pid "), std::string::npos) << rst;
    EXPECT_NE(rst.find(") as connect(fd=3) = -1 ECONNREFUSED\n"), std::string::npos) << rst;
    EXPECT_NE(text.find("\nretransmits: 0, resets: 1\n"), std::string::npos);
    // The refused connect() lists both the SYN it sent and the RST that failed it.
    EXPECT_NE(text.find("connect(fd=3) = -1 ECONNREFUSED -> packets #1 #2"), std::string::npos)
        << text;
}

// As if connect() had been non-blocking (it returns -EINPROGRESS; the program
// learns the refusal from getsockopt(SO_ERROR), which is not traced): the
// recording with that one return value changed.
TEST(JourneyErrorsText, ResetNoTracedCallFailedWith) {
    auto input = testing::recording("trace-tcp-refused.jsonl");
    std::size_t changed = 0;
    for (auto& e : input.events)
        if (e.kind == model::EventKind::syscall_exit && e.syscall == "connect") {
            e.ret = -EINPROGRESS;
            ++changed;
        }
    ASSERT_EQ(changed, 1u);
    auto j = journey::correlate(std::move(input));
    journey::explain(j);
    ASSERT_EQ(j.packets.size(), 2u);
    EXPECT_EQ(j.packets[1].error_syscall, journey::kNone);
    auto rst = joined(packet_block(render_journey_text(j, TextStyle{}), 2));
    EXPECT_NE(rst.find("\n     received: the receiving socket is closed (tcp_receive_reset); no "
                       "traced call on it failed with the error (after a non-blocking connect() "
                       "the program reads it with getsockopt(SO_ERROR))\n"),
              std::string::npos)
        << rst;
}

TEST(JourneyErrorsText, AbortiveClose) {
    auto text = render_journey_text(replay("trace-tcp-abort.jsonl"), TextStyle{});
    auto rst = joined(packet_block(text, 8));
    EXPECT_NE(rst.find("\n     RESET    abortive close: close() sent RST instead of FIN "
                       "(SO_LINGER with a zero timeout, or bytes still unread in "
                       "the receive queue)\n"),
              std::string::npos)
        << rst;
    EXPECT_NE(rst.find(") as recvfrom(fd=4, len=100) = -1 ECONNRESET\n"), std::string::npos)
        << rst;
    EXPECT_NE(rst.find("\n     reported to the server (pid "), std::string::npos) << rst;
}

TEST(JourneyErrorsText, DroppedOnArrivalAndRetransmitted) {
    auto text = render_journey_text(replay("trace-tcp-retransmit.jsonl"), TextStyle{});
    auto lost = joined(packet_block(text, 4));
    auto again = joined(packet_block(text, 5));
    EXPECT_NE(lost.find("\n     DROPPED: NETFILTER_DROP in ip (receive side): TCP sent its bytes "
                        "again as packet #5\n"),
              std::string::npos)
        << lost;
    EXPECT_NE(again.find("\n     sent by: retransmit timer (RTO or tail-loss probe); bytes from "
                         "sendto (client python3 pid "),
              std::string::npos)
        << again;
    EXPECT_NE(again.find("\n     RETRANSMIT of packet #4, "), std::string::npos) << again;
    EXPECT_NE(again.find(" ms after it (which was dropped: NETFILTER_DROP); the kernel "
                         "reported it (tcp_retransmit_skb)\n"),
              std::string::npos)
        << again;
    EXPECT_NE(text.find("\nretransmits: 1, resets: 0\n"), std::string::npos);
}

TEST(JourneyErrorsText, DroppedOnItsWayOutAndSentAgain) {
    auto text = render_journey_text(replay("trace-tcp-output-drop.jsonl"), TextStyle{});
    auto lost = joined(packet_block(text, 4));
    auto again = joined(packet_block(text, 5));
    EXPECT_NE(lost.find("\n     wire:    no captured frame matched\n"), std::string::npos) << lost;
    EXPECT_NE(lost.find("\n     DROPPED: NETFILTER_DROP in ip (send side): TCP sent its bytes "
                        "again as packet #5\n"),
              std::string::npos)
        << lost;
    EXPECT_NE(again.find("the first copy never reached a device (its transmit failed)"),
              std::string::npos)
        << again;
}

TEST(JourneyErrorsJson, RetransmitOfAndErrorSyscallAndCounts) {
    auto rexmit = records(replay("trace-tcp-retransmit.jsonl"));
    auto packets = of(rexmit, "packet");
    ASSERT_EQ(packets.size(), 11u);
    EXPECT_EQ(packets[4].at("retransmit"), true);
    EXPECT_EQ(packets[4].at("retransmit_of"), 3);
    EXPECT_EQ(packets[3].at("retransmit_of"), nullptr);
    EXPECT_EQ(packets[3].at("drop_reason"), "NETFILTER_DROP");
    EXPECT_EQ(packets[3].at("error_syscall"), nullptr);
    EXPECT_EQ(rexmit.back().at("retransmits"), 1);
    EXPECT_EQ(rexmit.back().at("resets"), 0);

    auto refused = records(replay("trace-tcp-refused.jsonl"));
    auto rst = of(refused, "packet").at(1);
    auto syscalls = of(refused, "syscall");
    ASSERT_TRUE(rst.at("error_syscall").is_number());
    const auto& connect = syscalls.at(rst.at("error_syscall").get<std::size_t>());
    EXPECT_EQ(connect.at("name"), "connect");
    EXPECT_EQ(connect.at("ret"), -111);
    EXPECT_EQ(connect.at("packets"), nlohmann::json::array({0, 1}));
    EXPECT_EQ(refused.back().at("resets"), 1);
}

}  // namespace
}  // namespace tpk::report
