/* The packet stage: a CPU's hops of one packet gathered into one record
 * (struct tpk_packet_record in bpf/events.h) instead of a record per hop.
 * The record is sent when a hop of another packet comes or it is full, after
 * a packet's last hop (tcp_probe, sk_data_ready) and at a traced system
 * call's exit.
 *
 * The map is defined here: only bpf/tracepacket.bpf.c includes this header.
 */
#ifndef TPK_PACKET_STAGE_BPF_H
#define TPK_PACKET_STAGE_BPF_H

#include "kernel.bpf.h"
#include "knobs.bpf.h"
#include "records.bpf.h"
#include "packets.bpf.h"

struct packet_stage {
	struct tpk_packet_record rec;
	struct tpk_event next;	/* the hop being decided, filled here first */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_stage);
} packet_stages SEC(".maps");

static __always_inline struct packet_stage *this_stage(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&packet_stages, &zero);
}

/* Sends the staged hops as one record and empties the stage. */
static __always_inline void flush_stage(struct tpk_packet_record *rec)
{
	__u32 n = rec->nhops;
	__u64 size;

	if (!n)
		return;
	if (n > TPK_PACKET_HOPS)
		n = TPK_PACKET_HOPS;
	size = offsetof(struct tpk_packet_record, hops) + n * sizeof(struct tpk_hop);
	if (bpf_ringbuf_output(&events, rec, size,
			       wakeup_flags(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA), size))) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);

		if (lost)
			*lost += n;
	}
	rec->nhops = 0;
}

/* A CPU's stage is used by one program at a time: a program claims it by
 * setting busy, and one that runs nested on the same CPU meanwhile (a
 * softirq on top of a system call's hop, a hard interrupt) finds it busy and
 * sends its own record instead. Checking and setting busy need no atomic:
 * a program nested between the two runs to its end before the outer one
 * goes on, and the outer one reads the stage only after setting it. */
static __always_inline struct packet_stage *claim_stage(void)
{
	struct packet_stage *st = this_stage();

	if (!st || st->rec.busy)
		return NULL;
	st->rec.busy = 1;
	barrier();
	return st;
}

static __always_inline void release_stage(struct packet_stage *st)
{
	barrier();
	st->rec.busy = 0;
}

/* Sends what this CPU has staged (the end of a packet's way up, a traced
 * system call's exit). */
static __always_inline void flush_this_stage(void)
{
	struct packet_stage *st = this_stage();

	if (!st || !st->rec.nhops)
		return;
	st = claim_stage();
	if (!st)
		return;
	flush_stage(&st->rec);
	release_stage(st);
}

/* Whether the hop in next continues the staged packet: the same skb, thread,
 * headers (the flow, seq, ack, flags, length) and device. A device is told
 * by its name too: ifindex is per namespace, and a veth pair between two
 * new namespaces has the same ifindex at both ends (veth_xmit() hands the
 * same skb to the peer in the same thread). */
static __always_inline bool same_packet(const struct tpk_event *first,
					const struct tpk_event *next)
{
	const __u64 *a = (const __u64 *)first, *b = (const __u64 *)next;
	int i;

	if (first->skb != next->skb || first->tid != next->tid)
		return false;
	if (first->seq != next->seq || first->ack != next->ack ||
	    first->payload_len != next->payload_len)
		return false;
	/* msg_flags (0 in both) .. daddr: bytes 88 to 136 of struct tpk_event,
	 * family and both ports included. */
	for (i = 88 / 8; i < 136 / 8; i++)
		if (a[i] != b[i])
			return false;
	/* A first hop without a device (an IP hop) matches any. */
	if (next->ifindex && first->ifindex && (next->ifindex != first->ifindex ||
					       a[152 / 8] != b[152 / 8] || a[160 / 8] != b[160 / 8]))
		return false;
	return true;
}

/* Stages a traced packet's hop (p from skb_traced()) instead of sending a
 * record of its own; flush: send the packet's record after this hop (its
 * last one). Returns false when the hop must send its own record: the
 * stage is in use by a program this one interrupted. */
static __always_inline bool stage_hop(__u32 kind, const struct pkt *p, struct net_device *dev,
				      __u32 flags, bool flush)
{
	struct sk_buff *skb = p->skb;
	struct packet_stage *st;
	struct tpk_event *next;
	struct tpk_hop *hop;
	__u32 n;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return true;
	st = claim_stage();
	if (!st)
		return false;
	next = &st->next;
	__builtin_memset(next, 0, TPK_EVENT_SHORT_SIZE);
	fill_pkt(next, p);
	if (!(flags & TPK_HOP_NO_DEV))
		fill_dev(next, dev ? dev : TPK_RD(TPK_CAST(struct sk_buff, skb), dev));
	current_ids(&next->pid, &next->tid, NULL);
	n = st->rec.nhops;
	if (n && (n >= TPK_PACKET_HOPS || !same_packet(&st->rec.first, next))) {
		flush_stage(&st->rec);
		n = 0;
	}
	/* A stage opened by an IP hop (no device) takes the device of the
	 * packet's first device hop, so the packet stays one record. */
	if (n && !st->rec.first.ifindex && next->ifindex) {
		st->rec.first.ifindex = next->ifindex;
		__builtin_memcpy(st->rec.first.dev, next->dev, sizeof(next->dev));
	}
	if (!n) {
		__builtin_memcpy(&st->rec.first, next, TPK_EVENT_SHORT_SIZE);
		st->rec.first.kind = TPK_EV_PACKET;
		st->rec.first.cpu = bpf_get_smp_processor_id();
		current_ids(&st->rec.first.pid, &st->rec.first.tid, st->rec.first.comm);
	}
	barrier_var(n);	/* keep the mask: the verifier needs the bound */
	hop = &st->rec.hops[n & (TPK_PACKET_HOPS - 1)];
	hop->kind = kind;
	hop->flags = flags;
	hop->t_ns = bpf_ktime_get_ns();
	hop->sk = next->sk;
	hop->ret = 0;
	hop->skb_len = next->skb_len;
	hop->ifindex = next->ifindex;
	st->rec.nhops = n + 1;
	if (flush)
		flush_stage(&st->rec);
	release_stage(st);
	return true;
}

/* net_dev_xmit's hop (no flow: the skb is not read there) joins the staged
 * packet if it is the same skb of the same thread on the same device. */
static __always_inline bool stage_xmit(__u64 skb, __u32 skb_len, int rc, struct net_device *dev)
{
	struct packet_stage *st;
	struct tpk_hop *hop;
	__u32 n, pid, tid;
	__u64 name[2];
	bool same;

	if (bench_floor == TPK_FLOOR_DECIDE)
		return true;
	if (!dev)
		return false;
	st = claim_stage();
	if (!st)
		return false;
	n = st->rec.nhops;
	current_ids(&pid, &tid, NULL);
	/* The device by its index and name (see same_packet()). */
	same = n && n < TPK_PACKET_HOPS && st->rec.first.skb == skb && st->rec.first.tid == tid &&
	       st->rec.first.ifindex == TPK_RD(dev, ifindex);
	if (same) {
		TPK_COPY16(name, dev, name);
		same = ((__u64 *)st->rec.first.dev)[0] == name[0] &&
		       ((__u64 *)st->rec.first.dev)[1] == name[1];
	}
	if (same) {
		barrier_var(n);	/* keep the mask: the verifier needs the bound */
		hop = &st->rec.hops[n & (TPK_PACKET_HOPS - 1)];
		hop->kind = TPK_EV_NET_DEV_XMIT;
		hop->flags = TPK_HOP_NO_FLOW;
		hop->t_ns = bpf_ktime_get_ns();
		hop->sk = 0;
		hop->ret = rc;
		hop->skb_len = skb_len;
		hop->ifindex = st->rec.first.ifindex;
		st->rec.nhops = n + 1;
	}
	release_stage(st);
	return same;
}

#endif /* TPK_PACKET_STAGE_BPF_H */
