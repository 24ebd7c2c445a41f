#!/usr/bin/env bash
# Packages the millisampler CLI two ways, under artifacts/cli/ (gitignored):
#   tool/          a dotnet tool package: dotnet tool install -g --add-source artifacts/cli/tool Millisampler.Cli
#   <rid>/         a self-contained single-file binary, one per runtime identifier (no .NET needed on the target)
# Usage: scripts/package-cli.sh [rid ...]    (default: linux-x64 linux-arm64)
# The runtime packs (Microsoft.NETCore.App.Runtime.<rid>) come from the NuGet feed in NuGet.config; a rid whose pack
# cannot be restored fails this script with dotnet's message. Only publish-time properties are set, so the libraries'
# ordinary Release build (which tests run against) is left as it was.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${MILLISAMPLER_ARTIFACTS:-$root/artifacts/cli}"
project="$root/src/Cli/Millisampler.Cli.csproj"
rids=("$@")
if [ ${#rids[@]} -eq 0 ]; then
  rids=(linux-x64 linux-arm64)
fi

echo "== dotnet tool package -> $out/tool"
rm -rf "$out/tool"
dotnet pack "$project" -c Release -o "$out/tool" --nologo -v q

for rid in "${rids[@]}"; do
  echo "== self-contained single file, $rid -> $out/$rid"
  rm -rf "$out/$rid"
  dotnet publish "$project" -c Release -r "$rid" --self-contained true --nologo -v q \
    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:EnableCompressionInSingleFile=true \
    -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false \
    -o "$out/$rid"
  # Symbols stay out of the single file; they are not shipped beside it either.
  rm -f "$out/$rid"/*.pdb
  ls -l "$out/$rid/millisampler"
done
