#!/usr/bin/env bash
# The main job: builds everything, then runs a real rack capture in network namespaces (six hosts,
# an agent on each, a coordinator, an incast onto three hosts) and prints the analysis. Removes
# everything it made, also on Ctrl-C or failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build Millisampler.sln -c Release --nologo --verbosity quiet
exec dotnet src/Lab/bin/Release/net10.0/millisampler-lab.dll demo "$@"
