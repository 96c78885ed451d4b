#include "journey/backlog.h"

#include <fmt/core.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace tpk::journey {

namespace {

using model::Event;
using model::EventKind;

bool has(const Event& e, std::uint8_t flag) { return (e.tcp_flags & flag) != 0; }
bool is_syn(const Event& e) { return has(e, model::kSyn) && !has(e, model::kAck); }
bool is_synack(const Event& e) { return has(e, model::kSyn) && has(e, model::kAck); }

std::string flags_text(std::uint8_t f) {
    std::string s;
    if (f & model::kSyn) s += "SYN,";
    if (f & model::kFin) s += "FIN,";
    if (f & model::kRst) s += "RST,";
    if (f & model::kPsh) s += "PSH,";
    if (f & model::kAck) s += "ACK,";
    if (s.empty()) return "none";
    s.pop_back();
    return s;
}

// The segment's name as a reader knows it in this lab.
std::string segment_name(const Event& e, bool to_server) {
    if (is_syn(e)) return "SYN";
    if (is_synack(e)) return "SYN-ACK";
    if (has(e, model::kRst)) return "RST";
    if (e.payload_len > 0) return to_server ? "message" : "answer";
    if (has(e, model::kFin)) return "FIN";
    if (to_server && has(e, model::kAck)) return "ACK";
    return fmt::format("[{}]", flags_text(e.tcp_flags));
}

// The client a segment belongs to, by its port; 0 when it is not the lab's.
struct Side {
    std::uint16_t client_port = 0;
    bool to_server = false;
};
Side side_of(const Event& e, std::uint16_t server_port) {
    if (e.flow.dst.port == server_port) return {e.flow.src.port, true};
    if (e.flow.src.port == server_port) return {e.flow.dst.port, false};
    return {};
}

struct Line {
    std::uint64_t t_ns = 0;
    int order = 0;  // ties: what caused it first
    std::string text;
    nlohmann::json json;
};

class Story {
public:
    explicit Story(const BacklogRun& run) : run_(run) {
        for (const auto& c : run.clients)
            if (c.port) index_[c.port] = c.index;
    }

    int client(std::uint16_t port) const {
        auto it = index_.find(port);
        return it == index_.end() ? 0 : it->second;
    }
    std::string who(std::uint16_t port) const {
        int i = client(port);
        return i ? fmt::format("client {}", i) : fmt::format("port {}", port);
    }
    double ms(std::uint64_t t) const {
        return t >= run_.t0_ns ? static_cast<double>(t - run_.t0_ns) / 1e6
                               : -static_cast<double>(run_.t0_ns - t) / 1e6;
    }

    void add(std::uint64_t t, int order, std::string text, nlohmann::json j) {
        j["t_ms"] = std::round(ms(t) * 1000) / 1000;
        lines_.push_back({t, order, std::move(text), std::move(j)});
    }

    std::vector<Line> lines() {
        std::stable_sort(lines_.begin(), lines_.end(), [](const Line& a, const Line& b) {
            return a.t_ns != b.t_ns ? a.t_ns < b.t_ns : a.order < b.order;
        });
        return std::move(lines_);
    }

private:
    const BacklogRun& run_;
    std::map<std::uint16_t, int> index_;
    std::vector<Line> lines_;
};

std::string reason_of(const Event& e) {
    return e.drop_reason_name.empty() ? std::to_string(e.drop_reason) : e.drop_reason_name;
}

// What a kfree_skb of the lab's segments means here, and whether it is one
// the listener counts in ListenDrops (the segments that completed, or would
// have completed, a handshake into a full accept queue).
struct DropMeaning {
    bool listener_drop = false;
    std::string why;
};
DropMeaning drop_meaning(const Event& e, bool to_server, const std::string& name) {
    std::string reason = reason_of(e);
    if (to_server && reason == "TCP_LISTEN_OVERFLOW")
        return {true, fmt::format("the {} completes the handshake but the accept queue is full "
                                  "(tcp_check_req): the request socket stays in the SYN queue and "
                                  "the SYN-ACK timer will retry; ListenOverflows +1",
                                  name == "ACK" ? "handshake's last ACK" : "ACK this " + name + " carries")};
    // 6.18: a syncookie ACK whose child cookie_v4_check() could not queue
    // (accept queue full) ends as NO_SOCKET; SyncookiesRecv and
    // ListenOverflows count it. Only the lab's listener owns this port here.
    if (to_server && reason == "NO_SOCKET")
        return {true, "no request socket holds this handshake (its SYN-ACK was a syncookie) and the "
                      "child built from the cookie does not fit the full accept queue; ListenOverflows +1"};
    if (!to_server && reason == "TCP_INVALID_SYN")
        return {false, "the client is ESTABLISHED already: it discards the repeated SYN-ACK and answers "
                       "with an ACK"};
    if (reason == "QUEUE_PURGE")
        return {false, "still queued on a socket being closed (the end of a served connection)"};
    if (!to_server && reason == "NO_SOCKET") return {false, "the client's socket is gone"};
    return {false, "not a listener drop"};
}

// SYNs that reached the listener and got no SYN-ACK: the kernel refused
// them (tcp_conn_request(): accept queue full -> ListenOverflows, or SYN
// queue full without syncookies -> TCPReqQFullDrop; both ListenDrops) and
// frees such a SYN as consumed, with no drop reason: its absence of an
// answer is the evidence. A SYN counts as answered by the first SYN-ACK to
// its client acknowledging its ISN before that client's next SYN arrives.
std::vector<const Event*> refused_syns(const BacklogRun& run) {
    std::map<std::uint16_t, std::vector<const Event*>> arrivals, answers;
    for (const auto& e : run.events) {
        Side s = side_of(e, run.server_port);
        if (!s.client_port) continue;
        if (e.kind == EventKind::netif_receive_skb && s.to_server && is_syn(e))
            arrivals[s.client_port].push_back(&e);
        if (e.kind == EventKind::net_dev_queue && !s.to_server && is_synack(e))
            answers[s.client_port].push_back(&e);
    }
    std::vector<const Event*> refused;
    for (const auto& [port, syns] : arrivals) {
        const auto& acks = answers[port];
        for (std::size_t i = 0; i < syns.size(); ++i) {
            std::uint64_t from = syns[i]->t_ns;
            std::uint64_t until = i + 1 < syns.size() ? syns[i + 1]->t_ns : UINT64_MAX;
            // Not syns[i] in the lambda: clang before 16 cannot capture a
            // structured binding (the fuzz build uses clang).
            const std::uint32_t isn = syns[i]->seq;
            bool answered = std::any_of(acks.begin(), acks.end(), [&](const Event* a) {
                return a->t_ns >= from && a->t_ns < until && a->ack == isn + 1;
            });
            if (!answered) refused.push_back(syns[i]);
        }
    }
    return refused;
}


// half_open: the client's side completed (connect() returned) but a drop
// after that left the server holding only a request socket.
std::string outcome_text(const lab::BacklogClient& c, const Story& story, double run_s, bool half_open) {
    if (c.connect_errno && !c.connected_ns)
        return fmt::format("connect() failed: {}", std::strerror(c.connect_errno));
    if (!c.connected_ns)
        return fmt::format("timeout: connect() still waiting when the lab ended ({:.1f} s); the "
                           "kernel keeps resending the SYN up to net.ipv4.tcp_syn_retries times "
                           "(6: about 127 s)", run_s);
    if (c.served_ns)
        return fmt::format("served at {:.3f} s, {:.0f} ms after its connect() returned",
                           story.ms(c.served_ns) / 1000, (story.ms(c.served_ns) - story.ms(c.connected_ns)));
    if (c.recv_errno)
        return fmt::format("connected, then reset: {}", std::strerror(c.recv_errno));
    if (half_open)
        return "timeout: connected on its side only: the server still holds a request socket in "
               "its SYN queue (the ACK and the message were dropped, accept queue full); the "
               "message is being retransmitted";
    return "timeout: connected and its message sent, but never accept()ed during the run: the "
           "connection waits in the accept queue, the message in its receive queue";
}

std::string outcome_word(const lab::BacklogClient& c, bool half_open) {
    if (c.connect_errno && !c.connected_ns) return "connect_failed";
    if (!c.connected_ns) return "connect_timeout";
    if (c.served_ns) return "served";
    if (c.recv_errno) return "reset";
    return half_open ? "half_open" : "not_accepted";
}

struct ClientCounts {
    int syns = 0, syn_retransmits = 0, synack_retransmits = 0, drops = 0;
    std::uint64_t last_drop_ns = 0;  // its last listener drop
};

std::map<std::uint16_t, ClientCounts> per_client(const BacklogRun& run) {
    std::map<std::uint16_t, ClientCounts> out;
    std::map<std::uint16_t, std::map<std::uint32_t, int>> synacks;  // by ISN
    for (const auto& e : run.events) {
        Side s = side_of(e, run.server_port);
        if (!s.client_port) continue;
        auto& c = out[s.client_port];
        if (e.kind == EventKind::net_dev_queue && s.to_server && is_syn(e)) ++c.syns;
        if (e.kind == EventKind::tcp_retransmit_skb && is_syn(e)) ++c.syn_retransmits;
        if (e.kind == EventKind::net_dev_queue && !s.to_server && is_synack(e) &&
            ++synacks[s.client_port][e.seq] > 1)
            ++c.synack_retransmits;
        if (e.kind == EventKind::kfree_skb && drop_meaning(e, s.to_server, segment_name(e, s.to_server)).listener_drop) {
            ++c.drops;
            c.last_drop_ns = e.t_ns;
        }
    }
    for (const Event* e : refused_syns(run)) ++out[side_of(*e, run.server_port).client_port].drops;
    return out;
}

std::vector<Line> timeline_lines(const BacklogRun& run) {
    Story story(run);
    for (const auto& c : run.clients) {
        if (c.connect_start_ns)
            story.add(c.connect_start_ns, 0, fmt::format("client {} calls connect() from port {}", c.index, c.port),
                      {{"type", "backlog_client"}, {"event", "connect"}, {"client", c.index}, {"port", c.port}});
        if (c.connected_ns)
            story.add(c.connected_ns, 5,
                      fmt::format("client {}: connect() returned after {:.1f} ms (the SYN-ACK came; "
                                  "the server has not accept()ed yet){}",
                                  c.index, story.ms(c.connected_ns) - story.ms(c.connect_start_ns),
                                  c.sent_ns ? ", message sent" : ""),
                      {{"type", "backlog_client"}, {"event", "connected"}, {"client", c.index}, {"port", c.port},
                       {"connect_ms", story.ms(c.connected_ns) - story.ms(c.connect_start_ns)},
                       {"message_sent", c.sent_ns != 0}});
        if (c.served_ns)
            story.add(c.served_ns, 7, fmt::format("client {}: the server answered", c.index),
                      {{"type", "backlog_client"}, {"event", "served"}, {"client", c.index}, {"port", c.port}});
        if (c.recv_errno)
            story.add(run.end_ns, 7, fmt::format("client {}: reset ({})", c.index, std::strerror(c.recv_errno)),
                      {{"type", "backlog_client"}, {"event", "reset"}, {"client", c.index}, {"port", c.port}});
    }
    for (const auto& a : run.accepts)
        story.add(a.t_ns, 6, fmt::format("server accept()s {} (its message {})", story.who(a.client_port),
                                         a.message_read ? "was waiting" : "did not come"),
                  {{"type", "backlog_accept"}, {"client", story.client(a.client_port)}, {"port", a.client_port},
                   {"message_read", a.message_read}});
    for (const auto& q : run.queue) {
        bool full = q.accept_queue > q.accept_limit;
        story.add(q.t_ns, 8,
                  fmt::format("listener: accept queue {}/{}{}, SYN queue {}", q.accept_queue, q.accept_limit,
                              full ? " (full: backlog + 1, new handshakes are refused)" : "", q.syn_queue),
                  {{"type", "backlog_queue"}, {"accept_queue", q.accept_queue}, {"accept_limit", q.accept_limit},
                   {"syn_queue", q.syn_queue}, {"full", full}});
    }
    for (const auto& s : run.client_states)
        story.add(s.t_ns, 9, fmt::format("{} socket: {}", story.who(s.port), s.state),
                  {{"type", "backlog_client_state"}, {"client", story.client(s.port)}, {"port", s.port},
                   {"state", s.state}});
    for (std::size_t i = 1; i < run.counters.size(); ++i) {
        std::string text;
        nlohmann::json deltas = nlohmann::json::object();
        for (const auto& [key, value] : run.counters[i].values) {
            auto before = run.counters[i - 1].values.find(key);
            std::int64_t d = value - (before == run.counters[i - 1].values.end() ? 0 : before->second);
            if (!d) continue;
            text += fmt::format("{}{} {:+}", text.empty() ? "" : ", ", backlog_counter_short(key), d);
            deltas[key] = d;
        }
        story.add(run.counters[i].t_ns, 10, "counters: " + text,
                  {{"type", "backlog_counters"}, {"deltas", deltas}});
    }
    // The kernel's side.
    std::map<std::uint16_t, std::map<std::uint32_t, int>> synacks;
    std::map<std::uint16_t, int> syn_retries;
    for (const auto& e : run.events) {
        Side s = side_of(e, run.server_port);
        if (!s.client_port) continue;
        std::string name = segment_name(e, s.to_server);
        nlohmann::json base = {{"client", story.client(s.client_port)}, {"port", s.client_port},
                               {"segment", name}, {"flags", flags_text(e.tcp_flags)}};
        if (e.kind == EventKind::kfree_skb) {
            DropMeaning m = drop_meaning(e, s.to_server, name);
            base["type"] = "backlog_drop";
            base["reason"] = reason_of(e);
            base["direction"] = s.to_server ? "to_server" : "to_client";
            base["listener_drop"] = m.listener_drop;
            story.add(e.t_ns, 2,
                      fmt::format("drop: {} {} {}, reason {}: {}", name, s.to_server ? "from" : "to",
                                  story.who(s.client_port), reason_of(e), m.why),
                      base);
        } else if (e.kind == EventKind::tcp_retransmit_skb) {
            int n = is_syn(e) ? ++syn_retries[s.client_port] : 0;
            base["type"] = "backlog_retransmit";
            if (n) base["retry"] = n;
            story.add(e.t_ns, 1,
                      is_syn(e) ? fmt::format("{} resends its SYN (retry {}: the SYN timer, 1 s doubled each time)",
                                              story.who(s.client_port), n)
                                : s.to_server ? fmt::format("{} resends its {} (its retransmission timer: no ACK came)",
                                                            story.who(s.client_port), name)
                                              : fmt::format("server resends its {} to {}", name,
                                                            story.who(s.client_port)),
                      base);
        } else if (e.kind == EventKind::net_dev_queue && !s.to_server && is_synack(e) &&
                   ++synacks[s.client_port][e.seq] > 1) {
            base["type"] = "backlog_retransmit";
            base["retry"] = synacks[s.client_port][e.seq] - 1;
            story.add(e.t_ns, 1,
                      fmt::format("server resends the SYN-ACK to {} (retry {}: its request socket is still "
                                  "waiting for the last ACK)",
                                  story.who(s.client_port), synacks[s.client_port][e.seq] - 1),
                      base);
        }
    }
    for (const Event* e : refused_syns(run)) {
        Side s = side_of(*e, run.server_port);
        story.add(e->t_ns, 3,
                  fmt::format("drop: SYN of {} refused by the listener, no SYN-ACK (tcp_conn_request: queue "
                              "full; the kernel frees such a SYN without a drop reason)",
                              story.who(s.client_port)),
                  {{"type", "backlog_drop"}, {"client", story.client(s.client_port)}, {"port", s.client_port},
                   {"segment", "SYN"}, {"flags", "SYN"}, {"reason", "SYN_REFUSED"}, {"direction", "to_server"},
                   {"listener_drop", true}});
    }
    return story.lines();
}

std::int64_t delta(const BacklogFindings& f, const std::string& key) {
    auto it = f.counter_deltas.find(key);
    return it == f.counter_deltas.end() ? 0 : it->second;
}

}  // namespace

const std::vector<std::string>& backlog_counter_keys() {
    static const std::vector<std::string> keys = {
        "TcpExt.ListenOverflows", "TcpExt.ListenDrops",     "TcpExt.TCPReqQFullDrop",
        "TcpExt.TCPReqQFullDoCookies", "TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv",
        "TcpExt.SyncookiesFailed", "TcpExt.TCPSynRetrans",  "Tcp.ActiveOpens",
        "Tcp.PassiveOpens",        "Tcp.RetransSegs",
    };
    return keys;
}

BacklogFindings find(const BacklogRun& run) {
    BacklogFindings f;
    for (const auto& q : run.queue) {
        f.peak_accept_queue = std::max(f.peak_accept_queue, q.accept_queue);
        f.peak_syn_queue = std::max(f.peak_syn_queue, q.syn_queue);
        f.accept_limit = q.accept_limit;
    }
    for (const auto& e : run.events) {
        Side s = side_of(e, run.server_port);
        if (!s.client_port) continue;
        if (e.kind == EventKind::kfree_skb) {
            std::string name = segment_name(e, s.to_server);
            if (!drop_meaning(e, s.to_server, name).listener_drop) ++f.other_drops;
            else if (reason_of(e) == "NO_SOCKET") ++f.cookie_acks_dropped;
            else ++f.acks_dropped;
        }
        if (e.kind == EventKind::tcp_retransmit_skb && is_syn(e)) ++f.syn_retransmits;
    }
    for (const auto& [port, c] : per_client(run)) f.synack_retransmits += c.synack_retransmits;
    f.syns_refused = static_cast<int>(refused_syns(run).size());
    if (!run.counters.empty()) {
        for (const auto& [key, value] : run.counters.back().values) {
            auto before = run.counters.front().values.find(key);
            f.counter_deltas[key] = value - (before == run.counters.front().values.end() ? 0 : before->second);
        }
    }
    return f;
}

namespace {

}  // namespace

std::vector<std::string> backlog_explanation(const BacklogRun& run, const BacklogFindings& f) {
    std::vector<std::string> why;
    why.push_back(fmt::format(
        "Why the accept queue stops at {}: listen({}) sets the listener's limit (sk_max_ack_backlog), and "
        "the kernel calls the queue full only when it holds MORE than that (sk_acceptq_is_full(): "
        "sk_ack_backlog > sk_max_ack_backlog), so backlog + 1 completed handshakes fit.",
        run.options.backlog + 1, run.options.backlog));
    why.push_back(
        "A SYN that finds the accept queue full is refused in tcp_conn_request(): no SYN-ACK, "
        "ListenOverflows and ListenDrops +1, and the SYN is freed quietly (consume_skb, no drop "
        "reason). The client's SYN timer resends it after 1 s, 2 s, 4 s, ... which is the hang "
        "users see under load: connect() blocks for seconds, not milliseconds.");
    why.push_back(
        "If the queue fills between the SYN-ACK and the handshake's last ACK, the kernel drops "
        "that ACK (kfree_skb reason TCP_LISTEN_OVERFLOW; ListenOverflows +1) but keeps the request "
        "socket in the SYN queue, and the SYN-ACK timer resends the SYN-ACK so the client acks "
        "again, until the queue has room (or tcp_synack_retries runs out). With "
        "net.ipv4.tcp_abort_on_overflow=1 it would send a RST instead.");
    why.push_back(
        "Why a client's connect() returns although the server never called accept(): connect() "
        "completes when the SYN-ACK arrives, in the client's kernel; accept() only takes an "
        "already established connection off the queue. The client can even send: its message "
        "waits in the child socket's receive queue until someone accepts it.");
    why.push_back(fmt::format(
        "Syncookies (net.ipv4.tcp_syncookies, {} in this namespace{}) help only when the SYN queue "
        "(request sockets, at most the backlog) is full: the SYN-ACK then carries the state in "
        "its sequence number and no request socket is kept (SyncookiesSent). They do not help a "
        "full accept queue: a SYN is refused there with or without them. With syncookies off a "
        "full SYN queue drops SYNs instead (TCPReqQFullDrop).",
        run.syncookies, run.syncookies_set ? ", set by --syncookies" : ", its default"));
    why.push_back(fmt::format(
        "What to watch on a real host: `tracepacket sockets --counters --interval 1` "
        "(ListenOverflows and ListenDrops rising = an accept queue overflowing; TCPReqQFullDrop = "
        "a SYN queue without cookies) and `tracepacket sockets -l` (Recv-Q of a LISTEN row near "
        "its Send-Q = accept queue nearly full). The cure is an application that accepts faster "
        "or a larger backlog (listen() and net.core.somaxconn, which caps it). This run: "
        "ListenOverflows {:+}, ListenDrops {:+}.",
        delta(f, "TcpExt.ListenOverflows"), delta(f, "TcpExt.ListenDrops")));
    return why;
}


double backlog_ms(const BacklogRun& run, std::uint64_t t) { return Story(run).ms(t); }

std::string backlog_counter_short(const std::string& key) {
    auto dot = key.find('.');
    return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::vector<BacklogLine> backlog_timeline(const BacklogRun& run) {
    std::vector<BacklogLine> out;
    for (auto& l : timeline_lines(run)) out.push_back({l.t_ns, std::move(l.text), std::move(l.json)});
    return out;
}

std::vector<BacklogClientResult> backlog_client_results(const BacklogRun& run) {
    Story story(run);
    auto counts = per_client(run);
    double run_s = static_cast<double>(run.end_ns - run.t0_ns) / 1e9;
    std::vector<BacklogClientResult> out;
    for (const auto& c : run.clients) {
        const ClientCounts& n = counts[c.port];
        bool half_open = c.connected_ns && n.last_drop_ns > c.connected_ns;
        BacklogClientResult r;
        r.client = c;
        r.outcome = outcome_word(c, half_open);
        r.detail = outcome_text(c, story, run_s, half_open);
        if (c.connected_ns) r.connect_ms = story.ms(c.connected_ns) - story.ms(c.connect_start_ns);
        if (c.served_ns) r.served_ms = story.ms(c.served_ns);
        r.syns = n.syns;
        r.syn_retransmits = n.syn_retransmits;
        r.synack_retransmits = n.synack_retransmits;
        r.drops = n.drops;
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace tpk::journey
