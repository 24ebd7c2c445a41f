#!/usr/bin/env bash
# Sets up the machine, builds everything and runs every test project, one after another (the
# kernel tests build network namespaces and are timing-sensitive on two cores). Ends with one
# line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
dotnet build Millisampler.sln -c Release --nologo --verbosity quiet || exit 1

# Style drift fails the run: the tree must already be as `dotnet format` would leave it.
echo "== dotnet format --verify-no-changes"
dotnet format Millisampler.sln --verify-no-changes --no-restore || { echo "format: run 'dotnet format Millisampler.sln'"; exit 1; }

# Leftovers of an earlier crashed run (namespaces whose creating process is gone).
dotnet src/Lab/bin/Release/net10.0/millisampler-lab.dll cleanup --prefix ms- >/dev/null 2>&1 || true

passed=0; failed=0; status=0
for project in tests/*/*.Tests.csproj; do
  echo "== $project"
  log=$(mktemp)
  dotnet test "$project" -c Release --no-build --nologo 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  p=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
  f=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
  if [ "$p" = 0 ] && [ "$f" = 0 ]; then status=1; echo "no test ran in $project"; fi
  passed=$((passed + p)); failed=$((failed + f))
  rm -f "$log"
done
echo "$passed passed, $failed failed"
exit $status
