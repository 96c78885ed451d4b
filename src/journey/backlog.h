// What `tracepacket backlog` saw, and what it means: the samples of the
// listener's queues and the clients' sockets (sock_diag), the namespace's
// counters, the kernel's packet events (the tracer) and the lab's own record
// of each client (a BacklogRun, gathered by commands/backlog.cpp), joined
// here into one timeline, each client's outcome, the findings and the
// explanation. The writers (report/backlog.h: text, JSON Lines, HTML) only
// read these, so every format tells the same story in the same sentences.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/backlog.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::journey {

struct QueueSample {
    std::uint64_t t_ns = 0;
    std::uint32_t accept_queue = 0;  // sk_ack_backlog: handshakes done, not accept()ed
    std::uint32_t accept_limit = 0;  // sk_max_ack_backlog: the backlog given to listen()
    std::uint32_t syn_queue = 0;     // request sockets (SYN-RECV) of the listener
};

struct ClientStateSample {
    std::uint64_t t_ns = 0;
    std::uint16_t port = 0;          // the client's local port
    std::string state;               // "SYN-SENT", "ESTAB", ... ("gone" once it is closed)
};

struct CounterSample {
    std::uint64_t t_ns = 0;
    std::map<std::string, std::int64_t> values;  // since the namespace was made
};

struct BacklogRun {
    lab::BacklogOptions options;
    double duration_s = 0;
    std::uint16_t server_port = 0;
    std::uint64_t netns_inode = 0;
    std::string syncookies;           // the namespace's net.ipv4.tcp_syncookies during the run
    bool syncookies_set = false;      // --syncookies on|off wrote it (in the namespace only)
    std::uint64_t t0_ns = 0;          // the clients' start
    std::uint64_t end_ns = 0;         // when the lab was stopped
    std::string end_reason;           // "all clients done", "duration reached", "SIGINT"
    std::vector<QueueSample> queue;   // one per change
    std::vector<ClientStateSample> client_states;  // one per change
    std::vector<CounterSample> counters;           // one per change, the first at the start
    std::vector<lab::BacklogClient> clients;
    std::vector<lab::BacklogAccept> accepts;
    std::vector<model::Event> events;  // the tracer's, of the lab's flows
    std::optional<std::string> tracer_missing;  // why there are no kernel events
    std::uint64_t lost_events = 0;
};

// Counts a test compares with the counters (docs/json-schema.md, backlog_summary).
struct BacklogFindings {
    std::uint32_t peak_accept_queue = 0;
    std::uint32_t accept_limit = 0;
    std::uint32_t peak_syn_queue = 0;
    int syns_refused = 0;           // SYNs the listener answered with nothing
    int acks_dropped = 0;           // kfree_skb TCP_LISTEN_OVERFLOW: handshake-completing ACKs dropped
    int cookie_acks_dropped = 0;    // kfree_skb NO_SOCKET of a syncookie ACK (accept queue full)
    int other_drops = 0;            // any other kfree_skb of the lab's flows
    int syn_retransmits = 0;        // tcp_retransmit_skb of a SYN
    int synack_retransmits = 0;     // a SYN-ACK sent again (same ISN)
    std::map<std::string, std::int64_t> counter_deltas;
};

BacklogFindings find(const BacklogRun& run);

// The counters the lab reports, in order; "TcpExt.ListenDrops" -> "ListenDrops".
const std::vector<std::string>& backlog_counter_keys();
std::string backlog_counter_short(const std::string& key);

// Milliseconds since the run's time 0 (the first connect()); negative before it.
double backlog_ms(const BacklogRun& run, std::uint64_t t_ns);

// One line of the timeline: the sentence the text prints and the record
// JSON Lines writes (docs/json-schema.md, "tracepacket backlog"), in time order.
struct BacklogLine {
    std::uint64_t t_ns = 0;
    std::string text;
    nlohmann::json json;
};
std::vector<BacklogLine> backlog_timeline(const BacklogRun& run);

// What one client experienced, in the order of run.clients.
struct BacklogClientResult {
    lab::BacklogClient client;
    std::string outcome;            // served, not_accepted, half_open, connect_timeout, connect_failed, reset
    std::string detail;             // the sentence that says it
    std::optional<double> connect_ms;  // connect() took (it returned)
    std::optional<double> served_ms;   // answered at, since time 0
    // From the kernel's events (0 without them: run.tracer_missing).
    int syns = 0, syn_retransmits = 0, synack_retransmits = 0, drops = 0;
};
std::vector<BacklogClientResult> backlog_client_results(const BacklogRun& run);

// The run as JSON Lines (journey/backlog_recording.cpp; `backlog
// --record-raw FILE`, `--replay FILE`, tests/fixtures/labs/): settings,
// samples, clients, accepts, then the kernel's events. Reading never
// throws: a bad line is an error naming its number.
void write_backlog_recording(const BacklogRun& run, std::ostream& out);
Result<BacklogRun> read_backlog_recording(std::istream& in);
Status write_backlog_recording_file(const BacklogRun& run, const std::string& path);
Result<BacklogRun> read_backlog_recording_file(const std::string& path);

// The "Why" paragraphs: what the run shows and which counter to watch.
std::vector<std::string> backlog_explanation(const BacklogRun& run, const BacklogFindings& f);

}  // namespace tpk::journey
