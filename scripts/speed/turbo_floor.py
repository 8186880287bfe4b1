"""Times libjpeg-turbo (through Pillow, which bundles it) on the files `soraipixel
bench-engine --speed-files DIR` kept: decoding each 12 MP input and encoding its output's
pixels at quality 90, one thread, median of RUNS. Prints the floor per scene as JSON.

    python turbo_floor.py DIR [RUNS]
"""

import io
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, features


def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    folder, runs = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 5
    assert features.check_feature("libjpeg_turbo"), "this Pillow is not built on libjpeg-turbo"
    floors = {}
    for source in sorted(folder.glob("*.input.jpg")):
        scene = source.name.removesuffix(".input.jpg")
        data = source.read_bytes()
        output = Image.open(folder / f"{scene}.output.jpg").convert("RGB")
        output.load()
        decode = median_ms(lambda: Image.open(io.BytesIO(data)).load(), runs)
        encode = median_ms(lambda: output.save(io.BytesIO(), "JPEG", quality=90), runs)
        floors[scene] = {"decode_ms": decode, "encode_ms": encode}
    print(json.dumps({"libjpeg_turbo": features.version_feature("libjpeg_turbo"), "floors": floors}))


main()
