"""The sample collection's objects: each artefact's inventory row and the shots taken of it
(pure data; `collection` renders and writes them)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pipeline.samples.icc import ADOBE_RGB_DESCRIPTION
from schemas import inventory_columns

SRGB = "sRGB"
ADOBE_RGB = ADOBE_RGB_DESCRIPTION
RIGHTS = "© Bảo tàng Cổ vật Cung đình Huế"
JPEG = "JPEG"


@dataclass(frozen=True)
class Shot:
    view: str
    format: str = "TIFF"
    bit_depth: int = 8
    icc: str | None = None
    orientation: int | None = None
    deflate: bool = False


@dataclass(frozen=True)
class Artefact:
    kind: str
    palette: str | None
    shots: tuple[Shot, ...]
    row: tuple[str, ...]  # the inventory row, in schema column order
    vietnamese_views: bool = False

    @property
    def accession(self) -> str:
        return self.row[0]


def inventory_row(**fields: str) -> tuple[str, ...]:
    """An inventory row in schema column order; every artefact has the museum's rights line."""
    fields.setdefault("rights", RIGHTS)
    columns = inventory_columns()
    if set(fields) != set(columns):
        raise ValueError(f"inventory row fields {sorted(fields)} differ from {columns}")
    return tuple(unicodedata.normalize("NFC", fields[column]) for column in columns)


ARTEFACTS: tuple[Artefact, ...] = (
    Artefact(
        "vase",
        "blue_white",
        (
            Shot("front", icc=SRGB, deflate=True),
            Shot("back", icc=SRGB),
            Shot("detail"),
            Shot("mark", JPEG, orientation=1),
        ),
        inventory_row(
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
    Artefact(
        "bowl",
        "blue_white",
        (
            Shot("front", JPEG, icc=SRGB, orientation=8),
            Shot("top", JPEG, orientation=1),
            Shot("mark", JPEG),
        ),
        inventory_row(
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
    Artefact(
        "jar",
        "crackle",
        (Shot("front", deflate=True), Shot("left"), Shot("right", deflate=True)),
        inventory_row(
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
    Artefact(
        "incense_burner",
        "bronze",
        (
            Shot("front", bit_depth=16, icc=ADOBE_RGB),
            Shot("left", JPEG, orientation=6),
            Shot("back"),
        ),
        inventory_row(
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
    Artefact(
        "vase",
        "enamel",
        (
            Shot("front", bit_depth=16, icc=ADOBE_RGB),
            Shot("back", bit_depth=16, icc=ADOBE_RGB),
            Shot("detail", bit_depth=16, icc=ADOBE_RGB),
        ),
        inventory_row(
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
    Artefact(
        "lacquer_box",
        "lacquer",
        (
            Shot("front", JPEG),
            Shot("front", JPEG),
            Shot("top", JPEG, orientation=3),
            Shot("detail", icc=SRGB),
        ),
        inventory_row(
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
    Artefact(
        "plate",
        "blue_white",
        (Shot("front", icc=SRGB), Shot("back"), Shot("mark", JPEG)),
        inventory_row(
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
    Artefact(
        "seal",
        "jade",
        (Shot("front", JPEG, icc=SRGB), Shot("mark")),
        inventory_row(
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
    Artefact(
        "cup",
        "gold",
        (Shot("front", bit_depth=16, icc=ADOBE_RGB), Shot("detail", JPEG)),
        inventory_row(
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
    Artefact(
        "round_box",
        "silver",
        (Shot("front"), Shot("top", JPEG)),
        inventory_row(
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
    Artefact(
        "stele",
        "stone",
        (Shot("front", deflate=True), Shot("left"), Shot("detail", JPEG)),
        inventory_row(
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
    Artefact(
        "document",
        "paper",
        (Shot("front", icc=SRGB), Shot("back"), Shot("mark", JPEG)),
        inventory_row(
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
    Artefact(
        "textile",
        "silk",
        (Shot("front", bit_depth=16, icc=ADOBE_RGB), Shot("detail", icc=SRGB)),
        inventory_row(
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
    Artefact(
        "bottle",
        "glass",
        (Shot("front", JPEG), Shot("back", JPEG)),
        inventory_row(
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
UNPHOTOGRAPHED = inventory_row(
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
