#!/usr/bin/env python3
"""Times numpy float32 matrix products (OpenBLAS sgemm) for the shapes of
kernels/gemm_bench_test.go and prints the median GFLOP/s of each.

Run: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/numpy_gemm.py [seconds_per_shape]
(unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE so OpenBLAS autodetects).
"""
import sys
import time

import numpy as np

# (name, transA, transB, m, n, k) with the same meaning as the Go GEMM.
SHAPES = [
    ("NN_128", False, False, 128, 128, 128),
    ("NN_512", False, False, 512, 512, 512),
    ("NN_1024", False, False, 1024, 1024, 1024),
    ("NN_2048", False, False, 2048, 2048, 2048),
    ("NT_qkv_2048x128x384", False, True, 2048, 384, 128),
    ("NT_proj_2048x128x128", False, True, 2048, 128, 128),
    ("NT_mlp_down_2048x384x128", False, True, 2048, 128, 384),
    ("NT_lmhead_2048x128x256", False, True, 2048, 256, 128),
    ("NN_dX_qkv_2048x384x128", False, False, 2048, 128, 384),
    ("NN_dX_down_2048x128x384", False, False, 2048, 384, 128),
    ("TN_dW_qkv_384x128x2048", True, False, 384, 128, 2048),
    ("TN_dW_proj_128x128x2048", True, False, 128, 128, 2048),
    ("NT_qkv_2048x256x768", False, True, 2048, 768, 256),
    ("NN_dX_2048x768x256", False, False, 2048, 256, 768),
    ("TN_dW_768x256x2048", True, False, 768, 256, 2048),
    ("NT_qkv_4096x512x1536", False, True, 4096, 1536, 512),
    ("NN_dX_4096x1536x512", False, False, 4096, 512, 1536),
    ("TN_dW_1536x512x4096", True, False, 1536, 512, 4096),
    ("QKt_128x32x128", False, True, 128, 128, 32),
    ("PV_128x128x32", False, False, 128, 32, 128),
]


def bench(ta, tb, m, n, k, seconds):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    opa = a.T if ta else a
    opb = b.T if tb else b
    c = np.empty((m, n), dtype=np.float32)
    np.dot(opa, opb, out=c)  # warm-up
    flops = 2.0 * m * n * k
    # Batch enough calls that timer overhead is negligible.
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            np.dot(opa, opb, out=c)
        if time.perf_counter() - t0 > 0.01:
            break
        reps *= 2
    rates = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(rates) < 5:
        t0 = time.perf_counter()
        for _ in range(reps):
            np.dot(opa, opb, out=c)
        rates.append(flops * reps / (time.perf_counter() - t0) / 1e9)
    rates.sort()
    return rates[len(rates) // 2]


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f'{cfg.get("name")} {cfg.get("version", "")}'
    except Exception:  # older numpy
        blas = "unknown BLAS"
    print(f"# numpy {np.__version__}, {blas}")
    for name, ta, tb, m, n, k in SHAPES:
        print(f"{name:28s} {bench(ta, tb, m, n, k, seconds):8.1f} GFLOP/s", flush=True)


if __name__ == "__main__":
    main()
