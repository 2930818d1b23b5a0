"""Summary of the issue-22t runs by seed half, and paired differences (run by run, same grid and seed).

Reads the earlier raw files of the guided strategies (seeds 0-5: ``s4_design_front_s05_raw.csv`` and
``logei_bo_s05_raw.csv``; seeds 6-19: ``s5_guided_s619_raw.csv``) and the raw files given as arguments:

    python benchmarks/summarise_s6t.py benchmarks/results/s6t_multi_s*_raw.csv
"""
import os, sys
import pandas as pd
R = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results') + os.sep
old=pd.concat([pd.read_csv(R+'s4_design_front_s05_raw.csv'),pd.read_csv(R+'s5_guided_s619_raw.csv'),pd.read_csv(R+'logei_bo_s05_raw.csv')])
new = []
for f in sys.argv[1:]:
    d = pd.read_csv(f)
    if "nested" in os.path.basename(f):       # the nearest-first selection (600x600 and 800x800 only)
        d["strategy"] = "bo-multi (nearest first)"
    new.append(d)
new = pd.concat(new)
if (new.strategy == "bo-multi (nearest first)").any():
    # 200x200 and 400x400 have one source each, where the nearest-first selection is the former code: their
    # bo-multi runs are the same runs
    one = new[(new.strategy == "bo-multi") & new.file.str.contains("200x200|400x400")].copy()
    one["strategy"] = "bo-multi (nearest first)"
    new = pd.concat([new, one])
df=pd.concat([old[old.strategy.isin(['bo','bo-transfer','bo-task','bo-wrong'])],new])
df['grid']=df.file.str.extract(r'(\d+x\d+)')
for half,(a,b) in (('seeds 0-9',(0,9)),('seeds 10-19',(10,19)),('seeds 0-19',(0,19))):
    print(f'\n{half}')
    print('| strategy | runs | HV@20 median (worst) | HV@40 median (worst) | >=0.99 / >=0.98 @20 | >=0.99 / >=0.98 @40 | 200 | 400 | 600 | 800 (HV@20 medians) |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    d=df[(df.seed>=a)&(df.seed<=b)]
    for s,g in d.groupby('strategy',sort=False):
        per=' | '.join(f"{g[g.grid==x].hv20.median():.3f}" if (g.grid==x).any() else '-' for x in ['200x200','400x400','600x600','800x800'])
        print(f"| {s} | {len(g)} | {g.hv20.median():.3f} ({g.hv20.min():.3f}) | {g.hv40.median():.3f} ({g.hv40.min():.3f}) | {(g.hv20>=0.99).sum()} / {(g.hv20>=0.98).sum()} | {(g.hv40>=0.99).sum()} / {(g.hv40>=0.98).sum()} | {per} |")
df=df[df.strategy.isin(['bo-task','bo-transfer','bo-multi','bo-multi-all','bo-multi (nearest first)'])]
print()
piv={b:df.pivot_table(index=['grid','seed'],columns='strategy',values=f'hv{b}') for b in (20,40)}
for v in ('bo-multi','bo-multi-all','bo-multi (nearest first)'):
  for ref in ('bo-task','bo-transfer') + (('bo-multi',) if 'nearest' in v else ()):
    for half,(a,b_) in (('0-9',(0,9)),('10-19',(10,19))):
      for b in (20,40):
        p=piv[b].reset_index()
        if v not in p or ref not in p: continue
        p=p[(p.seed>=a)&(p.seed<=b_)].dropna(subset=[v,ref])
        if not len(p): continue
        d=p[v]-p[ref]
        same=(d.abs()<1e-12)
        print(f"{v} vs {ref} seeds {half} @{b}: n={len(p)} identical={same.sum()} better>0.02={int((d>0.02).sum())} worse>0.02={int((d<-0.02).sum())} median diff (non-identical)={d[~same].median():+.4f}; per grid identical: {p[same].grid.value_counts().to_dict()}")
