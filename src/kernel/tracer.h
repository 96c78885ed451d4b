// The kernel side of a journey: loads the BPF programs of bpf/tracepacket.bpf.c,
// attaches them to tracepoints, follows the traced processes (and their
// children) and hands every event of their conversation to the caller as a
// model::Event. Filtering happens in the kernel: only events of traced
// processes' system calls and of their sockets, skbs and ports reach user space.
//
// Lifecycle, one function per step (STYLE.md "Small functions"):
//     auto t = Tracer::open();               // probe features, open the skeleton
//     t->configure(options);                 // knobs and map sizes, before load
//     t->load();  t->attach();
//     t->add_pid(pid); t->add_port(...);     // any time after load
//     while (...) t->poll(100, sink);        // or epoll on t->epoll_fd()
//     t->stop();                             // detach, drain; the destructor does it too
// Tracer::start(options) runs open..attach in one call.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel_support.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::kernel {

struct TracedPort {
    std::uint8_t protocol = 0;   // IPPROTO_TCP or IPPROTO_UDP
    std::uint16_t port = 0;      // host byte order
};

struct TracerOptions {
    // Processes (tgids) to trace; their children are followed through fork.
    std::vector<pid_t> pids;
    // Ports known to belong to the conversation before any socket exists (the
    // server's port), so the handshake's first packets are caught.
    std::vector<TracedPort> ports;
    // Ring buffer size in bytes; rounded up to a power of two >= one page.
    // Tiny sizes lose events (counted in lost_events()).
    std::size_t ring_buffer_bytes = 8u << 20;
    // Record the traced processes' socket system calls (enter and exit).
    bool syscalls = true;
    // Keep the ring's records as raw bytes while tracing and convert them
    // in finish(): the reader then does little more than a copy per record,
    // so it keeps up with a busy program and takes less of the CPUs it
    // shares with it. poll() and drain() deliver nothing meanwhile.
    bool hold_records = false;
    // At most this many records held at once (waiting to be converted); the
    // ones beyond are dropped and counted (records_dropped()). 0: no cap.
    std::uint64_t max_held_records = 0;
    // make bench only: TPK_FLOOR_ATTACH or TPK_FLOOR_DECIDE (bpf/events.h)
    // to measure what the tracer's cost is made of; no events come then.
    std::uint8_t bench_floor = 0;
};

// libbpf's own messages ("libbpf: prog 'x': failed to attach ...") and the
// tracer's notes. Without a logger they are dropped: failures come back as
// Errors anyway. level: 0 warning, 1 info, 2 debug (libbpf_print_level).
using Logger = std::function<void(int level, std::string_view line)>;
void set_logger(Logger logger);

// Root, or CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN also does). The Error names
// the missing capability and has code EPERM, so commands can tell it apart
// and show what still works.
Status check_privileges();
// BTF, tp_btf, ring buffer, tracefs (mounted here when it is not). Includes
// check_privileges(). One sentence naming what is missing.
Status probe_features();

using EventSink = std::function<void(model::Event&&)>;

class HeldRecords;   // tracer.cpp: records kept as they arrive

class Tracer {
public:
    static Result<Tracer> open();
    static Result<Tracer> start(const TracerOptions& options);

    Tracer(Tracer&&) noexcept;
    Tracer& operator=(Tracer&&) noexcept;
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;
    ~Tracer();

    Status configure(const TracerOptions& options);
    Status load();
    Status attach();

    // Add a process or port to the traced set (after load). add_pid also
    // adds the TCP/UDP ports of the sockets the process already has (from
    // /proc), so a server that listened before tracing shows its handshakes,
    // and its network namespace: ports match only in the traced processes'
    // namespaces (none traced: any).
    Status add_pid(pid_t pid);
    Status add_port(TracedPort port);

    // Waits up to timeout_ms (0: no wait; the kernel wakes it early only
    // when a quarter of the ring buffer fills, and two CPUs crossing that
    // mark at once may both skip it: never pass -1) and
    // passes each event that came meanwhile to sink. Returns how many were
    // delivered. EINTR is not an error.
    Result<int> poll(int timeout_ms, const EventSink& sink);
    // Delivers whatever is in the ring buffer without waiting, or at most
    // max_records of it: under steady traffic the producers keep the ring
    // from ever being empty, and a caller with more to do than read (the
    // session watching its pids, cutting a stream) must get control back.
    Result<int> drain(const EventSink& sink, std::uint64_t max_records = UINT64_MAX);
    // The records held so far (hold_records), taken without converting them
    // (cheap: the reading thread goes on reading), and their conversion,
    // which may run on another thread meanwhile: it touches none of the
    // reader's state. Not while finish() runs.
    std::shared_ptr<HeldRecords> take_held();
    int deliver_records(HeldRecords& records, const EventSink& sink);
    // Hops the BPF side still holds in its per-CPU packet stages (it sends a
    // packet's hops as one record at the packet's last hop; bpf/events.h,
    // struct tpk_packet_record), delivered and cleared. Only while no traced
    // traffic runs (else call finish()): a stage being filled meanwhile may
    // be read torn. Returns how many events were delivered.
    Result<int> drain_staged(const EventSink& sink);

    // The end of a session: detaches every program (the maps stay), then
    // delivers the held records (TracerOptions::hold_records) and what the
    // ring, the packet stages and unfinished_syscalls() hold. Returns how
    // many events were delivered.
    Result<int> finish(const EventSink& sink);

    // The enter (and the hops so far) of every data call the traced threads
    // are still blocked in: those are reported at the call's exit
    // (bpf/events.h, TPK_SC_DATA), so a session that ends first calls this
    // to show them. Returns how many events were delivered.
    Result<int> unfinished_syscalls(const EventSink& sink);

    // Readable when a quarter of the ring buffer is waiting: put it in your
    // poll set with a timeout, then drain().
    int epoll_fd() const;

    // Events the kernel could not put in the ring buffer (it was full).
    std::uint64_t lost_events() const;
    // Records read from the ring so far (held or delivered): tells a session
    // whether events are still arriving.
    std::uint64_t records_arrived() const;
    // Records dropped because max_held_records were already held.
    std::uint64_t records_dropped() const;
    // Records held now (hold_records), each an event or more once delivered.
    std::uint64_t records_held() const;
    // Hops the kernel did not run a program for because it was already
    // running on that CPU (its recursion guard: a softirq that interrupted
    // the program fired the same tracepoint); counted by the kernel, summed
    // over the programs, while they are loaded. Such a hop is missing from
    // its packet without any lost event.
    std::uint64_t skipped_runs() const;
    // Program ids while attached (the runtime test checks they vanish).
    std::vector<std::uint32_t> program_ids() const;

    // What this kernel gives (the BPF object, each hop's source), with the
    // programs the verifier refused at load() marked missing.
    const KernelSupport& kernel_support() const;

    // Detaches every program and frees the maps. Idempotent.
    void stop();

private:
    Status add_netns_of(pid_t pid);

    struct State;
    explicit Tracer(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace tpk::kernel
