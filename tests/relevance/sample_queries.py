"""The search's relevance set: queries a visitor types, over the sample collection, each with
the objects expected at the top; data only (judged by tests/unit/test_relevance.py and
`python -m tests.relevance.report`)."""

from __future__ import annotations

import unicodedata
from typing import Final

VASE = "BTCVH.GS.0012"  # Bình gốm men lam vẽ rồng, Minh Mạng 1820–1840
BOWL = "BTCVH.GS.0047"  # Bát sứ men lam vẽ rồng mây, Thiệu Trị
JAR = "BTCVH.GS.0103"  # Hũ gốm men rạn có nắp, Tự Đức
BURNER = "BTCVH.ĐS.0031"  # Lư hương đồng ba chân, Thiệu Trị
ENAMEL = "HM.1998.45/PL"  # Bình pháp lam vẽ hoa sen, Minh Mạng 1827–1840
BOX = "BTCVH.GG.0008"  # Hộp gỗ sơn son thếp vàng chạm rồng, Tự Đức
PLATE = "BTCVH.GS.0215"  # Đĩa sứ men lam vẽ rồng, Khải Định
SEAL = "BTCVH.NG.0002"  # Ấn ngọc núm tròn, Gia Long
CUP = "BTCVH.V.0005"  # Chén vàng chạm rồng, Đồng Khánh
BETEL = "HM 2.117/B"  # Hộp trầu bạc chạm rồng mây, Thành Thái 1889–1907
STELE = "BTCVH.Đ.0019"  # Mảnh bia đá khắc chữ Hán, Minh Mạng, 1836
DECREE = "BTCVH.GI.0154"  # Sắc phong triều Khải Định, 1924
PANEL = "BTCVH.VA.0033"  # Bổ tử thêu rồng trên lụa vàng, Bảo Đại 1926–1945
GLASS = "BTCVH.TT.0011"  # Bình thủy tinh màu lam, Thiệu Trị
BELL = "BTCVH.ĐS.0032"  # Chuông đồng đúc chữ Hán, Thành Thái, 1891

EVERYTHING: Final = [VASE, BOWL, JAR, BURNER, ENAMEL, BOX, PLATE]
EVERYTHING += [SEAL, CUP, BETEL, STELE, DECREE, PANEL, GLASS, BELL]
DRAGONS: Final = [VASE, BOWL, BOX, PLATE, CUP, BETEL, PANEL]
XIX: Final = [VASE, BOWL, JAR, BURNER, ENAMEL, BOX, SEAL, CUP, BETEL, STELE, GLASS, BELL]
XX: Final = [PLATE, DECREE, PANEL, BETEL]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# (kind, query, expected): the top min(3, len(expected)) hits must all be expected ones; an
# empty expectation means no hit at all.
QUERIES: Final[list[tuple[str, str, list[str]]]] = [
    # Vietnamese, with diacritics
    ("vi", "bình gốm", [VASE]),
    ("vi", "chén vàng", [CUP]),
    ("vi", "lư hương", [BURNER]),
    ("vi", "ấn ngọc", [SEAL]),
    ("vi", "hộp trầu", [BETEL]),
    ("vi", "bia đá", [STELE]),
    ("vi", "sắc phong", [DECREE, BOX]),
    ("vi", "chuông đồng", [BELL]),
    ("vi", "bổ tử", [PANEL]),
    ("vi", "thủy tinh", [GLASS]),
    ("vi", "pháp lam", [ENAMEL]),
    ("vi", "hũ gốm men rạn", [JAR]),
    ("vi", "đĩa sứ", [PLATE]),
    ("vi", "bát sứ", [BOWL]),
    ("vi", "gỗ sơn son thếp vàng", [BOX]),
    ("vi", "vẽ rồng", [VASE, BOWL, PLATE]),
    ("vi", "rồng mây", [BOWL, BETEL]),
    ("vi", "hoa sen", [ENAMEL]),
    ("vi", "đồng", [BURNER, BELL, CUP]),
    # Vietnamese typed bare
    ("bare", "binh gom", [VASE]),
    ("bare", "chen vang", [CUP]),
    ("bare", "lu huong", [BURNER]),
    ("bare", "an ngoc", [SEAL]),
    ("bare", "hop trau bac", [BETEL]),
    ("bare", "sac phong", [DECREE, BOX]),
    ("bare", "chuong dong", [BELL]),
    ("bare", "thuy tinh", [GLASS]),
    ("bare", "phap lam", [ENAMEL]),
    ("bare", "dai noi hue", [VASE, SEAL, GLASS]),
    ("bare", "hue", [VASE, SEAL, GLASS, ENAMEL, STELE]),
    # NFD (a Mac's keyboard) and wrong tones
    ("nfd", nfd("Bình gốm"), [VASE]),
    ("nfd", nfd("Ấn ngọc"), [SEAL]),
    ("nfd", nfd("Chuông đồng"), [BELL]),
    ("tones", "bính gồm", [VASE]),
    ("tones", "chẹn vạng", [CUP]),
    ("tones", "lứ hướng", [BURNER]),
    # English
    ("en", "porcelain vase", [VASE]),
    ("en", "blue and white", [VASE, BOWL, PLATE]),
    ("en", "gold cup", [CUP]),
    ("en", "jade seal", [SEAL]),
    ("en", "incense burner", [BURNER]),
    ("en", "betel box", [BETEL]),
    ("en", "stone stele", [STELE]),
    ("en", "bronze bell", [BELL]),
    ("en", "silk", [PANEL]),
    ("en", "glass", [GLASS]),
    ("en", "enamel", [ENAMEL]),
    ("en", "lacquered box", [BOX]),
    ("en", "decree", [DECREE]),
    ("en", "bronze", [BURNER, BELL]),
    # English morphology
    ("stem", "embroidery", [PANEL]),
    ("stem", "inscriptions", [STELE, BELL]),
    ("stem", "dragon's", DRAGONS),
    ("stem", "vases", [VASE, ENAMEL, GLASS]),
    ("stem", "bowls", [BOWL]),
    ("stem", "cups", [CUP]),
    ("stem", "glazed jar", [JAR]),
    ("stem", "embroidered dragons", [PANEL]),
    ("stem", "seals", [SEAL]),
    # Natural phrasing: function words never block
    ("natural", "chén bằng vàng", [CUP]),
    ("natural", "bình của triều Minh Mạng", [VASE, ENAMEL]),
    ("natural", "những chiếc bình gốm", [VASE]),
    ("natural", "đồ bằng bạc", [BETEL]),
    ("natural", "cái ấn bằng ngọc", [SEAL]),
    ("natural", "a vase made of glass", [GLASS]),
    ("natural", "the gold cup with a dragon", [CUP]),
    ("natural", "cup of gold", [CUP]),
    # Partial matches: nothing has every word
    ("partial", "ấn ngọc xanh", [SEAL]),
    ("partial", "bronze bell lotus", [BELL]),
    # Periods: dynasty, reigns by other names and temple names, centuries
    ("period", "triều Nguyễn", EVERYTHING),
    ("period", "nhà Nguyễn", EVERYTHING),
    ("period", "Nguyễn dynasty", EVERYTHING),
    ("period", "Thánh Tổ", [VASE, ENAMEL, STELE]),
    ("period", "Minh Mệnh", [VASE, ENAMEL, STELE]),
    ("period", "Thế Tổ", [SEAL]),
    ("period", "Dực Tông", [JAR, BOX]),
    ("period", "Hiến Tổ", [BOWL, BURNER, GLASS]),
    ("period", "Cảnh Tông", [CUP]),
    ("period", "Hoằng Tông", [PLATE, DECREE]),
    ("period", "Gia Long", [SEAL]),
    ("period", "thời Tự Đức", [JAR, BOX]),
    ("period", "Bảo Đại", [PANEL]),
    ("period", "thế kỷ XIX", XIX),
    ("period", "19th century", XIX),
    ("period", "TK 19", XIX),
    ("period", "TK 20", XX),
    ("period", "thế kỷ 20", XX),
    ("period", "20th century", XX),
    ("period", "bình thế kỷ XIX", [VASE, ENAMEL, GLASS]),
    # Years and decades: objects whose dates hold them
    ("year", "1836", [STELE, VASE, ENAMEL]),
    ("year", "1845", [BOWL, BURNER, GLASS]),
    ("year", "1891", [BELL, BETEL]),
    ("year", "1924", [DECREE, PLATE]),
    ("year", "1930", [PANEL]),
    ("year", "1880s", [JAR, BOX, CUP, BETEL]),
    ("year", "bình 1830", [VASE, ENAMEL]),
    ("year", "năm 1998", [ENAMEL]),
    ("year", "1750", []),
    # Typos (one edit, 5+ letters)
    ("typo", "bronse", [BURNER, BELL]),
    ("typo", "porcelian", [VASE, BOWL, PLATE]),
    ("typo", "embroiderd", [PANEL]),
    ("typo", "lacquerd box", [BOX]),
    ("typo", "inscriptoin", [STELE, BELL]),
    ("typo", "dragn", DRAGONS),
    # The last word typed half way
    ("prefix", "chuon", [BELL]),
    ("prefix", "thuy tin", [GLASS]),
    ("prefix", "porcel", [VASE, BOWL, PLATE]),
    ("prefix", "lư hươ", [BURNER]),
    # Accession numbers in any form
    ("accession", "BTCVH.GS.0012", [VASE]),
    ("accession", "btcvh.gs.0012", [VASE]),
    ("accession", "btcvhgs0012", [VASE]),
    ("accession", "BTCVH.GS.12", [VASE]),
    ("accession", "btcvh gs 0012", [VASE]),
    ("accession", "BTCVH-GS-0012", [VASE]),
    ("accession", "HM.1998.45/PL", [ENAMEL]),
    ("accession", "hm.1998.45-pl", [ENAMEL]),
    ("accession", "HM 1998 45 PL", [ENAMEL]),
    ("accession", "hm199845pl", [ENAMEL]),
    ("accession", "BTCVH.ĐS.0031", [BURNER]),
    ("accession", "btcvh.ds.31", [BURNER]),
    ("accession", "HM 2.117/B", [BETEL]),
    ("accession", "hm-2-117-b", [BETEL]),
    ("accession", "BTCVH/Đ/19", [STELE]),
]
