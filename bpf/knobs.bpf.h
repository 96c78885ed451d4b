/* The knobs: .rodata that user space sets before load (src/kernel/tracer.cpp)
 * and the verifier then knows as constants, so a branch a knob turns off
 * costs nothing; and TPK_PROG_START(), which every program begins with.
 *
 * Defined here, not declared: bpf/tracepacket.bpf.c is the only source that
 * includes the .bpf.h headers (one object per .bpf.c, cmake/bpf.cmake), so
 * each global is defined once. Their order here is the order of the
 * skeleton's rodata members (bench_floor_clock: bss).
 */
#ifndef TPK_KNOBS_BPF_H
#define TPK_KNOBS_BPF_H

#include "kernel.bpf.h"

const volatile __u8 syscall_wanted[TPK_MAX_SYSCALLS] = {};
const volatile bool trace_syscalls = true;
/* Tracepoint arguments that older kernels do not pass (user space reads the
 * prototypes from the kernel's BTF): sched_process_exit's group_dead (6.18),
 * tcp_retransmit_skb's err (6.17), tcp_send_reset's reason (6.10),
 * kfree_skb's reason (5.17) and rx_sk (6.12). */
const volatile bool exit_has_group_dead = true;
const volatile bool retransmit_has_err = true;
const volatile bool send_reset_has_reason = true;
const volatile bool kfree_skb_has_reason = true;
const volatile bool kfree_skb_has_rx_sk = true;
/* Tests only (TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe): makes the
 * verifier refuse handle_tcp_probe, for the test of a run that loses one
 * program. The verifier drops the branch when it is false. */
const volatile bool test_refuse_tcp_probe = false;
/* For `make bench` only (hidden option --bench-floor of trace): what the
 * tracer's cost is made of. TPK_FLOOR_ATTACH: every program returns at once
 * (the cost of being attached); TPK_FLOOR_CLOCK: they read the clock once
 * and return (what a timestamp per hop adds); TPK_FLOOR_DECIDE: programs
 * decide what is traced but write nothing. 0 in real use: the verifier knows the value of a
 * frozen .rodata and drops the checks, so they cost nothing then. */
const volatile __u8 bench_floor = TPK_FLOOR_NONE;
__u64 bench_floor_clock;	/* TPK_FLOOR_CLOCK's reads go here: not optimized away */
#define TPK_PROG_START()						\
	do {								\
		if (bench_floor == TPK_FLOOR_ATTACH)			\
			return 0;					\
		if (bench_floor == TPK_FLOOR_CLOCK) {			\
			bench_floor_clock = bpf_ktime_get_ns();		\
			return 0;					\
		}							\
	} while (0)

/* Wake the reader only when this many bytes are waiting: a record that
 * finds the reader idle would otherwise wake it, and on this kind of VM that
 * is an irq_work self-IPI plus a cross-CPU wake-up, ~1 us of the traced
 * program's time each (docs/performance.md, "Tracing overhead"). The reader
 * polls with a timeout instead; this wake-up only keeps a fast producer from
 * filling the ring first. User space sets it to a quarter of the ring. */
const volatile __u64 wakeup_bytes = 1;

#endif /* TPK_KNOBS_BPF_H */
