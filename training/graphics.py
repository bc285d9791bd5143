"""Synthetic screen content for fitting the blind quality head: flat panels, hairlines, text, icons, gradients and
photos placed in them, like screenshots, slides and web pages.

Why: the head reads how many DCT coefficients are near zero, and flat synthetic content has most of them near
zero without ever having been compressed. Fitted on photographs alone, the head called clean screenshots of this
app quality 9 and a flat drawing quality 3, so Auto restored them at nearly full strength."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("File Edit View Help Open Save Export Quality Strength Auto Manual Restored Original frame video image "
         "settings cancel apply 1280x720 25 fps 00:04.320 OK Preview Layers Tools Window New Share Search").split()


def _colour(rng, dark: bool) -> tuple[int, int, int]:
    base = int(rng.integers(15, 70)) if dark else int(rng.integers(185, 250))
    tint = rng.integers(-12, 13, 3)
    return tuple(int(np.clip(base + t, 0, 255)) for t in tint)


def _accent(rng) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def _text(draw: ImageDraw.ImageDraw, rng, xy, colour, size: int) -> None:
    font = ImageFont.load_default(size=size)
    words = " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), int(rng.integers(1, 6))))
    draw.text(xy, words, fill=colour, font=font)


def _gradient(rng, h: int, w: int) -> np.ndarray:
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    ramp = a[None] * (1 - t[:, None]) + b[None] * t[:, None]
    ramp = ramp[None] if len(t) == w else ramp[:, None]
    return np.broadcast_to(ramp, (h, w, 3)).astype(np.uint8)


def screen_content(rng: np.random.Generator, size: int, photos: list[np.ndarray]) -> np.ndarray:
    """A size x size RGB image of screen-like content, never compressed."""
    dark = rng.random() < 0.5
    # drawn at 1x or 2x and scaled down half the time: HiDPI screenshots and downscaled ones have softer edges
    scale = 2 if rng.random() < 0.25 else 1
    s = size * scale
    canvas = Image.new("RGB", (s, s), _colour(rng, dark))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(2, 9))):  # panels, buttons, photos, gradients
        w, h = int(rng.integers(s // 8, s)), int(rng.integers(s // 12, s // 2))
        x, y = int(rng.integers(-w // 4, s - w // 2)), int(rng.integers(-h // 4, s - h // 2))
        kind = rng.random()
        if kind < 0.2 and photos:
            photo = photos[int(rng.integers(0, len(photos)))]
            ph, pw = photo.shape[:2]
            cw, chh = min(pw, int(w * rng.uniform(1, 2))), min(ph, int(h * rng.uniform(1, 2)))
            oy, ox = int(rng.integers(0, ph - chh + 1)), int(rng.integers(0, pw - cw + 1))
            patch = Image.fromarray(photo[oy:oy + chh, ox:ox + cw]).resize((max(w, 1), max(h, 1)), Image.BILINEAR)
            canvas.paste(patch, (x, y))
        elif kind < 0.3:
            canvas.paste(Image.fromarray(_gradient(rng, max(h, 1), max(w, 1))), (x, y))
        else:
            fill = _accent(rng) if rng.random() < 0.3 else _colour(rng, not dark if rng.random() < 0.2 else dark)
            outline = _colour(rng, not dark) if rng.random() < 0.4 else None
            radius = int(rng.integers(0, 12)) * scale
            draw.rounded_rectangle((x, y, x + w, y + h), radius=radius, fill=fill, outline=outline)
    ink = _colour(rng, not dark)
    for _ in range(int(rng.integers(3, 14))):  # text lines and hairlines
        x, y = int(rng.integers(0, s - 8)), int(rng.integers(0, s - 8))
        if rng.random() < 0.75:
            colour = ink if rng.random() < 0.7 else _accent(rng)
            _text(draw, rng, (x, y), colour, int(rng.integers(9, 22)) * scale)
        else:
            colour = _colour(rng, not dark) if rng.random() < 0.5 else _accent(rng)
            draw.line((0, y, s, y) if rng.random() < 0.6 else (x, 0, x, s), fill=colour, width=scale)
    if scale > 1:
        canvas = canvas.resize((size, size), Image.LANCZOS if rng.random() < 0.5 else Image.BILINEAR)
    return np.asarray(canvas)
