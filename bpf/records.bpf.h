/* The records: the ring buffer user space reads (events), the count of
 * records lost when it was full (lost_events), and reserving, filling the
 * header of and committing a struct tpk_event (bpf/events.h). The packet
 * stage (packet_stage.bpf.h) and a data call's record (syscalls.bpf.h) write
 * their own kinds of record into the same ring.
 *
 * The maps are defined here: only bpf/tracepacket.bpf.c includes this header.
 */
#ifndef TPK_RECORDS_BPF_H
#define TPK_RECORDS_BPF_H

#include "kernel.bpf.h"
#include "knobs.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by user space before load */
} events SEC(".maps");

/* Ring buffer reservations that failed: the events lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

	if (lost)
		*lost += 1;
}

/* The kinds that use the fields past TPK_EVENT_SHORT_SIZE (bpf/events.h). */
static __always_inline bool is_long_kind(__u32 kind)
{
	return kind == TPK_EV_SYSCALL_ENTER || kind == TPK_EV_SYSCALL_EXIT ||
	       kind == TPK_EV_FIB_TABLE_LOOKUP || kind == TPK_EV_INET_SOCK_SET_STATE ||
	       kind == TPK_EV_KFREE_SKB || kind == TPK_EV_TCP_SEND_RESET;
}

/* Reserves the event in the ring buffer and fills its header. Call it only
 * once the event is known to belong to the conversation: untraced traffic
 * must cost as little as possible and never count as lost. The record is
 * written in place (no scratch copy); the ring's memory is not zeroed. kind
 * is a constant at every call site, so the size is too (the verifier then
 * refuses any write past a short record). */
static __always_inline struct tpk_event *new_event(__u32 kind)
{
	bool long_kind = is_long_kind(kind);
	struct tpk_event *e;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return NULL;
	/* Two literal sizes: clang expands memset() only for constants. */
	if (long_kind)
		e = bpf_ringbuf_reserve(&events, sizeof(struct tpk_event), 0);
	else
		e = bpf_ringbuf_reserve(&events, TPK_EVENT_SHORT_SIZE, 0);
	if (!e) {
		count_lost();
		return NULL;
	}
	if (long_kind)
		__builtin_memset(e, 0, sizeof(struct tpk_event));
	else
		__builtin_memset(e, 0, TPK_EVENT_SHORT_SIZE);
	e->kind = kind;
	e->t_ns = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	if (long_kind)
		e->syscall_nr = -1;
	current_ids(&e->pid, &e->tid, e->comm);
	return e;
}

/* The flags for committing a record of size bytes when before bytes were
 * waiting: no wake-up, unless this record makes the waiting data cross
 * wakeup_bytes (only one record does, so a reader that stays behind is not
 * woken over and over). */
static __always_inline __u64 wakeup_flags(__u64 before, __u64 size)
{
	return before < wakeup_bytes && before + size + 8 >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
									    BPF_RB_NO_WAKEUP;
}

/* Commits a reserved record of size bytes (it is counted as waiting). */
static __always_inline void submit_sized(void *record, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(record, wakeup_flags(avail > size + 8 ? avail - size - 8 : 0, size));
}

static __always_inline void submit(struct tpk_event *e)
{
	submit_sized(e, is_long_kind(e->kind) ? sizeof(*e) : TPK_EVENT_SHORT_SIZE);
}

#endif /* TPK_RECORDS_BPF_H */
