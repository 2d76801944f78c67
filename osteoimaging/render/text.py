"""Text for figures with Pillow's built-in font only (no font files, no matplotlib).

``PIL.ImageFont.load_default(size)`` (Pillow ≥ 10.1; Slicer 5.10 bundles 11.2.1, 5.12
bundles 12.2.0) returns Aileron Regular at any size when Pillow has FreeType. Without
FreeType it raises, and we fall back to Pillow's bitmap font, scaled up by an integer
factor (blocky but legible). Aileron's embedded subset covers printable ASCII and a few
symbols (° ± · « » ‘ ’ “ ” …) only, so text is transliterated first: ``³`` → ``3``,
``×`` → ``x``, ``−``/``–`` → ``-`` and so on (``mg/cm³`` is written ``mg/cm3``, as UCUM does).

Every string is drawn into a grey-level mask of known size and pasted, so alignment is
computed the same way for both fonts (the bitmap font supports no anchors).
"""

from __future__ import annotations

from functools import cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from osteoimaging.log import logger

_BITMAP_PX = 11  # cap height + descender of Pillow's bitmap font, in pixels

# Characters outside Aileron's subset that units and labels use.
_TRANSLATE = str.maketrans(
    {
        "²": "2",
        "³": "3",
        "×": "x",
        "−": "-",
        "–": "-",
        "—": "-",
        "µ": "u",
        "μ": "u",
        "→": "->",
        "≥": ">=",
        "≤": "<=",
        "⅓": "1/3",
        "⅔": "2/3",
        "é": "e",
        "ü": "u",
        "ö": "o",
        "ä": "a",
    }
)
_SUPPORTED = {chr(c) for c in range(0x20, 0x7F)} | set("©«°±´·»‘’“”…‹›⁄™")


def clean(text: str) -> str:
    """``text`` in the characters the built-in font can draw (others become ``?``)."""
    text = str(text).translate(_TRANSLATE)
    return "".join(ch if ch in _SUPPORTED else "?" for ch in text)


@cache
def has_freetype() -> bool:
    """True when Pillow can draw Aileron at any size."""
    try:
        ImageFont.load_default(size=12)
    except (ImportError, OSError, AttributeError, TypeError):
        logger.info("Pillow has no FreeType: figures use the scaled bitmap font")
        return False
    return True


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if has_freetype():
        return ImageFont.load_default(size=size)
    bitmap = getattr(ImageFont, "load_default_imagefont", None)  # Pillow ≥ 10.1
    return bitmap() if bitmap is not None else ImageFont.load_default()


def text_mask(text: str, size: int) -> Image.Image:
    """The text as an ``L`` image (255 = ink), tightly as wide as the text and one line high.

    The height is the font's ascent + descent, so strings of one size share a baseline.
    """
    text = clean(text)
    font = _font(size)
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        width = max(1, round(font.getlength(text)) + 1)
        mask = Image.new("L", (width, ascent + descent), 0)
        ImageDraw.Draw(mask).text((0, 0), text, font=font, fill=255)
        return mask
    _left, _top, right, bottom = font.getbbox(text or " ")
    mask = Image.new("L", (max(1, right), max(_BITMAP_PX, bottom)), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=font, fill=255)
    factor = max(1, round(size / _BITMAP_PX))
    return mask.resize((mask.width * factor, mask.height * factor), Image.Resampling.NEAREST)


def text_size(text: str, size: int) -> tuple[int, int]:
    """(width, height) in pixels of ``text`` at ``size``."""
    return text_mask(text, size).size


def draw_text(
    image: Image.Image,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: tuple[int, int, int] = (0, 0, 0),
    anchor: str = "lt",
    halo: tuple[int, int, int] | None = None,
) -> tuple[int, int, int, int]:
    """Draw ``text`` on ``image``; returns its box (x0, y0, x1, y1).

    ``anchor``: two letters, horizontal ``l``/``m``/``r`` then vertical ``t``/``m``/``b``
    of the text box placed at ``xy``. ``halo`` draws a 1–2 px outline in that colour
    first (for text over pictures).
    """
    if not text:
        return (int(xy[0]), int(xy[1]), int(xy[0]), int(xy[1]))
    mask = text_mask(text, size)
    w, h = mask.size
    x = xy[0] - {"l": 0.0, "m": w / 2.0, "r": float(w)}[anchor[0]]
    y = xy[1] - {"t": 0.0, "m": h / 2.0, "b": float(h)}[anchor[1]]
    box = (round(x), round(y))
    if halo is not None:
        grow = 3 if size < 20 else 5
        outline = mask.filter(ImageFilter.MaxFilter(grow))
        image.paste(halo, (*box, box[0] + w, box[1] + h), outline)
    image.paste(fill, (*box, box[0] + w, box[1] + h), mask)
    return (box[0], box[1], box[0] + w, box[1] + h)
