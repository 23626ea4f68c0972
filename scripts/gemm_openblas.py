#!/usr/bin/env python3
"""Times float32 products through numpy (OpenBLAS sgemm) for the shapes of
BenchmarkGEMMCompare (kernels/gemm_bench_test.go) and prints one line per
shape: "name GFLOP/s" (median of the timed samples).

Shapes: square NN/NT/TN products and the GEMMs of one training step of the
tiny, small and base presets (model/layers.go: forward NT, backward NN for
dX and TN with beta = 1 for dW; the LM head likewise).

Run through scripts/gemm-vs-openblas.sh, or directly:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE \
      OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/gemm_openblas.py [seconds] [filter]
"""
import sys
import time

import numpy as np

PRESETS = {  # name: (rows N = batch*seq, d_model, mlp hidden)
    "tiny": (16 * 128, 128, 384),
    "small": (16 * 128, 256, 704),
    "base": (16 * 256, 512, 1408),
}
VOCAB = 256


def shapes():
    """(name, transA, transB, m, n, k, beta) with the Go GEMM's meaning."""
    out = []
    for n in (256, 512, 1024, 2048):
        out.append((f"sq_NN_{n}", False, False, n, n, n, 0.0))
    for n in (1024,):
        out.append((f"sq_NT_{n}", False, True, n, n, n, 0.0))
        out.append((f"sq_TN_{n}", True, False, n, n, n, 0.0))
    for p, (N, C, H) in PRESETS.items():
        for lname, fin, fout in (("qkv", C, 3 * C), ("out", C, C), ("up", C, 2 * H),
                                 ("down", H, C), ("head", C, VOCAB)):
            out.append((f"{p}_{lname}_fwdNT", False, True, N, fout, fin, 0.0))
            out.append((f"{p}_{lname}_dxNN", False, False, N, fin, fout, 0.0))
            out.append((f"{p}_{lname}_dwTN", True, False, fout, fin, N, 1.0))
    return out


def bench(ta, tb, m, n, k, beta, seconds):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    opa = a.T if ta else a
    opb = b.T if tb else b
    c = np.zeros((m, n), dtype=np.float32)
    t = np.empty((m, n), dtype=np.float32)

    def run():
        if beta == 0:
            np.matmul(opa, opb, out=c)
        else:  # C += op(A)·op(B); numpy has no fused beta, so this adds one pass over C
            np.matmul(opa, opb, out=t)
            c.__iadd__(t)

    run()
    flops = 2.0 * m * n * k
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            run()
        if time.perf_counter() - t0 > 0.01:
            break
        reps *= 2
    rates = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(rates) < 5:
        t0 = time.perf_counter()
        for _ in range(reps):
            run()
        rates.append(flops * reps / (time.perf_counter() - t0) / 1e9)
    rates.sort()
    return rates[len(rates) // 2]


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    filt = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, ta, tb, m, n, k, beta in shapes():
        if filt and filt not in name:
            continue
        print(f"{name} {bench(ta, tb, m, n, k, beta, seconds):.1f}", flush=True)


if __name__ == "__main__":
    main()
