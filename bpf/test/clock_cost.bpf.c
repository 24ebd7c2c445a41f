// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark fixture, not product code: reads the clock the sampler reads for every armed packet
 * and nothing else, so the benchmark can say how much of the armed cost is the clock itself
 * (on a VM with kvm-clock, a pvclock read; on bare metal with the TSC, a few ns).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 sink;

SEC("tc")
int ms_test_clock(struct __sk_buff *skb)
{
	sink += bpf_ktime_get_tai_ns();
	return TC_ACT_UNSPEC;
}

/*
 * The floor of any design that keeps per-flow state in a hash table: the clock read and one
 * lookup (an insert the first time) in an LRU hash under a 16-byte key, the IPv4 flow table's
 * size, taken from fixed offsets of the frame without parsing it. What ms_ingress/ms_egress
 * cost above this is their parsing, bins and metrics.
 */
struct floor_key {
	__u32 words[4];
};

struct floor_value {
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, struct floor_key);
	__type(value, struct floor_value);
} floor_flows SEC(".maps");

SEC("tc")
int ms_test_floor(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct floor_key k = {};
	struct floor_value *v;

	sink += bpf_ktime_get_tai_ns();
	/* Ethernet (14) then the IPv4 addresses (12..20) and the ports (20..24) of a 20-byte header. */
	if (data + 14 + 24 > end)
		return TC_ACT_UNSPEC;
	__builtin_memcpy(&k, data + 14 + 12, 12);
	v = bpf_map_lookup_elem(&floor_flows, &k);
	if (!v) {
		struct floor_value nv = {};

		bpf_map_update_elem(&floor_flows, &k, &nv, BPF_NOEXIST);
		return TC_ACT_UNSPEC;
	}
	v->packets++;
	return TC_ACT_UNSPEC;
}
