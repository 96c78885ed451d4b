#include "kernel/tracer.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel/convert.h"
#include "kernel/kernel_support.h"
#include "kernel/log.h"
#include "kernel/prefaulted_chunks.h"
#include "kernel/proc_ports.h"
#include "kernel/syscalls.h"
#include "tracepacket.skel.h"
#include "tracepacket_compat.skel.h"
#include "util/fd.h"

namespace tpk::kernel {
namespace {

void free_ring_buffer(ring_buffer* rb) { ring_buffer__free(rb); }
using RingBuffer = ScopedHandle<ring_buffer, free_ring_buffer>;

// The knobs of .rodata (set before load) and the globals user space writes
// while tracing (.data, .bss), as pointers into whichever skeleton is open.
struct Rodata {
    __u8* syscall_wanted;
    bool* trace_syscalls;
    __u8* bench_floor;
    __u64* wakeup_bytes;
    bool* exit_has_group_dead;
    bool* retransmit_has_err;
    bool* send_reset_has_reason;
    bool* kfree_skb_has_reason;
    bool* kfree_skb_has_rx_sk;
    bool* test_refuse_tcp_probe;
};

struct Globals {
    __u8 (*traced_ports)[TPK_PORTS];
    __u32* traced_netns;
    __u32* traced_netns_count;
    __u32* traced_tgids_gen;
};

// One of the two generated skeletons (KernelSupport::object picks which):
// the same globals and maps, two distinct C types.
class Skeleton {
public:
    virtual ~Skeleton() = default;
    virtual bpf_object* obj() const = 0;
    virtual bpf_object_skeleton* skeleton() const = 0;
    virtual int load() = 0;
    virtual void detach() = 0;
    virtual Rodata rodata() = 0;     // before load only: libbpf maps .rodata anew at load
    virtual Globals globals() = 0;   // after load
    bpf_map* map(const char* name) const { return bpf_object__find_map_by_name(obj(), name); }
};

template <class S>
class SkeletonOf final : public Skeleton {
public:
    explicit SkeletonOf(S* s) : s_(s) {}
    ~SkeletonOf() override { S::destroy(s_); }
    SkeletonOf(const SkeletonOf&) = delete;
    SkeletonOf& operator=(const SkeletonOf&) = delete;

    bpf_object* obj() const override { return s_->obj; }
    bpf_object_skeleton* skeleton() const override { return s_->skeleton; }
    int load() override { return S::load(s_); }
    void detach() override { S::detach(s_); }
    Rodata rodata() override {
        auto* r = s_->rodata;
        return {r->syscall_wanted,        &r->trace_syscalls,     &r->bench_floor,
                &r->wakeup_bytes,         &r->exit_has_group_dead, &r->retransmit_has_err,
                &r->send_reset_has_reason, &r->kfree_skb_has_reason, &r->kfree_skb_has_rx_sk,
                &r->test_refuse_tcp_probe};
    }
    Globals globals() override {
        return {s_->bss->traced_ports, s_->bss->traced_netns, &s_->bss->traced_netns_count,
                &s_->data->traced_tgids_gen};
    }

private:
    S* s_;
};

std::unique_ptr<Skeleton> open_skeleton(BpfObject object) {
    if (object == BpfObject::modern) {
        auto* s = tracepacket_bpf::open();
        return s ? std::make_unique<SkeletonOf<tracepacket_bpf>>(s) : nullptr;
    }
    auto* s = tracepacket_compat_bpf::open();
    return s ? std::make_unique<SkeletonOf<tracepacket_compat_bpf>>(s) : nullptr;
}

// A refused program costs its hop; a few refusals in one start are worth a
// retry each, more mean something else is wrong.
constexpr int kMaxRefusedPrograms = 8;

Error libbpf_error(int err, const std::string& what) {
    return errno_error(err < 0 ? -err : err, what);
}

// "tp_btf/net_dev_xmit", "fexit/sock_sendmsg": what a program attaches to.
std::string attach_point_of(const bpf_program* prog) {
    std::string_view section = bpf_program__section_name(prog);
    if (section.starts_with("?")) section.remove_prefix(1);
    return std::string(section);
}

// pidfd_open()'s PIDFD_THREAD (Linux 6.9, uapi linux/pidfd.h): O_EXCL.
constexpr unsigned kPidfdThread = O_EXCL;

std::size_t ring_buffer_size(std::size_t bytes) {
    auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return std::bit_ceil(std::max(bytes, page));
}

}  // namespace

// Ring records kept as they arrive (TracerOptions::hold_records), packed
// into 1 MiB chunks, each record as its size and its bytes: no allocation
// per record and nothing moves as it grows.
class HeldRecords {
public:
    void add(const void* data, std::size_t size, PrefaultedChunks& memory) {
        std::size_t need = sizeof(std::uint32_t) + size;
        if (chunks_.empty() || used_.back() + need > kChunkBytes) {
            chunks_.push_back(need <= kChunkBytes ? memory.take()
                                                  : std::make_unique<std::byte[]>(need));
            used_.push_back(0);
        }
        std::byte* at = chunks_.back().get() + used_.back();
        auto size32 = static_cast<std::uint32_t>(size);
        std::memcpy(at, &size32, sizeof(size32));
        std::memcpy(at + sizeof(size32), data, size);
        used_.back() += need;
        ++count_;
    }
    std::uint64_t count() const { return count_; }

    // Calls f(data, size) for each record in arrival order, then forgets them.
    template <class F>
    void take(F&& f) {
        for (std::size_t c = 0; c < chunks_.size(); ++c) {
            const std::byte* p = chunks_[c].get();
            std::size_t off = 0;
            while (off < used_[c]) {
                std::uint32_t size = 0;
                std::memcpy(&size, p + off, sizeof(size));
                f(p + off + sizeof(size), static_cast<std::size_t>(size));
                off += sizeof(size) + size;
            }
        }
        chunks_.clear();
        used_.clear();
        count_ = 0;
    }

private:
    static constexpr std::size_t kChunkBytes = PrefaultedChunks::kChunkBytes;
    std::vector<std::unique_ptr<std::byte[]>> chunks_;
    std::vector<std::size_t> used_;
    std::uint64_t count_ = 0;
};

struct Tracer::State {
    // Declared before the ring buffer, so it is destroyed after it (the
    // ring buffer reads the skeleton's map).
    std::unique_ptr<Skeleton> skel;
    RingBuffer rb;
    TracerOptions options;
    KernelSupport support;
    DropReasonNames drop_names;
    ResetReasonNames reset_names;
    const EventSink* sink = nullptr;   // set for the duration of poll()/drain()
    int delivered = 0;
    std::uint64_t arrived = 0;         // records read from the ring, ever
    std::uint64_t dropped = 0;         // not held: max_held_records were
    bool loaded = false;
    bool attached = false;

    HeldRecords held;
    PrefaultedChunks held_memory;   // for held: the reader never waits for a page fault

    // A read that takes at most read_limit records (drain's max_records):
    // libbpf reads on while the producers keep writing.
    static constexpr int kBatchFull = -ECANCELED;   // our own stop, not an error
    std::uint64_t read_this_time = 0;
    std::uint64_t read_limit = UINT64_MAX;

    static int on_record(void* ctx, void* data, std::size_t size) {
        auto* self = static_cast<State*>(ctx);
        ++self->arrived;
        // The record is taken either way: libbpf moves past it before it
        // looks at what the callback returned.
        const bool full = ++self->read_this_time >= self->read_limit;
        if (self->options.hold_records) {
            if (self->options.max_held_records && self->held.count() >= self->options.max_held_records)
                ++self->dropped;
            else
                self->held.add(data, size, self->held_memory);
            return full ? kBatchFull : 0;
        }
        if (self->sink) self->deliver(data, size, *self->sink);
        return full ? kBatchFull : 0;
    }

    void deliver(const void* data, std::size_t size, const EventSink& to) {
        RawEvents raws;
        delivered += deliver_raw(raws, expand_record(data, size, raws), to);
    }

    // Converts the first n raw events and hands each to `to`; returns how many.
    int deliver_raw(const RawEvents& raws, std::size_t n, const EventSink& to) {
        int count = 0;
        for (std::size_t i = 0; i < n; ++i) {
            sock_flows.learn(raws[i]);
            if (auto event = convert_event(raws[i], drop_names, reset_names)) {
                to(std::move(*event));
                ++count;
            }
        }
        return count;
    }

    SockFlows sock_flows;   // for unfinished_syscalls()
};

Tracer::Tracer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tracer::Tracer(Tracer&&) noexcept = default;
Tracer& Tracer::operator=(Tracer&&) noexcept = default;
Tracer::~Tracer() { stop(); }

Result<Tracer> Tracer::open() {
    route_libbpf_logs();
    if (auto ok = probe_features(); !ok) return std::move(ok).take_error();
    auto state = std::make_unique<State>();
    state->support = probe_kernel_support();
    log(1, "BPF object: " + std::string(bpf_object_name(state->support.object)) + " (" +
               state->support.object_reason + ")");
    state->skel = open_skeleton(state->support.object);
    if (!state->skel) return errno_error("open the BPF skeleton");
    auto names = load_drop_reason_names();
    if (names) state->drop_names = std::move(*names);
    else log(0, names.error().message() + "; drops are shown by number");
    auto resets = load_reset_reason_names();
    if (resets) state->reset_names = std::move(*resets);
    else log(0, resets.error().message() + "; reset reasons are shown by number");
    return Tracer(std::move(state));
}

Result<Tracer> Tracer::start(const TracerOptions& options) {
    auto tracer = open();
    if (!tracer) return tracer;
    if (auto ok = tracer->configure(options); !ok) return std::move(ok).take_error();
    if (auto ok = tracer->load(); !ok) return std::move(ok).take_error();
    if (auto ok = tracer->attach(); !ok) return std::move(ok).take_error();
    return tracer;
}

namespace {

bool has_args(const KernelSupport& support, const char* tracepoint, int n) {
    auto it = support.tracepoint_args.find(tracepoint);
    return it != support.tracepoint_args.end() && it->second >= n;
}

// For the test of a run that loses a program (tests/runtime/journey,
// kernel_matrix_test.cpp): TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe
// makes the verifier refuse that program (its test_refuse_tcp_probe knob).
bool refuse_for_test() {
    const char* name = std::getenv("TRACEPACKET_TEST_BREAK_PROGRAM");
    return name && std::string_view(name) == "handle_tcp_probe";
}

}  // namespace

Status Tracer::configure(const TracerOptions& options) {
    auto& s = *state_;
    if (s.loaded) return make_error("configure the tracer: already loaded");
    s.options = options;
    Rodata rodata = s.skel->rodata();
    *rodata.trace_syscalls = options.syscalls;
    *rodata.bench_floor = options.bench_floor;
    for (const auto& sc : traced_syscalls()) rodata.syscall_wanted[sc.nr] = sc.knobs;
    // Arguments older kernels do not pass (bpf/knobs.bpf.h).
    *rodata.exit_has_group_dead = has_args(s.support, "sched_process_exit", 2);
    *rodata.retransmit_has_err = has_args(s.support, "tcp_retransmit_skb", 3);
    *rodata.send_reset_has_reason = has_args(s.support, "tcp_send_reset", 3);
    *rodata.kfree_skb_has_reason = has_args(s.support, "kfree_skb", 3);
    *rodata.kfree_skb_has_rx_sk = has_args(s.support, "kfree_skb", 4);
    *rodata.test_refuse_tcp_probe = refuse_for_test();
    std::size_t rb_bytes = ring_buffer_size(options.ring_buffer_bytes);
    *rodata.wakeup_bytes = rb_bytes / 4;
    if (int err = bpf_map__set_max_entries(s.skel->map("events"), rb_bytes); err)
        return libbpf_error(err, "size the ring buffer to " + std::to_string(rb_bytes) + " bytes");
    // Each hop's program as KernelSupport chose it (its tracepoint, or the
    // function behind it); a hop this kernel cannot give loads nothing.
    bpf_program* prog;
    bpf_object__for_each_program(prog, s.skel->obj()) {
        std::string_view name = bpf_program__name(prog);
        bool wanted = false;
        for (const auto& hop : s.support.hops)
            wanted |= std::find(hop.programs.begin(), hop.programs.end(), name) !=
                      hop.programs.end();
        bpf_program__set_autoload(prog, wanted);
    }
    return {};
}

Status Tracer::load() {
    auto& s = *state_;
    if (s.loaded) return {};
    (void)take_refused_program();
    for (int refused = 0;; ++refused) {
        int err = s.skel->load();
        if (!err) break;
        // A program the verifier refuses costs its hop: open the object
        // again without it (libbpf loads an object once, all or nothing).
        auto r = take_refused_program();
        if (r.program.empty() || refused == kMaxRefusedPrograms || !s.support.hop_of(r.program)) {
            std::string what = "load the BPF programs (run with -v for the verifier's log)";
            if (s.support.older_than_supported())
                what += "; tracepacket's kernel side runs on Linux 5.10 and later, and this "
                        "kernel is " + s.support.release;
            return libbpf_error(err, what);
        }
        log(0, "the kernel refused BPF program " + r.program + " (" + r.reason +
                   "); tracing goes on without its hop");
        mark_program_refused(s.support, r.program, r.reason);
        s.skel = open_skeleton(s.support.object);
        if (!s.skel) return errno_error("open the BPF skeleton");
        if (auto ok = configure(s.options); !ok) return ok;
    }
    s.loaded = true;
    for (pid_t pid : s.options.pids)
        if (auto ok = add_pid(pid); !ok) return ok;
    for (const auto& port : s.options.ports)
        if (auto ok = add_port(port); !ok) return ok;
    s.rb = RingBuffer(ring_buffer__new(bpf_map__fd(s.skel->map("events")), State::on_record, &s,
                                       nullptr));
    if (!s.rb) return errno_error("set up the ring buffer reader");
    return {};
}

Status Tracer::attach() {
    auto& s = *state_;
    if (!s.loaded) return make_error("attach the tracer: not loaded");
    bpf_program* prog;
    bpf_object__for_each_program(prog, s.skel->obj()) {
        if (!bpf_program__autoload(prog)) continue;
        bpf_link* link = bpf_program__attach(prog);
        if (!link) return errno_error("attach " + attach_point_of(prog));
        // The skeleton owns its links: destroy() detaches them.
        for (int i = 0; i < s.skel->skeleton()->prog_cnt; ++i) {
            auto& p = s.skel->skeleton()->progs[i];
            if (*p.prog == prog) *p.link = link;
        }
    }
    s.attached = true;
    return {};
}

Status Tracer::add_pid(pid_t pid) {
    auto& s = *state_;
    if (!s.loaded) return make_error("trace pid " + std::to_string(pid) + ": tracer not loaded");
    __u32 key = static_cast<__u32>(pid);
    __u8 one = 1;
    if (bpf_map__update_elem(s.skel->map("traced_tgids"), &key, sizeof(key), &one, sizeof(one),
                             BPF_ANY))
        return errno_error("trace pid " + std::to_string(pid));
    // Threads cache whether their tgid is traced (bpf/syscalls.bpf.h,
    // syscall_start): a new generation makes them ask again.
    __atomic_fetch_add(s.skel->globals().traced_tgids_gen, 1, __ATOMIC_RELEASE);
    // Its namespace: ports match only there (bpf/events.h, traced_netns).
    // Reading another user's /proc/PID/ns/net needs ptrace access, and the
    // process may be gone already: then the BPF side learns the namespace
    // from the process's own socket calls instead.
    if (auto ok = add_netns_of(pid); !ok && ok.error().code == 0) return ok;
    // Its sockets from before: the ports it already listens or talks on.
    for (const auto& port : ports_of_process(pid))
        if (auto ok = add_port(port); !ok) return ok;
    return {};
}

Status Tracer::add_netns_of(pid_t pid) {
    auto& s = *state_;
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return errno_error("read the network namespace of " + path);
    Globals g = s.skel->globals();
    auto inum = static_cast<__u32>(st.st_ino);
    // Fill the slot first, then publish it by raising the count: BPF never
    // sees a counted slot that is still 0 (which would reject every port
    // match). A count that moved meanwhile (BPF learned one) means retry.
    for (;;) {
        __u32 count = __atomic_load_n(g.traced_netns_count, __ATOMIC_ACQUIRE);
        for (__u32 i = 0; i < std::min<__u32>(count, TPK_MAX_NETNS); ++i)
            if (__atomic_load_n(&g.traced_netns[i], __ATOMIC_RELAXED) == inum) return {};
        if (count >= TPK_MAX_NETNS)
            return make_error("trace pid " + std::to_string(pid) + ": more than " +
                              std::to_string(TPK_MAX_NETNS) + " network namespaces");
        __atomic_store_n(&g.traced_netns[count], inum, __ATOMIC_RELEASE);
        if (__atomic_compare_exchange_n(g.traced_netns_count, &count, count + 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return {};
    }
}

Status Tracer::add_port(TracedPort port) {
    auto& s = *state_;
    if (!s.loaded) return make_error("trace port: tracer not loaded");
    int table = port.protocol == IPPROTO_TCP ? TPK_PORT_TCP
                : port.protocol == IPPROTO_UDP ? TPK_PORT_UDP
                                               : -1;
    if (table < 0)
        return make_error("trace port " + std::to_string(port.port) +
                          ": only TCP and UDP ports can be traced");
    // The BPF programs read the flag from the mmapped .bss with a plain load.
    __atomic_store_n(&s.skel->globals().traced_ports[table][port.port], TPK_PORT_PINNED,
                     __ATOMIC_RELEASE);
    return {};
}

Result<int> Tracer::poll(int timeout_ms, const EventSink& sink) {
    auto& s = *state_;
    if (!s.rb) return make_error("poll the tracer: not loaded");
    s.sink = &sink;
    s.delivered = 0;
    s.read_this_time = 0;
    s.read_limit = UINT64_MAX;
    // The kernel wakes this poll only once a quarter of the ring is waiting
    // (wakeup_bytes in bpf/knobs.bpf.h): after the timeout, read what
    // has come meanwhile.
    int err = ring_buffer__poll(s.rb.get(), timeout_ms);
    if (err >= 0) err = ring_buffer__consume(s.rb.get());
    s.sink = nullptr;
    if (err < 0 && err != -EINTR && err != State::kBatchFull) return libbpf_error(err, "read the ring buffer");
    return s.delivered;
}

Result<int> Tracer::drain(const EventSink& sink, std::uint64_t max_records) {
    auto& s = *state_;
    if (!s.rb) return make_error("drain the tracer: not loaded");
    s.sink = &sink;
    s.delivered = 0;
    s.read_this_time = 0;
    s.read_limit = max_records;
    int err = ring_buffer__consume(s.rb.get());
    s.sink = nullptr;
    if (err < 0 && err != -EINTR && err != State::kBatchFull) return libbpf_error(err, "read the ring buffer");
    return s.delivered;
}

namespace {

// Thread ids of a process, from /proc (none when it is gone).
std::vector<pid_t> threads_of(pid_t tgid) {
    std::vector<pid_t> tids;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(tgid) + "/task", ec)) {
        pid_t tid = 0;
        auto name = entry.path().filename().string();
        auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), tid);
        if (err == std::errc{} && p == name.data() + name.size()) tids.push_back(tid);
    }
    return tids;
}

std::string comm_of(pid_t tgid, pid_t tid) {
    std::ifstream f("/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid) + "/comm");
    std::string comm;
    std::getline(f, comm);
    return comm;
}

}  // namespace

Result<int> Tracer::drain_staged(const EventSink& sink) {
    auto& s = *state_;
    if (!s.loaded) return make_error("drain the packet stages: tracer not loaded");
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return libbpf_error(cpus, "count the CPUs");
    // A per-CPU map's value comes as one copy per possible CPU, each rounded
    // up to 8 bytes (struct packet_stage in bpf/packet_stage.bpf.h: the
    // record, then the BPF side's scratch event).
    bpf_map* stages = s.skel->map("packet_stages");
    std::size_t stride = (bpf_map__value_size(stages) + 7) / 8 * 8;
    std::vector<std::uint8_t> values(stride * static_cast<std::size_t>(cpus));
    std::vector<std::uint8_t> empty(values.size());
    __u32 zero = 0;
    int fd = bpf_map__fd(stages);
    if (bpf_map_lookup_elem(fd, &zero, values.data()) != 0)
        return errno_error("read the packet stages");
    int delivered = 0;
    for (int cpu = 0; cpu < cpus; ++cpu) {
        tpk_packet_record stage{};
        std::memcpy(&stage, values.data() + stride * static_cast<std::size_t>(cpu),
                    std::min(sizeof(stage), stride));
        RawEvents raws;
        delivered += s.deliver_raw(raws, expand_stage(stage, raws), sink);
    }
    if (delivered && bpf_map_update_elem(fd, &zero, empty.data(), BPF_ANY) != 0)
        return errno_error("clear the packet stages");
    return delivered;
}

std::shared_ptr<HeldRecords> Tracer::take_held() {
    return std::make_shared<HeldRecords>(std::exchange(state_->held, HeldRecords{}));
}

int Tracer::deliver_records(HeldRecords& records, const EventSink& sink) {
    auto& s = *state_;
    int count = 0;
    records.take([&](const void* data, std::size_t size) {
        RawEvents raws;
        count += s.deliver_raw(raws, expand_record(data, size, raws), sink);
    });
    return count;
}

Result<int> Tracer::finish(const EventSink& sink) {
    auto& s = *state_;
    if (!s.loaded) return make_error("finish the tracer: not loaded");
    s.skel->detach();
    s.attached = false;
    // The ring's last records, then (hold_records) all of them in arrival order.
    auto drained = drain(sink);
    if (!drained) return drained.error();
    s.delivered = 0;
    s.held.take([&](const void* data, std::size_t size) { s.deliver(data, size, sink); });
    int total = *drained + s.delivered;
    for (auto step : {&Tracer::drain_staged, &Tracer::unfinished_syscalls}) {
        auto n = (this->*step)(sink);
        if (!n) return n.error();
        total += *n;
    }
    return total;
}

Result<int> Tracer::unfinished_syscalls(const EventSink& sink) {
    auto& s = *state_;
    if (!s.loaded) return make_error("read unfinished system calls: tracer not loaded");
    int tgids_fd = bpf_map__fd(s.skel->map("traced_tgids"));
    int starts_fd = bpf_map__fd(s.skel->map("syscall_starts"));
    bool by_tid = s.support.object == BpfObject::compat;   // an LRU hash, not task storage
    int delivered = 0;
    __u32 key = 0, next = 0;
    bool first = true;
    while (bpf_map_get_next_key(tgids_fd, first ? nullptr : &key, &next) == 0) {
        first = false;
        key = next;
        auto tgid = static_cast<pid_t>(key);
        for (pid_t tid : threads_of(tgid)) {
            // Task storage is keyed by a pidfd; PIDFD_THREAD (Linux 6.9)
            // names a thread that is not the group leader. The compat
            // object's map is keyed by the tid itself.
            tpk_syscall_start start{};
            if (by_tid) {
                auto key32 = static_cast<__u32>(tid);
                if (bpf_map_lookup_elem(starts_fd, &key32, &start) != 0) continue;
            } else {
                UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, tid, kPidfdThread)));
                if (!pidfd) continue;   // exited meanwhile
                int fd = pidfd.get();
                if (bpf_map_lookup_elem(starts_fd, &fd, &start) != 0) continue;
            }
            tpk_event thread{};
            thread.pid = static_cast<__u32>(tgid);
            thread.tid = static_cast<__u32>(tid);
            auto comm = comm_of(tgid, tid);
            std::memcpy(thread.comm, comm.data(), std::min(comm.size(), sizeof(thread.comm) - 1));
            s.sock_flows.fill(thread, start.sk, start.want & TPK_SC_RX);
            RawEvents raws;
            delivered += s.deliver_raw(raws, expand_unfinished(start, thread, raws), sink);
        }
    }
    return delivered;
}

const KernelSupport& Tracer::kernel_support() const { return state_->support; }

int Tracer::epoll_fd() const {
    return state_ && state_->rb ? ring_buffer__epoll_fd(state_->rb.get()) : -1;
}

std::uint64_t Tracer::records_arrived() const { return state_ ? state_->arrived : 0; }
std::uint64_t Tracer::records_dropped() const { return state_ ? state_->dropped : 0; }
std::uint64_t Tracer::records_held() const { return state_ ? state_->held.count() : 0; }

std::uint64_t Tracer::lost_events() const {
    if (!state_ || !state_->loaded) return 0;
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return 0;
    std::vector<__u64> per_cpu(static_cast<std::size_t>(cpus));
    __u32 zero = 0;
    if (bpf_map__lookup_elem(state_->skel->map("lost_events"), &zero, sizeof(zero),
                             per_cpu.data(), per_cpu.size() * sizeof(__u64), 0))
        return 0;
    std::uint64_t total = 0;
    for (auto n : per_cpu) total += n;
    return total;
}

namespace {

// f(info) for each loaded program whose bpf_prog_info the kernel gives.
template <class F>
void for_each_program_info(const Skeleton& skel, F&& f) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel.obj()) {
        int fd = bpf_program__fd(prog);
        if (fd < 0) continue;
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) f(info);
    }
}

}  // namespace

std::vector<std::uint32_t> Tracer::program_ids() const {
    std::vector<std::uint32_t> ids;
    if (!state_ || !state_->loaded) return ids;
    for_each_program_info(*state_->skel, [&](const bpf_prog_info& info) { ids.push_back(info.id); });
    return ids;
}

std::uint64_t Tracer::skipped_runs() const {
    std::uint64_t skipped = 0;
    if (!state_ || !state_->loaded) return skipped;
    for_each_program_info(*state_->skel,
                          [&](const bpf_prog_info& info) { skipped += info.recursion_misses; });
    return skipped;
}

void Tracer::stop() {
    if (!state_) return;
    state_->rb.reset();
    state_->skel.reset();   // detaches every link, unloads programs and maps
    state_->loaded = state_->attached = false;
}

}  // namespace tpk::kernel
