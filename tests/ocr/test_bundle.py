"""Bundles and phone photos: several files or a ZIP read as one ordered stack; HEIC read
upright; ZIP bombs, encrypted members and bad files refused, naming the file."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from ocr.bundle import is_skipped, member_label, natural_key, pack
from ocr.errors import CorruptFile, EmptyFile, EncryptedFile, LimitExceeded, UnsupportedFile
from ocr.ingest import IngestLimits, count_pages, iter_pages, sniff

ORIENTATION = 0x0112


def page_with_block(marker: int, size: tuple[int, int] = (300, 400)) -> np.ndarray:
    """An upright page (W×H = size): white, a black block at the top left and a grey
    level that tells the pages apart."""
    w, h = size
    page = np.full((h, w), 255, np.uint8)
    page[h // 2:, :] = marker  # the lower half carries the page's own grey level
    page[10:60, 10:60] = 0
    return page


def photo_bytes(upright: np.ndarray, fmt: str, orientation: int = 1) -> bytes:
    """A phone-style photo: the sensor's pixels stored turned, and an EXIF orientation
    tag saying how to turn them back (6: the camera was held upright, sensor sideways)."""
    sensor = np.rot90(upright, 1) if orientation == 6 else upright
    img = Image.fromarray(np.ascontiguousarray(sensor)).convert("RGB")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buf = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    img.save(buf, format=fmt, exif=exif.tobytes(), quality=95)
    return buf.getvalue()


def png_bytes(page: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, format="PNG")
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _upright_ok(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert got[20:50, 20:50].mean() < 40  # the black block is at the top left
    assert got[-30:, -30:].mean() == pytest.approx(want[-30:, -30:].mean(), abs=12)


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_phone_photo_is_read_upright(tmp_path: Path, fmt: str) -> None:
    upright = page_with_block(128)
    path = _write(tmp_path, "photo", photo_bytes(upright, fmt, orientation=6))
    if fmt == "HEIF":
        assert sniff(path.read_bytes()[:64]) == "heic"
    assert count_pages(path) == 1
    (page,) = list(iter_pages(path))
    _upright_ok(page.image, upright)


def test_a_jpeg_with_a_damaged_orientation_tag_is_read_as_stored(tmp_path: Path) -> None:
    upright = page_with_block(128)
    data = photo_bytes(upright, "JPEG", orientation=1)
    # An EXIF block whose first IFD offset points past its end: the tag cannot be parsed.
    at = data.index(b"Exif\x00\x00") + 6
    data = data[:at + 4] + struct.pack("<I", 0xFFFFFF) + data[at + 8:]
    (page,) = list(iter_pages(_write(tmp_path, "odd.jpg", data)))
    _upright_ok(page.image, upright)


def test_a_corrupt_heic_is_refused_as_corrupt(tmp_path: Path) -> None:
    data = photo_bytes(page_with_block(128), "HEIF")
    # Damaged past its brand: refused when its pages are counted (at upload).
    garbled = _write(tmp_path, "bad.heic", data[:40] + b"\x07" * (len(data) - 40))
    assert sniff(garbled.read_bytes()[:64]) == "heic"
    with pytest.raises(CorruptFile, match="cannot be read"):
        count_pages(garbled)
    # Cut short: its header is whole (counting reads no pixels), its pixels are not.
    cut = _write(tmp_path, "cut.heic", data[:len(data) // 2])
    assert count_pages(cut) == 1
    with pytest.raises(CorruptFile, match="truncated or damaged"):
        list(iter_pages(cut))


def test_natural_order_and_skipped_names() -> None:
    names = ["p10.jpg", "p2.jpg", "P1.jpg", "p2b.jpg"]
    assert sorted(names, key=natural_key) == ["P1.jpg", "p2.jpg", "p2b.jpg", "p10.jpg"]
    for skipped in ["__MACOSX/._p1.jpg", "scans/.DS_Store", "._p1.jpg", "dir/", "Thumbs.db"]:
        assert is_skipped(skipped), skipped
    assert not is_skipped("scans/p1.jpg")
    assert member_label("0003-IMG_0003.HEIC") == '"IMG_0003.HEIC" (file 3)'


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            if name.endswith("/"):
                z.writestr(zipfile.ZipInfo(name), b"")
            else:
                z.writestr(name, data)
    return buf.getvalue()


def test_a_zip_reads_its_scans_in_natural_order(tmp_path: Path) -> None:
    pages = [page_with_block(40 * (i + 1)) for i in range(4)]
    tiff = io.BytesIO()
    frames = [Image.fromarray(pages[2]), Image.fromarray(pages[3])]
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    zipped = _zip({"scans/": b"", "scans/p10.tif": tiff.getvalue(),
                   "scans/p2.png": png_bytes(pages[1]), "scans/p1.png": png_bytes(pages[0]),
                   "__MACOSX/scans/._p1.png": b"\0\5\26\7", ".DS_Store": b"junk"})
    path = _write(tmp_path, "class.zip", zipped)
    assert sniff(zipped[:8]) == "zip"
    assert count_pages(path) == 4
    got = list(iter_pages(path))
    assert [p.index for p in got] == [0, 1, 2, 3]
    for page, want in zip(got, pages, strict=True):
        assert page.image[-30:, -30:].mean() == pytest.approx(want[-30:, -30:].mean(), abs=2)


def test_pack_keeps_the_upload_order_and_unpacks_a_zip_in_place(tmp_path: Path) -> None:
    pages = [page_with_block(30 * (i + 1)) for i in range(5)]
    sources = [
        ("IMG_0009.HEIC", _write(tmp_path, "a", photo_bytes(pages[0], "HEIF", 6))),
        ("more.zip", _write(tmp_path, "b", _zip({"b.png": png_bytes(pages[2]),
                                                 "a.png": png_bytes(pages[1])}))),
        ("IMG_0001.jpg", _write(tmp_path, "c", photo_bytes(pages[3], "JPEG", 6))),
        ("last.png", _write(tmp_path, "d", png_bytes(pages[4]))),
    ]
    out = tmp_path / "bundle.zip"
    assert pack(sources, out, IngestLimits()) == 5
    with zipfile.ZipFile(out) as z:
        assert [i.filename for i in z.infolist()] == [
            "0001-IMG_0009.HEIC", "0002-more.zip/a.png", "0003-more.zip/b.png",
            "0004-IMG_0001.jpg", "0005-last.png"]
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    assert count_pages(out) == 5
    got = list(iter_pages(out))
    assert [p.index for p in got] == [0, 1, 2, 3, 4]
    for page, want in zip(got, pages, strict=True):
        _upright_ok(page.image, want)


def test_a_bad_file_among_good_ones_is_named(tmp_path: Path) -> None:
    good = png_bytes(page_with_block(90))
    heic = photo_bytes(page_with_block(90), "HEIF")
    sources = [("p1.png", _write(tmp_path, "a", good)),
               ("notes.docx", _write(tmp_path, "b", _zip({"word/document.xml": b"<w/>"}))),
               ("p3.png", _write(tmp_path, "c", good))]
    with pytest.raises(UnsupportedFile, match=r'"notes.docx/word/document.xml" \(file 2\)'):
        pack(sources, tmp_path / "out1.zip", IngestLimits())
    sources[1] = ("readme.txt", _write(tmp_path, "b", b"hello"))
    with pytest.raises(UnsupportedFile, match=r'"readme.txt" \(file 2\)'):
        pack(sources, tmp_path / "out2.zip", IngestLimits())
    # Looks like a HEIC, cannot be read: found when the pages are counted, named.
    sources[1] = ("IMG_0002.HEIC", _write(tmp_path, "b", heic[:40] + b"\x07" * 500))
    out = tmp_path / "out3.zip"
    pack(sources, out, IngestLimits())
    with pytest.raises(CorruptFile, match=r'"IMG_0002.HEIC" \(file 2\)'):
        count_pages(out)
    # Cut short: found when that page is read, named, after the pages before it.
    sources[1] = ("IMG_0002.HEIC", _write(tmp_path, "b", heic[:len(heic) // 2]))
    pack(sources, out, IngestLimits())
    assert count_pages(out) == 3
    pages = iter_pages(out)
    assert next(pages).index == 0
    with pytest.raises(CorruptFile, match=r'"IMG_0002.HEIC" \(file 2\): page 1 is truncated'):
        next(pages)
    sources[1] = ("empty.jpg", _write(tmp_path, "b", b""))
    with pytest.raises(EmptyFile, match=r'"empty.jpg" \(file 2\)'):
        pack(sources, tmp_path / "out4.zip", IngestLimits())


def test_zip_bombs_and_oversized_zips_are_refused_before_unpacking(tmp_path: Path) -> None:
    limits = IngestLimits(max_bytes=10 * 2**20, max_files=5)
    bomb = _write(tmp_path, "bomb.zip", _zip({"a.png": b"\0" * (11 * 2**20)}))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(LimitExceeded, match="unpacked"):
        count_pages(bomb, limits)
    with pytest.raises(LimitExceeded, match="unpacked"):
        pack([("bomb.zip", bomb)], tmp_path / "out.zip", limits)
    many = _write(tmp_path, "many.zip", _zip({f"p{i}.png": b"x" for i in range(6)}))
    with pytest.raises(LimitExceeded, match="6 files; the limit is 5"):
        count_pages(many, limits)
    # Entries that are skipped still count against the archive's entry limit (4 × 5).
    junk = _write(tmp_path, "junk.zip", _zip({f"__MACOSX/._p{i}": b"" for i in range(21)}))
    with pytest.raises(LimitExceeded, match="entries"):
        count_pages(junk, limits)
    # More files than the limit across several sources.
    page = png_bytes(page_with_block(90))
    sources = [(f"p{i}.png", _write(tmp_path, f"s{i}", page)) for i in range(6)]
    with pytest.raises(LimitExceeded, match="more than 5 files"):
        pack(sources, tmp_path / "out2.zip", limits)


def test_encrypted_nested_and_empty_zips(tmp_path: Path) -> None:
    data = bytearray(_zip({"a.png": png_bytes(page_with_block(90))}, zipfile.ZIP_STORED))
    # Mark the member encrypted (general purpose flag bit 0) in the central directory.
    cd = data.index(b"PK\x01\x02")
    data[cd + 8] |= 0x1
    with pytest.raises(EncryptedFile, match="password"):
        count_pages(_write(tmp_path, "locked.zip", bytes(data)))
    inner = _zip({"a.png": png_bytes(page_with_block(90))})
    with pytest.raises(UnsupportedFile, match="ZIP inside a ZIP"):
        count_pages(_write(tmp_path, "nested.zip", _zip({"inner.zip": inner})))
    with pytest.raises(UnsupportedFile, match="ZIP inside a ZIP"):
        pack([("nested.zip", tmp_path / "nested.zip")], tmp_path / "o.zip", IngestLimits())
    with pytest.raises(EmptyFile, match="no scan files"):
        count_pages(_write(tmp_path, "empty.zip", _zip({"__MACOSX/": b""})))
    with pytest.raises(CorruptFile):
        count_pages(_write(tmp_path, "cut.zip", b"PK\x03\x04" + b"\0" * 100))


def test_a_bundle_starting_with_a_pdf_is_still_a_zip(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(page_with_block(60)).save(buf, format="PDF", resolution=72)
    sources = [("a.pdf", _write(tmp_path, "a", buf.getvalue())),
               ("b.png", _write(tmp_path, "b", png_bytes(page_with_block(200))))]
    out = tmp_path / "bundle.zip"
    pack(sources, out, IngestLimits())
    assert b"%PDF-" in out.read_bytes()[:1024]  # the PDF's bytes follow its local header
    assert sniff(out.read_bytes()[:1024]) == "zip"
    assert [p.index for p in iter_pages(out)] == [0, 1]
