#!/bin/sh
# screenshot-report.sh DIR [OUT.png]: renders DIR/report.html (written by
# `mhc compare` or `mhc report`) with headless Chromium into a PNG, DIR/report.png
# by default, to look at the report as a person sees it. The window is 1280
# pixels wide and tall enough for the whole page (estimated from the figures'
# sizes in the HTML; HEIGHT=N overrides it).
#
# Needs chromium or chromium-browser (Debian: apt-get install chromium).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [OUT.png]" >&2
	exit 2
fi
dir=$1
html=$dir/report.html
out=${2:-$dir/report.png}
if [ ! -f "$html" ]; then
	echo "$0: $html: no such file (run mhc report $dir first)" >&2
	exit 2
fi

browser=
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then
		browser=$b
		break
	fi
done
if [ -z "$browser" ]; then
	echo "$0: chromium not found: install it (Debian/Ubuntu: apt-get install -y chromium)" >&2
	exit 1
fi

# Page height: the figures' displayed heights plus room for the text and table.
if [ -z "${HEIGHT:-}" ]; then
	figs=$(grep -o '<img [^>]*height="[0-9]*"' "$html" | sed 's/.*height="\([0-9]*\)"/\1/' | awk '{s += $1 + 110} END {print s + 0}')
	HEIGHT=$((figs + 1700))
	if [ "$HEIGHT" -gt 16000 ]; then
		HEIGHT=16000
	fi
fi

case $html in
/*) url=file://$html ;;
*) url=file://$(pwd)/$html ;;
esac
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac
rm -f "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Chromium's own chatter (dbus, GPU) goes to a log shown only on failure.
if ! "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	--user-data-dir="$profile" --window-size=1280,"$HEIGHT" --screenshot="$out" "$url" >"$profile/log" 2>&1 ||
	[ ! -s "$out" ]; then
	cat "$profile/log" >&2
	echo "$0: $browser wrote no screenshot" >&2
	exit 1
fi
echo "$out (1280x$HEIGHT)"
