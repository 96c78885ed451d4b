/* System calls: the state of each thread's call in flight (syscall_starts,
 * struct tpk_syscall_start in bpf/events.h) and the traced-tgid cache it
 * holds, which calls are wanted, the sock behind a call's fd, and the one
 * record of a data call with the hops its thread added while it ran
 * (struct tpk_syscall_record).
 *
 * The map and traced_tgids_gen (the skeleton's data member user space bumps)
 * are defined here: only bpf/tracepacket.bpf.c includes this header.
 */
#ifndef TPK_SYSCALLS_BPF_H
#define TPK_SYSCALLS_BPF_H

#include "kernel.bpf.h"
#include "knobs.bpf.h"
#include "records.bpf.h"
#include "traced.bpf.h"

/* Bumped by user space after it adds a tgid to traced_tgids: a thread's
 * cached answer (syscall_start.traced) older than this is asked again. The
 * BPF side needs no bump: fork adds tgids for new threads (no cache yet)
 * and exit removes them for dead ones. Starts at 1: a fresh storage reads 0. */
__u32 traced_tgids_gen = 1;

/* Per-thread syscall in flight. Task storage instead of a tid-keyed hash:
 * no hashing on the hot path, and the kernel frees it with the task. The
 * compat object keys an LRU hash by tid (no task storage for tracing
 * programs before 5.12): dead threads' entries age out. */
#ifndef TPK_COMPAT
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tpk_syscall_start);
} syscall_starts SEC(".maps");
#else
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);	/* tid */
	__type(value, struct tpk_syscall_start);
} syscall_starts SEC(".maps");
#endif

/* The current thread's syscall_starts entry; create: make one if missing. */
static __always_inline struct tpk_syscall_start *current_start(bool create)
{
#ifndef TPK_COMPAT
	return bpf_task_storage_get(&syscall_starts, bpf_get_current_task_btf(), NULL,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
#else
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tpk_syscall_start *start = bpf_map_lookup_elem(&syscall_starts, &tid);

	if (start || !create)
		return start;
	{
		struct tpk_syscall_start fresh = {};

		bpf_map_update_elem(&syscall_starts, &tid, &fresh, BPF_NOEXIST);
	}
	return bpf_map_lookup_elem(&syscall_starts, &tid);
#endif
}

static __always_inline struct sock *sock_of_fd(__s64 fd)
{
#ifndef TPK_COMPAT
	struct task_struct *task = bpf_get_current_task_btf();
#else
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
#endif
	struct fdtable *fdt = TPK_RD(TPK_CAST(struct task_struct, task), files, fdt);
	struct socket *sock;
	struct file **fds;
	struct file *file, *f;

	if (!fdt || fd < 0 || fd >= TPK_RD(fdt, max_fds))
		return NULL;
	/* A variable index into the fd array: a typed pointer refuses it and
	 * the untyped bpf_rdonly_cast(p, 0) view needs Linux 6.16, so this one
	 * read stays a helper call (everything else here is 6.2+). */
	fds = TPK_RD(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	f = TPK_CAST(struct file, file);
	if ((TPK_RD(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = TPK_CAST(struct socket, TPK_RD(f, private_data));
	return TPK_RD(sock, sk);
}

static __always_inline __u8 wanted(long id)
{
	if (!trace_syscalls || id < 0 || id >= TPK_MAX_SYSCALLS)
		return 0;
	return syscall_wanted[id];
}

/* Learns sk unless it is the sock this thread learned completely last. */
static __always_inline void learn_once(struct tpk_syscall_start *start, struct sock *sk)
{
	if (!sk || (__u64)sk == start->learned_sk)
		return;
	start->learned_sk = learn_sock_by_addr(sk) ? (__u64)sk : 0;
}

/* The exit of a data call (start->deferred): one record with its enter and
 * the hops its thread added meanwhile (append_sub()). Only the subs in use
 * are written: the record's unused tail is never touched. */
static __always_inline void emit_syscall_record(struct tpk_syscall_start *start, struct sock *sk,
						long ret)
{
	struct tpk_syscall_record *r;
	__u32 i, n = start->nsubs;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

		if (lost)	/* the exit, the enter and the hops it held */
			*lost += 1 + (n < TPK_MAX_SUBS ? n : TPK_MAX_SUBS);
		return;
	}
	__builtin_memset(r, 0, offsetof(struct tpk_syscall_record, subs));
	r->exit.kind = TPK_EV_SYSCALL;
	r->exit.t_ns = bpf_ktime_get_ns();
	r->exit.cpu = bpf_get_smp_processor_id();
	current_ids(&r->exit.pid, &r->exit.tid, r->exit.comm);
	r->exit.syscall_nr = start->nr;
	__builtin_memcpy(r->exit.args, start->args, sizeof(r->exit.args));
	r->exit.ret = ret;
	r->exit.sk = (__u64)sk;
	r->exit.fd_is_socket = start->fd_is_socket;
	fill_sock_flow(&r->exit, sk, start->want & TPK_SC_RX, NULL);
	for (i = 0; i < TPK_MAX_SUBS; i++) {
		if (i >= n)
			break;
		r->subs[i] = start->subs[i];
	}
	r->nsubs = i;
	submit_sized(r, sizeof(*r));
}

/* A hop of the current thread's data call on its own sock, kept for the
 * call's record (bpf/events.h); NULL when the hop needs a record of its own:
 * no data call in flight, another sock or direction, or no room left. */
static __always_inline struct tpk_sub_event *append_sub(__u32 kind, struct sock *sk, bool rx)
{
	struct tpk_syscall_start *start;
	struct tpk_sub_event *sub;
	__u32 n;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return NULL;
	start = current_start(false);
	if (!start || !start->active || !start->deferred || start->sk != (__u64)sk ||
	    rx != !!(start->want & TPK_SC_RX))
		return NULL;
	n = start->nsubs;
	if (n >= TPK_MAX_SUBS)
		return NULL;
	start->nsubs = n + 1;
	sub = &start->subs[n];
	__builtin_memset(sub, 0, sizeof(*sub));
	sub->kind = kind;
	sub->cpu = bpf_get_smp_processor_id();
	sub->t_ns = bpf_ktime_get_ns();
	sub->sk = (__u64)sk;
	return sub;
}

#endif /* TPK_SYSCALLS_BPF_H */
