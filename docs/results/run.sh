#!/usr/bin/env bash
# The compares behind docs/RESULTS.md. Binary built from commit 331423e.
set -euo pipefail
M=/tmp/mhc-results
C="--data english --preset tiny --eval-every 50 --gains-every 25 --ckpt-every 50 --no-progress"
cd /tmp/results
date +%s > t0
time $M compare $C --conns residual --base-inits gpt2,torch,neox --seeds 3 --steps 300 --out base-tiny
best=$(python3 - <<'P'
import json,glob,collections
d=collections.defaultdict(list)
for f in glob.glob('base-tiny/runs/*/result.json'):
    r=json.load(open(f)); d[r['base_init']].append(r['val_loss'])
m={k:sum(v)/len(v) for k,v in d.items()}
print(min(m,key=m.get))
P
)
echo "best base init: $best" | tee best
time $M compare $C --conns residual,hc,mhc,mhc-lite:init=uniform,mhc:fixed=res:init=uniform --inits uniform,identity,split --base-inits $best --seeds 3 --steps 250 --out main
time $M compare $C --conns mhc:fixed=pre+post:init=uniform,mhc:fixed=pre+post+res:init=uniform --base-inits $best --seeds 2 --steps 250 --out ablation
time $M compare --data english --preset small --eval-every 50 --gains-every 25 --ckpt-every 50 --no-progress --conns residual --base-inits gpt2,torch,neox --seeds 2 --steps 200 --out base-small
time $M compare $C --conns residual,hc,mhc --depths 8,16 --base-inits $best --seeds 1 --steps 250 --out depth
date +%s > t1
# The reports (with the binary of this commit; `mhc report` reads the runs, it trains nothing):
#   mhc report base-tiny; mhc report base-small; mhc report main
#   mhc report --out abl main/runs/{residual,mhc,mhc_fixed=res}-s{1,2} ablation/runs/*
#   mhc report --out deprep depth/runs/* main/runs/{residual,hc,mhc}-s1
# docs/results/NAME holds each report.md with its SVG figures (the PNGs and report.html stay out of git).
