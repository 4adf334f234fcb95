"""The search page's facet lists (pure HTML): a filter in force is always shown, selected, with a
link that removes it, however far down its facet's values it ranks or whatever it is spelled."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pipeline.api.web.render import FACET_SHOWN, PageLinks, SearchPage, render_search
from pipeline.core.catalogue import FacetCount, SearchResult

LINKS = PageLinks(base="", viewer_script=None, viewer_images=None)


def render(filters: dict[str, list[str]], facets: dict[str, list[FacetCount]]) -> str:
    result = SearchResult(
        total=1, page=1, page_size=20, sort="relevance", pages=1, hits=[], facets=facets,
        facet_sizes={name: len(values) for name, values in facets.items()},
    )  # fmt: skip
    return render_search(SearchPage(text="", filters=filters, result=result), LINKS)


def facet_items(html: str, param: str) -> dict[str, tuple[bool, dict[str, list[str]]]]:
    """Each value listed in a facet: whether it is selected, and its link's parameters."""
    section = html.split(f'id="facet-{param}"')[1].split("</section>")[0]
    items = {}
    for item in section.split("<li>")[1:]:
        href = item.split('href="')[1].split('"')[0].replace("&amp;", "&")
        label = item.split(">", 1)[1].split(" <span")[0]
        items[label] = ('aria-current="true"' in item, parse_qs(urlsplit(href).query))
    return items


def test_a_chosen_value_beyond_the_first_ones_is_shown_selected_and_removable():
    values = [
        FacetCount(value=f"chất liệu {i}", count=100 - i, selected=i == 14) for i in range(15)
    ]
    html = render({"material": ["CHAT LIEU 14"]}, {"material": values})
    items = facet_items(html, "material")
    assert len(items) == FACET_SHOWN + 1
    assert "chất liệu 13" not in items  # the list stays short
    selected, params = items["chất liệu 14"]
    assert selected and "material" not in params  # its link removes the filter typed bare


def test_a_chosen_value_no_result_has_now_is_still_there_to_remove():
    html = render(
        {"material": ["gỗ quý", "đồng"], "period": ["Gia Long"]},
        {"material": [FacetCount(value="đồng", count=3, selected=True)], "period": []},
    )
    items = facet_items(html, "material")
    assert items["gỗ quý"][0] and items["đồng"][0]
    assert items["gỗ quý"][1]["material"] == ["đồng"]
    assert '<span class="count">0</span>' in html
    period = facet_items(html, "period")
    assert list(period) == ["Gia Long"] and period["Gia Long"][0]
    assert period["Gia Long"][1] == {"material": ["gỗ quý", "đồng"]}  # the others' filters stay
