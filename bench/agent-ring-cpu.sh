#!/bin/bash
# Agent CPU while watching its look-back ring (docs/benchmarks.md). Run as root; creates ms-h11a-b1/b2 and removes them.
# Agent CPU while watching its ring: idle without rules, idle with a rule, under UDP traffic with a rule.
set -u
A=ms-h11a-b1; B=ms-h11a-b2
cleanup() { [ -n "${PID:-}" ] && kill $PID 2>/dev/null; wait 2>/dev/null; ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null; rm -rf /tmp/ms-h11a-store; }
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add ms-h11a-v1 netns $A type veth peer name eth0 netns $B
ip -n $A link set ms-h11a-v1 up; ip -n $B link set eth0 up; ip -n $A link set lo up; ip -n $B link set lo up
ip -n $A addr add 198.18.5.1/24 dev ms-h11a-v1; ip -n $B addr add 198.18.5.2/24 dev eth0
DLL=${DLL:-$(cd "$(dirname "$0")/.." && pwd)/tests/Agent.Tests/bin/Release/net10.0/millisampler-agent.dll}
run() { # $1 label, $2 traffic?, rest: extra args
  label=$1; traffic=$2; shift 2
  ip netns exec $B dotnet $DLL serve --urls http://127.0.0.1:7300 --Security:Insecure=true --Agent:MetricsListen= --Agent:Interfaces:0=eth0 \
     --Agent:Schedule:Enabled=false --Agent:RunStore:Directory=/tmp/ms-h11a-store --Agent:ClockErrorSource=SharedHostClock "$@" >/dev/null 2>&1 &
  PID=$!
  sleep 15
  if [ "$traffic" = 1 ]; then ip netns exec $A timeout 22 python3 -c 'import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); d=bytes(1000)
while True: s.sendto(d,("198.18.5.2",9))' >/dev/null 2>&1 & fi
  sleep 1
  t0=$(awk '{print $14+$15}' /proc/$PID/stat); s0=$(date +%s.%N)
  sleep 20
  t1=$(awk '{print $14+$15}' /proc/$PID/stat); s1=$(date +%s.%N)
  rx=$(ip netns exec $B cat /sys/class/net/eth0/statistics/rx_packets)
  echo "$label: $(echo "($t1-$t0)/100/($s1-$s0)*100" | bc -l | cut -c1-5) % of one core over $(echo "$s1-$s0" | bc | cut -c1-5) s (rx_packets so far $rx)"
  kill $PID; wait $PID 2>/dev/null; PID=
  sleep 1
}
R="--Agent:Triggers:Rules:0:Name=stall --Agent:Triggers:Rules:0:Kind=IngressStall --Agent:Triggers:Rules:1:Name=retx --Agent:Triggers:Rules:1:Kind=RetransmitRate"
run "idle, no rules (watcher off)" 0
run "idle, 2 rules (watcher every 10 ms)" 0 $R
run "UDP flood, 2 rules" 1 $R
