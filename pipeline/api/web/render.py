"""HTML of the catalogue's web pages, built from data already read; no I/O, every value escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Final
from urllib.parse import urlencode

from pipeline.core.catalogue import FacetCount, SearchResult
from pipeline.core.iiif import VIEW_LABELS, to_rights_uri
from pipeline.core.records import ArtefactRecord, ViewEntry
from pipeline.core.search_text import to_facet_key

# Facet name -> (query parameter, Vietnamese label, English label).
FACETS: Final = (
    ("material", "material", "Chất liệu", "Material"),
    ("period", "period", "Niên đại", "Period"),
    ("object_type", "type", "Loại hiện vật", "Object type"),
    ("colour_level", "colour_level", "Độ chính xác màu", "Colour accuracy"),
)
# A facet shows this many values; "more" lists them all (up to MAX_FACET_VALUES) with a search.
FACET_SHOWN: Final = 12
# Inventory columns shown on an object page: (field, Vietnamese label, English label). Never
# current_location (a shelf in a store room is for staff), never anything from a scan's EXIF.
OBJECT_FIELDS: Final = (
    ("object_type", "Loại hiện vật", "Object type"),
    ("material", "Chất liệu", "Material"),
    ("period", "Niên đại", "Period"),
    ("date_range", "Khung niên đại", "Date range"),
    ("dimensions", "Kích thước", "Dimensions"),
    ("provenance", "Nguồn gốc", "Provenance"),
    ("notes", "Mô tả", "Description"),
)
VIEWER_MISSING: Final = (
    "Trình xem phóng to chưa được cài: chạy `make npm` rồi khởi động lại `sohoa serve`. / "
    "The deep-zoom viewer is not installed: run `make npm`, then restart `sohoa serve`."
)


def e(value: object) -> str:
    """Escaped for HTML text and double- or single-quoted attributes."""
    return escape(str(value), quote=True)


def bilingual(vi: str, en: str) -> str:
    return f'{e(vi)} <span class="en" lang="en">/ {e(en)}</span>'


@dataclass(frozen=True)
class PageLinks:
    """Where the page's own links point (the API may live under a path prefix)."""

    base: str  # the API's base URL, no trailing slash
    viewer_script: str | None  # OpenSeadragon's script URL; None when it is not installed
    viewer_images: str | None  # OpenSeadragon's button images (prefixUrl)

    def home(self, params: Mapping[str, object] | None = None) -> str:
        query = urlencode(
            {k: v for k, v in (params or {}).items() if v not in (None, "", [])}, doseq=True
        )
        return f"{self.base}/" + (f"?{query}" if query else "")

    def object_page(self, object_slug: str) -> str:
        return f"{self.base}/objects/{object_slug}"

    def static(self, name: str) -> str:
        return f"{self.base}/static/web/{name}"


def layout(title: str, body: str, links: PageLinks, *, scripts: Iterable[str] = ()) -> str:
    """A whole page: Vietnamese first, English beside it; usable on a phone."""
    tags = "".join(f'<script src="{e(src)}" defer></script>' for src in scripts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n"
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="{e(links.static("site.css"))}">\n{tags}\n</head>\n<body>\n'
        '<a class="skip" href="#main">Bỏ qua đến nội dung / Skip to content</a>\n'
        f'<header class="site"><a class="brand" href="{e(links.home())}">'
        f"{bilingual('Danh mục hiện vật', 'Catalogue of artefacts')}</a></header>\n"
        f'<main id="main">\n{body}\n</main>\n'
        '<footer class="site"><p>Sohoa · <a href="'
        f'{e(links.base)}/docs" lang="en">API</a> · <a href="{e(links.base)}/oai?verb=Identify">'
        "OAI-PMH</a></p></footer>\n</body>\n</html>\n"
    )


@dataclass(frozen=True)
class SearchPage:
    """What the search page shows: the query as typed, the result, and URLs for thumbnails."""

    text: str
    filters: dict[str, list[str]]
    result: SearchResult
    thumbnails: dict[str, str | None] = field(default_factory=dict)  # object -> URL
    more: str | None = None  # the facet whose values are all listed
    facet_text: str = ""  # ... only those containing this


def facet_of_param(param: str | None) -> str | None:
    """The facet a page parameter names ('type' -> 'object_type'); None for anything else."""
    return next((name for name, p, _, _ in FACETS if p == param), None)


def render_search(page: SearchPage, links: PageLinks) -> str:
    result = page.result
    state: dict[str, object] = {"q": page.text}
    for name, param, _, _ in FACETS:
        state[param] = page.filters.get(name, [])
    form = (
        f'<form class="search" role="search" method="get" action="{e(links.home())}">'
        f'<label for="q">{bilingual("Tìm hiện vật", "Search the artefacts")}</label>'
        '<div class="row"><input id="q" name="q" type="search" autocomplete="off" '
        f'maxlength="1000" value="{e(page.text)}" '
        'placeholder="vd. binh gom, lu huong, HM.1998.45/PL">'
        + "".join(
            f'<input type="hidden" name="{e(param)}" value="{e(value)}">'
            for name, param, _, _ in FACETS
            for value in page.filters.get(name, [])
        )
        + '<button type="submit">Tìm <span lang="en">/ Search</span></button></div>'
        '<p class="hint">Gõ có dấu hoặc không dấu: "hue" tìm thấy "Huế". / '
        '<span lang="en">Diacritics optional.</span></p></form>'
    )
    facets = _render_facets(page, state, links)
    notices = _render_notices(result, state, links)
    if result.message:
        summary = f'<p class="summary" role="status">{e(result.message)}</p>'
    elif result.total:
        summary = (
            f'<p class="summary" role="status">{result.total} hiện vật '
            f'<span lang="en">/ {result.total} artefact{"s" if result.total != 1 else ""}</span>'
            "</p>"
        )
    else:
        summary = (
            '<p class="summary" role="status">Không tìm thấy hiện vật nào. '
            '<span lang="en">/ Nothing found: try fewer words, or remove a filter.</span></p>'
        )
    cards = "".join(
        _render_card(hit.object, hit.accession_number, hit.name_vi, hit.name_en,
                     hit.material, hit.period, page.thumbnails.get(hit.object), links)
        for hit in result.hits
    )  # fmt: skip
    grid = f'<ul class="grid" id="results">{cards}</ul>' if cards else ""
    body = (
        f'<h1 class="visually-hidden">{bilingual("Tìm kiếm", "Search")}</h1>{form}'
        f'<div class="layout"><aside class="facets" aria-label="Bộ lọc / Filters">{facets}</aside>'
        f'<section class="results" aria-label="Kết quả / Results">{notices}{summary}{grid}'
        f"{_render_pagination(result, state, links)}</section></div>"
    )
    title = f"{page.text} – Danh mục hiện vật" if page.text else "Danh mục hiện vật – Sohoa"
    return layout(title, body, links)


def _render_notices(result: SearchResult, state: dict[str, object], links: PageLinks) -> str:
    """ "Did you mean", and a word that a partial match is what is shown."""
    parts = []
    if result.did_you_mean:
        href = links.home({**state, "q": result.did_you_mean, "page": None})
        parts.append(
            f'<p class="notice did-you-mean">Có phải bạn muốn tìm <span lang="en">/ Did you '
            f'mean</span>: <a href="{e(href)}">{e(result.did_you_mean)}</a>?</p>'
        )
    if result.partial:
        parts.append(
            '<p class="notice partial">Không hiện vật nào có đủ mọi từ đã gõ; đây là những hiện '
            'vật khớp nhiều từ nhất. <span lang="en">/ No artefact has every word typed: these '
            "match the most of them.</span></p>"
        )
    return "".join(parts)


def _render_facets(page: SearchPage, state: dict[str, object], links: PageLinks) -> str:
    parts = []
    for name, param, label_vi, label_en in FACETS:
        counts = page.result.facets.get(name) or []
        expanded = page.more == name
        chosen = [str(v) for v in _as_list(state.get(param))]
        if not counts and not chosen and not (expanded and page.facet_text):
            continue
        size = page.result.facet_sizes.get(name, len(counts))
        items = []
        for count in _with_chosen(counts if expanded else counts[:FACET_SHOWN], counts, chosen):
            key = to_facet_key(count.value)
            selected = count.selected or any(to_facet_key(v) == key for v in chosen)
            others = [v for v in chosen if to_facet_key(v) != key]  # 'GOM SU' is 'gốm sứ'
            values = others if selected else [*chosen, count.value]
            href = links.home({**state, param: values, "page": None})
            items.append(
                f'<li><a href="{e(href)}"'
                + (' aria-current="true" class="selected"' if selected else "")
                + f">{e(_facet_label(name, count.value))} "
                f'<span class="count">{count.count}</span></a></li>'
            )
        parts.append(
            f'<section class="facet" id="facet-{e(param)}"><h2>{bilingual(label_vi, label_en)}</h2>'
            f"<ul>{''.join(items)}</ul>{_render_more(page, state, links, name, param, size)}"
            "</section>"
        )
    return "".join(parts)


def _with_chosen(
    shown: list[FacetCount], counts: list[FacetCount], chosen: list[str]
) -> list[FacetCount]:
    """The values shown, then every chosen value they miss (beyond the first values, or with no
    result now), so that a filter in force can always be seen and removed where it was set."""
    keys = {to_facet_key(c.value) for c in shown}
    counted = {to_facet_key(c.value): c for c in counts}
    extra: list[FacetCount] = []
    for value in chosen:
        key = to_facet_key(value)
        if key not in keys:
            keys.add(key)
            extra.append(counted.get(key) or FacetCount(value=value, count=0, selected=True))
    return shown + extra


def _facet_label(name: str, value: str) -> str:
    if name != "colour_level":
        return value
    return "không có bảng màu / no chart" if value == "none" else f"{'★' * int(value)} {value}/4"


def colour_row(record: ArtefactRecord) -> str:
    """The colour level its capture sessions proved: the lowest of its views, as stars."""
    sessions = [v.session for v in record.views if v.session is not None]
    if not sessions:
        return ""
    worst = min(sessions, key=lambda s: -1 if s.level is None else s.level)
    if worst.level is None:
        text = "Không có bảng màu trong phiên chụp / no colour chart in its capture session"
    else:
        text = (
            f'<span class="stars" aria-label="{worst.level} of 4 stars">{"★" * worst.level}'
            f"{'☆' * (4 - worst.level)}</span> {worst.level}/4 · ΔE2000 {worst.mean_delta_e:.1f}"
        )
        if worst.corrected and worst.mean_delta_e_corrected is not None:
            text += f" → {worst.mean_delta_e_corrected:.1f} (đã hiệu chỉnh / corrected)"
    return _row("Độ chính xác màu", "Colour accuracy", text)


def _render_more(
    page: SearchPage, state: dict[str, object], links: PageLinks, name: str, param: str, size: int
) -> str:
    """A "more" link while a facet shows only its first values; once expanded, a search among
    its values (a facet may have more values than any list can show)."""
    if page.more != name:
        if size <= FACET_SHOWN:
            return ""
        href = links.home({**state, "more": param, "page": None}) + f"#facet-{param}"
        return (
            f'<p class="more"><a href="{e(href)}">Xem tất cả {size} '
            f'<span lang="en">/ all {size}</span></a></p>'
        )
    hidden = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">'
        for k, values in state.items()
        for v in _as_list(values)
        if v not in (None, "")
    )
    shown = len(page.result.facets.get(name) or [])
    note = (
        f'<p class="hint">{shown} / {size}: gõ để lọc <span lang="en">/ type to narrow</span></p>'
        if shown < size
        else ""
    )
    return (
        f'<form class="facet-search" method="get" action="{e(links.home())}">{hidden}'
        f'<input type="hidden" name="more" value="{e(param)}">'
        f'<label for="fq-{e(param)}" class="visually-hidden">Lọc / Filter</label>'
        f'<input id="fq-{e(param)}" name="fq" type="search" value="{e(page.facet_text)}" '
        'placeholder="Lọc… / Filter…"><button type="submit">Lọc <span lang="en">/ Filter'
        f"</span></button></form>{note}"
    )


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [] if value in (None, "") else [value]


def _render_card(
    object_slug: str,
    accession: str,
    name_vi: str,
    name_en: str,
    material: str,
    period: str,
    thumbnail: str | None,
    links: PageLinks,
) -> str:
    name = name_vi or name_en or accession
    if thumbnail:
        image = f'<img src="{e(thumbnail)}" alt="{e(name)}" loading="lazy" decoding="async">'
    else:
        image = '<div class="no-image" aria-hidden="true"></div>'
    details = " · ".join(e(v) for v in (material, period) if v)
    return (
        f'<li class="card"><a href="{e(links.object_page(object_slug))}">{image}'
        f'<span class="name">{e(name)}</span>'
        + (f'<span class="name-en" lang="en">{e(name_en)}</span>' if name_en and name_vi else "")
        + f'<span class="accession">{e(accession)}</span>'
        + (f'<span class="details">{details}</span>' if details else "")
        + "</a></li>"
    )


def _render_pagination(result: SearchResult, state: dict[str, object], links: PageLinks) -> str:
    if result.pages <= 1:
        return ""
    parts = []
    if result.page > 1:
        href = links.home({**state, "page": result.page - 1})
        previous = '← Trước <span lang="en">/ Previous</span>'
        parts.append(f'<a rel="prev" href="{e(href)}">{previous}</a>')
    parts.append(
        f'<span class="where">Trang {result.page} / {result.pages} '
        f'<span lang="en">(page {result.page} of {result.pages})</span></span>'
    )
    if result.page < result.pages:
        href = links.home({**state, "page": result.page + 1})
        parts.append(f'<a rel="next" href="{e(href)}">Sau <span lang="en">/ Next</span> →</a>')
    return f'<nav class="pages" aria-label="Trang / Pages">{"".join(parts)}</nav>'


@dataclass(frozen=True)
class ViewImages:
    """A view's URLs: a small image to pick it, a larger one without the viewer, its IIIF info."""

    thumb: str | None
    preview: str | None
    info_json: str | None


def render_object(
    record: ArtefactRecord,
    images: list[ViewImages],
    links: PageLinks,
    *,
    manifest_url: str | None,
    api_url: str,
) -> str:
    inventory = record.inventory
    name_vi = inventory.name_vi.strip() if inventory else ""
    name_en = inventory.name_en.strip() if inventory else ""
    heading = (
        f"<h1>{e(name_vi or name_en or record.accession_number)}</h1>"
        + (f'<p class="subtitle" lang="en">{e(name_en)}</p>' if name_en and name_vi else "")
        + f'<p class="accession">{bilingual("Số hiệu", "Accession number")}: '
        f"<strong>{e(record.accession_number)}</strong></p>"
    )
    rows = []
    if inventory is not None:
        for name, label_vi, label_en in OBJECT_FIELDS:
            value = str(getattr(inventory, name, "")).strip()
            if value:
                rows.append(_row(label_vi, label_en, e(value)))
        rights = inventory.rights.strip()
        uri = to_rights_uri(rights) if rights else None
        if uri:
            rows.append(_row("Quyền sử dụng", "Rights", f'<a href="{e(uri)}">{e(uri)}</a>'))
        elif rights:
            rows.append(_row("Ghi nhận bắt buộc", "Required statement", e(rights)))
    tags = [t for t in record.tags if t.source == "inventory"]
    if tags:
        rows.append(
            _row(
                "Thuật ngữ",
                "Terms",
                ", ".join(
                    f'{e(t.label_vi)} <span lang="en">({e(t.label_en)})</span>' for t in tags
                ),
            )
        )
    if colour := colour_row(record):
        rows.append(colour)
    facts = f'<dl class="facts">{"".join(rows)}</dl>' if rows else ""
    viewer = _render_viewer(record.views, images, links, name_vi or record.accession_number)
    more = [f'<a href="{e(api_url)}" type="application/json">JSON</a>']
    if manifest_url:
        more.append(f'<a href="{e(manifest_url)}" type="application/ld+json">IIIF manifest</a>')
    body = (
        f'<nav class="back"><a href="{e(links.home())}">← '
        f"{bilingual('Về trang tìm kiếm', 'Back to search')}</a></nav>"
        f'<article class="object">{heading}<div class="object-layout">{viewer}'
        f'<section class="about" aria-label="Thông tin / About">{facts}'
        f'<p class="more">{" · ".join(more)}</p></section></div></article>'
    )
    scripts = [links.viewer_script, links.static("viewer.js")] if links.viewer_script else []
    return layout(f"{name_vi or record.accession_number} – Danh mục hiện vật", body, links,
                  scripts=[s for s in scripts if s])  # fmt: skip


def _row(label_vi: str, label_en: str, value_html: str) -> str:
    return f"<dt>{bilingual(label_vi, label_en)}</dt><dd>{value_html}</dd>"


def view_label(view: ViewEntry) -> tuple[str, str]:
    known = VIEW_LABELS.get(view.view)
    suffix = f" {view.seq}" if view.seq > 1 else ""
    if known is None:
        return view.view + suffix, view.view + suffix
    return known[0] + suffix, known[1] + suffix


def _render_viewer(
    views: list[ViewEntry], images: list[ViewImages], links: PageLinks, name: str
) -> str:
    zoomable = [(v, i) for v, i in zip(views, images, strict=True) if i.info_json]
    first = zoomable[0] if zoomable else (next(iter(zip(views, images, strict=True)), None))
    if first is None:
        return (
            '<section class="viewer-box"><p>Chưa có ảnh. '
            '<span lang="en">/ No images yet.</span></p></section>'
        )
    view, image = first
    label_vi = view_label(view)[0]
    fallback = (
        f'<img class="fallback" src="{e(image.preview)}" alt="{e(name)} – {e(label_vi)}">'
        if image.preview
        else ""
    )
    if links.viewer_script is None or not image.info_json:
        missing = (
            VIEWER_MISSING
            if image.info_json
            else "Ảnh này không có bản phóng to. / This image has no zoomable version."
        )
        status = f'<p class="notice" role="status">{e(missing)}</p>'
        viewer = f'<div class="viewer-static">{fallback}</div>'
    else:
        status = '<p class="notice" id="viewer-status" role="status" hidden></p>'
        viewer = (
            f'<div id="viewer" class="viewer" role="img" aria-label="{e(name)} – {e(label_vi)} '
            f'(phóng to được / zoomable)" data-info="{e(image.info_json or "")}" '
            f'data-images="{e(links.viewer_images or "")}" '
            f'data-missing="{e(VIEWER_MISSING)}"><noscript>{fallback}</noscript></div>'
        )
    thumbs = []
    for number, (each, pics) in enumerate(zip(views, images, strict=True), start=1):
        vi, en = view_label(each)
        picture = f'<img src="{e(pics.thumb)}" alt="" loading="lazy">' if pics.thumb else ""
        thumbs.append(
            f'<li><button type="button" class="view" data-info="{e(pics.info_json or "")}"'
            f' data-preview="{e(pics.preview or "")}"'
            + (' aria-pressed="true"' if each is view else ' aria-pressed="false"')
            + f">{picture}<span>{number}. {e(vi)}"
            f' <span lang="en">/ {e(en)}</span></span></button></li>'
        )
    picker = (
        f'<ul class="views" aria-label="Các mặt chụp / Views">{"".join(thumbs)}</ul>'
        if len(thumbs) > 1
        else ""
    )
    return (
        f'<section class="viewer-box" aria-label="Ảnh / Images">{viewer}{status}{picker}</section>'
    )


def render_message(title_vi: str, title_en: str, text: str, links: PageLinks) -> str:
    """A short page for a missing object or an unavailable catalogue."""
    body = (
        f"<h1>{bilingual(title_vi, title_en)}</h1><p>{e(text)}</p>"
        f'<p><a href="{e(links.home())}">← '
        f"{bilingual('Về trang tìm kiếm', 'Back to search')}</a></p>"
    )
    return layout(f"{title_vi} – Danh mục hiện vật", body, links)
