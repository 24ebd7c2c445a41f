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
