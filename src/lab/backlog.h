// The endpoints of the backlog lab (`tracepacket backlog`): a TCP server that
// listens with a small backlog and accepts slowly, and M clients that connect
// at once and then send one message each. Plain sockets and what happened to
// them, with CLOCK_MONOTONIC times; the command watches the queues, counters
// and kernel events around it (this room knows nothing about tracing).
//
// Runs in the calling thread's network namespace (the command enters a
// NetNamespace of its own first): threads it starts inherit it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::lab {

struct BacklogOptions {
    int backlog = 3;
    int clients = 10;
    std::chrono::milliseconds accept_delay{500};  // before each accept()
};

// What one client went through. Times are CLOCK_MONOTONIC ns, 0 = not reached.
struct BacklogClient {
    int index = 0;                   // 1..M
    std::uint16_t port = 0;          // its local port (bound by connect)
    std::uint64_t connect_start_ns = 0;
    std::uint64_t connected_ns = 0;  // connect() completed (the SYN-ACK came)
    int connect_errno = 0;           // connect() failed with this
    std::uint64_t sent_ns = 0;       // its message was written
    std::uint64_t served_ns = 0;     // the server answered (it had accept()ed and read it)
    int recv_errno = 0;              // reset after connecting (the listener closed)
    bool done() const { return served_ns || connect_errno || recv_errno; }
};

struct BacklogAccept {
    std::uint64_t t_ns = 0;          // accept() returned
    std::uint16_t client_port = 0;
    bool message_read = false;       // the client's message was already queued / came
};

class BacklogLab {
public:
    // Listens on 127.0.0.1 (an ephemeral port) with the backlog; nothing
    // connects before start().
    // Not movable (its threads point at it), hence the unique_ptr.
    static Result<std::unique_ptr<BacklogLab>> listen(const BacklogOptions& options);

    BacklogLab(BacklogLab&&) = delete;
    BacklogLab(const BacklogLab&) = delete;
    ~BacklogLab();  // stop()

    std::uint16_t port() const { return port_; }

    // Starts the server's slow accept loop and the clients (one thread that
    // opens every connection non-blocking, in a burst, then waits on all).
    Status start();
    // Every client done (served, or its connect failed).
    bool all_done() const;
    // Stops both threads and closes every socket (the listener last).
    void stop();

    // Copies, safe while running.
    std::vector<BacklogClient> clients() const;
    std::vector<BacklogAccept> accepts() const;
    // Why a thread stopped early, if one did.
    std::string failure() const;

    static std::uint64_t now_ns();

private:
    explicit BacklogLab(const BacklogOptions& options) : options_(options) {}
    void serve();
    void run_clients();

    BacklogOptions options_;
    UniqueFd listener_;
    UniqueFd stop_event_;  // eventfd: readable once stop() is called
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<BacklogClient> clients_;
    std::vector<BacklogAccept> accepts_;
    std::string failure_;
    std::thread server_, client_thread_;
};

}  // namespace tpk::lab
