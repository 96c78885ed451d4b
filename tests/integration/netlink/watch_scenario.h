// One connection opened and closed while `tracepacket sockets --watch` runs:
// shared by the polling test (integration) and the tracepoint test (runtime).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <string>
#include <vector>

#include "integration/netlink/peer_tools.h"
#include "util/fd.h"

namespace tpk::test {

struct WatchRun {
    std::string source;                 // "poll" or "bpf", from the first line
    std::uint16_t client_port = 0, server_port = 0;
    std::vector<nlohmann::json> changes;  // state_change objects, in order
    int exit_code = -1;                 // after SIGINT
    bool saw_established = false, saw_close = false;
};

inline std::uint16_t port_of(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// Reads changes until `done` holds for one of them (10 s bound per line).
inline bool read_changes_until(Child& watch, WatchRun& run,
                               const std::function<bool(const nlohmann::json&)>& done) {
    while (auto line = watch.read_line(std::chrono::seconds(10))) {
        auto j = nlohmann::json::parse(*line);
        if (j["type"] != "state_change") continue;
        run.changes.push_back(j);
        if (done(j)) return true;
    }
    return false;
}

inline WatchRun run_watch_scenario(const std::vector<std::string>& extra_args) {
    WatchRun run;
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener.get(), 5) != 0)
        return run;
    run.server_port = port_of(listener.get());
    std::vector<std::string> argv = {TPK_BINARY, "sockets", "--watch", "-t", "--json",
                                     "--port", std::to_string(run.server_port)};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    Child watch(argv);
    auto first = watch.read_line(std::chrono::seconds(10));
    if (!first) return run;
    run.source = nlohmann::json::parse(*first)["source"];

    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    a.sin_port = htons(run.server_port);
    if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return run;
    run.client_port = port_of(client.get());
    UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    auto is_client = [&](const nlohmann::json& j) { return j["local"]["port"] == run.client_port; };
    // Both ends stay open until the watcher has seen the client established.
    run.saw_established = read_changes_until(watch, run, [&](const nlohmann::json& j) {
        return is_client(j) && j["to"] == "ESTAB";
    });
    // The client closes first and leaves ESTAB for FIN-WAIT-1 (polling may
    // only see FIN-WAIT-2: an orphan there becomes a timewait socket with that substate).
    client.reset();
    run.saw_close = read_changes_until(watch, run, [&](const nlohmann::json& j) {
        return is_client(j) && j["from"] == "ESTAB";
    });
    run.exit_code = watch.interrupt();
    return run;
}

}  // namespace tpk::test
