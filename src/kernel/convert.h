// From the kernel's raw record (struct tpk_event, bpf/events.h) to the
// model::Event every other part of tracepacket reads. Pure code: the unit
// tests feed it hand-built records.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include <linux/types.h>

#include "events.h"
#include "model/event.h"
#include "util/result.h"

namespace tpk::kernel {

// enum skb_drop_reason value -> "NO_SOCKET" (SKB_DROP_REASON_ prefix dropped).
using DropReasonNames = std::unordered_map<int, std::string>;

// Read from the running kernel's BTF (/sys/kernel/btf/vmlinux): the enum
// changes between kernels, so no table is compiled in.
Result<DropReasonNames> load_drop_reason_names();

// enum sk_rst_reason value -> "TCP_ABORT_ON_LINGER" (SK_RST_REASON_ dropped),
// the same way; empty on kernels before 6.10 (no such enum).
using ResetReasonNames = std::unordered_map<int, std::string>;
Result<ResetReasonNames> load_reset_reason_names();

std::optional<model::EventKind> event_kind_of(std::uint32_t raw_kind);

// A ring buffer record as struct tpk_event: packet and socket hops send only
// the first TPK_EVENT_SHORT_SIZE bytes, the rest reads as zero. nullopt for a
// record shorter than that.
std::optional<tpk_event> raw_event_of(const void* data, std::size_t size);

// The raw events one ring buffer record holds, in the order they happened:
// one for most records; for a data system call's record (TPK_EV_SYSCALL,
// struct tpk_syscall_record) its enter, the hops kept with it and its exit;
// for a packet's record (TPK_EV_PACKET, struct tpk_packet_record) its hops;
// each as the record of its own it stands for (bpf/events.h).
using RawEvents = std::array<tpk_event, std::max(1 + TPK_MAX_SUBS, TPK_PACKET_HOPS)>;
// Returns how many of out it filled (0: a record too short to read).
std::size_t expand_record(const void* data, std::size_t size, RawEvents& out);

// A packet stage as the BPF side left it (read from its per-CPU map once
// tracing ends): its hops, like a record of it.
std::size_t expand_stage(const tpk_packet_record& stage, RawEvents& out);

// What each socket's system calls last said of its flow, for the data calls
// still blocked when tracing ends: their enter comes from task storage,
// which keeps no flow. Kept local end first; given in a call's direction.
class SockFlows {
public:
    // A system call's event with a sock and the sock's flow: remember it.
    void learn(const tpk_event& raw);
    // Puts sk's flow into e as a call in direction rx (peer -> local) sees
    // it; nothing when no call on sk was seen.
    void fill(tpk_event& e, std::uint64_t sk, bool rx) const;

private:
    std::unordered_map<std::uint64_t, tpk_event> local_first_;
};

// The events a data call still blocked when tracing ends has made so far:
// its enter and the hops kept with it (nothing: no such call in flight).
// thread: pid, tid and comm of the thread whose task storage this is.
std::size_t expand_unfinished(const tpk_syscall_start& start, const tpk_event& thread,
                              RawEvents& out);

// nullopt for a record of unknown kind (a BPF object newer than this code).
// tcp_send_reset's reason goes to drop_reason/drop_reason_name (named from
// reset_names), as kfree_skb's drop reason does.
std::optional<model::Event> convert_event(const tpk_event& raw, const DropReasonNames& drop_names,
                                          const ResetReasonNames& reset_names = {});

}  // namespace tpk::kernel
