#!/usr/bin/env bash
# Installs what Millisampler needs on a fresh Debian/Ubuntu machine (run as root) and restores
# NuGet packages. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the web views are tested in headless Chromium (tests/Web.Tests, Selenium via the system chromedriver).
# prometheus: the observability test scrapes a lab rack with a real Prometheus (tests/Lab.Tests/Observability).
# prometheus-alertmanager: the webhook test delivers an alert from a real Alertmanager (/usr/bin/prometheus-alertmanager,
# 0.25 on bookworm; tests/Coordinator.Tests/Alerts). Its systemd unit is not needed: the test starts its own.
# zsh: the zsh completion script is loaded into a real zsh and completes on a Tab (tests/Cli.Tests/Completion).
# python3-pandas: the CSV export is read by pandas under /usr/bin/python3 (tests/Cli.Tests/Export/PandasReadsExportTests.cs).
packages=(clang llvm make libbpf-dev libbpf1 linux-libc-dev iproute2 ethtool nftables tcpdump iperf3 postgresql chromium chromium-driver prometheus prometheus-alertmanager zsh python3-pandas)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The web views (src/Web) are bundled at build time by npm ci + esbuild; Debian's nodejs/npm serve.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (dotnet not found on PATH)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root: loading eBPF programs and building network namespaces need it" >&2
  exit 1
fi
echo "setup: restoring NuGet packages (dotnet restore)"
dotnet restore Millisampler.sln --verbosity quiet
