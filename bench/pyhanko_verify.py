#!/usr/bin/env python3
"""pyHanko's half of bench/verify-vs-pyhanko: validates every signature of the files
`cargo bench -p paraf-pdf --bench verify` wrote (verify-1.pdf, verify-3.pdf) against the
same root, in-process, in a loop, and prints documents/s. Like paraf, it checks the
signatures, the chain and the modifications after each signature (difference analysis).

    .venv/bin/python bench/pyhanko_verify.py DIR [SECONDS]
"""
import sys
import time
from io import BytesIO
from pathlib import Path

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def rate(seconds, f):
    for _ in range(3):  # warm-up
        assert f(), "every signature verifies"
    start = time.perf_counter()
    n = 0
    while n < 10 or time.perf_counter() - start < seconds:
        f()
        n += 1
    return n / (time.perf_counter() - start), n


def main():
    d = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    root = load_cert_from_pemder(str(d / "root.pem"))
    print(f"pyHanko verify throughput, same files and root, one core, {seconds} s per row:")
    for n in (1, 3):
        data = (d / f"verify-{n}.pdf").read_bytes()

        def verify():
            reader = PdfFileReader(BytesIO(data))
            ok = True
            for sig in reader.embedded_signatures:
                vc = ValidationContext(trust_roots=[root])
                status = validate_pdf_signature(sig, vc)
                ok = ok and status.bottom_line
            return ok and len(reader.embedded_signatures) == n

        r, count = rate(seconds, verify)
        label = f"{n} signature(s), validate_pdf_signature"
        print(f"  {label:<52} {r:>9.1f} documents/s ({1000 / r:.3f} ms each, n={count})")
        print(f"RESULT pyhanko_verify_{n} {r:.1f}")


if __name__ == "__main__":
    main()
