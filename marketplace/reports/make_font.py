"""Make the PDF reports' font: a subset of Noto Sans CJK SC (SIL OFL 1.1) the application ships.

``python -m marketplace.reports.make_font [SOURCE.ttc]`` writes ``marketplace/static/fonts/NotoSansSC-Subset.otf``
from Debian's ``fonts-noto-cjk`` collection (face 2: Simplified Chinese). Kept: every character of GB 2312
(its 6,763 hanzi, punctuation and symbols), ASCII and Latin-1, general punctuation, CJK symbols, full-width
forms, and every character of the application's own Chinese texts (the zh_CN catalog, the region names, the
category vocabulary), so whatever the application itself writes is in the font. CFF outlines are kept as they
are (fpdf2 embeds CID-keyed CFF, and subsets it again to the glyphs a PDF uses). A character outside the font
is replaced when the PDF is drawn (``pdf.py``), never an error.

Only needed again when the set of characters should change; fontTools comes with fpdf2.
"""
from __future__ import annotations

import sys
from pathlib import Path

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SOURCE_FACE = 2  # Noto Sans CJK SC in the collection
ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "marketplace" / "static" / "fonts" / "NotoSansSC-Subset.otf"
FAMILY = "Noto Sans SC Rongtong Subset"

#: Unicode ranges kept whole besides GB 2312
RANGES = (
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x2010, 0x205E), (0x2100, 0x215F), (0x2190, 0x21FF),
    (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x25A0, 0x25FF), (0x3000, 0x303F),
    (0xFF01, 0xFF5E), (0xFFE0, 0xFFE6),
)


def gb2312_characters() -> set[str]:
    """Every character GB 2312 encodes (rows 0xA1–0xF7, cells 0xA1–0xFE)."""
    found = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def application_characters() -> set[str]:
    """The characters of the application's own Chinese texts (catalog, regions, data files)."""
    found: set[str] = set()
    for pattern in ("translations/zh_CN/LC_MESSAGES/messages.po", "marketplace/data/*.csv", "marketplace/data/*.txt"):
        for path in ROOT.glob(pattern):
            found.update(path.read_text(encoding="utf-8", errors="ignore"))
    return {ch for ch in found if ord(ch) >= 0x2E80}


def characters() -> set[str]:
    chosen = gb2312_characters() | application_characters()
    for low, high in RANGES:
        chosen.update(chr(code) for code in range(low, high + 1))
    return chosen


def make(source: str = SOURCE, target: Path = TARGET) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=SOURCE_FACE)
    options = subset.Options()
    options.layout_features = []  # fpdf2 draws without shaping: no alternates, vertical forms or ligatures
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(ch) for ch in characters()])
    subsetter.subset(font)
    # a modified version: its own family name (the copyright and licence records are kept)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID in (6, 20):
            record.string = FAMILY.replace(" ", "")
        elif record.nameID == 3:
            record.string = f"2.004;{FAMILY.replace(' ', '')}"
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target))
    return target


if __name__ == "__main__":
    written = make(sys.argv[1] if len(sys.argv) > 1 else SOURCE)
    print(f"wrote {written} ({written.stat().st_size} bytes)")
