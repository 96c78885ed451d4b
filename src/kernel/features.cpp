// Probe features up front (STYLE.md; bcc libbpf-tools/trace_helpers.c
// probe_tp_btf): one sentence naming what is missing, before anything loads.
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel_support.h"
#include "kernel/log.h"
#include "kernel/tracer.h"
#include "util/fd.h"

namespace tpk::kernel {
namespace {

// <linux/capability.h> of older distributions lacks the 5.8 capabilities.
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;
constexpr long kTracefsMagic = 0x74726163;
constexpr const char* kTracefs = "/sys/kernel/tracing";

bool has_capability(const __user_cap_data_struct (&data)[2], int cap) {
    return data[cap / 32].effective & (1u << (cap % 32));
}

bool tracefs_mounted() {
    struct statfs st {};
    return statfs(kTracefs, &st) == 0 && st.f_type == kTracefsMagic;
}

// Loads "return 0" as a tp_btf program on a tracepoint we use: proves the
// kernel takes BPF_PROG_TYPE_TRACING with BTF attach points.
Status probe_tp_btf() {
    const struct btf* btf = vmlinux_btf();
    int btf_id = btf ? btf__find_by_name_kind(btf, "btf_trace_netif_receive_skb",
                                              BTF_KIND_TYPEDEF)
                     : -1;
    if (btf_id < 0)
        return make_error("the kernel's BTF has no tracepoint netif_receive_skb, so tp_btf "
                          "programs cannot attach");
    UniqueFd fd(load_empty_tracing_program(BPF_TRACE_RAW_TP, static_cast<unsigned>(btf_id),
                                           "tpk_probe"));
    if (!fd) return errno_error("the kernel refused a tp_btf program (BPF_PROG_TYPE_TRACING)");
    return {};
}

}  // namespace

Status check_privileges() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return errno_error("read capabilities");
    if (has_capability(data, kCapSysAdmin)) return {};
    std::vector<std::string> missing;
    if (!has_capability(data, kCapBpf)) missing.push_back("CAP_BPF");
    if (!has_capability(data, kCapPerfmon)) missing.push_back("CAP_PERFMON");
    if (missing.empty()) return {};
    std::string names = missing[0];
    if (missing.size() > 1) names += " and " + missing[1];
    return make_error("tracing the kernel needs CAP_BPF and CAP_PERFMON (or root); this process "
                      "lacks " + names + ": run as root, or grant them with `setcap "
                      "cap_bpf,cap_perfmon+ep` on the binary",
                      EPERM);
}

Status probe_features() {
    if (auto ok = check_privileges(); !ok) return ok;
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        return errno_error("the kernel has no BTF (/sys/kernel/btf/vmlinux); it needs "
                           "CONFIG_DEBUG_INFO_BTF=y for the tracepacket probes");
    if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) != 1)
        return make_error("the kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+)",
                          ENOTSUP);
    if (auto ok = probe_tp_btf(); !ok) return ok;
    // tp_btf attaches without tracefs, but the tracepoint formats people read
    // alongside our output live there: mount it when it is missing.
    if (!tracefs_mounted()) {
        if (mount("nodev", kTracefs, "tracefs", 0, nullptr) == 0)
            log(1, std::string("mounted tracefs on ") + kTracefs);
        else
            log(0, std::string("tracefs is not mounted on ") + kTracefs +
                       " and mounting it failed; tracing goes on without it");
    }
    return {};
}

}  // namespace tpk::kernel
