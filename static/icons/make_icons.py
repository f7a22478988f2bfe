"""Draws Hearth's home-screen icons (a flame on the accent colour) with Pillow.

Run from the repository root: ``python static/icons/make_icons.py``; the PNGs are committed.
"""

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT, CREAM, GLOW = (180, 83, 42), (251, 248, 244), (240, 170, 90)
HERE = Path(__file__).resolve().parent


def icon(size: int, *, maskable: bool = False) -> Image.Image:
    scale = 4  # drawn large and scaled down for smooth edges
    big = size * scale
    image = Image.new("RGB", (big, big), ACCENT)
    draw = ImageDraw.Draw(image)
    inset = big * (0.2 if maskable else 0.1)  # maskable icons keep to the safe circle
    box = big - 2 * inset

    def at(x: float, y: float) -> tuple[float, float]:
        return inset + x * box, inset + y * box

    # the hearth: a low arch, and a flame in it
    draw.rounded_rectangle([at(0.12, 0.78), at(0.88, 0.9)], radius=box * 0.03, fill=CREAM)
    draw.polygon([at(0.5, 0.1), at(0.72, 0.45), at(0.74, 0.62), at(0.62, 0.76), at(0.38, 0.76),
                  at(0.26, 0.62), at(0.3, 0.42)], fill=CREAM)
    draw.polygon([at(0.5, 0.4), at(0.61, 0.58), at(0.56, 0.73), at(0.44, 0.73),
                  at(0.39, 0.6)], fill=GLOW)
    return image.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    for size in (192, 512):
        icon(size).save(HERE / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(HERE / "icon-maskable-512.png", optimize=True)
    icon(180).save(HERE / "apple-touch-icon.png", optimize=True)
