// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test fixture: a program the verifier must refuse (reads the packet without a bounds check). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int ms_test_rejected(struct __sk_buff *skb)
{
	unsigned char *data = (void *)(long)skb->data;

	return data[20] == 0x45 ? TC_ACT_UNSPEC : TC_ACT_OK;
}
