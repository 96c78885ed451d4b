/* What every part of the kernel side needs from the kernel: vmlinux.h,
 * libbpf's headers, bpf/events.h, the constants vmlinux.h lacks, and how
 * each of the two objects (bpf/tracepacket.bpf.c, top comment) reads kernel
 * memory and the current task: TPK_CAST/TPK_RD/TPK_COPY16/TPK_LOAD are plain
 * loads through bpf_rdonly_cast() views in tracepacket.bpf.o and
 * bpf_probe_read_kernel() calls in tracepacket_compat.bpf.o (-DTPK_COMPAT).
 * The maps that differ between the two objects live with their users
 * (sock_infos in traced.bpf.h, syscall_starts in syscalls.bpf.h).
 */
#ifndef TPK_KERNEL_BPF_H
#define TPK_KERNEL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

/* include/linux/socket.h, if_ether.h, stat.h and tcp_states.h are macros or
 * enums vmlinux.h does not always carry. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define TPK_TCP_TIME_WAIT 6
#define TPK_TCP_CLOSE 7
#define TPK_TCP_LISTEN 10
#define TPK_TCP_NEW_SYN_RECV 12
#define TPK_PROTO_TCP 6
#define TPK_PROTO_UDP 17

#ifndef TPK_COMPAT
/* A read-only typed view of a kernel pointer (Linux 6.2+): its fields are
 * then read with plain loads, far cheaper than a bpf_probe_read_kernel() call
 * per field; the verifier turns the call itself into a move. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define TPK_CAST(type, p) \
	((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))
/* TPK_RD(p, a, b.c): p->a->b.c, plain loads (p is a BTF pointer or a view). */
#define TPK_RD(src, ...) (___arrow(src, __VA_ARGS__))
/* 16 bytes of a field into a 16-byte array. */
#define TPK_COPY16(dst, src, ...) copy16(dst, &___arrow(src, __VA_ARGS__))
#else
/* No views before 6.2: a cast is a plain pointer, every read a helper call
 * (CO-RE relocated, fault-safe). */
#define TPK_CAST(type, p) ((type *)(p))
#define TPK_RD(src, ...) BPF_CORE_READ(src, __VA_ARGS__)
#define TPK_COPY16(dst, src, ...) \
	bpf_probe_read_kernel(dst, 16, __builtin_preserve_access_index(&___arrow(src, __VA_ARGS__)))
#endif

/* Pointer fields are read through a view even where the pointer is a
 * trusted BTF one (a tracepoint argument, the current task): from about
 * 6.4 the verifier looks up <type>__safe_trusted/__safe_rcu by name (a
 * linear scan of the kernel's 125k BTF types) for every load of a pointer
 * field through a trusted pointer on every path it explores, which made
 * loading take 0.75 s on 6.18; through a view it is a move. The pointers a
 * helper must get as BTF ones (bpf_sk_storage_get()'s sock) stay loads. */

/* One byte, two and four from kernel memory reached through a view. */
#ifndef TPK_COMPAT
#define TPK_LOAD(type, p) (*(const type *)(p))
#else
#define TPK_LOAD(type, p)						\
	({								\
		type ___v = 0;						\
		bpf_probe_read_kernel(&___v, sizeof(___v), (const void *)(p)); \
		___v;							\
	})
#endif

/* Two 8-byte loads instead of a helper call: both arrays are 16 bytes. */
static __always_inline __attribute__((unused)) void copy16(void *dst, const void *src)
{
	((__u64 *)dst)[0] = ((const __u64 *)src)[0];
	((__u64 *)dst)[1] = ((const __u64 *)src)[1];
}

/* The current task's tgid, tid and comm, as the records carry them. With a
 * BTF task (6.x) they are plain loads (what bpf_get_current_pid_tgid() and
 * bpf_get_current_comm() read); 5.10 has no bpf_get_current_task_btf(). */
static __always_inline void current_ids(__u32 *pid, __u32 *tid, char comm[TPK_COMM_LEN])
{
#ifndef TPK_COMPAT
	struct task_struct *task = bpf_get_current_task_btf();

	*pid = task->tgid;
	*tid = task->pid;
	if (comm)
		copy16(comm, task->comm);
#else
	__u64 id = bpf_get_current_pid_tgid();

	*pid = id >> 32;
	*tid = (__u32)id;
	if (comm)
		bpf_get_current_comm(comm, TPK_COMM_LEN);
#endif
}

#endif /* TPK_KERNEL_BPF_H */
