"""IS-Net (the model behind @imgly/background-removal) on a rendered set, for comparison
only: the model is AGPL and is fetched into the target folder by scripts/peer-isnet.sh,
never shipped or committed. Writes DIR/<name>.png (alpha) for every scene of the set;
`soraipixel bench-engine --rendered SET --peer DIR` scores them like our own mattes.

    python isnet.py MODEL.onnx SET_DIR OUT_DIR
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

model, set_dir, out_dir = sys.argv[1:4]
os.makedirs(out_dir, exist_ok=True)
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
inp = session.get_inputs()[0]
size = 1024
for line in open(os.path.join(set_dir, "manifest.jsonl")):
    name = json.loads(line)["name"]
    target = os.path.join(out_dir, name + ".png")
    if os.path.exists(target):
        continue
    photo = Image.open(os.path.join(set_dir, name + ".jpg")).convert("RGB")
    x = np.asarray(photo.resize((size, size), Image.BILINEAR), dtype=np.float32)
    # The package's own preprocessing: (x - 128) / 256, NCHW.
    x = ((x - 128.0) / 256.0).transpose(2, 0, 1)[None]
    if "float16" in inp.type:
        x = x.astype(np.float16)
    y = np.asarray(session.run(None, {inp.name: x})[0], dtype=np.float32)[0, 0]
    alpha = Image.fromarray((np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(photo.size, Image.BILINEAR)
    alpha.save(target)
    print(name, flush=True)
