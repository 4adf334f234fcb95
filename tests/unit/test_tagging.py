"""Tags with known answers: inventory text, generated pixels, embedded keywords, views, pairs."""

from __future__ import annotations

import io
import random
import unicodedata
from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from pipeline.core.inventory import InventoryRow
from pipeline.core.metadata import (
    ExifMetadata,
    IptcMetadata,
    RestrictedMetadata,
    ScanMetadata,
    TechnicalMetadata,
    XmpMetadata,
)
from pipeline.core.quality import Box, QualityThresholds, assess_quality, compute_phash
from pipeline.core.tagging import (
    COLOUR_SOURCE,
    DATE_CONFIDENCE,
    DYNASTY,
    MATERIALS,
    MAX_KEYWORDS,
    OBJECT_TYPES,
    PERIODS,
    REIGNS,
    NearDuplicate,
    Tag,
    classify_colours,
    find_near_duplicates,
    merge_tags,
    tag_inventory,
    tags_from_inventory,
    tags_from_metadata,
    tags_from_pixels,
    view_tag,
)
from pipeline.samples.render import frame_size, render_artefact
from tests.unit.metadata_writer import IIM_UTF8, extract, jpeg_file, xmp_packet


def row(**fields: str) -> InventoryRow:
    return InventoryRow(accession_number="HM.1/T", **fields)


def values(tags: list[Tag], kind: str = "") -> list[str]:
    return [tag.value for tag in tags if tag.value.startswith(kind)]


def only(tags: list[Tag], value: str) -> Tag:
    found = [tag for tag in tags if tag.value == value]
    assert len(found) == 1, f"expected one {value}, got {tags}"
    return found[0]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- inventory: periods ------------------------------------------------------------------------


def test_a_named_reign_with_its_years_is_that_reign_for_certain():
    result = tag_inventory(row(period="Minh Mạng (1820–1840)"))
    assert values(result.tags) == ["period:minh-mang"]
    tag = result.tags[0]
    assert (tag.label_vi, tag.label_en) == ("Minh Mạng (1820–1840)", "Minh Mạng reign (1820–1840)")
    assert (tag.source, tag.confidence) == ("inventory", 1.0)
    assert result.notes == []


def test_a_date_range_falls_in_its_reign_with_less_confidence():
    tags = tags_from_inventory(row(period="1850–1860"))
    assert values(tags) == ["period:tu-duc"]
    assert tags[0].confidence == DATE_CONFIDENCE < 1.0


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("minh mang", "period:minh-mang"),
        ("thời Tự Đức", "period:tu-duc"),
        ("Minh Mệnh", "period:minh-mang"),
        ("Hiệp Hoà", "period:hiep-hoa"),  # the old tone placement is the same word
        ("Hiệp Hòa", "period:hiep-hoa"),
        ("niên hiệu Duy Tân năm thứ 3", "period:duy-tan"),
        ("BẢO ĐẠI", "period:bao-dai"),
        ("triều Nguyễn", "period:nguyen"),
        ("Nguyễn dynasty", "period:nguyen"),
        # Temple names and other readings come from the period vocabulary search uses.
        ("thời Thánh Tổ", "period:minh-mang"),
        ("Dực Tông", "period:tu-duc"),
        ("Kiến Phước", "period:kien-phuc"),
    ],
)
def test_reigns_are_named_however_the_archivist_writes_them(period, expected):
    assert values(tags_from_inventory(row(period=period))) == [expected]


def test_the_reigns_are_the_period_vocabularys_own():
    from pipeline.core.periods import PERIODS as HISTORY

    reigns = [p for p in HISTORY if p.parent == "nguyen"]
    assert [(r.term.value, r.start, r.end) for r in REIGNS] == [
        (f"period:{p.key}", p.start, p.end) for p in reigns
    ]
    for reign, period in zip(REIGNS, reigns, strict=True):
        assert set(period.names) <= set(reign.term.aliases)
    assert DYNASTY.value == "period:nguyen" and "Nguyễn" in DYNASTY.aliases


def test_decomposed_text_from_macos_tags_like_composed_text():
    composed = row(material="Gốm sứ", period="Tự Đức (1848–1883)", object_type="Lư hương")
    decomposed = row(
        material=nfd("Gốm sứ"), period=nfd("Tự Đức (1848–1883)"), object_type=nfd("Lư hương")
    )
    assert nfd("Tự Đức") != "Tự Đức"
    assert tags_from_inventory(decomposed) == tags_from_inventory(composed)
    assert values(tags_from_inventory(decomposed)) == [
        "type:lu-huong",
        "material:gom-su",
        "period:tu-duc",
    ]


def test_bronze_and_the_dong_khanh_reign_are_not_confused():
    tags = tags_from_inventory(row(material="Đồng", period="Đồng Khánh (1885–1888)"))
    assert values(tags) == ["material:dong", "period:dong-khanh"]
    assert values(tags_from_inventory(row(period="Đồng Khánh")), "material") == []
    assert values(tags_from_inventory(row(material="đồng")), "period") == []


def test_words_without_diacritics_match_a_little_less_surely():
    tags = tags_from_inventory(row(material="gom su", period="tu duc"))
    assert values(tags) == ["material:gom-su", "period:tu-duc"]
    assert {tag.confidence for tag in tags} == {0.9}


def test_a_word_with_the_wrong_diacritics_is_another_word():
    # "Đông" (east) is not "đồng" (bronze): marks that are written are evidence.
    result = tag_inventory(row(material="Đông"))
    assert result.tags == []
    assert "'Đông' is not in the vocabulary" in result.notes[0]


def test_the_year_1883_belongs_to_four_emperors_equally():
    tags = tags_from_inventory(row(period="1883"))
    assert sorted(values(tags)) == [
        "period:duc-duc",
        "period:hiep-hoa",
        "period:kien-phuc",
        "period:tu-duc",
    ]
    assert {tag.confidence for tag in tags} == {round(DATE_CONFIDENCE / 4, 3)}


def test_a_range_across_reigns_names_each_by_its_share():
    tags = tags_from_inventory(row(date_range="1880-1890"))
    # Shares of 11 years: Đồng Khánh 3.5, Tự Đức 3.25, Thành Thái 2; the 1883–1885 reigns
    # cover less than a tenth each.
    assert values(tags) == ["period:dong-khanh", "period:tu-duc", "period:thanh-thai"]
    assert only(tags, "period:dong-khanh").confidence == round(DATE_CONFIDENCE * 3.5 / 11, 3)


def test_the_date_range_column_is_used_when_the_period_names_no_reign():
    assert values(tags_from_inventory(row(period="", date_range="1836"))) == ["period:minh-mang"]


def test_dates_that_contradict_the_named_reign_are_pointed_out():
    result = tag_inventory(row(period="Minh Mạng", date_range="1870"))
    assert values(result.tags) == ["period:minh-mang"]
    assert "1820–1840" in result.notes[0] and "1870" in result.notes[0]


@pytest.mark.parametrize(
    ("period", "note"),
    [
        ("thế kỷ 19", "names no Nguyễn reign and no years"),
        ("1700–1750", "fall outside the Nguyễn reigns"),
        ("1860–1850", "run backwards"),
    ],
)
def test_periods_without_a_reign_give_no_tag_and_say_why(period, note):
    result = tag_inventory(row(period=period))
    assert result.tags == []
    assert len(result.notes) == 1 and note in result.notes[0]


# --- inventory: materials and object types -----------------------------------------------------


def test_the_longest_phrase_wins_so_gilded_wood_is_not_gold():
    tags = tags_from_inventory(row(material="Gỗ sơn son thếp vàng"))
    assert values(tags) == ["material:go-son-son-thep-vang"]
    assert tags[0].label_en == "Red-lacquered gilded wood"


def test_every_material_of_the_museum_has_a_tag():
    for text, slug in [
        ("gốm sứ", "gom-su"),
        ("đồng", "dong"),
        ("pháp lam", "phap-lam"),
        ("gỗ sơn son thếp vàng", "go-son-son-thep-vang"),
        ("ngọc", "ngoc"),
        ("vàng", "vang"),
        ("bạc", "bac"),
        ("đá", "da"),
        ("thủy tinh", "thuy-tinh"),
        ("thuỷ tinh", "thuy-tinh"),
        ("giấy", "giay"),
        ("vải", "vai"),
    ]:
        assert values(tags_from_inventory(row(material=text))) == [f"material:{slug}"], text


def test_two_materials_in_one_cell_give_two_tags():
    assert values(tags_from_inventory(row(material="Đồng mạ vàng"))) == [
        "material:dong",
        "material:vang",
    ]


def test_a_bare_word_that_could_be_two_materials_gives_no_tag():
    result = tag_inventory(row(material="da"))
    assert result.tags == []
    assert "could be Đá (Stone) or Da (Leather)" in result.notes[0]
    # Written by someone who uses diacritics, a bare "da" is leather on purpose.
    assert values(tags_from_inventory(row(material="Đá, da"))) == [
        "material:da",
        "material:da-thuoc",
    ]


def test_matching_is_on_whole_words():
    result = tag_inventory(row(material="Silverware", object_type="Bìnhphong"))
    assert result.tags == []
    assert len(result.notes) == 2


def test_a_word_that_is_something_else_bare_needs_its_diacritics():
    assert values(tags_from_inventory(row(object_type="an incense burner"))) == ["type:lu-huong"]
    assert values(tags_from_inventory(row(object_type="Ấn"))) == ["type:an"]


@pytest.mark.parametrize(
    ("object_type", "expected"),
    [
        ("bình", "type:binh"),
        ("Bát", "type:bat"),
        ("đĩa", "type:dia"),
        ("lư hương", "type:lu-huong"),
        ("hộp trầu", "type:hop"),
        ("chén", "type:chen"),
        ("hũ", "type:hu"),
        ("chóe", "type:choe"),
        ("ấn", "type:an"),
        ("bia", "type:bia"),
        ("sắc phong", "type:sac-phong"),
        ("áo", "type:ao"),
        ("vải", "type:vai"),
        ("Incense burner", "type:lu-huong"),
    ],
)
def test_object_types(object_type, expected):
    assert values(tags_from_inventory(row(object_type=object_type))) == [expected]


def test_unknown_values_give_no_tag_and_a_note_naming_them():
    result = tag_inventory(row(material="Xyzium", object_type="Gizmo"))
    assert result.tags == []
    assert any("Material 'Xyzium' is not in the vocabulary" in n for n in result.notes)
    assert any("Object type 'Gizmo' is not in the vocabulary" in n for n in result.notes)


def test_vocabulary_slugs_are_unique_and_follow_their_labels():
    from pipeline.core.naming import fold_diacritics

    terms = [*MATERIALS, *PERIODS, *OBJECT_TYPES]
    assert len({term.value for term in terms}) == len(terms)
    for term in terms:
        assert term.value.split(":")[0] in ("material", "period", "type")
        label_words = fold_diacritics(term.label_vi).lower().replace("-", " ").split()
        assert term.value.split(":")[1].split("-")[0] in label_words, term


# --- pixels ------------------------------------------------------------------------------------


def solid(rgb: tuple[int, int, int], width: int = 300, height: int = 200) -> np.ndarray:
    return np.full((height, width, 3), rgb, dtype=np.uint8)


def test_a_red_image_is_dominantly_red():
    tags = tags_from_pixels(solid((220, 20, 30)))
    colours = [tag for tag in tags if tag.value.startswith("colour:")]
    assert [(t.value, t.label_vi, t.label_en) for t in colours] == [("colour:do", "Đỏ", "Red")]
    assert colours[0].confidence == 1.0 and colours[0].source == COLOUR_SOURCE
    assert "mode:mau" in values(tags)


def test_a_grey_image_is_greyscale_and_grey():
    noisy = solid((128, 128, 128)).astype(np.int16)
    noisy += np.random.default_rng(0).normal(0, 2, noisy.shape[:2]).astype(np.int16)[..., None]
    tags = tags_from_pixels(np.clip(noisy, 0, 255).astype(np.uint8))
    assert values(tags, "mode") == ["mode:den-trang"]
    assert only(tags, "mode:den-trang").confidence == 1.0  # its channels are equal: stored grey
    assert values(tags, "colour") == ["colour:xam"]


def test_a_single_channel_image_is_greyscale():
    tags = tags_from_pixels(np.full((100, 100), 30, dtype=np.uint8))
    assert values(tags, "mode") == ["mode:den-trang"]
    assert values(tags, "colour") == ["colour:den"]


def test_a_colour_photograph_of_a_neutral_object_looks_greyscale_less_surely():
    image = solid((120, 120, 120))
    image[..., 2] += 2  # a whisper of blue: not stored as grey, but no visible colour
    assert only(tags_from_pixels(image), "mode:den-trang").confidence < 1.0


@pytest.mark.parametrize(
    ("size", "expected"),
    [((300, 200), "orientation:ngang"), ((200, 300), "orientation:doc"),
     ((300, 297), "orientation:vuong")],
)  # fmt: skip
def test_orientation(size, expected):
    tags = tags_from_pixels(solid((200, 200, 200), *size))
    assert values(tags, "orientation") == [expected]


@pytest.mark.parametrize(
    ("rgb", "slug"),
    [
        ((255, 0, 0), "colour:do"),
        ((139, 0, 0), "colour:do"),
        ((255, 128, 0), "colour:cam"),
        ((255, 255, 0), "colour:vang"),
        ((212, 175, 55), "colour:vang-kim"),
        ((0, 160, 0), "colour:xanh-la"),
        ((0, 168, 107), "colour:xanh-la"),
        ((0, 0, 255), "colour:xanh-lam"),
        ((33, 51, 133), "colour:xanh-lam"),
        ((0, 0, 128), "colour:xanh-lam"),
        ((128, 0, 128), "colour:tim"),
        ((139, 69, 19), "colour:nau"),
        ((107, 77, 43), "colour:nau"),
        ((255, 192, 203), "colour:hong"),
        ((225, 205, 170), "colour:be"),
        ((255, 255, 255), "colour:trang"),
        ((237, 237, 230), "colour:trang"),
        ((0, 0, 0), "colour:den"),
        ((128, 128, 128), "colour:xam"),
    ],
)
def test_colour_names_in_cielab(rgb, slug):
    lab = cv2.cvtColor(np.array([[rgb]], dtype=np.float32) / 255, cv2.COLOR_RGB2Lab)
    assert classify_colours(lab) == [slug]


def backdrop_with_square(colour: tuple[int, int, int]) -> tuple[np.ndarray, Box]:
    image = solid((118, 118, 118), 400, 300)
    image[100:200, 150:250] = colour
    return image, Box(x=140, y=90, width=120, height=120)


def test_colours_are_counted_on_the_object_not_the_backdrop():
    image, box = backdrop_with_square((30, 60, 200))
    assert values(tags_from_pixels(image), "colour")[0] == "colour:xam"
    on_object = [t for t in tags_from_pixels(image, bbox=box) if t.value.startswith("colour:")]
    # The box holds backdrop at its margins; what looks like the backdrop around it is dropped.
    assert [(t.value, t.confidence) for t in on_object] == [("colour:xanh-lam", 1.0)]
    assert tags_from_pixels(image, bbox=(140, 90, 120, 120)) == tags_from_pixels(image, bbox=box)


def test_an_object_mask_chooses_the_pixels():
    image, _ = backdrop_with_square((200, 30, 30))
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[120:180, 170:230] = True
    colours = [t for t in tags_from_pixels(image, object_mask=mask) if "colour:" in t.value]
    assert [(t.value, t.confidence) for t in colours] == [("colour:do", 1.0)]
    with pytest.raises(ValueError, match="object_mask"):
        tags_from_pixels(image, object_mask=mask[:10])


def test_minor_colours_below_a_tenth_are_not_dominant():
    image = solid((220, 20, 30), 100, 100)
    image[:5] = (0, 0, 255)  # 5 %
    image[5:40] = (255, 255, 0)  # 35 %
    assert [(t.value, t.confidence) for t in tags_from_pixels(image) if "colour:" in t.value] == [
        ("colour:do", 0.6),
        ("colour:vang", 0.35),
    ]


@cache
def photograph(kind: str, seed: int = 1, long_edge: int = 800) -> np.ndarray:
    rendered = render_artefact(
        kind, size=frame_size(kind, long_edge), view="front", rng=np.random.default_rng(seed)
    )
    return (rendered * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize(
    ("kind", "colour"),
    [("lacquer_box", "colour:do"), ("seal", "colour:xanh-la"), ("incense_burner", "colour:nau")],
)
def test_rendered_artefacts_have_their_materials_colour(kind, colour):
    image = photograph(kind)
    box = assess_quality(image, QualityThresholds()).object_bbox
    assert box is not None
    tags = tags_from_pixels(image, bbox=box)
    assert values(tags, "colour")[0] == colour
    assert tags_from_pixels(image.copy(), bbox=box) == tags  # deterministic


def test_pixels_must_be_8_bit():
    with pytest.raises(ValueError, match="8-bit"):
        tags_from_pixels(np.zeros((10, 10, 3), dtype=np.uint16))


# --- embedded metadata -------------------------------------------------------------------------


def metadata(subject: list[str], keywords: list[str]) -> ScanMetadata:
    return ScanMetadata(
        technical=TechnicalMetadata(),
        exif=ExifMetadata(),
        xmp=XmpMetadata(subject=subject),
        iptc=IptcMetadata(keywords=keywords),
        restricted=RestrictedMetadata(),
    )


def test_keywords_from_a_real_file_become_free_xmp_tags():
    data = jpeg_file(xmp=xmp_packet(subjects=("gốm sứ", "Minh Mạng")), iim_block=IIM_UTF8)
    tags = tags_from_metadata(extract(data))
    assert [(t.value, t.label_vi) for t in tags] == [
        ("keyword:gom-su", "gốm sứ"),
        ("keyword:minh-mang", "Minh Mạng"),
        ("keyword:gom", "gốm"),
        ("keyword:porcelain", "porcelain"),
    ]
    assert {(t.source, t.confidence) for t in tags} == {("xmp", 1.0)}


def test_keywords_are_cleaned_split_and_deduplicated():
    tags = tags_from_metadata(
        metadata(
            subject=["Huế; Đại Nội", "  \u202eevil\u202c  ", ";;", "Hue"],
            keywords=["Huế", "x" * 300],
        )
    )
    assert [t.value for t in tags] == [
        "keyword:hue",
        "keyword:dai-noi",
        "keyword:evil",
        "keyword:" + "x" * 80,
    ]
    assert tags[0].label_vi == "Huế"  # the first spelling is kept
    assert len(tags[3].label_vi) == 100


def test_at_most_fifty_keywords():
    tags = tags_from_metadata(metadata([f"k{i}" for i in range(80)], []))
    assert len(tags) == MAX_KEYWORDS


# --- views and merging -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "value", "vi", "en"),
    [
        ("front", "view:front", "Mặt trước", "Front"),
        ("trước", "view:front", "Mặt trước", "Front"),
        (nfd("mặt sau"), "view:back", "Mặt sau", "Back"),
        ("mark", "view:mark", "Hiệu đề, dấu", "Mark"),
        ("nắp", "view:nap", "nắp", "nắp"),
    ],
)
def test_view_tags(view, value, vi, en):
    tag = view_tag(view)
    assert (tag.value, tag.label_vi, tag.label_en, tag.confidence) == (value, vi, en, 1.0)
    assert tag.source.startswith("analysis:")


def tag(value: str, source: str = "inventory", confidence: float = 1.0, label: str = "x") -> Tag:
    return Tag(value=value, label_vi=label, label_en=label, source=source, confidence=confidence)


def test_merging_keeps_one_tag_per_source_with_its_best_confidence():
    merged = merge_tags(
        [tag("period:tu-duc", confidence=0.5), tag("colour:do", COLOUR_SOURCE, 0.7)],
        [tag("period:tu-duc", confidence=0.8), tag("period:tu-duc", "xmp", 1.0)],
    )
    assert [(t.value, t.source, t.confidence) for t in merged] == [
        ("period:tu-duc", "inventory", 0.8),
        ("period:tu-duc", "xmp", 1.0),
        ("colour:do", COLOUR_SOURCE, 0.7),
    ]


def test_merging_gives_one_order_whatever_the_input_order():
    tags = [
        tag("keyword:hue", "xmp"),
        tag("colour:xam", COLOUR_SOURCE, 0.3),
        tag("colour:do", COLOUR_SOURCE, 0.6),
        tag("material:dong"),
        tag("view:front", "analysis:naming@1"),
        tag("orientation:doc", "analysis:shape@1"),
        tag("type:binh"),
        tag("period:tu-duc"),
        tag("keyword:hue", "xmp", label="Huế"),
    ]
    expected = [
        "view:front",
        "type:binh",
        "material:dong",
        "period:tu-duc",
        "colour:do",
        "colour:xam",
        "orientation:doc",
        "keyword:hue",
    ]
    for seed in range(5):
        shuffled = tags[:]
        random.Random(seed).shuffle(shuffled)
        merged = merge_tags(shuffled)
        assert values(merged) == expected
        assert merged[-1].label_vi == "Huế"  # the spelling with diacritics wins a tie


@pytest.mark.parametrize(
    "fields",
    [
        {"source": "iptc"},
        {"source": "analysis:colour"},
        {"value": "Material:Đồng"},
        {"value": "material"},
        {"confidence": 1.5},
        {"label_vi": ""},
    ],
)
def test_tags_are_validated(fields):
    good = {"value": "material:dong", "label_vi": "Đồng", "label_en": "Bronze",
            "source": "inventory", "confidence": 1.0}  # fmt: skip
    Tag(**good)
    with pytest.raises(ValidationError):
        Tag(**{**good, **fields})


# --- near-duplicates ---------------------------------------------------------------------------


def test_pairs_within_the_distance_closest_first():
    items = [
        ("a", "0000000000000000"),
        ("b", "0000000000000007"),  # 3 bits from a
        ("c", "0000000000000001"),  # 1 bit from a, 2 from b
        ("d", "ffffffffffffffff"),
        ("a", "0000000000000000"),  # the same item again is not a pair with itself
    ]
    assert find_near_duplicates(items, 3) == [
        NearDuplicate("a", "c", 1),
        NearDuplicate("b", "c", 2),
        NearDuplicate("a", "b", 3),
    ]
    assert find_near_duplicates(items, 0) == []
    assert find_near_duplicates([], 6) == []


def test_bad_hashes_and_distances_are_refused():
    with pytest.raises(ValueError, match="'x1'"):
        find_near_duplicates([("x1", "123")], 6)
    with pytest.raises(ValueError, match="0–64"):
        find_near_duplicates([], 65)


def recompressed(image: np.ndarray, scale: float, quality: int) -> np.ndarray:
    small = Image.fromarray(image).resize(
        (round(image.shape[1] * scale), round(image.shape[0] * scale)), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_a_resized_recompressed_copy_is_found_and_another_object_is_not():
    vase = photograph("vase")
    items = [
        ("vase", compute_phash(vase)),
        ("vase-copy", compute_phash(recompressed(vase, 0.4, 60))),
        ("box", compute_phash(photograph("lacquer_box"))),
        ("bowl", compute_phash(photograph("bowl"))),
    ]
    pairs = find_near_duplicates(items, 6)
    assert [(p.a, p.b) for p in pairs] == [("vase", "vase-copy")]
