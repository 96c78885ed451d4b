// tracepacket doctor: what this kernel and these privileges give tracepacket.
// One line per environment check (OK / MISSING / NOTE and what it means), the
// BPF object chosen and why, then per journey hop its source or why it is
// missing, and a verdict. The kernel facts come from
// kernel::probe_kernel_support() and, when privileged, from loading (not
// attaching) the BPF object, so a program the verifier refuses shows up as
// the hop it costs. The environment checks (capabilities, tracefs, lockdown,
// sysctls) are read here: they matter only to this report.
//
// Exit status: 0 when the kernel side can run here (even with hops missing),
// 1 when it cannot (no privileges, no BTF, ...): the verdict says why.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "commands/command.h"
#include "kernel/kernel_support.h"
#include "kernel/log.h"
#include "kernel/tracer.h"
#include "report/paint.h"

namespace tpk::commands {
namespace {

struct DoctorOptions {
    bool json = false;
    bool no_load = false;
    int verbose = 0;
};

// statfs(2) f_type values (include/uapi/linux/magic.h).
constexpr long kTracefsMagic = 0x74726163;
constexpr long kDebugfsMagic = 0x64626720;
constexpr long kSecurityfsMagic = 0x73636673;
constexpr const char* kTracefs = "/sys/kernel/tracing";
constexpr const char* kDebugfs = "/sys/kernel/debug";
constexpr const char* kLockdown = "/sys/kernel/security/lockdown";
constexpr const char* kKprobeEvents = "/sys/kernel/tracing/kprobe_events";
constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

// Capability numbers (include/uapi/linux/capability.h; CAP_PERFMON and
// CAP_BPF are 5.8's, missing from older distributions' headers).
struct CapDef {
    const char* name;
    int bit;
};
constexpr CapDef kCapBpf{"CAP_BPF", 39};
constexpr CapDef kCapPerfmon{"CAP_PERFMON", 38};
constexpr CapDef kCapNetRaw{"CAP_NET_RAW", 13};
constexpr CapDef kCapNetAdmin{"CAP_NET_ADMIN", 12};
constexpr CapDef kCapSysAdmin{"CAP_SYS_ADMIN", 21};

enum class Level { ok, missing, note };

std::string_view level_name(Level l) {
    return l == Level::ok ? "ok" : l == Level::missing ? "missing" : "note";
}

// One line of the report.
struct Check {
    std::string section;  // "system", "privileges", "kernel", "bpf"
    std::string id;       // stable JSON key: "btf", "cap_bpf", ...
    std::string label;    // the text column: "BTF", "CAP_BPF"
    Level level = Level::note;
    std::string value;    // what was found ("6.18.44", "[none] integrity ..."); may be ""
    std::string meaning;  // one sentence: what it means for tracepacket
};

// What doctor found, before it is judged and printed.
struct Findings {
    std::string release, machine;
    std::optional<std::uint64_t> cap_eff;  // /proc/self/status CapEff
    bool privileged = false;               // kernel::check_privileges()
    std::string privilege_error;
    bool btf_file = false;
    bool tracefs_before = false, tracefs_after = false;
    bool debugfs = false;
    bool securityfs = false;
    std::optional<std::string> lockdown_line;  // "[none] integrity confidentiality"
    std::string lockdown_mode;                 // "none", "integrity", "confidentiality"
    std::optional<int> unprivileged_bpf_disabled, perf_event_paranoid;
    std::optional<bool> ringbuf;  // nullopt: not probed
    bool ringbuf_in_btf = false;
    std::optional<bool> tp_btf;  // nullopt: not probed
    std::string tp_btf_error;
    int kprobe_events_errno = 0;  // 0: present
    kernel::KernelSupport support;
    // Loading the BPF object (not attached): nullopt when not tried.
    std::optional<bool> loaded;
    std::string load_note;              // why not tried, or why it failed
    std::vector<std::string> refused;   // hops whose program the verifier refused
    std::vector<std::string> blockers;  // why the kernel side cannot run here
};

// ---- reading the environment ------------------------------------------

bool fs_has_magic(const char* path, long magic) {
    struct statfs st {};
    return statfs(path, &st) == 0 && st.f_type == magic;
}

std::optional<std::string> read_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return line;
}

std::optional<int> read_int(const char* path) {
    auto line = read_line(path);
    if (!line) return std::nullopt;
    char* end = nullptr;
    long v = std::strtol(line->c_str(), &end, 10);
    if (end == line->c_str()) return std::nullopt;
    return static_cast<int>(v);
}

// The effective set, as the kernel reports it for this process.
std::optional<std::uint64_t> read_cap_eff() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        char* end = nullptr;
        std::uint64_t v = std::strtoull(line.c_str() + 7, &end, 16);
        if (end == line.c_str() + 7) return std::nullopt;
        return v;
    }
    return std::nullopt;
}

bool has_cap(const Findings& f, CapDef cap) { return f.cap_eff && (*f.cap_eff >> cap.bit) & 1u; }

// "[none] integrity confidentiality" -> "none".
std::string selected_lockdown(const std::string& line) {
    auto open = line.find('[');
    auto close = line.find(']', open);
    if (open == std::string::npos || close == std::string::npos) return line;
    return line.substr(open + 1, close - open - 1);
}

// Loads the BPF object the kernel side would use (with the programs the
// verifier refuses dropped, as a journey does) without attaching it: the
// verifier's verdict is the one fact only a load can give.
void try_load(Findings& f) {
    auto tracer = kernel::Tracer::open();
    if (!tracer) {
        f.loaded = false;
        f.load_note = tracer.error().message();
        return;
    }
    kernel::TracerOptions options;
    options.ring_buffer_bytes = 64 * 1024;  // the verifier does not care; keep it light
    auto ok = tracer->configure(options);
    if (ok) ok = tracer->load();
    if (!ok) {
        f.loaded = false;
        f.load_note = ok.error().message();
        return;
    }
    f.loaded = true;
    f.support = tracer->kernel_support();
    for (const auto& h : f.support.hops)
        if (h.missing.rfind("the verifier refused", 0) == 0 ||
            h.limits.rfind("the verifier refused", 0) == 0)  // its IPv4/IPv6 twin still runs
            f.refused.push_back(h.hop);
    tracer->stop();
}

Findings gather(const DoctorOptions& o) {
    Findings f;
    struct utsname u {};
    if (uname(&u) == 0) {
        f.release = u.release;
        f.machine = u.machine;
    }
    f.cap_eff = read_cap_eff();
    auto priv = kernel::check_privileges();
    f.privileged = priv.ok();
    if (!priv) f.privilege_error = priv.error().message();
    f.btf_file = access(kVmlinuxBtf, R_OK) == 0;
    // Before probe_features(), which mounts tracefs when it is missing.
    f.tracefs_before = fs_has_magic(kTracefs, kTracefsMagic);
    f.debugfs = fs_has_magic(kDebugfs, kDebugfsMagic);
    f.securityfs = fs_has_magic("/sys/kernel/security", kSecurityfsMagic);
    f.lockdown_line = read_line(kLockdown);
    if (f.lockdown_line) f.lockdown_mode = selected_lockdown(*f.lockdown_line);
    f.unprivileged_bpf_disabled = read_int("/proc/sys/kernel/unprivileged_bpf_disabled");
    f.perf_event_paranoid = read_int("/proc/sys/kernel/perf_event_paranoid");

    f.support = kernel::probe_kernel_support();
    const struct btf* btf = kernel::vmlinux_btf();
    f.ringbuf_in_btf = btf && btf__find_by_name_kind(btf, "bpf_ringbuf", BTF_KIND_STRUCT) >= 0;

    if (f.lockdown_mode == "confidentiality")
        f.blockers.push_back(
            "lockdown=confidentiality withholds bpf_probe_read_kernel() from "
            "BPF programs");
    if (!f.privileged) {
        std::vector<std::string> lacking;
        for (CapDef c : {kCapBpf, kCapPerfmon})
            if (!has_cap(f, c)) lacking.push_back(c.name);
        f.blockers.push_back(lacking.empty()
                                 ? f.privilege_error
                                 : fmt::format("this process lacks {} (run as root, or `setcap "
                                               "cap_bpf,cap_perfmon+ep` the binary)",
                                               fmt::join(lacking, " and ")));
        if (!f.support.btf) f.blockers.push_back("no BTF at /sys/kernel/btf/vmlinux");
        f.load_note = "not tried (needs CAP_BPF and CAP_PERFMON)";
    } else {
        // libbpf_probe_bpf_map_type() says 0 for EPERM too: only ask when privileged.
        f.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
        auto features = kernel::probe_features();
        if (f.btf_file && *f.ringbuf) {
            f.tp_btf = features.ok();
            if (!features) f.tp_btf_error = features.error().message();
        }
        if (!features) {
            f.blockers.push_back(features.error().message());
            f.load_note = "not tried (the kernel side cannot run here)";
        } else if (!f.blockers.empty()) {
            f.load_note = "not tried (the kernel side cannot run here)";
        } else if (o.no_load) {
            f.load_note = "not tried (--no-load)";
        } else {
            try_load(f);
            if (f.loaded && !*f.loaded)
                f.blockers.push_back("the BPF object does not load: " + f.load_note);
        }
    }
    f.tracefs_after = fs_has_magic(kTracefs, kTracefsMagic);
    struct stat st {};
    f.kprobe_events_errno = stat(kKprobeEvents, &st) == 0 ? 0 : errno;
    return f;
}

// ---- judging -----------------------------------------------------------

std::string hop_status(const kernel::HopSource& h) {
    if (!h.missing.empty()) return "MISSING";
    if (h.fallback) return "fallback";
    if (!h.limits.empty()) return "limited";
    return "ok";
}

std::string hop_reason(const kernel::HopSource& h) {
    if (!h.missing.empty()) return h.missing;
    std::string r;
    if (h.fallback)
        r = "no tracepoint gives it here: fentry/fexit on the kernel function records it (" +
            h.source + ")";
    if (!h.limits.empty()) r += (r.empty() ? "" : "; ") + h.limits;
    return r;
}

std::vector<std::string> missing_hops(const Findings& f) {
    std::vector<std::string> out;
    for (const auto& h : f.support.hops)
        if (!h.missing.empty()) out.push_back(h.hop);
    return out;
}

// The major.minor of a release string, 0 when unreadable.
int version_code(const std::string& release) {
    int major = 0, minor = 0;
    if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return 0;
    return major * 1000 + minor;
}

void system_checks(const Findings& f, std::vector<Check>& out) {
    Check rel{"system", "release", "kernel release", Level::ok, f.release, ""};
    int v = version_code(f.release);
    if (v == 0) {
        rel.level = Level::note;
        rel.meaning = "unreadable (uname); the checks below still say what works";
    } else if (v < 5010) {
        rel.level = Level::note;
        rel.meaning =
            "older than 5.10, the oldest kernel tracepacket is tested on; the checks "
            "below say what works";
    } else {
        rel.meaning =
            "the kernel side runs on 5.10 and later; what this one lacks is in the "
            "hop table";
    }
    out.push_back(rel);
    Check arch{"system", "architecture", "architecture", Level::ok, f.machine, ""};
    if (f.machine == "x86_64") {
        arch.meaning = "system calls are traced by their x86_64 numbers, which match";
    } else {
        arch.level = Level::missing;
        arch.meaning =
            "tracepacket's system call table is x86_64's: here the syscall hops "
            "would record the wrong calls";
    }
    out.push_back(arch);
}

void privilege_checks(const Findings& f, std::vector<Check>& out) {
    const bool sys_admin = has_cap(f, kCapSysAdmin);
    const bool bpf = has_cap(f, kCapBpf), perfmon = has_cap(f, kCapPerfmon);
    auto cap = [&](CapDef c, Level level, std::string meaning) {
        std::string id = c.name;
        std::transform(id.begin(), id.end(), id.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        out.push_back({"privileges", id, c.name, level, "", std::move(meaning)});
    };
    if (!f.cap_eff) {
        out.push_back({"privileges", "capabilities", "capabilities", Level::note, "",
                       "could not read CapEff from /proc/self/status"});
    }
    if (bpf)
        cap(kCapBpf, Level::ok, "tracepacket may load its BPF programs and maps");
    else if (sys_admin)
        cap(kCapBpf, Level::note, "absent, but CAP_SYS_ADMIN covers it");
    else
        cap(kCapBpf, Level::missing,
            "the kernel side cannot load its BPF programs: journeys are partial");
    if (perfmon)
        cap(kCapPerfmon, Level::ok,
            "its programs may attach to tracepoints and read kernel structs");
    else if (sys_admin)
        cap(kCapPerfmon, Level::note, "absent, but CAP_SYS_ADMIN covers it");
    else
        cap(kCapPerfmon, Level::missing,
            "BPF programs could not attach to tracepoints: journeys are partial");
    if (has_cap(f, kCapNetRaw))
        cap(kCapNetRaw, Level::ok,
            "tracepacket may capture on lo: each packet's frame, `capture` live");
    else
        cap(kCapNetRaw, Level::missing,
            "no capture on lo: journeys show no frames and `capture` reads files only (-r)");
    if (has_cap(f, kCapNetAdmin))
        cap(kCapNetAdmin, Level::ok,
            "lets the two-host runtime tests make network namespaces and veth pairs; no command "
            "needs it");
    else
        cap(kCapNetAdmin, Level::note,
            "only the runtime tests' network namespaces need it; no command does");
    if (sys_admin)
        cap(kCapSysAdmin, Level::ok,
            "covers CAP_BPF and CAP_PERFMON, and lets tracepacket mount tracefs when it is "
            "missing");
    else if (bpf && perfmon)
        cap(kCapSysAdmin, Level::note,
            "not needed: CAP_BPF and CAP_PERFMON suffice (tracefs is not mounted for you)");
    else
        cap(kCapSysAdmin, Level::note,
            "absent too: root, or CAP_BPF + CAP_PERFMON, is what the kernel side needs");
    out.push_back({"privileges", "unprivileged", "without them", Level::note, "",
                   "`sockets`, `route`, `capture -r`, `stack` and the partial journey (user-space "
                   "timings, sockets, route) need none of these"});
}

void kernel_checks(const Findings& f, std::vector<Check>& out) {
    const auto& s = f.support;
    if (s.btf)
        out.push_back(
            {"kernel", "btf", "BTF", Level::ok, kVmlinuxBtf,
             "programs read kernel structs by their BTF types (CO-RE) and attach as tp_btf"});
    else
        out.push_back({"kernel", "btf", "BTF", Level::missing, f.btf_file ? "unreadable" : "absent",
                       s.btf_error});

    if (f.tracefs_before)
        out.push_back({"kernel", "tracefs", "tracefs", Level::ok,
                       std::string("mounted at ") + kTracefs,
                       "tracepoint formats are readable there (tracepacket attaches without it)"});
    else if (f.tracefs_after)
        out.push_back({"kernel", "tracefs", "tracefs", Level::ok,
                       std::string("mounted at ") + kTracefs,
                       "it was not mounted; this run mounted it, as tracing does"});
    else
        out.push_back({"kernel", "tracefs", "tracefs", Level::note,
                       std::string("not mounted at ") + kTracefs,
                       "tracepacket attaches without it and mounts it when run as root "
                       "(mount -t tracefs nodev /sys/kernel/tracing)"});
    out.push_back({"kernel", "debugfs", "debugfs", f.debugfs ? Level::ok : Level::note,
                   std::string(f.debugfs ? "mounted at " : "not mounted at ") + kDebugfs,
                   "tracepacket does not need it (older tools look for tracing under it)"});

    Check lock{"kernel", "lockdown", "lockdown", Level::ok, "", ""};
    if (!f.lockdown_line) {
        lock.level = Level::note;
        lock.value = f.securityfs ? std::string(kLockdown) + " absent" : "securityfs not mounted";
        lock.meaning =
            "cannot tell; integrity mode would not matter, confidentiality would stop "
            "the kernel side (it withholds bpf_probe_read_kernel)";
    } else {
        lock.value = *f.lockdown_line;
        if (f.lockdown_mode == "none") {
            lock.meaning =
                "nothing locked down (integrity would block writes to kernel memory, "
                "confidentiality also reading it from BPF)";
        } else if (f.lockdown_mode == "integrity") {
            lock.meaning =
                "blocks writing kernel memory and bpf_probe_write_user(); tracepacket "
                "only reads, so nothing changes";
        } else if (f.lockdown_mode == "confidentiality") {
            lock.level = Level::missing;
            lock.meaning =
                "also blocks reading kernel memory from BPF (bpf_probe_read_kernel), "
                "perf and tracefs: neither BPF object can load";
        } else {
            lock.level = Level::note;
            lock.meaning = "an unknown lockdown mode";
        }
    }
    out.push_back(lock);

    Check ubpf{"kernel", "unprivileged_bpf_disabled", "unprivileged BPF", Level::ok, "", ""};
    if (f.unprivileged_bpf_disabled) {
        int v = *f.unprivileged_bpf_disabled;
        ubpf.value = fmt::format("kernel.unprivileged_bpf_disabled = {}", v);
        ubpf.meaning = v == 0 ? "users without CAP_BPF may load socket filters; tracepacket's "
                                "tracing programs need CAP_BPF whatever this says"
                              : "BPF without CAP_BPF is off; tracepacket needs CAP_BPF anyway, "
                                "so nothing changes";
    } else {
        ubpf.level = Level::note;
        ubpf.value = "unreadable";
        ubpf.meaning = "tracepacket needs CAP_BPF whatever this says";
    }
    out.push_back(ubpf);

    Check perf{"kernel", "perf_event_paranoid", "perf paranoid", Level::ok, "", ""};
    if (f.perf_event_paranoid) {
        perf.value = fmt::format("kernel.perf_event_paranoid = {}", *f.perf_event_paranoid);
        perf.meaning =
            "limits perf_event_open() without CAP_PERFMON; tracepacket attaches "
            "through BPF links with CAP_PERFMON, which it does not limit";
    } else {
        perf.level = Level::note;
        perf.value = "unreadable";
        perf.meaning =
            "tracepacket attaches through BPF links with CAP_PERFMON, which it does not limit";
    }
    out.push_back(perf);

    if (f.ringbuf && *f.ringbuf)
        out.push_back({"bpf", "ringbuf", "ring buffer", Level::ok, "BPF_MAP_TYPE_RINGBUF",
                       "the one channel events come through (Linux 5.8+)"});
    else if (f.ringbuf)
        out.push_back({"bpf", "ringbuf", "ring buffer", Level::missing, "no BPF_MAP_TYPE_RINGBUF",
                       "the kernel side has no way to send events (it needs Linux 5.8+)"});
    else
        out.push_back({"bpf", "ringbuf", "ring buffer", Level::note, "not probed",
                       f.ringbuf_in_btf
                           ? "creating a map needs CAP_BPF; the kernel's BTF has struct bpf_ringbuf"
                           : "creating a map needs CAP_BPF"});

    const std::size_t described = s.tracepoint_args.size();
    if (f.tp_btf && *f.tp_btf)
        out.push_back(
            {"bpf", "tp_btf", "tp_btf", Level::ok, "loads",
             fmt::format("tracepoints are read with their BTF types; the kernel has {} of "
                         "those tracepacket uses (the hop table names any it lacks)",
                         described)});
    else if (f.tp_btf)
        out.push_back({"bpf", "tp_btf", "tp_btf", Level::missing, "refused", f.tp_btf_error});
    else
        out.push_back({"bpf", "tp_btf", "tp_btf", Level::note, "not probed",
                       fmt::format("{}; the kernel's BTF describes {} of the tracepoints "
                                   "tracepacket uses (the hop table names any it lacks)",
                                   f.privileged ? "the checks above failed first"
                                                : "loading a program needs CAP_BPF and CAP_PERFMON",
                                   described)});

    bool costs_hops = false;
    for (const auto& h : s.hops)
        if (h.missing.find("fentry/fexit") != std::string::npos) costs_hops = true;
    if (s.fentry)
        out.push_back(
            {"bpf", "fentry", "fentry/fexit", Level::ok, "attach",
             "a hop whose tracepoint this kernel lacks comes from the function behind it"});
    else
        out.push_back({"bpf", "fentry", "fentry/fexit", costs_hops ? Level::missing : Level::note,
                       s.fentry_error,
                       costs_hops
                           ? "the hops that need it (no tracepoint gives them here) are "
                             "missing: see the hop table"
                           : "no hop needs it here: each has its tracepoint"});

    if (f.kprobe_events_errno == 0)
        out.push_back({"bpf", "kprobes", "kprobes", Level::note,
                       std::string(kKprobeEvents) + " present",
                       "kprobes work here, but tracepacket does not use them (fentry/fexit stand "
                       "in where tracepoints are missing)"});
    else if (f.kprobe_events_errno == EACCES)
        out.push_back({"bpf", "kprobes", "kprobes", Level::note, "cannot look without root",
                       "tracepacket does not use kprobes (fentry/fexit stand in where tracepoints "
                       "are missing)"});
    else
        out.push_back({"bpf", "kprobes", "kprobes", Level::note, std::string("no ") + kKprobeEvents,
                       "kprobes are not built here (or tracefs is not mounted); tracepacket does "
                       "not use them"});

    if (!s.btf)
        out.push_back({"bpf", "object", "BPF object", Level::missing, "none",
                       "neither object loads without the kernel's BTF"});
    else
        out.push_back({"bpf", "object", "BPF object", Level::ok,
                       std::string(kernel::bpf_object_name(s.object)), s.object_reason});

    if (!f.loaded)
        out.push_back({"bpf", "load", "verifier", Level::note, f.load_note,
                       "loading the BPF object is how a program the verifier refuses is found"});
    else if (!*f.loaded)
        out.push_back({"bpf", "load", "verifier", Level::missing, "the BPF object does not load",
                       f.load_note});
    else if (f.refused.empty())
        out.push_back({"bpf", "load", "verifier", Level::ok, "accepts every program",
                       "the BPF object loaded here (then was unloaded; nothing was attached)"});
    else
        out.push_back({"bpf", "load", "verifier", Level::missing,
                       fmt::format("refused {} program(s)", f.refused.size()),
                       fmt::format("tracing goes on without their hop(s): {}",
                                   fmt::join(f.refused, ", "))});
}

std::vector<Check> all_checks(const Findings& f) {
    std::vector<Check> out;
    system_checks(f, out);
    privilege_checks(f, out);
    kernel_checks(f, out);
    return out;
}

std::string verdict(const Findings& f) {
    if (!f.blockers.empty())
        return fmt::format(
            "kernel side unavailable: {}; tracepacket shows the partial journey "
            "(user-space timings, sockets, route)",
            fmt::join(f.blockers, "; "));
    auto missing = missing_hops(f);
    if (missing.empty()) return "journeys here: full";
    return fmt::format("journeys here: {} hop(s) missing: {}", missing.size(),
                       fmt::join(missing, ", "));
}

// ---- printing ----------------------------------------------------------

using report::Paint;

// OK green, MISSING red, NOTE yellow.
std::string level_text(const Paint& paint, Level l, const std::string& s) {
    return l == Level::ok ? paint.good(s) : l == Level::missing ? paint.warn(s) : paint.caution(s);
}

// Words of text in lines of at most width columns; the first line starts at
// column first, the others are indented to column indent.
std::string wrap_words(const std::string& text, std::size_t first, std::size_t indent,
                       std::size_t width = 100) {
    std::string out;
    std::size_t col = first;
    std::size_t pos = 0;
    bool line_empty = true;
    while (pos < text.size()) {
        std::size_t space = std::min(text.find(' ', pos), text.size());
        std::string word = text.substr(pos, space - pos);
        pos = space + 1;
        if (word.empty()) continue;
        if (!line_empty && col + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            col = indent;
            line_empty = true;
        }
        if (!line_empty) {
            out += ' ';
            ++col;
        }
        out += word;
        col += word.size();
        line_empty = false;
    }
    return out;
}

constexpr std::size_t kStatusWidth = 9, kLabelWidth = 18;

void print_text(const Findings& f, const std::vector<Check>& checks) {
    const Paint paint{report::stdout_wants_color()};
    const char* titles[][2] = {{"system", "SYSTEM"},
                               {"privileges", "PRIVILEGES (effective capabilities)"},
                               {"kernel", "KERNEL"},
                               {"bpf", "BPF"}};
    std::string out =
        "tracepacket doctor: what this kernel and these privileges give tracepacket\n";
    for (const auto& [section, title] : titles) {
        out += "\n" + paint.head(title) + "\n";
        for (const auto& c : checks) {
            if (c.section != section) continue;
            std::string status = c.level == Level::ok        ? "OK"
                                 : c.level == Level::missing ? "MISSING"
                                                             : "NOTE";
            std::string text = c.value.empty() ? c.meaning : c.value + ": " + c.meaning;
            const std::size_t column = 2 + kStatusWidth + kLabelWidth;
            out += "  " + level_text(paint, c.level, fmt::format("{:<{}}", status, kStatusWidth)) +
                   fmt::format("{:<{}}", c.label, kLabelWidth) + wrap_words(text, column, column) +
                   "\n";
        }
    }

    out += "\n" + paint.head("JOURNEY HOPS") + "\n";
    std::size_t hop_w = 4, source_w = 6;
    for (const auto& h : f.support.hops) {
        hop_w = std::max(hop_w, h.hop.size());
        source_w = std::max(source_w, h.source.size());
    }
    hop_w += 2;
    source_w += 2;
    out += paint.dim(fmt::format("  {:<{}}{:<{}}{}", "hop", hop_w, "source", source_w, "status")) +
           "\n";
    for (const auto& h : f.support.hops) {
        std::string status = hop_status(h);
        Level level = status == "MISSING" ? Level::missing
                      : status == "ok"    ? Level::ok
                                          : Level::note;
        out += fmt::format("  {:<{}}{:<{}}", h.hop, hop_w, h.source.empty() ? "-" : h.source,
                           source_w) +
               level_text(paint, level, status) + "\n";
        std::string reason = hop_reason(h);
        if (!reason.empty()) {
            const std::size_t column = 2 + hop_w;
            out += std::string(column, ' ') + wrap_words(reason, column, column) + "\n";
        }
    }
    std::string v = verdict(f);
    Level vl = !f.blockers.empty()       ? Level::missing
               : missing_hops(f).empty() ? Level::ok
                                         : Level::note;
    out += "\n" + level_text(paint, vl, v) + "\n";  // one line, for grep and tail -1
    fmt::print("{}", out);
    std::fflush(stdout);
}

void print_json(const Findings& f, const std::vector<Check>& checks) {
    const auto& s = f.support;
    nlohmann::json j = {
        {"type", "doctor"},
        {"schema_version", 1},
        {"release", f.release},
        {"machine", f.machine},
        {"kernel_side", f.blockers.empty()},
        {"blockers", f.blockers},
        {"verdict", verdict(f)},
        {"privileged", f.privileged},
        {"btf", s.btf},
        {"btf_error", s.btf_error},
        {"rdonly_cast", s.rdonly_cast},
        {"object", std::string(kernel::bpf_object_name(s.object))},
        {"object_reason", s.object_reason},
        {"fentry", s.fentry},
        {"fentry_error", s.fentry_error},
        {"lockdown", f.lockdown_line ? nlohmann::json(f.lockdown_mode) : nlohmann::json(nullptr)},
        {"ringbuf", f.ringbuf ? nlohmann::json(*f.ringbuf) : nlohmann::json(nullptr)},
        {"tp_btf", f.tp_btf ? nlohmann::json(*f.tp_btf) : nlohmann::json(nullptr)},
        {"loaded", f.loaded ? nlohmann::json(*f.loaded) : nlohmann::json(nullptr)},
        {"refused_hops", f.refused},
        {"tracepoint_args", s.tracepoint_args},
        {"missing_hops", missing_hops(f)},
    };
    nlohmann::json caps = nlohmann::json::object();
    for (CapDef c : {kCapBpf, kCapPerfmon, kCapNetRaw, kCapNetAdmin, kCapSysAdmin})
        caps[c.name] = has_cap(f, c);
    j["capabilities"] = f.cap_eff ? caps : nlohmann::json(nullptr);
    nlohmann::json cj = nlohmann::json::array();
    for (const auto& c : checks)
        cj.push_back({{"id", c.id},
                      {"section", c.section},
                      {"status", std::string(level_name(c.level))},
                      {"value", c.value},
                      {"meaning", c.meaning}});
    j["checks"] = std::move(cj);
    nlohmann::json hops = nlohmann::json::array();
    for (const auto& h : s.hops) {
        std::string status = hop_status(h);
        std::transform(status.begin(), status.end(), status.begin(),
                       [](unsigned char ch) { return std::tolower(ch); });
        hops.push_back({{"hop", h.hop},
                        {"status", status},
                        {"programs", h.programs},
                        {"source", h.source},
                        {"fallback", h.fallback},
                        {"missing", h.missing},
                        {"limits", h.limits}});
    }
    j["hops"] = std::move(hops);
    fmt::print("{}\n", j.dump());
    std::fflush(stdout);
}

Result<int> run_doctor(const DoctorOptions& o) {
    kernel::route_libbpf_logs();
    if (o.verbose > 0)
        kernel::set_logger([max_level = std::min(o.verbose, 2)](int level, std::string_view line) {
            if (level <= max_level) fmt::print(stderr, "tracepacket: {}\n", line);
        });
    Findings f = gather(o);
    auto checks = all_checks(f);
    if (o.json)
        print_json(f, checks);
    else
        print_text(f, checks);
    return f.blockers.empty() ? 0 : 1;
}

}  // namespace

void register_doctor(CLI::App& app, Runner* run) {
    auto o = std::make_shared<DoctorOptions>();
    auto* cmd = app.add_subcommand(
        "doctor",
        "Check what this kernel and these privileges give tracepacket: capabilities, BTF, "
        "tracefs, lockdown, BPF features, the BPF object chosen and why, and per journey hop its "
        "source or why it is missing. Exit 0 when the kernel side can run here, 1 when it cannot.");
    cmd->footer(
        "Each check prints OK, MISSING or NOTE and what it means for tracepacket. With the\n"
        "privileges it also loads the BPF programs (never attaching them), so a program the\n"
        "verifier refuses shows as the hop it costs. The last line is the verdict.\n"
        "\n"
        "Exit status:\n"
        "  0  the kernel side can run here (some hops may still be missing: see the table)\n"
        "  1  it cannot (not privileged, no BTF, lockdown, ...): journeys are partial\n"
        "     (user-space timings, sockets, route)\n"
        "  2  bad command line\n"
        "\n"
        "Examples:\n"
        "  sudo tracepacket doctor\n"
        "  tracepacket doctor --json | jq -c '.hops[] | select(.status != \"ok\")'");
    cmd->add_flag("--json", o->json, "One JSON object (docs/json-schema.md, \"doctor\")");
    cmd->add_flag("--no-load", o->no_load,
                  "Do not load the BPF programs (faster; the verifier's refusals are not found)");
    cmd->add_flag("-v,--verbose", o->verbose, "Show libbpf's messages (-vv: its debug log)");
    cmd->callback([o, run] { *run = [o] { return run_doctor(*o); }; });
}

}  // namespace tpk::commands
