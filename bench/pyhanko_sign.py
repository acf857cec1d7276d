#!/usr/bin/env python3
"""pyHanko's half of bench/sign-vs-pyhanko: signs the same 1-page PDF with the same
P-256 key as `cargo bench -p paraf-pdf --bench sign`, in-process, in a loop, and prints
documents/s (PAdES, invisible and with a visible QR stamp).

    .venv/bin/python bench/pyhanko_sign.py DIR [SECONDS]

DIR is the folder the Rust benchmark wrote (input.pdf, keys/bench/{key,cert}.pem,
ca/root.pem).
"""
import sys
import time
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import QRStampStyle


def rate(seconds, f):
    for _ in range(3):  # warm-up
        f()
    start = time.perf_counter()
    n = 0
    while n < 10 or time.perf_counter() - start < seconds:
        f()
        n += 1
    return n / (time.perf_counter() - start), n


def main():
    d = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    data = (d / "input.pdf").read_bytes()
    signer = signers.SimpleSigner.load(
        str(d / "keys/bench/key.pem"),
        str(d / "keys/bench/cert.pem"),
        ca_chain_files=(str(d / "ca/root.pem"),),
        key_passphrase=None,
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Disetujui",
        location="Bandung",
    )
    url = "https://paraf.example/verifikasi/198003152005011002"
    invisible = signers.PdfSigner(meta, signer=signer)
    visible = signers.PdfSigner(
        meta,
        signer=signer,
        stamp_style=QRStampStyle(
            stamp_text="Ditandatangani secara elektronik\nAsep Sunandar\n"
            "NIP 198003152005011002\n%(ts)s"
        ),
        new_field_spec=fields.SigFieldSpec("Signature1", box=(300, 80, 560, 160)),
    )

    def sign_invisible():
        return invisible.sign_pdf(IncrementalPdfFileWriter(BytesIO(data))).getvalue()

    def sign_visible():
        w = IncrementalPdfFileWriter(BytesIO(data))
        return visible.sign_pdf(w, appearance_text_params={"url": url}).getvalue()

    (d / "pyhanko-signed.pdf").write_bytes(sign_visible())
    print(f"pyHanko sign throughput, same PDF and key, one core, {seconds} s per row:")
    for label, key, f in [
        ("invisible, PdfSigner.sign_pdf", "pyhanko_invisible", sign_invisible),
        ("visible QR stamp, PdfSigner.sign_pdf", "pyhanko_visible", sign_visible),
    ]:
        r, n = rate(seconds, f)
        print(f"  {label:<52} {r:>9.1f} documents/s ({1000 / r:.3f} ms each, n={n})")
        print(f"RESULT {key} {r:.1f}")


if __name__ == "__main__":
    main()
