#!/usr/bin/env bash
# Interleaved GEMM comparison: the engine's GEMM (BenchmarkGEMMCompare in
# kernels/gemm_bench_test.go, on the path MHC_KERNELS selects, default the
# best one) against OpenBLAS sgemm through numpy (scripts/gemm_openblas.py),
# same shapes, alternating rounds; prints per shape the median GFLOP/s of
# each and their ratio.
#
#   scripts/gemm-vs-openblas.sh [rounds=5] [filter regexp, e.g. 'sq_|tiny_']
#
# Needs: apt-get install -y python3-numpy libopenblas0-pthread. OpenBLAS runs
# with 2 threads, OMP_WAIT_POLICY=PASSIVE, and OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset (autodetected kernels) in that command only.
# GEMM_TEST_BIN=path uses a prebuilt `go test -c ./kernels` binary (e.g. an
# older tree's) instead of building this one.
set -euo pipefail
rounds=${1:-5}
filter=${2:-.}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=${GEMM_TEST_BIN:-}
if [[ -z $bin ]]; then
	bin=$tmp/kernels.test
	go test -c -o "$bin" ./kernels
fi
for r in $(seq "$rounds"); do
	"$bin" -test.run '^$' -test.bench "^BenchmarkGEMMCompare/($filter)" -test.benchtime 300ms |
		awk -v r="$r" '/GFLOP\/s/ { n = $1; sub(/^BenchmarkGEMMCompare\//, "", n); sub(/-[0-9]+$/, "", n);
			for (i = 2; i < NF; i++) if ($(i+1) == "GFLOP/s") print "mhc", n, $i }' >>"$tmp/res"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=2 \
		/usr/bin/python3 scripts/gemm_openblas.py 0.3 |
		awk -v f="$filter" '$1 ~ "^(" f ")" { print "openblas", $1, $2 }' >>"$tmp/res"
	echo "round $r/$rounds done" >&2
done
/usr/bin/python3 - "$tmp/res" <<'PY'
import collections, statistics, sys
v = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    who, name, g = line.split()
    if name not in order:
        order.append(name)
    v[(who, name)].append(float(g))
print(f"{'shape':24s} {'mhc':>8s} {'openblas':>9s} {'ratio':>6s}  (median GFLOP/s of {len(v[('mhc', order[0])])} rounds)")
for n in order:
    a, b = v.get(("mhc", n)), v.get(("openblas", n))
    if not a or not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{n:24s} {ma:8.1f} {mb:9.1f} {ma / mb:6.2f}")
PY
