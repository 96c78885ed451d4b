#include "kernel/kernel_support.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/tracer.h"
#include "util/fd.h"

namespace tpk::kernel {
namespace {

// Every hop tracepacket records: its tracepoint and program, and where the
// kernel may lack the tracepoint, the function behind it for fentry/fexit
// (bpf/tracepacket.bpf.c, "fallbacks").
struct HopDef {
    const char* hop;
    const char* tracepoint;          // group:name; nullptr: none exists (fentry only)
    const char* program;
    const char* fallback_source;     // "fexit sock_recvmsg"; nullptr: no fallback
    std::array<const char*, 4> fallback_programs = {};   // one per function
};

constexpr HopDef kHops[] = {
    {"syscall_enter", "raw_syscalls:sys_enter", "handle_sys_enter", nullptr},
    {"tcp_sendmsg_locked", "tcp:tcp_sendmsg_locked", "handle_tcp_sendmsg_locked",
     "fentry tcp_sendmsg_locked", {"handle_fentry_tcp_sendmsg_locked"}},
    {"sock_send_length", "sock:sock_send_length", "handle_sock_send_length",
     "fexit inet_sendmsg/inet6_sendmsg/unix_stream_sendmsg/unix_dgram_sendmsg",
     {"handle_fexit_inet_sendmsg", "handle_fexit_inet6_sendmsg",
      "handle_fexit_unix_stream_sendmsg", "handle_fexit_unix_dgram_sendmsg"}},
    {"fib_table_lookup", "fib:fib_table_lookup", "handle_fib_table_lookup", nullptr},
    {"fib6_table_lookup", "fib6:fib6_table_lookup", "handle_fib6_table_lookup", nullptr},
    {"ip_output", nullptr, nullptr, "fentry ip_output/ip6_output",
     {"handle_fentry_ip_output", "handle_fentry_ip6_output"}},
    {"net_dev_queue", "net:net_dev_queue", "handle_net_dev_queue", nullptr},
    {"net_dev_start_xmit", "net:net_dev_start_xmit", "handle_net_dev_start_xmit", nullptr},
    {"net_dev_xmit", "net:net_dev_xmit", "handle_net_dev_xmit", nullptr},
    {"netif_rx", "net:netif_rx", "handle_netif_rx", nullptr},
    {"netif_receive_skb", "net:netif_receive_skb", "handle_netif_receive_skb", nullptr},
    {"ip_rcv", nullptr, nullptr, "fentry ip_rcv/ipv6_rcv",
     {"handle_fentry_ip_rcv", "handle_fentry_ipv6_rcv"}},
    {"ip_local_deliver", nullptr, nullptr, "fentry ip_local_deliver/ip6_input",
     {"handle_fentry_ip_local_deliver", "handle_fentry_ip6_input"}},
    {"tcp_probe", "tcp:tcp_probe", "handle_tcp_probe", nullptr},
    {"inet_sock_set_state", "sock:inet_sock_set_state", "handle_inet_sock_set_state", nullptr},
    {"sk_data_ready", "sock:sk_data_ready", "handle_sk_data_ready", "fentry sock_def_readable",
     {"handle_fentry_sock_def_readable"}},
    {"skb_copy_datagram_iovec", "skb:skb_copy_datagram_iovec", "handle_skb_copy_datagram_iovec",
     nullptr},
    {"sock_recv_length", "sock:sock_recv_length", "handle_sock_recv_length",
     "fexit sock_recvmsg", {"handle_fexit_sock_recvmsg"}},
    {"consume_skb", "skb:consume_skb", "handle_consume_skb", nullptr},
    {"kfree_skb", "skb:kfree_skb", "handle_kfree_skb", nullptr},
    {"tcp_retransmit_skb", "tcp:tcp_retransmit_skb", "handle_tcp_retransmit_skb", nullptr},
    {"tcp_send_reset", "tcp:tcp_send_reset", "handle_tcp_send_reset", nullptr},
    {"tcp_receive_reset", "tcp:tcp_receive_reset", "handle_tcp_receive_reset", nullptr},
    {"syscall_exit", "raw_syscalls:sys_exit", "handle_sys_exit", nullptr},
    {"process_fork", "sched:sched_process_fork", "handle_sched_process_fork", nullptr},
    {"process_exit", "sched:sched_process_exit", "handle_sched_process_exit", nullptr},
};

std::string name_of(const char* tracepoint) {
    std::string_view tp = tracepoint;
    return std::string(tp.substr(tp.find(':') + 1));
}

// A tracepoint's argument count from its BTF prototype: the typedef
// btf_trace_<name> is a pointer to a function whose first parameter is the
// tracepoint's private data. -1: no such tracepoint.
int tracepoint_args(const struct btf* btf, const std::string& name) {
    int id = btf__find_by_name_kind(btf, ("btf_trace_" + name).c_str(), BTF_KIND_TYPEDEF);
    if (id < 0) return -1;
    const btf_type* t = btf__type_by_id(btf, static_cast<__u32>(id));
    while (t && (btf_is_typedef(t) || btf_is_ptr(t) || btf_is_const(t)))
        t = btf__type_by_id(btf, t->type);
    if (!t || !btf_is_func_proto(t)) return -1;
    return btf_vlen(t) > 0 ? btf_vlen(t) - 1 : 0;
}

// An empty fentry program on sock_recvmsg, loaded and attached: the kernel
// may refuse either step (lockdown, a kernel without the BPF trampoline, or
// one that refuses it outright as this project's build machine does).
std::string probe_fentry(const struct btf* btf) {
    int func = btf__find_by_name_kind(btf, "sock_recvmsg", BTF_KIND_FUNC);
    if (func < 0) return "the kernel's BTF has no function sock_recvmsg";
    UniqueFd prog(load_empty_tracing_program(BPF_TRACE_FENTRY, static_cast<unsigned>(func),
                                             "tpk_fentry"));
    if (!prog) return std::string("refused to load (") + std::strerror(errno) + ")";
    UniqueFd link(bpf_link_create(prog.get(), 0, BPF_TRACE_FENTRY, nullptr));
    if (!link) return std::string("refused to attach (") + std::strerror(errno) + ")";
    return {};
}

std::string arg_limits(const std::string& tracepoint, int args) {
    if (tracepoint == "tcp_retransmit_skb" && args < 3)
        return "no err argument: a retransmission that failed is not told apart";
    if (tracepoint == "tcp_send_reset" && args < 3)
        return "no reason argument: the reset's reason is not named";
    if (tracepoint == "kfree_skb" && args < 3)
        return "no reason argument: drops are shown without their reason";
    if (tracepoint == "kfree_skb" && args < 4)
        return "no rx_sk argument: a drop is matched by the packet's own socket and ports";
    return {};
}

KernelSupport probe_once() {
    KernelSupport s;
    struct utsname u {};
    if (uname(&u) == 0) s.release = u.release;
    const struct btf* btf = vmlinux_btf();
    s.btf = btf != nullptr;
    if (!btf)
        s.btf_error = "no readable BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y is "
                      "needed for the kernel side)";
    s.rdonly_cast = btf && btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
    s.object = s.rdonly_cast ? BpfObject::modern : BpfObject::compat;
    s.object_reason = s.rdonly_cast ? "the kernel has the bpf_rdonly_cast kfunc (Linux 6.2+)"
                                    : "the kernel lacks the bpf_rdonly_cast kfunc (before 6.2): "
                                      "fields are read with bpf_probe_read_kernel()";
    if (const char* forced = std::getenv("TRACEPACKET_BPF_OBJECT")) {
        std::string_view f = forced;
        if (f == "compat" || (f == "modern" && s.rdonly_cast)) {
            s.object = f == "compat" ? BpfObject::compat : BpfObject::modern;
            s.object_reason = "chosen by TRACEPACKET_BPF_OBJECT=" + std::string(f);
        } else {
            s.object_reason += "; TRACEPACKET_BPF_OBJECT=" + std::string(f) +
                               " is ignored (it takes compat, or modern where the kfunc exists)";
        }
    }
    if (btf && check_privileges()) s.fentry_error = probe_fentry(btf);
    else s.fentry_error = btf ? "not probed (needs CAP_BPF and CAP_PERFMON)" : s.btf_error;
    s.fentry = s.fentry_error.empty();

    for (const auto& def : kHops) {
        HopSource h;
        h.hop = def.hop;
        std::string tp = def.tracepoint ? name_of(def.tracepoint) : "";
        int args = btf && def.tracepoint ? tracepoint_args(btf, tp) : -1;
        if (args >= 0) s.tracepoint_args[tp] = args;
        if (args >= 0) {
            h.programs = {def.program};
            h.source = std::string("tracepoint ") + def.tracepoint;
            h.limits = arg_limits(tp, args);
        } else if (def.fallback_source && s.fentry) {
            for (const char* p : def.fallback_programs)
                if (p) h.programs.push_back(p);
            h.source = def.fallback_source;
            h.fallback = true;
        } else {
            h.missing = def.tracepoint ? "no tracepoint " + std::string(def.tracepoint) +
                                             " on this kernel"
                                       : std::string("no tracepoint in the IP layer");
            if (def.fallback_source)
                h.missing += std::string("; ") + def.fallback_source + ": fentry/fexit " +
                             s.fentry_error;
        }
        s.hops.push_back(std::move(h));
    }
    return s;
}

}  // namespace

std::string_view bpf_object_name(BpfObject object) {
    return object == BpfObject::modern ? "modern" : "compat";
}

int load_empty_tracing_program(int attach_type, unsigned btf_id, const char* name) {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts,
                .expected_attach_type = static_cast<bpf_attach_type>(attach_type),
                .attach_btf_id = btf_id);
    return bpf_prog_load(BPF_PROG_TYPE_TRACING, name, "GPL", insns,
                         sizeof(insns) / sizeof(insns[0]), &opts);
}

const struct btf* vmlinux_btf() {
    static struct btf* btf = [] { return btf__load_vmlinux_btf(); }();
    return btf;
}

KernelSupport probe_kernel_support() {
    static std::mutex mutex;
    static std::unique_ptr<KernelSupport> cached;
    std::lock_guard lock(mutex);
    if (!cached) cached = std::make_unique<KernelSupport>(probe_once());
    return *cached;
}

bool KernelSupport::older_than_supported() const {
    int major = 0, minor = 0;
    if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return false;
    return major < 5 || (major == 5 && minor < 10);
}

std::vector<std::string> KernelSupport::gaps() const {
    std::vector<std::string> out;
    for (const auto& h : hops) {
        if (!h.missing.empty()) out.push_back(h.hop + ": " + h.missing);
        else if (!h.limits.empty()) out.push_back(h.hop + ": " + h.limits);
    }
    return out;
}

const HopSource* KernelSupport::hop(std::string_view name) const {
    for (const auto& h : hops)
        if (h.hop == name) return &h;
    return nullptr;
}

const HopSource* KernelSupport::hop_of(std::string_view program) const {
    for (const auto& h : hops)
        for (const auto& p : h.programs)
            if (p == program) return &h;
    return nullptr;
}

void mark_program_refused(KernelSupport& support, std::string_view program,
                          std::string_view reason) {
    for (auto& h : support.hops) {
        auto it = std::find(h.programs.begin(), h.programs.end(), program);
        if (it == h.programs.end()) continue;
        h.programs.erase(it);
        std::string why = "the verifier refused " + std::string(program) + " (" + h.source + ")";
        if (!reason.empty()) why += ": " + std::string(reason);
        if (!h.programs.empty()) {   // its other functions still run (IPv4/IPv6, UNIX)
            h.limits = why;
            continue;
        }
        h.missing = why;
        h.source.clear();
        h.fallback = false;
    }
}

}  // namespace tpk::kernel
