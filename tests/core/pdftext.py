"""Text of a ReportLab PDF as a reader would copy it, without external tools: content streams decoded through
each font's ToUnicode CMap (enough for what ReportLab writes: simple fonts, literal strings, Tj/TJ)."""

from __future__ import annotations

import base64
import re
import zlib

_OBJ_RE = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM_RE = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_TOKEN_RE = re.compile(rb"/([^\s/\[\]()<>]+)\s+[\d.]+\s+Tf|\((?:\\.|[^\\)])*\)|\[|\]|T\*|'", re.S)
_ESC = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _stream(body: bytes) -> bytes | None:
    m = _STREAM_RE.search(body)
    if m is None:
        return None
    data = m[1]
    if b"/ASCII85Decode" in body:
        data = base64.a85decode(data.strip().removesuffix(b"~>"), adobe=False)
    if b"/FlateDecode" in body:
        data = zlib.decompress(data)
    return data


def _literal(s: bytes) -> bytes:
    out, i = bytearray(), 1
    while i < len(s) - 1:
        ch = s[i : i + 1]
        if ch == b"\\":
            nxt = s[i + 1 : i + 2]
            if nxt in _ESC:
                out += _ESC[nxt]
                i += 2
                continue
            octal = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
            if octal:
                out.append(int(octal[0], 8) & 0xFF)
                i += 1 + len(octal[0])
                continue
            i += 1
            continue
        out += ch
        i += 1
    return bytes(out)


def _cmap(data: bytes) -> dict[int, str]:
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            for n, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                table[code] = chr(start + n)
    return table


def pdf_text(pdf: bytes) -> str:
    objs = {int(m[1]): m[2] for m in _OBJ_RE.finditer(pdf)}
    fonts: dict[bytes, dict[int, str] | None] = {}
    for body in objs.values():
        if b"/Type /Font" in body and (name := re.search(rb"/Name /(\S+)", body)):
            ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
            fonts[name[1]] = _cmap(_stream(objs[int(ref[1])]) or b"") if ref else None
    out: list[str] = []
    for m in re.finditer(rb"/Contents (\d+) 0 R", pdf):
        content = _stream(objs[int(m[1])]) or b""
        cmap: dict[int, str] | None = None
        for tok in _TOKEN_RE.finditer(content):
            if tok[1] is not None:
                cmap = fonts.get(tok[1])
            elif tok[0].startswith(b"("):
                raw = _literal(tok[0])
                out.append("".join(cmap.get(b, "") for b in raw) if cmap is not None else raw.decode("latin-1"))
            elif tok[0] in (b"T*", b"'"):
                out.append("\n")
        out.append("\n")
    return "".join(out)
