// tracepacket traceroute: the path to a host, hop by hop, like traceroute:
// probes with rising TTL (lab/traceroute.h), one line per hop with the
// responder and the round-trip times. --lab builds three network namespaces
// of its own, client - router - server, joined by veth pairs (198.18.0.0/15,
// the range reserved for benchmarks; forwarding on in the router only, no
// route out), and traces across them, so no probe ever leaves this machine.
#include <arpa/inet.h>
#include <fmt/core.h>
#include <netdb.h>
#include <stdio.h>
#include <linux/rtnetlink.h>
#include <sys/wait.h>

#include <functional>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands/command.h"
#include "kernel/tracer.h"
#include "lab/netns.h"
#include "lab/traceroute.h"
#include "netlink/link_setup.h"
#include "netlink/route.h"

namespace tpk::commands {
namespace {

struct TracerouteOptions {
    std::string host;
    bool lab = false;
    std::string protocol = "udp";
    int max_ttl = 30;
    int queries = 3;
    double wait_s = 5;
    bool json = false;
    std::string lab_exec;
    bool no_events = false;
};

// The kernel's side of each probe in the lab: where the probe's skb was
// dropped and why (kfree_skb), from the BPF tracer on the probes' ports.
// UDP and TCP only (the tracer follows ports; ICMP probes have none).
class ProbeEvents {
public:
    static std::optional<ProbeEvents> start(lab::ProbeProtocol protocol, std::string* why) {
        if (protocol == lab::ProbeProtocol::icmp) {
            *why = "ICMP probes have no port for the tracer to follow";
            return std::nullopt;
        }
        if (Status f = kernel::probe_features(); !f) {
            *why = f.error().message();
            return std::nullopt;
        }
        kernel::TracerOptions options;
        options.syscalls = false;
        auto tracer = kernel::Tracer::start(options);
        if (!tracer) {
            *why = tracer.error().message();
            return std::nullopt;
        }
        ProbeEvents events;
        events.tracer_ = std::make_unique<kernel::Tracer>(std::move(*tracer));
        events.protocol_ = protocol == lab::ProbeProtocol::tcp ? IPPROTO_TCP : IPPROTO_UDP;
        return events;
    }
    Status follow(std::uint16_t port) { return tracer_->add_port({protocol_, port}); }
    // The drop reasons of packets to `to` since the last call ("IP_INHDR").
    Result<std::vector<std::string>> drops(in_addr to) {
        std::vector<std::string> out;
        auto sink = [&](model::Event&& e) {
            if (e.kind != model::EventKind::kfree_skb || e.flow.protocol != protocol_) return;
            if (std::memcmp(e.flow.dst.addr.data(), &to, 4) != 0) return;
            // The device is not known at a drop (skb->dev is not recorded
            // there); the reason says where: ip_forward() or the socket lookup.
            out.push_back(e.drop_reason_name.empty() ? std::to_string(e.drop_reason) : e.drop_reason_name);
        };
        if (auto n = tracer_->poll(0, sink); !n) return std::move(n).take_error();
        if (auto n = tracer_->drain_staged(sink); !n) return std::move(n).take_error();
        return out;
    }

private:
    std::unique_ptr<kernel::Tracer> tracer_;
    std::uint8_t protocol_ = IPPROTO_UDP;
};

// What a drop of a probe means, by where and why (6.18's reasons).
std::string drop_meaning(const std::string& drop) {
    if (drop == "IP_INHDR")
        return "TTL ran out in ip_forward(): the router drops the probe and answers ICMP time exceeded";
    if (drop == "NO_SOCKET")
        return "no socket on that port: the destination drops it and answers port unreachable (UDP) or RST (TCP)";
    return "dropped";
}

in_addr ipv4(const char* text) {
    in_addr a{};
    inet_pton(AF_INET, text, &a);
    return a;
}

std::string text_of(in_addr a) {
    char buffer[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buffer, sizeof buffer);
    return buffer;
}

// The lab: client (198.18.1.2) - router (198.18.1.1 | 198.18.2.1) - server
// (198.18.2.2), each a namespace of its own, gone with the process.
struct RouterChain {
    lab::NetNamespace client, router, server;
    static constexpr const char* kClient = "198.18.1.2";
    static constexpr const char* kRouterIn = "198.18.1.1";
    static constexpr const char* kRouterOut = "198.18.2.1";
    static constexpr const char* kServer = "198.18.2.2";
};

// One namespace's part: addresses, links up, routes, sysctls.
Status set_up_inside(const lab::NetNamespace& ns, const std::function<Status()>& steps) {
    auto inside = ns.enter();
    if (!inside) return std::move(inside).take_error();
    return steps();
}

Result<RouterChain> build_chain() {
    auto client = lab::NetNamespace::create();
    if (!client) return std::move(client).take_error();
    auto router = lab::NetNamespace::create();
    if (!router) return std::move(router).take_error();
    auto server = lab::NetNamespace::create();
    if (!server) return std::move(server).take_error();
    RouterChain chain{std::move(*client), std::move(*router), std::move(*server)};
    auto all = [](std::initializer_list<std::function<Status()>> steps) -> Status {
        for (const auto& step : steps)
            if (auto ok = step(); !ok) return ok;
        return {};
    };
    // Forwarding is set in each namespace, never inherited: a new namespace
    // copies the host's IPv4 settings (net.core.devconf_inherit_init_net 0),
    // and a host with forwarding on would make the client and server routers.
    Status ok = set_up_inside(chain.client, [&] {
        return all({
            [&] { return netlink::create_veth("c0", "r0", chain.router.fd()); },
            [&] { return netlink::add_ipv4_address("c0", ipv4(RouterChain::kClient), 24); },
            [&] { return lab::set_link_up("c0"); },
            [&] { return netlink::add_ipv4_route(ipv4("198.18.2.0"), 24, ipv4(RouterChain::kRouterIn)); },
            [&] { return lab::write_net_sysctl("ipv4/ip_forward", "0"); },
            // ICMP probes use a ping socket: let every group open one here.
            [&] { return lab::write_net_sysctl("ipv4/ping_group_range", "0 2147483647"); },
        });
    });
    if (!ok) return wrap(std::move(ok).take_error(), "lab client namespace");
    ok = set_up_inside(chain.router, [&] {
        return all({
            [&] { return netlink::create_veth("r1", "s0", chain.server.fd()); },
            [&] { return netlink::add_ipv4_address("r0", ipv4(RouterChain::kRouterIn), 24); },
            [&] { return netlink::add_ipv4_address("r1", ipv4(RouterChain::kRouterOut), 24); },
            [&] { return lab::set_link_up("r0"); },
            [&] { return lab::set_link_up("r1"); },
            [&] { return lab::write_net_sysctl("ipv4/ip_forward", "1"); },
            // No ICMP rate limit in the lab: every probe gets its answer,
            // also when two traceroutes run one after the other (Debian's
            // sends 16 probes at once). An empty mask exempts time exceeded
            // and unreachable from both the per-peer limit and the
            // namespace-wide budget (icmpv4_mask_allow()).
            [&] { return lab::write_net_sysctl("ipv4/icmp_ratemask", "0"); },
        });
    });
    if (!ok) return wrap(std::move(ok).take_error(), "lab router namespace");
    ok = set_up_inside(chain.server, [&] {
        return all({
            [&] { return netlink::add_ipv4_address("s0", ipv4(RouterChain::kServer), 24); },
            [&] { return lab::set_link_up("s0"); },
            [&] { return netlink::add_ipv4_route(ipv4("198.18.1.0"), 24, ipv4(RouterChain::kRouterOut)); },
            [&] { return lab::write_net_sysctl("ipv4/ip_forward", "0"); },
            [&] { return lab::write_net_sysctl("ipv4/icmp_ratemask", "0"); },
        });
    });
    if (!ok) return wrap(std::move(ok).take_error(), "lab server namespace");
    // Every veth end able to send before the first probe (netlink/link_setup.h).
    const std::pair<const lab::NetNamespace*, const char*> ends[] = {
        {&chain.client, "c0"}, {&chain.router, "r0"}, {&chain.router, "r1"}, {&chain.server, "s0"}};
    for (const auto& [ns, device] : ends) {
        ok = set_up_inside(*ns, [&] { return netlink::wait_link_ready(device, std::chrono::seconds(5)); });
        if (!ok) return wrap(std::move(ok).take_error(), "lab");
    }
    return chain;
}

Result<in_addr> resolve(const std::string& host) {
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) == 1) return a;
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || !found)
        return make_error(fmt::format("{}: cannot resolve: {}", host, gai_strerror(rc)));
    a = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
    freeaddrinfo(found);
    return a;
}

// Whether the kernel routes `to` to this host itself (route type local).
bool is_local(in_addr to) {
    netlink::RouteQuery q;
    q.destination = netlink::IpAddress::from_bytes(AF_INET, &to);
    auto decision = netlink::get_route(q);
    return decision && decision->type == RTN_LOCAL;
}

std::string annotation(const lab::ProbeResult& r) {
    if (r.answer != lab::ProbeAnswer::unreachable) return "";
    switch (r.icmp_code) {
        case 0: return " !N";
        case 1: return " !H";
        case 2: return " !P";
        case 9: case 10: case 13: return " !X";
        default: return r.icmp_code >= 0 ? fmt::format(" !<{}>", r.icmp_code) : " !";
    }
}

Result<std::string> run_captured(const std::string& command, int* exit_code) {
    // popen forks from this thread: the command runs in the namespace this
    // thread is in (the lab's client).
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return errno_error("run " + command);
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) out.append(buffer, n);
    int status = ::pclose(p);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

Result<int> trace(const TracerouteOptions& o, in_addr to, lab::ProbeProtocol protocol, bool local,
                  ProbeEvents* events = nullptr) {
    std::string target = text_of(to);
    if (o.json) {
        fmt::print("{}\n", nlohmann::json{{"type", "traceroute"}, {"destination", target},
                                          {"host", o.host.empty() ? target : o.host},
                                          {"protocol", lab::probe_protocol_name(protocol)},
                                          {"max_ttl", o.max_ttl}, {"queries", o.queries},
                                          {"local", local}, {"lab", o.lab}}.dump());
    } else {
        fmt::print("traceroute to {} ({}), {} hops max, 32 byte {} probes\n", o.host.empty() ? target : o.host,
                   target, o.max_ttl, lab::probe_protocol_name(protocol));
        if (local)
            fmt::print("{} is local to this host: one hop, the packet never leaves it (out lo and "
                       "straight back in; the route is type local)\n", target);
    }
    auto wait = std::chrono::milliseconds(static_cast<long>(o.wait_s * 1000));
    int probe = 0;
    bool reached = false;  // the trace ends at this hop
    bool arrived = false;  // the destination answered
    for (int ttl = 1; ttl <= o.max_ttl && !reached; ++ttl) {
        std::string line = fmt::format("{:2}", ttl);
        bool first = true;
        std::optional<in_addr> last;
        nlohmann::json probes = nlohmann::json::array();
        for (int q = 0; q < o.queries; ++q, ++probe) {
            lab::ProbeSpec spec;
            spec.destination = to;
            spec.protocol = protocol;
            spec.ttl = ttl;
            spec.wait = wait;
            spec.sequence = static_cast<std::uint16_t>(probe + 1);
            spec.port = protocol == lab::ProbeProtocol::tcp ? 80 : static_cast<std::uint16_t>(33434 + probe);
            if (events)
                if (auto ok = events->follow(spec.port); !ok) return std::move(ok).take_error();
            auto r = lab::send_probe(spec);
            if (!r) return std::move(r).take_error();
            if (r->local_errno) {
                line += fmt::format("  !N (not sent: {}; no route to {} from here)", std::strerror(r->local_errno), target);
                probes.push_back({{"answer", "not_sent"}, {"error", std::strerror(r->local_errno)}});
                reached = true;
                break;
            }
            if (r->answer == lab::ProbeAnswer::timeout) {
                line += first ? "  *" : " *";
                first = false;
                probes.push_back({{"answer", "timeout"}});
                continue;
            }
            first = false;
            if (!last || last->s_addr != r->responder.s_addr) line += "  " + text_of(r->responder);
            last = r->responder;
            line += fmt::format("  {:.3f} ms{}", r->rtt_ms, annotation(*r));
            nlohmann::json p = {{"answer", lab::probe_answer_name(r->answer)},
                                {"address", text_of(r->responder)}, {"rtt_ms", r->rtt_ms}};
            if (r->icmp_type >= 0) p["icmp"] = {{"type", r->icmp_type}, {"code", r->icmp_code}};
            probes.push_back(p);
            if (r->answer == lab::ProbeAnswer::reached || r->answer == lab::ProbeAnswer::unreachable)
                reached = true;
            arrived |= r->answer == lab::ProbeAnswer::reached;
        }
        std::vector<std::string> drops;
        if (events) {
            auto d = events->drops(to);
            if (!d) return std::move(d).take_error();
            drops = std::move(*d);
        }
        if (o.json) {
            nlohmann::json hop = {{"type", "hop"}, {"ttl", ttl}, {"probes", probes}};
            hop["address"] = last ? nlohmann::json(text_of(*last)) : nlohmann::json(nullptr);
            if (events) hop["kernel_drops"] = drops;
            fmt::print("{}\n", hop.dump());
        } else {
            fmt::print("{}\n", line);
            std::map<std::string, int> counted;
            for (const auto& d : drops) ++counted[d];
            for (const auto& [d, n] : counted)
                fmt::print("      kernel: {} probe(s) freed with kfree_skb reason {}: {}\n", n, d, drop_meaning(d));
        }
        std::fflush(stdout);
    }
    // As a script needs it: 0 only when the destination answered.
    return arrived ? 0 : 1;
}

Result<int> run_traceroute(const TracerouteOptions& o) {
    auto protocol = lab::parse_probe_protocol(o.protocol);
    if (!protocol) return std::move(protocol).take_error();
    if (!o.lab && o.host.empty()) return make_error("traceroute needs a HOST (or --lab)");
    if (!o.lab_exec.empty() && !o.lab) return make_error("--lab-exec needs --lab");
    if (!o.lab) {
        auto to = resolve(o.host);
        if (!to) return std::move(to).take_error();
        return trace(o, *to, *protocol, is_local(*to));
    }
    auto chain = build_chain();
    if (!chain) return std::move(chain).take_error();
    auto inside = chain->client.enter();
    if (!inside) return std::move(inside).take_error();
    TracerouteOptions lab_o = o;
    if (lab_o.host.empty()) lab_o.host = RouterChain::kServer;
    auto to = resolve(lab_o.host);
    if (!to) return std::move(to).take_error();
    if (!o.json)
        fmt::print("lab: client {} -- router {} | {} -- server {}: three network namespaces of "
                   "their own joined by veth pairs, forwarding on in the router only, no route out; "
                   "gone when this command ends\n",
                   RouterChain::kClient, RouterChain::kRouterIn, RouterChain::kRouterOut, RouterChain::kServer);
    else
        fmt::print("{}\n", nlohmann::json{{"type", "traceroute_lab"}, {"client", RouterChain::kClient},
                                          {"router", {RouterChain::kRouterIn, RouterChain::kRouterOut}},
                                          {"server", RouterChain::kServer},
                                          {"netns_inodes", {chain->client.inode(), chain->router.inode(),
                                                            chain->server.inode()}}}.dump());
    std::optional<ProbeEvents> events;
    std::string no_events = "--no-events";
    if (!o.no_events) events = ProbeEvents::start(*protocol, &no_events);
    if (!events && !o.json) fmt::print("kernel events: not shown ({})\n", no_events);
    auto code = trace(lab_o, *to, *protocol, false, events ? &*events : nullptr);
    if (!code) return code;
    if (!o.lab_exec.empty()) {
        int exit_code = -1;
        auto out = run_captured(o.lab_exec, &exit_code);
        if (!out) return std::move(out).take_error();
        if (o.json)
            fmt::print("{}\n", nlohmann::json{{"type", "lab_exec"}, {"command", o.lab_exec},
                                              {"exit_code", exit_code}, {"output", *out}}.dump());
        else
            fmt::print("\n$ {}   (in the lab's client namespace; exit {})\n{}", o.lab_exec, exit_code, *out);
    }
    return *code;
}

}  // namespace

void register_traceroute(CLI::App& app, Runner* run) {
    auto o = std::make_shared<TracerouteOptions>();
    auto* cmd = app.add_subcommand(
        "traceroute",
        "The path to a host: probes with rising TTL, one line per hop with the responder and "
        "the round-trip times, like traceroute. --lab traces across client, router and server "
        "network namespaces of its own (root), so no probe leaves this machine.");
    cmd->add_option("host", o->host, "Destination (an IPv4 address or name); with --lab default 198.18.2.2");
    cmd->add_flag("--lab", o->lab,
                  "Build client -- router -- server namespaces (198.18.1.0/24, 198.18.2.0/24) and "
                  "trace from the client");
    cmd->add_option("--proto", o->protocol, "Probe protocol: udp (default, ports 33434+), icmp (echo), tcp (SYN to port 80)")
        ->check(CLI::IsMember({"udp", "icmp", "tcp"}));
    cmd->add_option("-m,--max-ttl", o->max_ttl, "Largest TTL (default 30)")->check(CLI::Range(1, 255));
    cmd->add_option("-q,--queries", o->queries, "Probes per hop (default 3)")->check(CLI::Range(1, 10));
    cmd->add_option("-w,--wait", o->wait_s, "Seconds to wait for each probe's answer (default 5)")
        ->check(CLI::Range(0.01, 60.0));
    cmd->add_option("--lab-exec", o->lab_exec,
                    "With --lab: afterwards run this shell command in the lab's client namespace "
                    "(e.g. 'traceroute -n 198.18.2.2', to compare)");
    cmd->add_flag("--no-events", o->no_events,
                  "With --lab: do not run the BPF tracer (by default each hop also shows where the "
                  "kernel dropped its probes and why, for UDP and TCP probes)");
    cmd->add_flag("--json", o->json, "JSON Lines: traceroute, hop (and traceroute_lab, lab_exec)");
    cmd->callback([o, run] { *run = [o] { return run_traceroute(*o); }; });
}

}  // namespace tpk::commands
