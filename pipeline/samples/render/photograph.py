"""Kinds, views, palettes and render_artefact: composes one scene per call; draws nothing itself."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipeline.samples.render.flat_object import (
    draw_lacquer_box,
    draw_plate,
    draw_seal,
    draw_sheet,
    draw_stele,
)
from pipeline.samples.render.round_object import draw_burner, draw_round
from pipeline.samples.render.scene import Scene

VIEWS = ("front", "back", "left", "right", "top", "bottom", "detail", "mark")
DEFAULT_PALETTES = {
    "vase": "blue_white",
    "bowl": "blue_white",
    "jar": "crackle",
    "incense_burner": "bronze",
    "cup": "gold",
    "round_box": "silver",
    "bottle": "glass",
    "plate": "blue_white",
    "lacquer_box": "lacquer",
    "seal": "jade",
    "stele": "stone",
    "document": "paper",
    "textile": "silk",
}
KINDS = tuple(DEFAULT_PALETTES)
PALETTES = (
    "blue_white",
    "crackle",
    "enamel",
    "bronze",
    "gold",
    "silver",
    "glass",
    "jade",
    "lacquer",
    "stone",
    "paper",
    "silk",
)
_PORTRAIT_KINDS = frozenset({"vase", "jar", "incense_burner", "bottle", "stele"})


def frame_size(kind: str, long_edge: int) -> tuple[int, int]:
    """Return (width, height) of the photograph of `kind`: 4:3, portrait for tall objects."""
    short = round(long_edge * 3 / 4)
    return (short, long_edge) if kind in _PORTRAIT_KINDS else (long_edge, short)


def render_artefact(
    kind: str,
    *,
    size: tuple[int, int],
    view: str,
    rng: np.random.Generator,
    palette: str | None = None,
    shot: int = 0,
) -> np.ndarray:
    """Return a photograph of one artefact: float32 (height, width, 3), sRGB-encoded, in [0, 1].

    `kind` is one of KINDS, `view` one of VIEWS, `palette` (the material's look) one of PALETTES
    or None for the kind's usual one; `size` is (width, height). `rng` decides the object's
    design, so give every view of one object a generator seeded alike and the views show the
    same object. `shot` (0-based) varies framing, exposure and noise between repeated shots.
    """
    if kind not in DEFAULT_PALETTES:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    palette = palette or DEFAULT_PALETTES[kind]
    if palette not in PALETTES:
        raise ValueError(f"unknown palette {palette!r}; expected one of {', '.join(PALETTES)}")
    width, height = size
    design_seed = int(rng.integers(2**62))
    design = np.random.default_rng(design_seed)
    grain = np.random.default_rng([design_seed, 1])
    sensor = np.random.default_rng([design_seed, 2, VIEWS.index(view), shot])
    scene = Scene(width, height, design, grain, sensor, palette, shot)
    _SCENES[kind](scene, view)
    return scene.develop()


_SCENES: dict[str, Callable[[Scene, str], None]] = {
    "vase": lambda scene, view: draw_round(scene, view, "vase"),
    "bowl": lambda scene, view: draw_round(scene, view, "bowl"),
    "jar": lambda scene, view: draw_round(scene, view, "jar"),
    "cup": lambda scene, view: draw_round(scene, view, "cup"),
    "round_box": lambda scene, view: draw_round(scene, view, "round_box"),
    "bottle": lambda scene, view: draw_round(scene, view, "bottle"),
    "incense_burner": draw_burner,
    "plate": draw_plate,
    "lacquer_box": draw_lacquer_box,
    "seal": draw_seal,
    "stele": draw_stele,
    "document": draw_sheet,
    "textile": draw_sheet,
}
