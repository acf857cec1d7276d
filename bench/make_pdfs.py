#!/usr/bin/env python3
"""Writes COUNT distinct one-page PDFs for the product rows of bench/sign-vs-pyhanko.

    python3 bench/make_pdfs.py OUT_DIR COUNT [FIRST]     # OUT_DIR/doc-000001.pdf, ...
    python3 bench/make_pdfs.py --template OUT_FILE       # one PDF with the number 000000

Each PDF is the same 1-page A4 letter as the library benchmark (Helvetica text), and differs
only in a six-digit document number written in its content stream: every signed result is
new bytes, so the archive never finds an earlier copy by hash (the same input signed twice
in one second would otherwise be stored once). All files have the same length and layout,
so `bench/sign_upload.lua` can put its own number at the same place in the template.
"""
import sys
from pathlib import Path

MARK = b"000000"


def pdf(number: int) -> bytes:
    text = b"SURAT TUGAS Nomor %06d/PL.01-SD/32/2026" % number
    content = b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def main():
    if sys.argv[1] == "--template":
        Path(sys.argv[2]).write_bytes(pdf(0))
        return
    out = Path(sys.argv[1])
    count = int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    out.mkdir(parents=True, exist_ok=True)
    for n in range(first, first + count):
        (out / f"doc-{n:06d}.pdf").write_bytes(pdf(n))


if __name__ == "__main__":
    main()
