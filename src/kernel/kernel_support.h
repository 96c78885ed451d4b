// What the running kernel gives tracepacket's kernel side, read once at start:
// which of the two BPF objects fits it, which tracepoints exist and with
// which arguments, whether fentry/fexit programs may attach, and from that,
// per journey hop, where it comes from or why it is missing. The tracer loads
// by it, every journey names the missing hops from it, `tracepacket doctor`
// prints it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

struct btf;

namespace tpk::kernel {

// bpf/tracepacket.bpf.c is built twice (cmake/bpf.cmake).
enum class BpfObject {
    modern,  // needs the bpf_rdonly_cast() kfunc (6.2+): plain loads, task/socket storage
    compat,  // 5.10 and later: bpf_probe_read_kernel(), hash maps
};
std::string_view bpf_object_name(BpfObject object);  // "modern" / "compat"

// One hop of the journey as this kernel can give it.
struct HopSource {
    std::string hop;        // the event it gives: "sock_send_length"
    std::vector<std::string> programs;  // the BPF programs that record it; none: missing
    std::string source;     // "tracepoint sock:sock_send_length", "fexit sock_sendmsg"; "" missing
    std::string missing;    // why it is missing ("" when it is not)
    std::string limits;     // what this kernel's version of it lacks ("" when nothing)
    bool fallback = false;  // source is a kernel function (fentry/fexit), not a tracepoint
};

struct KernelSupport {
    std::string release;              // uname -r
    bool btf = false;                 // /sys/kernel/btf/vmlinux parsed
    std::string btf_error;
    bool rdonly_cast = false;         // the bpf_rdonly_cast kfunc is in the kernel's BTF
    BpfObject object = BpfObject::compat;
    std::string object_reason;        // why that object
    // fentry/fexit: probed by loading and attaching an empty fentry program
    // (needs the privileges; "not probed" otherwise).
    bool fentry = false;
    std::string fentry_error;
    // Tracepoints tracepacket uses -> their argument count (from the BTF
    // prototype btf_trace_<name>); absent when the kernel has no such one.
    std::map<std::string, int> tracepoint_args;
    std::vector<HopSource> hops;      // every hop tracepacket records, in stack order

    // Older than 5.10, the oldest kernel the kernel side is built and tested
    // for (tests/vm): a load that fails there says so.
    bool older_than_supported() const;

    // The hops that are missing or limited here, one line each
    // ("sock_send_length: no tracepoint sock:sock_send_length on this kernel; fexit ...").
    std::vector<std::string> gaps() const;
    const HopSource* hop(std::string_view name) const;
    const HopSource* hop_of(std::string_view program) const;  // by its BPF program
};

// Reads the kernel's BTF and probes fentry (when privileged). Never fails:
// what cannot be read is said in the fields. The BPF object can be forced
// with TRACEPACKET_BPF_OBJECT=modern|compat (tests, and a way out should
// the detection ever be wrong).
KernelSupport probe_kernel_support();

// The kernel's BTF, parsed once per process (nullptr when unreadable). Owned
// here; callers must not free it.
const struct btf* vmlinux_btf();

// Loads "return 0" as a BPF_PROG_TYPE_TRACING program of the given attach
// type on the BTF id (a tracepoint's typedef, a function): the feature
// probes' one way to ask the kernel. Returns the fd, or -1 with errno set.
int load_empty_tracing_program(int attach_type, unsigned btf_id, const char* name);

// Marks a hop missing after the verifier refused its program (the tracer
// loads without it): reason is the verifier's last word.
void mark_program_refused(KernelSupport& support, std::string_view program,
                          std::string_view reason);

}  // namespace tpk::kernel
