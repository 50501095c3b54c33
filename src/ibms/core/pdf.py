"""What every PDF is built with: one embedded CJK font and text that is never ReportLab markup.

Font: WenQuanYi Micro Hei (文泉驿微米黑, Apache-2.0), shipped by the `paperang-p2-fonts-cjk` package (or the file
named by `IBMS_PDF_FONT_FILE`), registered as a TrueType font, so ReportLab embeds a subset of it in each PDF
and the document reads the same on any viewer. Without the file (not installed) PDFs fall back to the Adobe CID
font STSong-Light, which is not embedded, and a warning is logged.

Text: `Paragraph` parses its text as XML-like markup (`<img>`, `<a href>`, `<font>` …), so a user's `<img src=x>`
would be an image and `x <y` an error: `para()` escapes every string first (and drops control characters that
no PDF text can carry), so it prints as the text it is.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

log = logging.getLogger("ibms.pdf")

FONT_NAME = "IBMS-CJK"
FALLBACK_FONT = "STSong-Light"
_FONT_PACKAGE, _FONT_PATH, _FONT_INDEX = "paperang_p2_fonts_cjk", ("fonts", "wqy-microhei.ttc"), 0
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_lock = threading.Lock()
_registered: str | None = None


def font_file() -> str | None:
    """Path of the CJK TrueType font: the setting/environment `IBMS_PDF_FONT_FILE`, else the packaged one."""
    configured = _setting("IBMS_PDF_FONT_FILE") or os.environ.get("IBMS_PDF_FONT_FILE")
    if configured:
        return str(configured)
    try:
        path = resources.files(_FONT_PACKAGE).joinpath(*_FONT_PATH)
    except ModuleNotFoundError:
        return None
    return str(path) if path.is_file() else None


def _setting(name: str) -> Any:
    try:
        from django.conf import settings

        return getattr(settings, name, None) if settings.configured else None
    except ImportError:  # pragma: no cover - Django is always there in the app
        return None


def pdf_font() -> str:
    """Register the CJK font with ReportLab (once per process) and return its name."""
    global _registered
    if _registered is not None:
        return _registered
    from reportlab.pdfbase import pdfmetrics

    with _lock:
        if _registered is None:
            path = font_file()
            if path is not None:
                from reportlab.pdfbase.ttfonts import TTFont

                index = _FONT_INDEX if path.lower().endswith((".ttc", ".otc")) else 0
                pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
                _registered = FONT_NAME
            else:
                from reportlab.pdfbase.cidfonts import UnicodeCIDFont

                log.warning("CJK font file not found (install paperang-p2-fonts-cjk or set IBMS_PDF_FONT_FILE): "
                            "PDFs use the non-embedded CID font %s", FALLBACK_FONT)
                if FALLBACK_FONT not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
                _registered = FALLBACK_FONT
    return _registered


def markup(text: Any) -> str:
    """Any value as Paragraph markup that shows exactly its text: no tag, entity or link survives."""
    if text is None:
        return ""
    return escape(_CONTROL_RE.sub("", str(text)))


def para(text: Any, style: Any) -> Any:
    """A Paragraph of plain text (escaped; see `markup`)."""
    from reportlab.platypus import Paragraph

    return Paragraph(markup(text), style)
