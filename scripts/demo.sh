#!/usr/bin/env bash
# The main job: builds everything, then runs a real rack capture in network namespaces (six hosts,
# an agent on each, a coordinator, an incast onto three hosts), checks that the analysis found what
# was planted, and says where to look (the report, the metrics). Removes everything it made, also on
# Ctrl-C or failure. Runs as root; needs no sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '[demo %02d:%02d] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

step "1/3 setup: system packages and NuGet restore (scripts/setup.sh)"
bash scripts/setup.sh
step "2/3 building the solution in Release (one line per project; minutes on a busy machine)"
dotnet build Millisampler.sln -c Release --nologo -v minimal -tl:off -clp:NoSummary
step "3/3 running the rack demo"
exec dotnet src/Lab/bin/Release/net10.0/millisampler-lab.dll demo "$@"
