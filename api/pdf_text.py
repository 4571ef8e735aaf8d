"""A PDF's Thai text layer that reads back as the text it shows.

HarfBuzz shapes Thai before fpdf2 draws it: it splits sara am into nikhahit and sara aa (จำ is
drawn จ ํ า), moves nikhahit before a tone mark (น้ำ is drawn น ํ ้ า), picks narrower or lower
marks, and moves marks off their default place (the marks of ปั้น go left, clear of ป's tail).
A reader (search, copy, pypdf) gets text back from a PDF through the font's ToUnicode table,
glyph by glyph, and guesses spaces from the gaps between glyphs. fpdf2 2.8.9 gives a cluster's
text to its first glyph and leaves the cluster's other glyphs out of the table, so a reader
takes their glyph codes for characters ("จำ\\x07นวนเงิน"); and a mark drawn left of the pen with
no width of its own leaves a gap a reader takes for a space ("ปั้ น").

Two mends, the drawing unchanged:

- `ThaiFont.shape_text` is fpdf2's, except that a cluster's text goes to its widest glyph
  (`cluster_texts`), and that a glyph drawn to the left of the pen is declared as wide as the
  way from where it is drawn to where the next glyph starts, so that no gap is seen;
- `TextLayerProducer` writes the glyphs that stand for no text of their own into the ToUnicode
  table as mapping to nothing (`<code> <>`), which fpdf2 leaves out.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import TTFFont
from fpdf.output import OutputProducer

CMAP_BLOCK = 100  # entries a bfchar block may hold (Adobe Technical Note #5014)


def cluster_texts(text: str, clusters: Sequence[int], advances: Sequence[int]) -> list[str]:
    """Each glyph's share of `text`, given each glyph's cluster (the index of the first character
    it comes from) and advance: a cluster's characters go to its widest glyph (the first of them),
    where a reader that goes by the glyphs' places looks for them; the others get none. So ำ's
    text is on sara aa, not on the nikhahit drawn above the consonant before it:
    `cluster_texts("น้ำ", [0, 1, 1, 1], [637, 0, 0, 485])` (น, nikhahit, the tone mark, sara aa)
    is `["น", "", "", "้ำ"]`."""
    starts = sorted(set(clusters))
    spans = {start: text[start if start != starts[0] else 0 : end]
             for start, end in zip(starts, [*starts[1:], len(text)], strict=True)}  # fmt: skip
    widest: dict[int, int] = {}
    for index, (cluster, advance) in enumerate(zip(clusters, advances, strict=True)):
        if cluster not in widest or advance > advances[widest[cluster]]:
            widest[cluster] = index
    owners = {index: cluster for cluster, index in widest.items()}
    return [spans[owners[index]] if index in owners else "" for index in range(len(clusters))]


class ThaiFont(TTFFont):
    """A TrueType font whose shaped glyphs read back as the text they show."""

    def shape_text(self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None) -> list[dict]:
        if not text:
            return []
        infos, positions = self.perform_harfbuzz_shaping(text, font_size_pt, text_shaping_params)
        shares = cluster_texts(text, [info.cluster for info in infos], [p.x_advance for p in positions])
        shaped = []
        for info, position, share in zip(infos, positions, shares, strict=True):
            name = self.ttfont.getGlyphName(info.codepoint)
            width = self.ttfont["hmtx"].metrics[name][0]
            if position.x_offset < 0:  # read from where it is drawn to where the next glyph starts
                width = position.x_advance - position.x_offset
            glyph = self.subset.get_glyph(glyph=info.codepoint, unicode=tuple(map(ord, share)), glyph_name=name,
                                          glyph_width=round(self.scale * width))  # fmt: skip
            if glyph is None:
                continue
            moved = position.x_offset or position.y_offset or position.y_advance
            shaped.append({
                "mapped_char": self.subset.pick_glyph(glyph), "x_advance": position.x_advance,
                "y_advance": position.y_advance, "x_offset": position.x_offset, "y_offset": position.y_offset,
                "force_positioning": bool(moved) or width != position.x_advance,
            })  # fmt: skip
        return shaped


def add_thai_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """`pdf.add_font` for a font drawn as a `ThaiFont`."""
    key = f"{family.lower()}{style}"
    pdf.fonts[key] = ThaiFont(pdf, path, key, style)


class TextLayerProducer(OutputProducer):
    """fpdf2's PDF writer, with the glyphs that stand for no text in the ToUnicode tables."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> dict:
        fonts = super()._add_fonts(*args, **kwargs)
        for font in self.fpdf.fonts.values():
            silent = [code for glyph, code in font.subset.items() if glyph is not None and glyph.unicode == ()]
            if isinstance(font, ThaiFont) and silent:
                blocks = [silent[start : start + CMAP_BLOCK] for start in range(0, len(silent), CMAP_BLOCK)]
                entries = "".join(
                    f"{len(block)} beginbfchar\n" + "".join(f"<{code:04X}> <>\n" for code in block) + "endbfchar\n"
                    for block in blocks
                )
                table = fonts[font.i].to_unicode
                table._contents = table._contents.replace(b"endcmap", entries.encode() + b"endcmap", 1)
                table.length = len(table._contents)
        return fonts
