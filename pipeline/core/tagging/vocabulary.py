"""The controlled vocabularies (materials, reigns, object types, colours, views); data only.
The reigns are read from the period vocabulary (core.periods), never written twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pipeline.core.periods import PERIODS as HISTORY
from pipeline.core.periods import Period


@dataclass(frozen=True)
class Term:
    """A controlled term: its slug, labels, and the phrases that name it.

    `aliases` match with or without diacritics; `strict` aliases only with them, for words
    that are something else when written bare ("an" is the English article, not ấn).
    """

    value: str
    label_vi: str
    label_en: str
    aliases: tuple[str, ...]
    strict: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reign:
    """A Nguyễn reign and its years (inclusive; a year two reigns share belongs to both)."""

    term: Term
    start: int
    end: int


def _years(period: Period) -> str:
    return f"{period.start}–{period.end}" if period.end != period.start else f"{period.start}"


def _to_term(period: Period) -> Term:
    """A period of the period vocabulary (core.periods, the one list of reigns and their other
    names) as a tag term: labelled with its years, named by every name it goes by. In the
    inventory's period column a dynasty's family name stands alone ("Nguyễn")."""
    years = _years(period)
    return Term(
        f"period:{period.key}",
        f"{period.label_vi} ({years})",
        f"{period.label_en} ({years})",
        tuple(dict.fromkeys((period.label_vi, period.label_en, *period.names, *period.qualified))),
    )


MATERIALS: Final[tuple[Term, ...]] = (
    Term("material:gom-su", "Gốm sứ", "Ceramic, porcelain",
         ("gốm sứ", "gốm", "sứ", "đồ gốm", "đồ sứ", "ceramic", "ceramics", "porcelain",
          "pottery", "stoneware", "earthenware")),
    Term("material:dong", "Đồng", "Bronze",
         ("đồng", "đồng thau", "đồng đỏ", "bronze", "copper", "brass")),
    Term("material:phap-lam", "Pháp lam", "Painted enamel on copper",
         ("pháp lam", "painted enamel", "enamel", "enamelled copper")),
    Term("material:go-son-son-thep-vang", "Gỗ sơn son thếp vàng", "Red-lacquered gilded wood",
         ("gỗ sơn son thếp vàng", "sơn son thếp vàng", "gỗ sơn son", "gỗ thếp vàng",
          "lacquered wood", "gilded wood", "red-lacquered gilded wood",
          "red lacquered gilded wood")),
    Term("material:go", "Gỗ", "Wood", ("gỗ", "wood", "wooden")),
    Term("material:ngoc", "Ngọc", "Jade", ("ngọc", "ngọc bích", "jade")),
    Term("material:vang", "Vàng", "Gold", ("vàng", "gold")),
    Term("material:bac", "Bạc", "Silver", ("bạc", "silver")),
    Term("material:da", "Đá", "Stone", ("đá", "stone", "marble", "đá cẩm thạch")),
    Term("material:da-thuoc", "Da", "Leather", ("da", "da thuộc", "leather")),
    Term("material:thuy-tinh", "Thủy tinh", "Glass", ("thủy tinh", "pha lê", "glass")),
    Term("material:giay", "Giấy", "Paper", ("giấy", "giấy dó", "giấy sắc", "paper")),
    Term("material:vai", "Vải", "Textile",
         ("vải", "lụa", "gấm", "textile", "silk", "cloth", "fabric", "brocade")),
    Term("material:nga", "Ngà", "Ivory", ("ngà", "ngà voi", "ivory")),
)  # fmt: skip

# The Nguyễn reigns and their dynasty, the court whose objects are tagged by period.
REIGNS: Final[tuple[Reign, ...]] = tuple(
    Reign(_to_term(p), p.start, p.end) for p in HISTORY if p.parent == "nguyen"
)
DYNASTY: Final = _to_term(next(p for p in HISTORY if p.key == "nguyen"))
PERIODS: Final[tuple[Term, ...]] = (*(reign.term for reign in REIGNS), DYNASTY)

OBJECT_TYPES: Final[tuple[Term, ...]] = (
    Term("type:binh", "Bình", "Vase", ("bình", "lọ", "vase", "bottle vase")),
    Term("type:bat", "Bát", "Bowl", ("bát", "tô", "bowl")),
    Term("type:dia", "Đĩa", "Plate", ("đĩa", "dĩa", "plate", "dish", "platter")),
    Term("type:lu-huong", "Lư hương", "Incense burner",
         ("lư hương", "lư", "incense burner", "censer")),
    Term("type:dinh", "Đỉnh", "Tripod cauldron", ("đỉnh", "đỉnh đồng", "tripod cauldron")),
    Term("type:hop", "Hộp", "Box", ("hộp", "tráp", "box", "casket")),
    Term("type:chen", "Chén", "Cup", ("chén", "tách", "ly", "cup", "wine cup")),
    Term("type:am", "Ấm", "Teapot", ("ấm", "ấm trà", "teapot", "ewer")),
    Term("type:hu", "Hũ", "Jar", ("hũ", "jar", "covered jar")),
    Term("type:choe", "Chóe", "Large jar", ("chóe", "large jar")),
    Term("type:an", "Ấn", "Seal", ("ấn triện", "seal"), strict=("ấn",)),
    Term("type:bia", "Bia", "Stele", ("bia", "bia đá", "stele", "stela")),
    Term("type:sac-phong", "Sắc phong", "Royal decree",
         ("sắc phong", "sắc", "decree", "royal decree", "imperial decree")),
    Term("type:ao", "Áo", "Garment", ("áo", "áo long bào", "long bào", "robe", "garment")),
    Term("type:vai", "Vải", "Textile", ("vải", "tấm vải", "textile", "fabric", "cloth")),
    Term("type:bo-tu", "Bổ tử", "Rank badge", ("bổ tử", "rank badge", "mandarin square")),
    Term("type:chuong", "Chuông", "Bell", ("chuông", "bell")),
    Term("type:tuong", "Tượng", "Statue", ("tượng", "statue", "figure", "sculpture")),
    Term("type:khay", "Khay", "Tray", ("khay", "tray")),
    Term("type:tien", "Tiền", "Coin", ("tiền", "đồng tiền", "coin")),
    Term("type:kiem", "Kiếm", "Sword", ("kiếm", "gươm", "sword")),
    Term("type:mu", "Mũ", "Headdress", ("mũ", "mão", "headdress", "crown", "hat")),
)  # fmt: skip


@dataclass(frozen=True)
class ColourRule:
    """A named colour: the CIELAB lightness, chroma and hue (degrees) ranges it covers.

    Rules are tried in order; a pixel takes the first whose every range holds it. A hue range
    whose start exceeds its end wraps through 0° (red).
    """

    slug: str
    label_vi: str
    label_en: str
    lightness: tuple[float, float] = (0, 101)
    chroma: tuple[float, float] = (0, 1000)
    hue: tuple[float, float] = (0, 360)


# Measured on sRGB primaries and museum materials: pure red sits at 40° in CIELAB, orange near
# 60–75°, yellow near 100°, blue near 306°, violet past 310°; rendered gold near 85° with chroma
# about 55; bronze is a dark, weakly coloured orange. Neutrals come first, so that a grey
# backdrop never takes a hue from its noise.
COLOURS: Final[tuple[ColourRule, ...]] = (
    ColourRule("colour:trang", "Trắng", "White", lightness=(85, 101), chroma=(0, 10)),
    ColourRule("colour:trang", "Trắng", "White", lightness=(92, 101), chroma=(0, 14)),
    ColourRule("colour:den", "Đen", "Black", lightness=(0, 25), chroma=(0, 10)),
    ColourRule("colour:den", "Đen", "Black", lightness=(0, 18), chroma=(0, 25)),
    ColourRule("colour:xam", "Xám", "Grey", chroma=(0, 10)),
    ColourRule("colour:be", "Be", "Beige", lightness=(60, 101), chroma=(10, 30), hue=(30, 110)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 60), chroma=(10, 30), hue=(30, 110)),
    ColourRule("colour:vang-kim", "Vàng kim", "Gold",
               lightness=(45, 88), chroma=(35, 65), hue=(65, 100)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 50), hue=(50, 105)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 50), chroma=(0, 25), hue=(345, 50)),
    ColourRule("colour:hong", "Hồng", "Pink", lightness=(70, 101), chroma=(0, 50), hue=(345, 50)),
    ColourRule("colour:do", "Đỏ", "Red", hue=(345, 50)),
    ColourRule("colour:cam", "Cam", "Orange", hue=(50, 78)),
    ColourRule("colour:vang", "Vàng", "Yellow", hue=(78, 110)),
    ColourRule("colour:xanh-la", "Xanh lá", "Green", hue=(110, 195)),
    ColourRule("colour:xanh-lam", "Xanh lam", "Blue", hue=(195, 310)),
    ColourRule("colour:tim", "Tím", "Purple", hue=(310, 345)),
)  # fmt: skip

ORIENTATIONS: Final = {
    "landscape": ("orientation:ngang", "Ngang", "Landscape"),
    "portrait": ("orientation:doc", "Dọc", "Portrait"),
    "square": ("orientation:vuong", "Vuông", "Square"),
}
MODES: Final = {
    "greyscale": ("mode:den-trang", "Đen trắng", "Greyscale"),
    "colour": ("mode:mau", "Màu", "Colour"),
}
VIEW_LABELS: Final = {
    "front": ("Mặt trước", "Front"),
    "back": ("Mặt sau", "Back"),
    "left": ("Mặt trái", "Left side"),
    "right": ("Mặt phải", "Right side"),
    "top": ("Mặt trên", "Top"),
    "bottom": ("Mặt đáy", "Bottom"),
    "detail": ("Chi tiết", "Detail"),
    "mark": ("Hiệu đề, dấu", "Mark"),
    "target": ("Bảng màu chuẩn", "Colour target"),
}
