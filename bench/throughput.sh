#!/usr/bin/env bash
# Throughput beside no capture (docs/benchmarks.md): iperf3 over veth between two namespaces with
# nothing attached, the sampler attached disarmed, armed at 1 ms bins, and tcpdump -s 96; TCP with
# default offloads, TCP with offloads off, UDP 64 B; interleaved rotated rounds, medians and ratios,
# and bpf_stats. Run as root. Options pass through: --rounds N --seconds S --prefix ms-xyz- --workloads 1,2,3
# --compare OLD.bpf.o[,B.o] (other builds, armed, in the same rounds) --configs 1,3,6 (a subset, numbered as listed)
# --ring (adds the look-back ring, the agent's default, alone and with a run armed)
# --pin (iperf3 client on CPU 0, server on CPU 1) --no-bpf-stats (as a running agent: no per-invocation timing)
# --floor (adds the clock-plus-one-lookup fixture as a fifth configuration: what any per-flow design costs live).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v iperf3 >/dev/null || { echo "iperf3 missing: run scripts/setup.sh" >&2; exit 2; }
dotnet build -c Release bench/Millisampler.Benchmarks -v q -nologo | grep -E " error |rror\(s\)" || true
exec dotnet bench/Millisampler.Benchmarks/bin/Release/net10.0/Millisampler.Benchmarks.dll throughput "$@"
