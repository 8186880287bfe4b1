"""Where the false alpha outside the truth lies, by distance from the true piece, and how
much of it covers pixels darker than the paper (shadow) rather than paper-bright ones.

    soraipixel bench-engine --rendered-only --save target/mattes/now
    target/render-venv/bin/python scripts/rendered/fringe.py
"""
import numpy as np, glob, os, json
from PIL import Image
def dist_to(mask, maxd=12):
    # chessboard distance to mask via iterative dilation
    d=np.full(mask.shape, maxd+1, np.int32); cur=mask.copy(); d[cur]=0
    for k in range(1,maxd+1):
        p=np.pad(cur,1); n=cur.copy()
        for dy in (-1,0,1):
            for dx in (-1,0,1):
                n|=p[1+dy:1+dy+mask.shape[0],1+dx:1+dx+mask.shape[1]]
        d[n & ~cur]=k; cur=n
    return d
bins=[(1,2),(3,5),(6,12),(13,999)]
tot={b:0.0 for b in bins}; dark={b:0.0 for b in bins}
for f in sorted(glob.glob('target/mattes/now/*.png')):
    name=os.path.basename(f)[:-4]
    if name.split('-')[0] in ('box','fabric','hand','wood'): continue
    a=np.asarray(Image.open(f).convert('L')).astype(float)/255
    t=np.asarray(Image.open(f'target/rendered/eval/{name}.alpha.png').convert('L')).astype(float)/255
    im=np.asarray(Image.open(f'target/rendered/eval/{name}.jpg').convert('L')).astype(float)
    d=dist_to(t>0.02)
    paper=np.median(im[d>12]) if (d>12).any() else 255
    for b in bins:
        m=(d>=b[0])&(d<=b[1])
        tot[b]+= (a*m).sum()
        dark[b]+= (a*m*(im<paper*0.9)).sum()
all_=sum(tot.values())
for b in bins:
    print(f"distance {b}: false alpha mass {tot[b]:9.0f} ({100*tot[b]/all_:4.1f}%), of which over pixels darker than the paper by >10%: {100*dark[b]/max(tot[b],1):4.1f}%")
