#!/usr/bin/env python3
"""Writes the test images of tests/test-image.c and what Pillow 9.4 (GILL's pin) makes of them.

For each source image NAME.{png,jpg} in a PIL mode: NAME.rgb.ppm = Image.open(NAME).convert("RGB")
(binary PPM, what gill_image_load_rgb must return byte for byte). For the resize cases:
resize-src.ppm (an RGB source) and resize-WxH-F.ppm = Image.resize((W, H), F) of it, F the
PIL.Image.Resampling integer. Dev tool only (needs python3-pil 9.4.0 and python3-numpy, e.g.
Debian 12's); the outputs are committed. Run from anywhere: python3 make-image-cases.py
"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
assert Image.__version__ == "9.4.0", "GILL pins Pillow 9.4.0; found " + Image.__version__


def path(name):
    return os.path.join(HERE, name)


def smooth(w, h, channels, seed):
    """gradients plus noise: something every filter changes visibly"""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        p = 127.5 + 100 * np.sin(xx / (3.0 + c) + yy / (5.0 + 2 * c)) + rng.normal(0, 20, (h, w))
        planes.append(np.clip(p, 0, 255).astype(np.uint8))
    return np.stack(planes, -1)


def save_case(im, name, **kw):
    im.save(path(name), **kw)
    Image.open(path(name)).convert("RGB").save(path(os.path.splitext(name)[0] + ".rgb.ppm"))


def main():
    w, h = 23, 17
    rgb = smooth(w, h, 3, 1)
    grey = smooth(w, h, 1, 2)[..., 0]
    alpha = smooth(w, h, 1, 3)[..., 0]
    # PNG in the modes convert("RGB") treats differently
    save_case(Image.fromarray(grey, "L"), "mode-l.png")
    save_case(Image.fromarray(np.stack([grey, alpha], -1), "LA"), "mode-la.png")
    save_case(Image.fromarray(np.concatenate([rgb, alpha[..., None]], -1), "RGBA"), "mode-rgba.png")
    save_case(Image.fromarray(rgb, "RGB"), "mode-rgb.png")
    pal = Image.fromarray(rgb, "RGB").quantize(37)
    save_case(pal, "mode-p.png")
    save_case(pal, "mode-p-trns.png", transparency=5)
    save_case(Image.fromarray(grey > 128).convert("1"), "mode-1.png")
    save_case(Image.fromarray(grey, "L").quantize(4), "mode-p-2bit.png", bits=2)
    # JPEG: baseline 4:2:0, progressive, 4:4:4, greyscale (libjpeg-turbo decodes for both)
    big = smooth(61, 47, 3, 4)
    save_case(Image.fromarray(big, "RGB"), "jpeg-420.jpg", quality=85)
    save_case(Image.fromarray(big, "RGB"), "jpeg-progressive.jpg", quality=80, progressive=True)
    save_case(Image.fromarray(big, "RGB"), "jpeg-444.jpg", quality=90, subsampling=0)
    save_case(Image.fromarray(smooth(61, 47, 1, 5)[..., 0], "L"), "jpeg-grey.jpg", quality=85)
    # resize: every filter, down and up, odd ratios, one axis only
    src = Image.fromarray(smooth(37, 29, 3, 6), "RGB")
    src.save(path("resize-src.ppm"))
    sizes = [(11, 7), (37, 13), (5, 29), (80, 29), (100, 61), (1, 1), (36, 30)]
    cases = [(rw, rh, f) for (rw, rh) in sizes for f in (1, 2, 3, 4, 5)]
    for (rw, rh, f) in cases:
        src.resize((rw, rh), f, reducing_gap=None).save(path("resize-%dx%d-%d.ppm" % (rw, rh, f)))


if __name__ == "__main__":
    main()
