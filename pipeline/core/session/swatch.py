"""A session's chart as the batch report shows it: a table and a swatch picture (inline SVG,
each patch's measured half beside its reference half); pure, renders text only."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from pipeline.core.session.grouping import describe_level
from pipeline.core.session.model import PatchScore, SessionRecord

_D50 = np.array([0.9642, 1.0, 0.8249])
# XYZ (D50) to linear sRGB through the Bradford-adapted sRGB colorants (as an ICC sRGB profile).
_XYZ_D50_TO_SRGB = np.linalg.inv(
    np.array(
        [
            [0.4360747, 0.3850649, 0.1430804],
            [0.2225045, 0.7168786, 0.0606169],
            [0.0139322, 0.0971045, 0.7141733],
        ]
    )
)
_COLUMNS = 6
_CELL = 44


def to_srgb_hex(lab: Sequence[float]) -> str:
    """'#rrggbb' of a CIELAB D50 colour (clipped to sRGB's gamut) for a browser to paint."""
    lightness, a, b = (float(v) for v in lab)
    fy = (lightness + 16) / 116
    f = np.array([fy + a / 500, fy, fy - b / 200])
    cube = f**3
    xyz = np.where(cube > 216 / 24389, cube, (116 * f - 16) / (24389 / 27)) * _D50
    linear = np.clip(_XYZ_D50_TO_SRGB @ xyz, 0, 1)
    encoded = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    r, g, b_ = (round(float(v) * 255) for v in encoded)
    return f"#{r:02x}{g:02x}{b_:02x}"


def render_swatch(patches: Sequence[PatchScore]) -> str:
    """The chart as 4 rows of 6 patches: left half measured, right half the reference."""
    rows = (len(patches) + _COLUMNS - 1) // _COLUMNS
    width, height = _COLUMNS * _CELL, rows * _CELL
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        'aria-label="Chart patches: measured (left half) beside reference (right half)">'
    ]
    half = (_CELL - 4) // 2
    for i, patch in enumerate(patches):
        x, y = (i % _COLUMNS) * _CELL + 2, (i // _COLUMNS) * _CELL + 2
        title = html.escape(f"{patch.name}: ΔE2000 {patch.delta_e:.1f}")
        parts.append(
            f"<g><title>{title}</title>"
            f'<rect x="{x}" y="{y}" width="{half}" height="{_CELL - 4}" '
            f'fill="{to_srgb_hex(patch.measured)}"/>'
            f'<rect x="{x + half}" y="{y}" width="{half}" height="{_CELL - 4}" '
            f'fill="{to_srgb_hex(patch.reference)}"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_sessions_html(sessions: Sequence[SessionRecord]) -> str:
    """The report's section: one block per session with its level, figures and swatch."""
    if not sessions:
        return ""
    esc = _esc
    parts = [f"<h2>Capture sessions ({len(sessions):,})</h2>"]
    for s in sessions:
        when = (
            f"{s.started:%Y-%m-%d %H:%M} – {s.ended:%H:%M}"
            if s.started and s.ended
            else "one batch folder"
        )
        parts.append(
            '<div class="session">'
            f'<h3><span class="qc {esc(s.verdict)}">{esc(describe_level(s.level))}</span> '
            f"{esc(s.camera or 'no camera data')} · {esc(when)} · {s.scans:,} scans of "
            f"{len(s.objects):,} objects <code>{esc(s.session_id)}</code></h3>"
            f"<p>{esc(s.finding)}</p>"
        )
        ref = s.reference
        if ref is not None:
            figures = [
                ("mean ΔE2000", f"{ref.mean_delta_e:.2f}"),
                ("90th percentile", _figure(ref.p90_delta_e)),
                ("max", _figure(ref.max_delta_e)),
                ("worst patch", ref.worst_patch or "–"),
            ]
            if ref.mean_delta_e_corrected is not None:
                figures.append(("mean after correction", f"{ref.mean_delta_e_corrected:.2f}"))
            parts.append('<table class="small"><tr>')
            parts.extend(f"<th>{esc(k)}</th>" for k, _ in figures)
            parts.append("</tr><tr>")
            parts.extend(f"<td>{esc(v)}</td>" for _, v in figures)
            parts.append("</tr></table>")
            if ref.patches:
                parts.append('<div class="swatch">' + render_swatch(ref.patches) + "</div>")
                parts.append(_patch_table(ref.patches))
        parts.append("</div>")
    return "\n".join(parts)


def _patch_table(patches: Sequence[PatchScore]) -> str:
    esc = _esc
    rows = [
        '<details><summary>ΔE2000 per patch</summary><table class="small">',
        "<tr><th>patch</th><th>measured L* a* b*</th><th>reference L* a* b*</th>"
        "<th>ΔE2000</th></tr>",
    ]
    for p in patches:
        rows.append(
            f"<tr><td>{esc(p.name)}</td><td>{_lab(p.measured)}</td><td>{_lab(p.reference)}</td>"
            f'<td class="num">{p.delta_e:.2f}</td></tr>'
        )
    rows.append("</table></details>")
    return "\n".join(rows)


def _lab(lab: Sequence[float]) -> str:
    return " ".join(f"{v:.1f}" for v in lab)


def _figure(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "–"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)
