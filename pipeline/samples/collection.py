"""Writes the deterministic sample collection (scans + inventory); it must not read the clock.

The collection: 15 inventory rows of Nguyễn court antiquities, 14 of them photographed in 2-4
views (39 scans), and two of those objects photographed again beside a ColorChecker (`charts`):
the references of the two capture sessions, the Phase One's TIFFs (accurate light) and the
Canon's JPEGs of one morning (a warm lamp). One row, BTCVH.ĐS.0032 (a bronze bell), has no
scans: an object catalogued but not yet photographed, as any real inventory has. Files are
written flat into `out_dir`:

- most scans are 8-bit RGB TIFF (uncompressed or deflate) or JPEG, some untagged, some with an
  embedded sRGB profile;
- six are 16-bit RGB TIFF with an embedded Adobe RGB (1998) profile, their pixels encoded in
  Adobe RGB (the enamel vase HM.1998.45/PL in all three views, the burner's and the gold cup's
  front, the textile's front);
- three JPEGs carry EXIF Orientation 8, 6 and 3 (bowl front, burner left, lacquer box top) with
  their pixels stored as a camera held that way writes them;
- the vase BTCVH.GS.0012 is named with Vietnamese view words (trước, sau, chi-tiết, dấu) in
  Unicode NFD, as a Mac would write them; every other name is NFC.

Same seed and size give byte-identical files: no timestamps, fixed EXIF dates.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from pipeline.samples.icc import (
    ADOBE_RGB_DESCRIPTION,
    encode_adobe_rgb16,
    make_adobe_rgb_profile,
    make_srgb_profile,
)
from pipeline.samples.render import frame_size, render_artefact
from schemas import inventory_columns

SRGB = "sRGB"
ADOBE_RGB = ADOBE_RGB_DESCRIPTION
VIEW_WORDS_VI = {
    "front": "trước",
    "back": "sau",
    "left": "trái",
    "right": "phải",
    "top": "trên",
    "bottom": "dưới",
    "detail": "chi-tiết",
    "mark": "dấu",
}
RIGHTS = "© Bảo tàng Cổ vật Cung đình Huế"
# For np.rot90: how far to turn the upright picture so that applying the EXIF orientation
# (as a viewer does) shows it upright again.
_STORED_TURNS = {3: 2, 6: 1, 8: -1}


@dataclass(frozen=True)
class SampleScan:
    """One generated scan and what it is meant to be."""

    path: Path
    accession: str
    view: str
    format: str
    bit_depth: int
    icc: str | None
    exif_orientation: int | None


@dataclass(frozen=True)
class SampleCollection:
    """The generated files: scans in `root`, and the inventory sheet describing the objects.

    `charts` are the capture sessions' reference shots (an object beside a ColorChecker), in
    `root` too, listed apart: they are what the sessions are scored from, not plain scans.
    """

    root: Path
    scans: list[SampleScan]
    inventory_csv: Path
    charts: list[SampleScan] = field(default_factory=list)


@dataclass(frozen=True)
class _Shot:
    view: str
    format: str = "TIFF"
    bit_depth: int = 8
    icc: str | None = None
    orientation: int | None = None
    deflate: bool = False


@dataclass(frozen=True)
class _Artefact:
    kind: str
    palette: str | None
    shots: tuple[_Shot, ...]
    row: tuple[str, ...]  # the inventory row, in schema column order
    vietnamese_views: bool = False

    @property
    def accession(self) -> str:
        return self.row[0]


def _row(**fields: str) -> tuple[str, ...]:
    """An inventory row in schema column order; every artefact has the museum's rights line."""
    fields.setdefault("rights", RIGHTS)
    columns = inventory_columns()
    if set(fields) != set(columns):
        raise ValueError(f"inventory row fields {sorted(fields)} differ from {columns}")
    return tuple(unicodedata.normalize("NFC", fields[column]) for column in columns)


_JPEG = "JPEG"
_ARTEFACTS: tuple[_Artefact, ...] = (
    _Artefact(
        "vase",
        "blue_white",
        (
            _Shot("front", icc=SRGB, deflate=True),
            _Shot("back", icc=SRGB),
            _Shot("detail"),
            _Shot("mark", _JPEG, orientation=1),
        ),
        _row(
            accession_number="BTCVH.GS.0012",
            name_vi="Bình gốm men lam vẽ rồng",
            name_en="Blue-and-white porcelain vase with dragon",
            object_type="bình",
            material="gốm sứ",
            period="Minh Mạng (1820–1840)",
            date_range="1820–1840",
            dimensions="Cao 42 cm; ĐK miệng 11 cm; ĐK đáy 14 cm",
            provenance="Đại Nội Huế",
            current_location="Kho A, kệ 3",
            notes='Hiệu đề "Minh Mạng niên chế" dưới đáy; men rạn nhẹ ở vai',
        ),
        vietnamese_views=True,
    ),
    _Artefact(
        "bowl",
        "blue_white",
        (
            _Shot("front", _JPEG, icc=SRGB, orientation=8),
            _Shot("top", _JPEG, orientation=1),
            _Shot("mark", _JPEG),
        ),
        _row(
            accession_number="BTCVH.GS.0047",
            name_vi="Bát sứ men lam vẽ rồng mây",
            name_en="Blue-and-white porcelain bowl with dragon and clouds",
            object_type="bát",
            material="gốm sứ",
            period="Thiệu Trị (1841–1847)",
            date_range="1841–1847",
            dimensions="Cao 9 cm; ĐK miệng 19 cm",
            provenance="Cung Diên Thọ",
            current_location="Kho A, kệ 5",
            notes="Đồ ngự dụng, đặt làm tại Cảnh Đức Trấn",
        ),
    ),
    _Artefact(
        "jar",
        "crackle",
        (_Shot("front", deflate=True), _Shot("left"), _Shot("right", deflate=True)),
        _row(
            accession_number="BTCVH.GS.0103",
            name_vi="Hũ gốm men rạn có nắp",
            name_en="Crackle-glazed covered jar",
            object_type="hũ",
            material="gốm sứ",
            period="Tự Đức (1848–1883)",
            date_range="1848–1883",
            dimensions="Cao 28 cm; ĐK thân 22 cm",
            provenance="Lăng Tự Đức",
            current_location="Kho B, kệ 1",
            notes="Nắp có vết nứt đã gắn lại",
        ),
    ),
    _Artefact(
        "incense_burner",
        "bronze",
        (
            _Shot("front", bit_depth=16, icc=ADOBE_RGB),
            _Shot("left", _JPEG, orientation=6),
            _Shot("back"),
        ),
        _row(
            accession_number="BTCVH.ĐS.0031",
            name_vi="Lư hương đồng ba chân có nắp",
            name_en="Bronze tripod incense burner with lid",
            object_type="lư hương",
            material="đồng",
            period="Thiệu Trị (1841–1847)",
            date_range="1841–1847",
            dimensions="Cao 46 cm; ĐK miệng 30 cm",
            provenance="Điện Thái Hòa",
            current_location="Phòng trưng bày chính, tủ 2",
            notes='Đúc nổi chữ "Thọ" ở thân; gỉ xanh',
        ),
    ),
    _Artefact(
        "vase",
        "enamel",
        (
            _Shot("front", bit_depth=16, icc=ADOBE_RGB),
            _Shot("back", bit_depth=16, icc=ADOBE_RGB),
            _Shot("detail", bit_depth=16, icc=ADOBE_RGB),
        ),
        _row(
            accession_number="HM.1998.45/PL",
            name_vi="Bình pháp lam vẽ hoa sen",
            name_en="Painted enamel vase with lotus scroll",
            object_type="bình",
            material="pháp lam",
            period="Minh Mạng (1820–1840)",
            date_range="1827–1840",
            dimensions="Cao 30 cm; ĐK miệng 8 cm",
            provenance="Sưu tầm năm 1998 tại Huế",
            current_location="Kho C, tủ 4",
            notes="Sản phẩm của Pháp lam tượng cục; bong men nhỏ ở chân",
        ),
    ),
    _Artefact(
        "lacquer_box",
        "lacquer",
        (
            _Shot("front", _JPEG),
            _Shot("front", _JPEG),
            _Shot("top", _JPEG, orientation=3),
            _Shot("detail", icc=SRGB),
        ),
        _row(
            accession_number="BTCVH.GG.0008",
            name_vi="Hộp gỗ sơn son thếp vàng chạm rồng",
            name_en="Red-lacquered and gilded wooden box with dragons",
            object_type="hộp",
            material="gỗ sơn son thếp vàng",
            period="Tự Đức (1848–1883)",
            date_range="1848–1883",
            dimensions="Dài 40 cm; rộng 28 cm; cao 17 cm",
            provenance="Cung Diên Thọ",
            current_location="Kho D, kệ 2",
            notes="Dùng đựng sắc phong; thếp vàng bong ở góc",
        ),
    ),
    _Artefact(
        "plate",
        "blue_white",
        (_Shot("front", icc=SRGB), _Shot("back"), _Shot("mark", _JPEG)),
        _row(
            accession_number="BTCVH.GS.0215",
            name_vi="Đĩa sứ men lam vẽ rồng",
            name_en="Blue-and-white porcelain plate with dragon",
            object_type="đĩa",
            material="gốm sứ",
            period="Khải Định (1916–1925)",
            date_range="1916–1925",
            dimensions="Cao 4 cm; ĐK miệng 27 cm",
            provenance="Lăng Khải Định",
            current_location="Kho A, kệ 7",
            notes='Hiệu đề "Khải Định niên chế"',
        ),
    ),
    _Artefact(
        "seal",
        "jade",
        (_Shot("front", _JPEG, icc=SRGB), _Shot("mark")),
        _row(
            accession_number="BTCVH.NG.0002",
            name_vi="Ấn ngọc núm tròn",
            name_en="Jade seal with round knob",
            object_type="ấn",
            material="ngọc",
            period="Gia Long (1802–1819)",
            date_range="1802–1819",
            dimensions="Cao 8 cm; mặt ấn 6,2 × 6,2 cm",
            provenance="Đại Nội Huế",
            current_location="Kho quý, tủ 1",
            notes="Mặt ấn khắc triện bốn chữ",
        ),
    ),
    _Artefact(
        "cup",
        "gold",
        (_Shot("front", bit_depth=16, icc=ADOBE_RGB), _Shot("detail", _JPEG)),
        _row(
            accession_number="BTCVH.V.0005",
            name_vi="Chén vàng chạm rồng",
            name_en="Gold cup with repoussé dragon",
            object_type="chén",
            material="vàng",
            period="Đồng Khánh (1885–1888)",
            date_range="1885–1888",
            dimensions="Cao 6 cm; ĐK miệng 9 cm; nặng 185 g",
            provenance="Điện Long An",
            current_location="Kho quý, tủ 3",
            notes="",
        ),
    ),
    _Artefact(
        "round_box",
        "silver",
        (_Shot("front"), _Shot("top", _JPEG)),
        _row(
            accession_number="HM 2.117/B",
            name_vi="Hộp trầu bạc chạm rồng mây",
            name_en="Silver betel box chased with dragon and clouds",
            object_type="hộp trầu",
            material="bạc",
            period="Thành Thái (1889–1907)",
            date_range="1889–1907",
            dimensions="Cao 9 cm; ĐK 14 cm",
            provenance="Hiến tặng năm 2005",
            current_location="Kho quý, tủ 2",
            notes="Bạc xỉn màu, chưa làm sạch",
        ),
    ),
    _Artefact(
        "stele",
        "stone",
        (_Shot("front", deflate=True), _Shot("left"), _Shot("detail", _JPEG)),
        _row(
            accession_number="BTCVH.Đ.0019",
            name_vi="Mảnh bia đá khắc chữ Hán",
            name_en="Stone stele fragment with Chinese inscription",
            object_type="bia",
            material="đá",
            period="Minh Mạng (1820–1840)",
            date_range="1836",
            dimensions="Cao 96 cm; rộng 64 cm; dày 15 cm",
            provenance="Văn Thánh Huế",
            current_location="Sân trưng bày, lô 2",
            notes="Phần trán bia bị vỡ mất",
        ),
    ),
    _Artefact(
        "document",
        "paper",
        (_Shot("front", icc=SRGB), _Shot("back"), _Shot("mark", _JPEG)),
        _row(
            accession_number="BTCVH.GI.0154",
            name_vi="Sắc phong triều Khải Định",
            name_en="Imperial decree of investiture, Khải Định reign",
            object_type="sắc phong",
            material="giấy",
            period="Khải Định (1916–1925)",
            date_range="1924",
            dimensions="Dài 118 cm; rộng 50 cm",
            provenance="Đình làng Kim Long, hiến tặng năm 2012",
            current_location="Kho giấy, hộp 12",
            notes='Chữ Hán; ấn "Sắc mệnh chi bảo" son đỏ; có nếp gấp',
        ),
    ),
    _Artefact(
        "textile",
        "silk",
        (_Shot("front", bit_depth=16, icc=ADOBE_RGB), _Shot("detail", icc=SRGB)),
        _row(
            accession_number="BTCVH.VA.0033",
            name_vi="Bổ tử thêu rồng trên lụa vàng",
            name_en="Embroidered dragon panel on yellow silk",
            object_type="bổ tử",
            material="vải",
            period="Bảo Đại (1926–1945)",
            date_range="1926–1945",
            dimensions="Dài 32 cm; rộng 31 cm",
            provenance="Cung An Định",
            current_location="Kho vải, tủ 6",
            notes="Thêu chỉ kim tuyến; mép sờn",
        ),
    ),
    _Artefact(
        "bottle",
        "glass",
        (_Shot("front", _JPEG), _Shot("back", _JPEG)),
        _row(
            accession_number="BTCVH.TT.0011",
            name_vi="Bình thủy tinh màu lam",
            name_en="Blue glass bottle vase",
            object_type="bình",
            material="thủy tinh",
            period="Thiệu Trị (1841–1847)",
            date_range="1841–1847",
            dimensions="Cao 25 cm; ĐK thân 12 cm",
            provenance="Đại Nội Huế",
            current_location="Phòng trưng bày chính, tủ 9",
            notes="Thủy tinh nhập khẩu, có bọt khí nhỏ",
        ),
    ),
)
# Catalogued but not yet photographed: a row with no scans, as every real inventory has.
_UNPHOTOGRAPHED = _row(
    accession_number="BTCVH.ĐS.0032",
    name_vi="Chuông đồng đúc chữ Hán",
    name_en="Bronze bell with cast inscription",
    object_type="chuông",
    material="đồng",
    period="Thành Thái (1889–1907)",
    date_range="1891",
    dimensions="Cao 62 cm; ĐK miệng 38 cm",
    provenance="Chùa Diệu Đế, hiến tặng năm 1999",
    current_location="Kho B, kệ 4",
    notes="Chưa chụp ảnh",
)


@dataclass(frozen=True)
class _ChartShot:
    """An object photographed beside the colour chart: the first shot of a capture session."""

    artefact: int  # index in _ARTEFACTS
    format: str
    cast: tuple[float, float, float]  # gains on linear Adobe RGB: the light's colour


# Two capture sessions: the TIFFs (Phase One, tethered: no DateTimeOriginal, so the batch folder
# is their session) under accurate light, and the Canon's JPEGs (one morning) under a warm lamp
# the white balance did not catch, which fails and which `session.correct = true` corrects.
_CHART_SHOTS: tuple[_ChartShot, ...] = (
    _ChartShot(2, "TIFF", (1.0, 1.0, 1.0)),
    _ChartShot(1, _JPEG, (1.15, 1.0, 0.78)),
)


def generate_collection(
    out_dir: Path,
    *,
    seed: int = 20251127,
    size: int = 1600,
    only: Collection[str] | None = None,
) -> SampleCollection:
    """Write the sample scans and `inventory.csv` into `out_dir`; return what was written.

    `size` is the long edge of every image in pixels (images are 4:3). The same seed and size
    always give byte-identical files. `only` (accession numbers) renders just those objects'
    scans and chart shots, each byte-identical to its file in the whole collection; the
    inventory stays whole.
    """
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for index, artefact in enumerate(_ARTEFACTS):
        if only is not None and artefact.accession not in only:
            continue
        seqs: dict[str, int] = {}
        for shot in artefact.shots:
            seqs[shot.view] = seqs.get(shot.view, 0) + 1
            jobs.append((index, artefact, shot, seqs[shot.view]))
    # Each scan draws from its own seeded generators, so the order threads finish in is moot.
    workers = min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        scans = list(pool.map(lambda job: _write_scan(out_dir, seed, size, *job), jobs))
        shots = [
            c for c in _CHART_SHOTS if only is None or _ARTEFACTS[c.artefact].accession in only
        ]
        charts = list(pool.map(lambda chart: _write_chart(out_dir, seed, size, chart), shots))
    inventory = out_dir / "inventory.csv"
    _write_inventory(inventory)
    return SampleCollection(root=out_dir, scans=scans, inventory_csv=inventory, charts=charts)


def to_file_accession(accession: str) -> str:
    """The accession as file names spell it: "/" and spaces become "-"."""
    return accession.replace("/", "-").replace(" ", "-")


def _write_scan(
    out_dir: Path, seed: int, size: int, index: int, artefact: _Artefact, shot: _Shot, seq: int
) -> SampleScan:
    rng = np.random.default_rng([seed, index])
    image = render_artefact(
        artefact.kind,
        size=frame_size(artefact.kind, size),
        view=shot.view,
        rng=rng,
        palette=artefact.palette,
        shot=seq - 1,
    )
    view_word = VIEW_WORDS_VI[shot.view] if artefact.vietnamese_views else shot.view
    extension = "jpg" if shot.format == _JPEG else "tif"
    name = f"{to_file_accession(artefact.accession)}_{view_word}_{seq}.{extension}"
    name = unicodedata.normalize("NFD" if artefact.vietnamese_views else "NFC", name)
    path = out_dir / name
    # The Canon's JPEGs were shot in one morning (one capture session, its chart at 08:00).
    minutes = 10 + 5 * index + seq
    taken = f"2024:03:12 {8 + minutes // 60:02d}:{minutes % 60:02d}:{(13 * seq) % 60:02d}"
    if shot.format == _JPEG:
        _write_jpeg(path, image, shot, taken)
    else:
        _write_tiff(path, image, shot, taken)
    return SampleScan(
        path=path,
        accession=artefact.accession,
        view=shot.view,
        format=shot.format,
        bit_depth=shot.bit_depth,
        icc=shot.icc,
        exif_orientation=shot.orientation,
    )


def _write_chart(out_dir: Path, seed: int, size: int, chart: _ChartShot) -> SampleScan:
    # Here, not at the top: the chart renderer needs OpenCV, which nothing else here does.
    from pipeline.samples.render.chart import render_chart_shot

    artefact = _ARTEFACTS[chart.artefact]
    width, height = frame_size(artefact.kind, size)
    image = render_artefact(
        artefact.kind,
        size=(width, height),
        view="front",
        rng=np.random.default_rng([seed, chart.artefact, 99]),
        palette=artefact.palette,
        shot=1,
    )
    rendered = render_chart_shot(
        (width, height),
        chart_width=0.26,
        centre=(0.83, 0.86),
        cast=chart.cast,
        noise=1.0,
        backdrop=image,
        seed=seed + chart.artefact,
    )
    seq = 1 + sum(shot.view == "front" for shot in artefact.shots)
    extension = "jpg" if chart.format == _JPEG else "tif"
    path = out_dir / f"{to_file_accession(artefact.accession)}_front_{seq}.{extension}"
    if chart.format == _JPEG:
        exif = _canon_exif("2024:03:12 08:00:00", None)
        Image.fromarray(rendered.pixels, "RGB").save(
            path, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=rendered.icc
        )
    else:
        _write_phase_one_tiff(path, rendered.pixels, rendered.icc, "2024:03:11 08:00:00", False)
    return SampleScan(
        path=path,
        accession=artefact.accession,
        view="front",
        format=chart.format,
        bit_depth=8,
        icc=ADOBE_RGB,
        exif_orientation=None,
    )


def _canon_exif(taken: str, orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x0131] = "sohoa sample generator"
    camera = exif.get_ifd(0x8769)
    camera[0x9003] = taken
    camera[0x9004] = taken
    return exif


def _write_jpeg(path: Path, image: np.ndarray, shot: _Shot, taken: str) -> None:
    pixels = _to_uint8(image)
    if shot.orientation in _STORED_TURNS:
        pixels = np.ascontiguousarray(np.rot90(pixels, _STORED_TURNS[shot.orientation]))
    exif = _canon_exif(taken, shot.orientation)
    options: dict[str, object] = {"quality": 90, "exif": exif.tobytes()}
    if shot.icc == SRGB:
        options["icc_profile"] = make_srgb_profile()
    Image.fromarray(pixels, "RGB").save(path, "JPEG", **options)


def _write_tiff(path: Path, image: np.ndarray, shot: _Shot, taken: str) -> None:
    if shot.bit_depth == 16:
        pixels = encode_adobe_rgb16(image)
        profile: bytes | None = make_adobe_rgb_profile()
    else:
        pixels = _to_uint8(image)
        profile = make_srgb_profile() if shot.icc == SRGB else None
    _write_phase_one_tiff(path, pixels, profile, taken, shot.deflate)


def _write_phase_one_tiff(
    path: Path, pixels: np.ndarray, profile: bytes | None, taken: str, deflate: bool
) -> None:
    tifffile.imwrite(
        path,
        pixels,
        photometric="rgb",
        compression="zlib" if deflate else None,
        predictor=deflate or None,
        iccprofile=profile,
        datetime=taken,
        software="sohoa sample generator",
        resolution=(300, 300),
        resolutionunit="INCH",
        metadata=None,
        extratags=[(271, "s", 0, "Phase One", True), (272, "s", 0, "IQ4 150MP", True)],
    )


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def inventory_rows() -> list[dict[str, str]]:
    """The inventory sheet's rows as column -> text, without writing a file or a scan (the
    search's relevance set is judged over them)."""
    columns = inventory_columns()
    return [dict(zip(columns, row, strict=True)) for row in _inventory_rows()]


def _inventory_rows() -> list[tuple[str, ...]]:
    return sorted([artefact.row for artefact in _ARTEFACTS] + [_UNPHOTOGRAPHED])


def _write_inventory(path: Path) -> None:
    rows = _inventory_rows()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(inventory_columns())
        writer.writerows(sorted(rows))
