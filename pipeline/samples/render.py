"""Draws photographed-looking artefacts as arrays; it must not write files or know accessions.

Shading is done in linear light (an encoded value v is taken as v**2, a cheap stand-in for the
sRGB curve); objects are composited over a grey studio sweep with soft shadows, then encoded,
softened by a lens blur and given sensor noise, so that compression behaves as on real photos.
Geometry is analytic: bodies of revolution are drawn from a profile curve, boxes and sheets as
textured quads; motifs are painted into textures with OpenCV, never pixel by pixel in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

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

# Camera frame: x right, y up, z towards the camera. A key light from the upper left, a fill
# from the right; float32 so that shading stays in float32 (numpy 2 widens on float64 scalars).
_LIGHT = (np.array([-0.62, 0.52, 0.59]) / np.linalg.norm([-0.62, 0.52, 0.59])).astype(np.float32)
_FILL = (np.array([0.8, 0.1, 0.6]) / np.linalg.norm([0.8, 0.1, 0.6])).astype(np.float32)
_HALF = (np.add(_LIGHT, [0, 0, 1]) / np.linalg.norm(np.add(_LIGHT, [0, 0, 1]))).astype(np.float32)

_COBALT = (0.13, 0.2, 0.52)
_PORCELAIN = (0.93, 0.93, 0.9)
_GOLD = (0.98, 0.78, 0.4)
_SILVER = (0.86, 0.86, 0.84)
_BRONZE = (0.42, 0.3, 0.17)

Colour = tuple[float, float, float]


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
    scene = _Scene(width, height, design, grain, sensor, palette, shot)
    _SCENES[kind](scene, view)
    return scene.develop()


# --- the scene: backdrop, layers, shadows, development -------------------------------------


@dataclass(frozen=True)
class _Finish:
    ambient: float = 0.12
    diffuse: float = 0.95
    fill: float = 0.18
    specular: float = 0.5
    shininess: float = 60.0
    sheen: float = 0.06
    reflect: float = 0.1
    metal_base: float = 0.18
    metal_env: float = 0.9
    translucency: float = 0.0


_FINISHES = {
    "glaze": _Finish(specular=0.9, shininess=90, sheen=0.08, reflect=0.12),
    "crackle": _Finish(specular=0.5, shininess=50, sheen=0.07, reflect=0.08),
    "metal": _Finish(specular=0.9, shininess=40, sheen=0.1, metal_base=0.22, metal_env=1.0),
    "lacquer": _Finish(specular=0.8, shininess=70, sheen=0.1, reflect=0.1),
    "jade": _Finish(ambient=0.25, specular=0.7, shininess=60, reflect=0.1, translucency=0.25),
    "stone": _Finish(ambient=0.1, specular=0.04, shininess=8, sheen=0.02, reflect=0.0),
    "paper": _Finish(ambient=0.16, specular=0.02, shininess=6, sheen=0.02, reflect=0.0),
    "silk": _Finish(ambient=0.14, specular=0.15, shininess=12, sheen=0.08, reflect=0.02),
    "glass": _Finish(specular=1.2, shininess=120, sheen=0.1, reflect=0.3),
}
_PALETTE_FINISH = {
    "blue_white": "glaze",
    "crackle": "crackle",
    "enamel": "glaze",
    "bronze": "metal",
    "gold": "metal",
    "silver": "metal",
    "glass": "glass",
    "jade": "jade",
    "lacquer": "lacquer",
    "stone": "stone",
    "paper": "paper",
    "silk": "silk",
}


@dataclass
class _Texture:
    """Surface maps, linear light: albedo (h, w, 3); aux (h, w, 3) = height, gloss, metal;
    an optional alpha (h, w) cuts the outline. Heights are in object units."""

    albedo: np.ndarray
    aux: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.albedo.shape[0], self.albedo.shape[1]


@dataclass
class _Layer:
    rgb: np.ndarray
    mask: np.ndarray
    top: int
    left: int


class _Scene:
    """One photograph in the making: the backdrop, the object's layers, its footprint."""

    def __init__(
        self,
        width: int,
        height: int,
        design: np.random.Generator,
        grain: np.random.Generator,
        sensor: np.random.Generator,
        palette: str,
        shot: int,
    ) -> None:
        self.width, self.height = width, height
        self.design, self.grain, self.sensor = design, grain, sensor
        self.palette = palette
        self.shot = shot
        self.layers: list[_Layer] = []
        self.contact: list[np.ndarray] = []
        self.overhead = False
        self.backdrop = self._make_backdrop()

    @property
    def long_edge(self) -> int:
        return max(self.width, self.height)

    @property
    def finish(self) -> _Finish:
        return _FINISHES[_PALETTE_FINISH[self.palette]]

    def _make_backdrop(self) -> np.ndarray:
        # A paper sweep: light falls off downwards and away from the key light, corners darker.
        h, w = self.height, self.width
        ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
        level = 0.2 - 0.075 * ys - 0.03 * xs
        vignette = 1.0 - 0.22 * ((xs - 0.45) ** 2 + (ys - 0.4) ** 2)
        mottle = _make_noise((h, w), self.grain, (0.25, 0.08), (0.04, 0.015))
        return (level * vignette * (1.0 + mottle)).astype(np.float32)

    def add(self, layer: _Layer | None) -> None:
        if layer is not None and layer.mask.any():
            self.layers.append(layer)

    def add_contact_ellipse(self, cx: float, cy: float, ax: float, ay: float) -> None:
        """Where an object touches the floor the shadow is darkest: an elliptic footprint."""
        a = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        self.contact.append(np.stack([cx + ax * np.cos(a), cy + ay * np.sin(a)], 1))

    def pixel_light(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Key-light falloff across the frame: brighter towards the light, upper left."""
        return (1.08 - 0.18 * cols / self.width - 0.1 * rows / self.height).astype(np.float32)

    def develop(self) -> np.ndarray:
        h, w = self.height, self.width
        exposure = 1.35 * (1.0 + 0.04 * math.sin(self.shot * 2.1))
        lit = self.backdrop * self._make_shadow()
        canvas = cv2.merge([lit, lit, lit])
        for layer in self.layers:
            lh, lw = layer.mask.shape
            region = canvas[layer.top : layer.top + lh, layer.left : layer.left + lw]
            np.copyto(region, layer.rgb, where=layer.mask[:, :, None])
        canvas *= np.float32(exposure)
        np.clip(canvas, 0.0, 1.0, out=canvas)
        image = cv2.sqrt(canvas)
        image = cv2.GaussianBlur(image, (0, 0), max(0.5, 0.55 * self.long_edge / 1600))
        # Luma noise is per pixel; chroma noise is coarser, as it is after demosaicing.
        luma = self.sensor.standard_normal((h, w), dtype=np.float32)
        coarse = self.sensor.standard_normal(((h + 1) // 2, (w + 1) // 2, 3), dtype=np.float32)
        chroma = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        strength = 0.004 + 0.009 * image
        image += strength * (0.9 * chroma + 0.8 * luma[:, :, None])
        return np.clip(image, 0.0, 1.0).astype(np.float32)

    def _make_shadow(self) -> np.ndarray:
        # Shadows are drawn at 1/8 scale: they are soft, and a full-size blur would be slow.
        h, w = self.height, self.width
        factor = 8
        sh, sw = max(2, h // factor), max(2, w // factor)
        occluder = np.zeros((sh, sw), np.float32)
        for layer in self.layers:
            lh, lw = layer.mask.shape
            small = cv2.resize(
                layer.mask.astype(np.float32),
                (max(1, lw // factor), max(1, lh // factor)),
                interpolation=cv2.INTER_AREA,
            )
            top, left = layer.top // factor, layer.left // factor
            bottom, right = min(sh, top + small.shape[0]), min(sw, left + small.shape[1])
            window = occluder[top:bottom, left:right]
            np.maximum(window, small[: bottom - top, : right - left], out=window)
        # Seen from the side the shadow falls behind and right; from above, below and right.
        dx, dy = (0.035 * sw, 0.03 * sh) if self.overhead else (0.06 * sw, -0.02 * sh)
        cast = cv2.warpAffine(occluder, _f32([[1, 0, dx], [0, 1, dy]]), (sw, sh))
        cast = cv2.GaussianBlur(cast, (0, 0), 0.018 * max(sh, sw) * (0.6 if self.overhead else 1))
        footprint = np.zeros((sh, sw), np.float32)
        for polygon in self.contact:
            cv2.fillPoly(footprint, [_pts(polygon / factor)], 1.0, cv2.LINE_AA, 4)
        contact = cv2.GaussianBlur(footprint, (0, 0), 0.006 * max(sh, sw) + 0.6)
        shade = np.clip(1.0 - 0.38 * cast - 0.45 * contact, 0.2, 1.0)
        return cv2.resize(shade, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class _Camera:
    """An orthographic camera looking down at the object by `elevation` radians."""

    scale: float  # pixels per object unit
    cx: float  # image column of the object origin
    cy: float  # image row of the object origin (floor level, z = 0)
    elevation: float

    def project(self, x: float, y: float, z: float) -> tuple[float, float]:
        c, s = math.cos(self.elevation), math.sin(self.elevation)
        return self.cx + x * self.scale, self.cy - (y * c - z * s) * self.scale

    def to_camera(self, nx: np.ndarray, ny: np.ndarray, nz: np.ndarray) -> tuple[np.ndarray, ...]:
        c, s = math.cos(self.elevation), math.sin(self.elevation)
        return nx, ny * c - nz * s, ny * s + nz * c

    def normal(self, nx: float, ny: float, nz: float) -> tuple[float, float, float]:
        x, y, z = self.to_camera(*(_f32([v]) for v in (nx, ny, nz)))
        return float(x[0]), float(y[0]), float(z[0])


def _fit_camera(
    scene: _Scene,
    width: float,
    height: float,
    depth: float,
    elevation_deg: float,
    *,
    fill: float = 0.74,
    zoom: float = 1.0,
    target: tuple[float, float, float] | None = None,
) -> _Camera:
    """Frame an object of the given extent (origin at the centre of its footprint); with a
    `target`, zoom in and centre that object point (a detail view)."""
    el = math.radians(elevation_deg)
    c, s = math.cos(el), math.sin(el)
    screen_h = height * c + depth * s
    scale = min(fill * scene.height / screen_h, 0.86 * scene.width / width) * zoom
    if target is None:
        cx = scene.width * (0.5 + 0.012 * scene.shot)
        cy = scene.height * 0.53 + height * c / 2 * scale
    else:
        tx, ty, tz = target
        cx = scene.width / 2 - tx * scale
        cy = scene.height / 2 + (ty * c - tz * s) * scale
    return _Camera(scale, cx, cy, el)


# --- shading ---------------------------------------------------------------------------------


def _f32(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _power(x: np.ndarray, exponent: float) -> np.ndarray:
    """x ** exponent for x >= 0, in float32; OpenCV's is some fifty times faster than numpy's."""
    return cv2.pow(np.ascontiguousarray(x, np.float32), float(exponent))


def _normalise(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    x, y, z = (np.asarray(v, np.float32) for v in (x, y, z))
    inverse = 1 / (np.sqrt(x * x + y * y + z * z) + 1e-9)
    return x * inverse, y * inverse, z * inverse


def _environment(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    # What a mirror sees in the studio: a softbox upper left, a reflector right, a dark floor.
    sky = np.where(ry >= 0, 0.22 + 0.3 * ry, 0.1 + 0.08 * (1 + ry))
    softbox = 2.4 * np.exp(-(((rx + 0.55) / 0.2) ** 2) - ((ry - 0.3) / 0.4) ** 2)
    reflector = 0.7 * np.exp(-(((rx - 0.72) / 0.16) ** 2) - (ry / 0.55) ** 2)
    return (sky + softbox + reflector).astype(np.float32)


def _shade(
    normal: tuple[np.ndarray, ...],
    albedo: np.ndarray,
    aux: np.ndarray,
    finish: _Finish,
    light: np.ndarray,
) -> np.ndarray:
    """Shade N surface points: normals (3 arrays of N, camera frame), albedo and aux (N, 3),
    light falloff (N,). Dielectrics get diffuse light, highlights and a little reflection;
    metals (aux metal = 1) reflect the studio, tinted by their albedo."""
    nx, ny, nz = (np.asarray(v, np.float32) for v in normal)
    light = np.asarray(light, np.float32)
    albedo = np.asarray(albedo, np.float32)
    gloss, metal = aux[:, 1].astype(np.float32), aux[:, 2].astype(np.float32)
    ndl = np.clip(nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2], 0, None)
    ndf = np.clip(nx * _FILL[0] + ny * _FILL[1] + nz * _FILL[2], 0, None)
    ndh = np.clip(nx * _HALF[0] + ny * _HALF[1] + nz * _HALF[2], 0, None)
    ndv = np.clip(nz, 0, 1)
    diffuse = finish.ambient + finish.diffuse * ndl * light + finish.fill * ndf
    diffuse += finish.translucency * (1 - ndl)
    spec = finish.specular * _power(ndh, finish.shininess) + finish.sheen * _power(ndh, 6)
    spec *= light
    env = _environment(2 * ndv * nx, 2 * ndv * ny)
    fresnel = finish.reflect * (0.25 + 0.75 * _power(1 - ndv, 4))
    dielectric = albedo * diffuse[:, None] + (gloss * (spec + fresnel * env))[:, None]
    metallic = albedo * (finish.metal_base * diffuse + finish.metal_env * env * light)[:, None]
    metallic += albedo * (gloss * spec)[:, None]
    return (dielectric + metal[:, None] * (metallic - dielectric)).astype(np.float32)


def _bump(height_map: np.ndarray, inner: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
    """Slope of a height map sampled into the image (object units per object unit), zeroed
    near the silhouette where the map's edge would fake a ridge."""
    gx = cv2.Sobel(height_map, cv2.CV_32F, 1, 0, ksize=3) * (scale / 8)
    gy = cv2.Sobel(height_map, cv2.CV_32F, 0, 1, ksize=3) * (scale / 8)
    return gx * inner, gy * inner


def _to_layer(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray, rgb, top, left) -> _Layer:
    layer_rgb = np.zeros((*mask.shape, 3), np.float32)
    layer_rgb[rows, cols] = rgb
    return _Layer(layer_rgb, mask, top, left)


# --- primitives ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """A body of revolution: radius as a function of height, tabulated finely and smoothed."""

    ys: np.ndarray
    rs: np.ndarray

    @classmethod
    def from_points(cls, points: list[tuple[float, float]], smooth: float = 3.0) -> _Profile:
        pys, prs = (np.asarray(v, float) for v in zip(*points, strict=True))
        ys = np.linspace(pys[0], pys[-1], 2048)
        rs = _interpolate_monotone(pys, prs, ys)
        pad = int(4 * smooth)
        kernel = np.exp(-0.5 * (np.arange(-pad, pad + 1) / smooth) ** 2)
        rs = np.convolve(np.pad(rs, pad, mode="edge"), kernel / kernel.sum(), mode="valid")
        return cls(ys, np.maximum(rs, 0.0))

    @property
    def top(self) -> float:
        return float(self.ys[-1])

    @property
    def bottom(self) -> float:
        return float(self.ys[0])

    def radius(self, y: np.ndarray) -> np.ndarray:
        return np.interp(y, self.ys, self.rs).astype(np.float32)

    def slope(self, y: np.ndarray) -> np.ndarray:
        return np.interp(y, self.ys, np.gradient(self.rs, self.ys)).astype(np.float32)


def _interpolate_monotone(xs: np.ndarray, ys: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson monotone cubic: smooth like a spline, but a profile never overshoots."""
    h = np.diff(xs)
    delta = np.diff(ys) / h
    d = np.zeros_like(ys)
    same = delta[:-1] * delta[1:] > 0
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    safe_a, safe_b = np.where(same, delta[:-1], 1), np.where(same, delta[1:], 1)
    d[1:-1] = np.where(same, (w1 + w2) / (w1 / safe_a + w2 / safe_b), 0.0)
    d[0], d[-1] = delta[0], delta[-1]
    k = np.clip(np.searchsorted(xs, at, side="right") - 1, 0, len(xs) - 2)
    t = (at - xs[k]) / h[k]
    t2, t3 = t * t, t * t * t
    return (
        (2 * t3 - 3 * t2 + 1) * ys[k]
        + (t3 - 2 * t2 + t) * h[k] * d[k]
        + (-2 * t3 + 3 * t2) * ys[k + 1]
        + (t3 - t2) * h[k] * d[k + 1]
    )


@dataclass(frozen=True)
class _Interior:
    """The inside of an open vessel: its inner profile (mouth down to the floor), its glaze."""

    profile: _Profile
    colour: Colour


def _revolve(
    scene: _Scene,
    cam: _Camera,
    profile: _Profile,
    texture: _Texture,
    *,
    x0: float = 0.0,
    z0: float = 0.0,
    rot: float = 0.0,
    interior: _Interior | None = None,
    glass: Colour | None = None,
) -> _Layer | None:
    """Render a body of revolution standing at (x0, z0), turned by `rot` (fraction of a turn).

    The texture wraps around (u = angle, v = height, top row = top of the object). A camera
    looking down sees, at each pixel, the highest horizontal disc of the solid covering it: the
    discs are painted bottom up, each pixel keeping its level, then refined by a Newton step."""
    c, s = math.cos(cam.elevation), math.sin(cam.elevation)
    scale = cam.scale
    rmax = float(profile.rs.max())
    left = max(0, math.floor(cam.cx + (x0 - rmax) * scale) - 2)
    right = min(scene.width, math.ceil(cam.cx + (x0 + rmax) * scale) + 3)
    top = max(0, math.floor(cam.cy - (profile.top * c - (z0 - rmax) * s) * scale) - 2)
    bottom = min(
        scene.height, math.ceil(cam.cy - (profile.bottom * c - (z0 + rmax) * s) * scale) + 3
    )
    if right <= left or bottom <= top:
        return None
    count = max(8, int((profile.top - profile.bottom) * c * scale / 0.5))
    levels = np.linspace(profile.bottom, profile.top, count)
    radii = profile.radius(levels)
    level_map = np.full((bottom - top, right - left), -1.0, np.float32)
    centre_x = round((cam.cx + x0 * scale - left) * 16)
    centre_y = np.round((cam.cy - (levels * c - z0 * s) * scale - top) * 16).astype(np.int64)
    axes_x = np.round(radii * scale * 16).astype(np.int64)
    axes_y = np.round(radii * s * scale * 16).astype(np.int64)
    for i in range(count):
        if axes_x[i] > 0:
            axes = (int(axes_x[i]), int(axes_y[i]))
            centre = (centre_x, int(centre_y[i]))
            cv2.ellipse(level_map, centre, axes, 0, 0, 360, float(i), -1, cv2.LINE_8, 4)
    mask = level_map >= 0
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    step = levels[1] - levels[0]
    px = ((cols + left - cam.cx) / scale - x0).astype(np.float32)
    py = ((cam.cy - (rows + top)) / scale).astype(np.float32)
    y = levels.astype(np.float32)[level_map[rows, cols].astype(np.int64)]
    r = profile.radius(y)
    zl = (y * c - py) / s - z0
    g = px * px + zl * zl - r * r
    dg = 2 * zl * c / s - 2 * r * profile.slope(y)
    y = np.clip(np.where(dg > 1e-6, y - g / np.maximum(dg, 1e-6), y), y, y + step)
    r = profile.radius(y)
    zl = (y * c - py) / s - z0
    rho = np.sqrt(px * px + zl * zl) + 1e-9
    # A pixel well inside its disc sees the disc's upper face (a lid top, a rim), not the side.
    cap = px * px + zl * zl < 0.9 * r * r
    nx, ny, nz = _normalise(px / rho, -profile.slope(y), zl / rho)
    nx, ny, nz = np.where(cap, 0.0, nx), np.where(cap, 1.0, ny), np.where(cap, 0.0, nz)
    u = (np.arctan2(px, zl) / (2 * math.pi) + 0.5 + rot) % 1.0
    v = (profile.top - y) / (profile.top - profile.bottom)
    tex_h, tex_w = texture.shape
    map_x = np.zeros(mask.shape, np.float32)
    map_y = np.zeros(mask.shape, np.float32)
    map_x[rows, cols] = u * tex_w - 0.5
    map_y[rows, cols] = v * (tex_h - 1)
    albedo = cv2.remap(texture.albedo, map_x, map_y, cv2.INTER_LINEAR, None, cv2.BORDER_WRAP)
    aux = cv2.remap(texture.aux, map_x, map_y, cv2.INTER_LINEAR, None, cv2.BORDER_WRAP)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    gx, gy = _bump(np.ascontiguousarray(aux[:, :, 0]), inner, scale)
    albedo, aux = albedo[rows, cols], aux[rows, cols]
    nx, ny, nz = cam.to_camera(nx, ny, nz)
    normal = _normalise(nx - gx[rows, cols], ny + gy[rows, cols], nz)
    light = scene.pixel_light(rows + top, cols + left)
    if glass is not None:
        # Glass is mostly what lies behind it; the surface adds reflections and a faint body.
        ratio = np.abs(px) / np.maximum(r, 1e-6)
        rgb = _shade_glass(scene, normal, ratio, rows + top, cols + left, glass, light)
        rgb += _shade(normal, albedo * 0.12, aux, scene.finish, light)
    else:
        rgb = _shade(normal, albedo, aux, scene.finish, light)
    if interior is not None:
        mouth = float(interior.profile.radius(np.array([profile.top]))[0])
        cavity = cap & (y >= profile.top - 2 * step) & (rho < mouth)
        if cavity.any():
            rgb[cavity] = _shade_cavity(
                cam, interior, px[cavity], py[cavity], z0, scene.finish, light[cavity]
            )
    return _to_layer(mask, rows, cols, rgb, top, left)


def _shade_cavity(
    cam: _Camera,
    interior: _Interior,
    px: np.ndarray,
    py: np.ndarray,
    z0: float,
    finish: _Finish,
    light: np.ndarray,
) -> np.ndarray:
    """Shade the inside of an open vessel seen through its mouth (walls, floor, rim shadow)."""
    inner = interior.profile
    c, s = math.cos(cam.elevation), math.sin(cam.elevation)
    # March each ray down from the mouth: it meets the wall at the first level where it lies
    # outside the inner radius, or else the floor.
    steps = np.linspace(inner.top, inner.bottom, 32)
    radii = inner.radius(steps)
    px2 = px * px
    hit = np.full(px.size, steps[-1])
    on_wall = np.zeros(px.size, bool)
    g_prev = px2 + ((steps[0] * c - py) / s - z0) ** 2 - radii[0] ** 2
    for k in range(1, len(steps)):
        g = px2 + ((steps[k] * c - py) / s - z0) ** 2 - radii[k] ** 2
        new = (g > 0) & ~on_wall
        if new.any():
            t = np.clip(g_prev[new] / np.minimum(g_prev[new] - g[new], -1e-12), 0, 1)
            hit[new] = steps[k - 1] + (steps[k] - steps[k - 1]) * t
            on_wall |= new
        g_prev = g
    y = hit
    zl = (y * c - py) / s - z0
    rho = np.sqrt(px * px + zl * zl) + 1e-9
    wall = _normalise(-px / rho, inner.slope(y), -zl / rho)
    nx = np.where(on_wall, wall[0], 0.0)
    ny = np.where(on_wall, wall[1], 1.0)
    nz = np.where(on_wall, wall[2], 0.0)
    # The rim shades the inside: follow the key light up to the mouth and see if it gets out.
    lo = np.array([_LIGHT[0], _LIGHT[1] * c + _LIGHT[2] * s, -_LIGHT[1] * s + _LIGHT[2] * c])
    reach = (inner.top - y) / max(lo[1], 1e-3)
    out_r = np.sqrt((px + reach * lo[0]) ** 2 + (zl + reach * lo[2]) ** 2)
    mouth = inner.radius(np.array([inner.top]))[0]
    lit = np.clip((mouth - out_r) / (0.06 * mouth) + 0.5, 0, 1)
    depth = (y - inner.bottom) / (inner.top - inner.bottom)
    occlusion = (0.55 + 0.45 * depth).astype(np.float32)
    albedo = np.tile(_f32(interior.colour) ** 2, (px.size, 1))
    aux = np.tile(_f32([0, 1, 0]), (px.size, 1))
    normal = cam.to_camera(nx, ny, nz)
    return _shade(normal, albedo, aux, finish, light * lit) * occlusion[:, None]


def _shade_glass(
    scene: _Scene,
    normal: tuple[np.ndarray, ...],
    ratio: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    tint: Colour,
    light: np.ndarray,
) -> np.ndarray:
    """Glass shows the backdrop bent by refraction, tinted by the thickness it crosses.

    `ratio` is the distance from the axis over the radius: where the far wall's silhouette
    shows through the near one, the light crosses more glass and a darker line appears."""
    nx, ny, nz = normal
    bend = 0.05 * scene.long_edge
    src_r = np.clip(rows + ny * bend, 0, scene.height - 1).astype(np.int64)
    src_c = np.clip(cols - nx * bend, 0, scene.width - 1).astype(np.int64)
    behind = scene.backdrop[src_r, src_c] * 1.5
    # Light crosses two walls; near the silhouette it runs along them, so edges go deep.
    grazing = 1 - np.clip(nz, 0, 1)
    far_wall = np.exp(-(((ratio - 0.88) / 0.035) ** 2))
    thickness = 1.0 + 6.0 * grazing**3 + 1.5 * far_wall
    transmit = _f32(tint) ** 2
    rgb = behind[:, None] * np.exp(thickness[:, None] * np.log(transmit)[None, :])
    # The far wall's inside catches the key light: a soft glow on the side away from it.
    glow = 0.05 * np.clip(nx, 0, 1) * (1 - grazing)
    rgb += glow[:, None] * transmit[None, :]
    return (rgb * (0.9 + 0.1 * light[:, None])).astype(np.float32)


def _flat(
    scene: _Scene,
    texture: _Texture,
    corners: np.ndarray,
    normal: tuple[float, float, float],
    finish: _Finish,
    scale: float,
    clip: np.ndarray | None = None,
) -> _Layer | None:
    """Render a flat textured quad.

    `corners` are the image points of the texture's top-left, top-right, bottom-right and
    bottom-left corners; `normal` is in the camera frame; `scale` is image pixels per object
    unit (for the height map's slopes); `clip`, an image polygon, trims the outline."""
    left = max(0, math.floor(corners[:, 0].min()) - 1)
    right = min(scene.width, math.ceil(corners[:, 0].max()) + 2)
    top = max(0, math.floor(corners[:, 1].min()) - 1)
    bottom = min(scene.height, math.ceil(corners[:, 1].max()) + 2)
    if right <= left or bottom <= top:
        return None
    tex_h, tex_w = texture.shape
    source = _f32([[0, 0], [tex_w - 1, 0], [tex_w - 1, tex_h - 1], [0, tex_h - 1]])
    target = (corners - [left, top]).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    size = (right - left, bottom - top)
    albedo = cv2.warpPerspective(texture.albedo, matrix, size, flags=cv2.INTER_LINEAR)
    aux = cv2.warpPerspective(texture.aux, matrix, size, flags=cv2.INTER_LINEAR)
    if texture.alpha is not None:
        alpha = cv2.warpPerspective(texture.alpha, matrix, size, flags=cv2.INTER_LINEAR)
    else:
        alpha = np.zeros(size[::-1], np.float32)
        cv2.fillConvexPoly(alpha, _pts(target), 1.0, cv2.LINE_8, 4)
    mask = alpha > 0.5
    if clip is not None:
        outline = np.zeros(mask.shape, np.uint8)
        cv2.fillPoly(outline, [_pts(clip - [left, top])], 1, cv2.LINE_8, 4)
        mask &= outline.astype(bool)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    gx, gy = _bump(np.ascontiguousarray(aux[:, :, 0]), inner, scale)
    n = [np.full(rows.size, value, np.float32) for value in normal]
    normals = _normalise(n[0] - gx[rows, cols], n[1] + gy[rows, cols], n[2])
    light = scene.pixel_light(rows + top, cols + left)
    rgb = _shade(normals, albedo[rows, cols], aux[rows, cols], finish, light)
    return _to_layer(mask, rows, cols, rgb, top, left)


def _cuboid(
    scene: _Scene,
    cam: _Camera,
    size: tuple[float, float, float],
    faces: dict[str, _Texture],
    finish: _Finish,
    *,
    yaw: float,
) -> None:
    """Add the visible faces of a box (width, height, depth) turned by `yaw` degrees."""
    w, h, d = size
    a = math.radians(yaw)
    ca, sa = math.cos(a), math.sin(a)

    def point(x: float, y: float, z: float) -> tuple[float, float]:
        return cam.project(x * ca + z * sa, y, -x * sa + z * ca)

    hw, hd = w / 2, d / 2
    # Corners listed as the texture's top-left, top-right, bottom-right, bottom-left.
    quads = {
        "front": ([(-hw, h, hd), (hw, h, hd), (hw, 0, hd), (-hw, 0, hd)], (0, 0, 1)),
        "right": ([(hw, h, hd), (hw, h, -hd), (hw, 0, -hd), (hw, 0, hd)], (1, 0, 0)),
        "back": ([(hw, h, -hd), (-hw, h, -hd), (-hw, 0, -hd), (hw, 0, -hd)], (0, 0, -1)),
        "left": ([(-hw, h, -hd), (-hw, h, hd), (-hw, 0, hd), (-hw, 0, -hd)], (-1, 0, 0)),
        "top": ([(-hw, h, -hd), (hw, h, -hd), (hw, h, hd), (-hw, h, hd)], (0, 1, 0)),
    }
    for name, (points, (nx, ny, nz)) in quads.items():
        normal = cam.normal(nx * ca + nz * sa, ny, -nx * sa + nz * ca)
        if normal[2] <= 0.02 or name not in faces:
            continue
        corners = np.array([point(*p) for p in points])
        scene.add(_flat(scene, faces[name], corners, normal, finish, cam.scale))
    footprint = [point(-hw, 0, hd), point(hw, 0, hd), point(hw, 0, -hd), point(-hw, 0, -hd)]
    scene.contact.append(np.array(footprint))


def _square(cx: float, cy: float, half_w: float, half_h: float | None = None) -> np.ndarray:
    """Image corners of an upright rectangle centred at (cx, cy), in texture-corner order."""
    hh = half_w if half_h is None else half_h
    return np.array(
        [
            [cx - half_w, cy - hh],
            [cx + half_w, cy - hh],
            [cx + half_w, cy + hh],
            [cx - half_w, cy + hh],
        ]
    )


# --- painting helpers (coordinates are floats; OpenCV gets them in 1/16 pixel) ---------------


def _pts(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * 16).astype(np.int32)


def _pt(point: np.ndarray | tuple[float, float]) -> tuple[int, int]:
    return round(float(point[0]) * 16), round(float(point[1]) * 16)


def _xy(x: float, y: float) -> np.ndarray:
    return np.array([x, y], dtype=float)


def _polyline(img: np.ndarray, points: np.ndarray, value: float, width: float) -> None:
    cv2.polylines(img, [_pts(points)], False, value, max(1, round(width)), cv2.LINE_AA, 4)


def _circle(img: np.ndarray, centre, radius: float, value: float, width: float = -1) -> None:
    """A disc (width < 0) or a ring."""
    thickness = -1 if width < 0 else max(1, round(width))
    cv2.circle(img, _pt(centre), round(radius * 16), value, thickness, cv2.LINE_AA, 4)


def _ellipse(
    img: np.ndarray,
    centre,
    axes: tuple[float, float],
    value: float,
    *,
    angle: float = 0.0,
    arc: tuple[float, float] = (0, 360),
    width: float = -1,
) -> None:
    thickness = -1 if width < 0 else max(1, round(width))
    size = (round(axes[0] * 16), round(axes[1] * 16))
    cv2.ellipse(img, _pt(centre), size, angle, arc[0], arc[1], value, thickness, cv2.LINE_AA, 4)


def _rectangle(img: np.ndarray, a, b, value: float, width: float = -1) -> None:
    thickness = -1 if width < 0 else max(1, round(width))
    cv2.rectangle(img, _pt(a), _pt(b), value, thickness, cv2.LINE_AA, 4)


def _fill_polygon(img: np.ndarray, points: np.ndarray, value: float) -> None:
    cv2.fillPoly(img, [_pts(points)], value, cv2.LINE_AA, 4)


class _Ink:
    """A single-channel uint8 layer that motifs are painted into, anti-aliased."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.img = np.zeros(shape, np.uint8)

    def amount(self, blur: float = 0.0) -> np.ndarray:
        out = self.img.astype(np.float32) / 255
        return cv2.GaussianBlur(out, (0, 0), blur) if blur > 0 else out


def _make_noise(
    shape: tuple[int, int],
    rng: np.random.Generator,
    cells: tuple[float, ...],
    weights: tuple[float, ...],
) -> np.ndarray:
    """Zero-mean value noise: per octave, a random grid of cells `cell` long edges wide,
    smoothly upsampled."""
    h, w = shape
    long_edge = max(h, w)
    out = np.zeros((h, w), np.float32)
    for cell, weight in zip(cells, weights, strict=True):
        px = max(1.0, cell * long_edge)
        grid = rng.random((int(h / px) + 3, int(w / px) + 3), dtype=np.float32) - 0.5
        out += weight * 2 * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out


def _make_seamless(field: np.ndarray) -> np.ndarray:
    """Blend a field with itself shifted half a turn so that it wraps around horizontally."""
    w = field.shape[1]
    ramp = np.abs(np.sin(np.linspace(0, math.pi, w, endpoint=False, dtype=np.float32)))
    return field * ramp + np.roll(field, w // 2, axis=1) * (1 - ramp)


def _lin(colour: Colour) -> np.ndarray:
    return _f32(colour) ** 2


def _mix(base: np.ndarray, colour: Colour, amount: np.ndarray) -> np.ndarray:
    return base + (_lin(colour) - base) * amount[:, :, None]


def _fill(shape: tuple[int, int], colour: Colour) -> np.ndarray:
    return np.broadcast_to(_lin(colour), (*shape, 3)).astype(np.float32)


def _aux(shape: tuple[int, int], height, gloss, metal) -> np.ndarray:
    aux = np.empty((*shape, 3), np.float32)
    aux[:, :, 0], aux[:, :, 1], aux[:, :, 2] = height, gloss, metal
    return aux


def _glaze_base(scene: _Scene, shape: tuple[int, int], colour: Colour, wrap: bool) -> np.ndarray:
    field = _make_noise(shape, scene.grain, (0.2, 0.05, 0.006), (0.05, 0.03, 0.02))
    if wrap:
        field = _make_seamless(field)
    return _fill(shape, colour) * (1 + field)[:, :, None]


def _texture_size(cam: _Camera, width: float, height: float) -> tuple[int, int]:
    """(rows, columns) for a surface of the given extent: about a texel per image pixel,
    capped so that zoomed views stay fast (they get a little softer instead)."""
    tw, th = max(64, int(width * cam.scale)), max(64, int(height * cam.scale))
    cap = 3_500_000
    if tw * th > cap:
        f = math.sqrt(cap / (tw * th))
        tw, th = int(tw * f), int(th * f)
    return th, tw


# --- motifs ----------------------------------------------------------------------------------


def _paint_dragon(
    ink: _Ink,
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    *,
    scales: bool = True,
    facing: int = 1,
) -> None:
    """A sinuous dragon chasing a flaming pearl in the box (x, y, width, height).

    `facing` is +1 when the head looks right, -1 when it looks left; points run head to tail.
    """
    x, y, w, h = box
    img = ink.img
    t = np.linspace(0, 1, 160)
    phase = rng.uniform(0, 2 * math.pi)
    waves = rng.uniform(1.1, 1.5)
    sx = x + w * (1 - t if facing > 0 else t)
    sy = y + h * (0.5 + 0.3 * np.sin(2 * math.pi * waves * t + phase) + 0.05 * np.sin(9 * t))
    thick = h * 0.12 * (0.3 + 0.7 * np.sin(math.pi * np.clip(0.1 + t * 0.92, 0, 1)) ** 0.6)
    dx, dy = np.gradient(sx), np.gradient(sy)
    norm = np.hypot(dx, dy) + 1e-9
    nx, ny = -dy / norm, dx / norm
    upper = np.stack([sx + nx * thick, sy + ny * thick], 1)
    lower = np.stack([sx - nx * thick, sy - ny * thick], 1)
    _fill_polygon(img, np.concatenate([upper, lower[::-1]]), 250)
    line = max(1.0, h * 0.012)
    # A short crest of spines along one edge of the back.
    for i in range(14, 140, 10):
        tip = upper[i] + _xy(nx[i], ny[i]) * thick[i] * 0.55 - _xy(dx[i], dy[i]) * 2
        _fill_polygon(img, np.array([upper[i - 2], tip, upper[i + 3]]), 230)
    if scales:
        angle_of = np.degrees(np.arctan2(dy, dx))
        for i in range(10, 152, 4):
            for k in (-0.5, 0.0, 0.5):
                centre = _xy(sx[i], sy[i]) + _xy(nx[i], ny[i]) * thick[i] * k
                radius = max(1.0, thick[i] * 0.3)
                _ellipse(
                    img,
                    centre,
                    (radius, radius),
                    90,
                    angle=float(angle_of[i]),
                    arc=(200, 340),
                    width=line * 0.6,
                )
    # Four legs, each ending in claws, with a flame wisp at the elbow.
    for ti, sign in ((0.17, 1), (0.3, -1), (0.6, 1), (0.74, -1)):
        i = int(ti * 159)
        root = _xy(sx[i], sy[i])
        elbow = root + _xy(nx[i], ny[i]) * thick[i] * 2.0 * sign - _xy(facing * w * 0.03, 0)
        foot = elbow + _xy(facing * w * 0.045, h * 0.07 * sign)
        _polyline(img, np.array([root, elbow, foot]), 230, thick[i] * 0.55)
        for claw in (-0.8, 0.0, 0.8):
            tip = foot + h * 0.045 * _xy(math.cos(claw) * facing, math.sin(claw) * sign)
            _polyline(img, np.array([foot, tip]), 230, line * 1.2)
        ft = np.linspace(0, 1, 8)
        wisp = elbow + h * 0.06 * np.stack([-facing * ft, 0.5 * np.sin(ft * 3) * sign], 1)
        _polyline(img, wisp, 200, line)
    # The head: a snout, a jaw, horns swept back, whiskers, an eye left blank.
    head = _xy(sx[0], sy[0])
    hs = h * 0.12
    _ellipse(img, head, (hs * 1.2, hs * 0.85), 230)
    snout = head + _xy(facing * hs * 1.4, -hs * 0.1)
    _polyline(img, np.array([head, snout]), 230, hs * 0.75)
    jaw = np.array([head + _xy(facing * hs * 0.3, hs * 0.5), snout + _xy(0, hs * 0.6)])
    _polyline(img, jaw, 230, line * 2)
    for side in (-1, 1):
        horn = head + _xy(-facing * hs * 1.0, -hs * (1.0 + 0.3 * side))
        tip = horn + _xy(-facing * hs * 0.6, -hs * 0.2)
        _polyline(img, np.array([head, horn, tip]), 230, line * 1.8)
        wt = np.linspace(0, 1, 20)
        whisker = np.stack(
            [snout[0] + facing * hs * 2.5 * wt, snout[1] + side * hs * 0.6 * np.sin(wt * 5)], 1
        )
        _polyline(img, whisker, 210, line)
    eye = head + _xy(facing * hs * 0.25, -hs * 0.3)
    _circle(img, eye, hs * 0.3, 40)
    _circle(img, eye, hs * 0.13, 230)
    _paint_pearl(ink, head + _xy(facing * w * 0.2, -h * 0.15), h * 0.07)


def _paint_pearl(ink: _Ink, centre: np.ndarray, radius: float) -> None:
    """The flaming pearl: a ring with a spiral inside and flames around."""
    img = ink.img
    _circle(img, centre, radius, 230, width=radius * 0.18)
    t = np.linspace(0, 4 * math.pi, 60)
    spiral = centre + np.stack([np.cos(t), np.sin(t)], 1) * (radius * t / (4 * math.pi))[:, None]
    _polyline(img, spiral, 200, max(1.0, radius * 0.1))
    ft = np.linspace(0, 1, 10)
    for k in range(7):
        a = k / 7 * 2 * math.pi
        base = centre + radius * 1.1 * _xy(math.cos(a), math.sin(a))
        flame = base + radius * 0.9 * np.stack(
            [np.cos(a) * ft - 0.4 * np.sin(a) * np.sin(ft * 3), np.sin(a) * ft], 1
        )
        _polyline(img, flame, 200, max(1.0, radius * 0.12))


def _paint_cloud(ink: _Ink, centre: np.ndarray, size: float, value: int, filled: bool) -> None:
    """A ruyi cloud scroll: three lobes and a trailing wisp."""
    img = ink.img
    width = -1 if filled else size * 0.09
    for dx, dy, r in ((-0.55, 0.1, 0.38), (0.0, -0.15, 0.5), (0.55, 0.1, 0.38)):
        lobe = centre + size * _xy(dx, dy)
        _circle(img, lobe, size * r, value, width)
        if not filled:
            t = np.linspace(0, 3 * math.pi, 30)
            curl = lobe + size * r * 0.6 * np.stack([np.cos(t), np.sin(t)], 1) * (t / 10)[:, None]
            _polyline(img, curl, value, size * 0.07)
    t = np.linspace(0, 1, 30)
    wisp = centre + size * np.stack([0.5 + 1.6 * t, 0.35 + 0.25 * np.sin(t * 6)], 1)
    _polyline(img, wisp, value, size * (0.2 if filled else 0.09))


def _paint_glyph(
    img: np.ndarray,
    x: float,
    y: float,
    size: float,
    rng: np.random.Generator,
    value: float,
    width: float,
) -> None:
    """A square-script look-alike (not a real character): one or two components side by side
    or stacked, each built from horizontal, vertical and falling strokes, dots and boxes."""
    layout = rng.integers(0, 3)
    if layout == 0:
        boxes = [(0.0, 0.0, 1.0, 1.0)]
    elif layout == 1:
        split = rng.uniform(0.35, 0.5)
        boxes = [(0.0, 0.0, split, 1.0), (split + 0.06, 0.0, 1.0 - split - 0.06, 1.0)]
    else:
        split = rng.uniform(0.3, 0.5)
        boxes = [(0.0, 0.0, 1.0, split), (0.0, split + 0.06, 1.0, 1.0 - split - 0.06)]
    for bx, by, bw, bh in boxes:
        for k in range(int(rng.integers(3, 6))):
            kind = k if k < 2 else int(rng.integers(0, 6))
            a, b = rng.uniform(0.0, 1.0, 2)
            if kind == 0:
                stroke = np.array([[0.05, a], [0.95, a]])
            elif kind == 1:
                stroke = np.array([[a, 0.05], [a, 0.95]])
            elif kind == 2:
                stroke = np.array([[0.5 + 0.3 * a, 0.1], [0.45, 0.5], [0.05, 0.9]])
            elif kind == 3:
                stroke = np.array([[0.4, 0.35], [0.7, 0.7], [0.95, 0.9]])
            elif kind == 4:
                stroke = np.array([[a, b], [a + 0.1, b + 0.12]])
            else:
                lo, hi = 0.2 + 0.2 * a, 0.6 + 0.3 * b
                stroke = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi], [lo, lo]])
            placed = np.stack([bx + bw * stroke[:, 0], by + bh * stroke[:, 1]], 1)
            _polyline(img, np.clip(placed, 0, 1) * size + [x, y], value, width)


def _paint_inscription(
    img: np.ndarray,
    box: tuple[float, float, float, float],
    columns: int,
    rows: int,
    rng: np.random.Generator,
    value: float,
    *,
    fill: float = 1.0,
) -> None:
    """Columns of characters read top to bottom, right to left; some columns end early."""
    x, y, w, h = box
    cell = min(w / columns, h / rows)
    glyph = cell * 0.72
    width = max(1.0, cell * 0.075)
    for col in range(columns):
        length = rows if rng.random() < fill else int(rng.integers(rows // 3, rows))
        cx = x + w - (col + 0.5) * (w / columns) - glyph / 2
        for row in range(length):
            _paint_glyph(img, cx, y + row * cell + (cell - glyph) / 2, glyph, rng, value, width)


def _paint_seal_mark(
    img: np.ndarray,
    centre: tuple[float, float],
    size: float,
    rng: np.random.Generator,
    value: float,
    chars: int = 4,
) -> None:
    """A reign mark: characters in a double square frame, as on the base of palace porcelain."""
    cx, cy = centre
    half = size / 2
    width = max(1.0, size * 0.025)
    for inset in (0.0, 0.08):
        d = half * (1 - inset)
        cv2.polylines(img, [_pts(_square(cx, cy, d))], True, value, round(width), cv2.LINE_AA, 4)
    rows = 2 if chars == 4 else 3
    inner = size * 0.76
    cell_w, cell_h = inner / 2, inner / rows
    glyph = min(cell_w, cell_h) * 0.82
    # Read top to bottom, right column first.
    for col in range(2):
        for row in range(rows):
            gx = cx + inner / 2 - (col + 0.5) * cell_w - glyph / 2
            gy = cy - inner / 2 + (row + 0.5) * cell_h - glyph / 2
            _paint_glyph(img, gx, gy, glyph, rng, value, width)


def _paint_bands(img: np.ndarray, ys: list[float], value: float, width: float) -> None:
    w = img.shape[1]
    for y in ys:
        _polyline(img, np.array([[0, y], [w, y]]), value, width)


def _paint_lappets(
    img: np.ndarray, y: float, height: float, count: int, value: float, width: float, up: bool
) -> None:
    """A band of pointed petals (lotus lappets) round the body, pointing up or down."""
    pitch = img.shape[1] / count
    t = np.linspace(0, 1, 24)
    sign = -1 if up else 1
    arch = np.sin(math.pi * t) ** 0.6
    for i in range(count):
        x = i * pitch
        _polyline(img, np.stack([x + pitch * t, y + sign * height * arch], 1), value, width)
        inner = np.stack([x + pitch * (0.2 + 0.6 * t), y + sign * height * 0.6 * arch], 1)
        _polyline(img, inner, value, width)


def _paint_waves(img: np.ndarray, y: float, height: float, value: float, width: float) -> None:
    w = img.shape[1]
    x = np.linspace(0, w, max(8, w // 4))
    for k in range(3):
        wave = np.stack([x, y + k * height / 3 + height * 0.12 * np.sin(x / height * 5 + k)], 1)
        _polyline(img, wave, value, width)


def _paint_lotus_scroll(layers: dict[str, _Ink], y: float, height: float, rng) -> None:
    """A continuous lotus scroll: a green stem, leaves and pink flowers (for painted enamel)."""
    w = layers["stem"].img.shape[1]

    def stem_y(x: float) -> float:
        return y + height * 0.5 + height * 0.25 * math.sin(x / w * 2 * math.pi * 4)

    x = np.linspace(0, w, max(16, w // 3))
    stem = np.stack([x, y + height * 0.5 + height * 0.25 * np.sin(x / w * 2 * math.pi * 4)], 1)
    _polyline(layers["stem"].img, stem, 255, max(1.0, height * 0.03))
    for k in range(8):
        fx = (k + 0.5) * w / 8
        fy = stem_y(fx) + height * (0.18 if k % 2 else -0.18)
        for p in range(8):
            a = p / 8 * 360 + rng.uniform(-8, 8)
            petal = _xy(fx, fy) + height * 0.13 * _xy(
                math.cos(math.radians(a)), math.sin(math.radians(a))
            )
            _ellipse(layers["flower"].img, petal, (height * 0.14, height * 0.06), 255, angle=a)
        _circle(layers["heart"].img, (fx, fy), height * 0.06, 255)
        for side in (-1, 1):
            lx = fx + side * w / 24
            leaf = (lx, stem_y(lx))
            _ellipse(layers["leaf"].img, leaf, (height * 0.16, height * 0.07), 255, angle=30 * side)


# --- textures for bodies of revolution (u round the body, v down it) -------------------------


def _porcelain_texture(scene: _Scene, shape: tuple[int, int], kind: str) -> _Texture:
    """Blue-and-white: cobalt bands, a dragon chasing a pearl in front, clouds behind."""
    h, w = shape
    ink = _Ink(shape)
    line = max(1.0, h * 0.006)
    if kind == "vase":
        _paint_bands(ink.img, [h * f for f in (0.06, 0.075, 0.2, 0.215, 0.86, 0.875)], 220, line)
        _paint_waves(ink.img, h * 0.015, h * 0.04, 200, line)
        _paint_lappets(ink.img, h * 0.2, h * 0.07, 10, 210, line, up=True)
        _paint_lappets(ink.img, h * 0.86, h * 0.06, 12, 210, line, up=False)
        main = (w * 0.33, h * 0.3, w * 0.34, h * 0.45)
        cloud_y = h * 0.55
    else:
        _paint_bands(ink.img, [h * 0.05, h * 0.07, h * 0.8, h * 0.82], 220, line)
        _paint_waves(ink.img, h * 0.84, h * 0.1, 200, line)
        main = (w * 0.3, h * 0.14, w * 0.4, h * 0.6)
        cloud_y = h * 0.45
    _paint_dragon(ink, main, scene.design)
    # Clouds drift round the back, across the texture's seam: paint them on both sides of it.
    for k in range(5):
        cx = (k + 0.5) / 5 * w * 0.38 - w * 0.19
        cy = cloud_y + h * 0.1 * math.sin(k * 1.7)
        for dx in (0, w):
            _paint_cloud(ink, _xy(cx + dx, cy), h * 0.06, 210, filled=False)
    amount = ink.amount(blur=max(0.6, h * 0.0015))
    # Cobalt pools where it is thick: darker flecks ("heaped and piled").
    flecks = np.clip(_make_noise(shape, scene.grain, (0.004, 0.0015), (1.0, 0.6)) * 2, 0, 1)
    amount = np.clip(amount * (0.9 + 0.3 * flecks), 0, 1)
    albedo = _mix(_glaze_base(scene, shape, _PORCELAIN, wrap=True), _COBALT, amount)
    return _Texture(albedo, _aux(shape, 0.0005 * amount, 1.0, 0.0))


def _crackle_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """A grey-green crackle glaze with brown iron bands, the crazing stained dark."""
    h, w = shape
    # Zero crossings of smooth noise close into cells, much like a crackle network.
    coarse = _make_seamless(_make_noise(shape, scene.grain, (0.035, 0.012), (0.8, 0.2)))
    fine = _make_seamless(_make_noise(shape, scene.grain, (0.011,), (1.0,)))
    px = 1.0 / (0.035 * max(h, w))
    crack = np.exp(-((coarse / (1.2 * px)) ** 2)) * 0.85 + np.exp(-((fine / (2.5 * px)) ** 2)) * 0.3
    crack = np.clip(crack, 0, 1).astype(np.float32)
    bands = _Ink(shape)
    _paint_bands(bands.img, [h * 0.02, h * 0.95], 255, h * 0.03)
    _paint_bands(bands.img, [h * 0.24, h * 0.255], 255, h * 0.006)
    albedo = _mix(
        _glaze_base(scene, shape, (0.76, 0.75, 0.66), wrap=True), (0.4, 0.34, 0.24), crack
    )
    albedo = _mix(albedo, (0.36, 0.2, 0.1), bands.amount(blur=h * 0.003))
    return _Texture(albedo, _aux(shape, -0.0002 * crack, 0.85, 0.0))


def _enamel_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Painted enamel (pháp lam): a turquoise ground, lotus scrolls, gilt copper rims."""
    h = shape[0]
    layers = {name: _Ink(shape) for name in ("stem", "leaf", "flower", "heart")}
    _paint_lotus_scroll(layers, h * 0.38, h * 0.3, scene.design)
    band, motif, gilt = _Ink(shape), _Ink(shape), _Ink(shape)
    _paint_bands(band.img, [h * 0.2, h * 0.75], 255, h * 0.07)
    _paint_lappets(motif.img, h * 0.2, h * 0.05, 16, 255, h * 0.005, up=False)
    _paint_lappets(motif.img, h * 0.75, h * 0.05, 16, 255, h * 0.005, up=True)
    gilt_rows = [h * f for f in (0.004, 0.995, 0.165, 0.235, 0.715, 0.785)]
    _paint_bands(gilt.img, gilt_rows, 255, h * 0.012)
    albedo = _glaze_base(scene, shape, (0.25, 0.62, 0.66), wrap=True)
    albedo = _mix(albedo, (0.95, 0.82, 0.25), band.amount())
    albedo = _mix(albedo, (0.15, 0.25, 0.6), motif.amount())
    albedo = _mix(albedo, (0.3, 0.55, 0.2), layers["stem"].amount())
    albedo = _mix(albedo, (0.25, 0.55, 0.22), layers["leaf"].amount())
    albedo = _mix(albedo, (0.93, 0.55, 0.6), layers["flower"].amount())
    albedo = _mix(albedo, (0.98, 0.9, 0.4), layers["heart"].amount())
    metal = gilt.amount()
    albedo = _mix(albedo, _GOLD, metal)
    # Enamel is pitted with tiny bubbles.
    pits = np.clip(_make_noise(shape, scene.grain, (0.002,), (1.0,)) - 0.55, 0, 1) * 3
    height = 0.0004 * metal - 0.0003 * pits
    return _Texture(albedo, _aux(shape, height, 1.0 - 0.5 * pits, metal))


def _bronze_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Cast bronze: relief bands of meander, a longevity medallion, green patina in hollows."""
    h, w = shape
    relief = _Ink(shape)
    _paint_bands(relief.img, [h * 0.3, h * 0.33, h * 0.62, h * 0.65], 255, h * 0.006)
    fret = h * 0.05
    for k in range(int(w / fret)):
        x = k * fret
        meander = np.array(
            [
                [x, h * 0.4],
                [x, h * 0.355],
                [x + fret * 0.8, h * 0.355],
                [x + fret * 0.8, h * 0.39],
                [x + fret * 0.3, h * 0.39],
            ]
        )
        _polyline(relief.img, meander, 255, h * 0.005)
    for cx in (w * 0.5, 0.0, w):
        _circle(relief.img, (cx, h * 0.5), h * 0.09, 255, width=h * 0.008)
        # The same character ("longevity") on every bronze, whatever the object's design.
        glyph_rng = np.random.default_rng(7)
        _paint_glyph(relief.img, cx - h * 0.055, h * 0.445, h * 0.11, glyph_rng, 255, h * 0.009)
    _paint_dragon(relief, (w * 0.1, h * 0.67, w * 0.25, h * 0.2), scene.design, scales=False)
    _paint_dragon(
        relief, (w * 0.65, h * 0.67, w * 0.25, h * 0.2), scene.design, scales=False, facing=-1
    )
    raised = relief.amount(blur=max(0.8, h * 0.002))
    mottle = _make_seamless(_make_noise(shape, scene.grain, (0.08, 0.02, 0.004), (0.5, 0.3, 0.2)))
    albedo = _fill(shape, _BRONZE) * (1 + 0.35 * mottle)[:, :, None]
    patina = np.clip(0.5 * mottle + 0.2 - raised * 0.6, 0, 1)
    patina = np.clip(patina * 1.6 + (1 - raised) * 0.1 * (mottle > 0.1), 0, 1)
    albedo = _mix(albedo, (0.4, 0.52, 0.4), patina * 0.7)
    albedo = _mix(albedo, (0.72, 0.55, 0.32), raised * 0.45)
    metal = np.clip(0.85 - patina, 0, 1)
    return _Texture(albedo, _aux(shape, 0.004 * raised, 0.7 - 0.5 * patina, metal))


def _precious_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Gold or silver: repoussé dragon and clouds, a beaded rim, tarnish in the recesses."""
    h, w = shape
    gold = scene.palette == "gold"
    relief = _Ink(shape)
    _paint_bands(relief.img, [h * 0.06, h * 0.1, h * 0.88], 255, h * 0.01)
    _paint_dragon(relief, (w * 0.32, h * 0.25, w * 0.36, h * 0.5), scene.design, scales=True)
    for k in range(6):
        _paint_cloud(relief, _xy((k + 0.5) * w / 6, h * 0.18), h * 0.06, 255, filled=True)
    beads = _Ink(shape)
    for k in range(int(w / (h * 0.03))):
        _circle(beads.img, (k * h * 0.03, h * 0.035), h * 0.011, 255)
    raised = np.maximum(relief.amount(blur=max(0.8, h * 0.002)), beads.amount(blur=1.0))
    wear = _make_seamless(_make_noise(shape, scene.grain, (0.05, 0.01), (0.6, 0.4)))
    # Tarnish collects in the recesses beside the relief, where polishing does not reach.
    halo = np.clip(cv2.GaussianBlur(raised, (0, 0), max(1.0, h * 0.006)) - raised, 0, 1) * 2.5
    tarnish = np.clip(halo + 0.12 + 0.2 * wear, 0, 1) * (0.5 if gold else 0.9)
    tarnish_colour = (0.6, 0.42, 0.2) if gold else (0.42, 0.38, 0.33)
    albedo = _mix(_fill(shape, _GOLD if gold else _SILVER), tarnish_colour, tarnish)
    height = 0.005 * raised + 0.0004 * wear
    return _Texture(albedo, _aux(shape, height, 0.9 - 0.4 * tarnish, 1.0))


def _glass_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Blown glass: an even tint, a few seed bubbles, faint waviness from the blowing."""
    bubbles = np.clip(_make_noise(shape, scene.grain, (0.004,), (1.0,)) - 0.7, 0, 1)
    waves = _make_seamless(_make_noise(shape, scene.grain, (0.08, 0.02), (0.7, 0.3)))
    albedo = _fill(shape, (0.2, 0.35, 0.75))
    return _Texture(albedo, _aux(shape, 0.002 * waves + 0.0005 * bubbles, 1.0, 0.0))


def _jade_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Nephrite: an even celadon green, clouded paler, with a few darker veins."""
    clouds = _make_noise(shape, scene.grain, (0.4, 0.12), (0.6, 0.25))
    veins = np.exp(-((_make_noise(shape, scene.grain, (0.15,), (1.0,)) / 0.015) ** 2))
    pale = np.clip(clouds * 1.5 + 0.3, 0, 1) * 0.45
    albedo = _mix(_fill(shape, (0.52, 0.7, 0.52)), (0.8, 0.87, 0.74), pale)
    albedo = _mix(albedo, (0.3, 0.45, 0.32), veins.astype(np.float32) * 0.35)
    return _Texture(albedo, _aux(shape, 0.0001 * clouds, 0.9, 0.0))


def _revolution_texture(scene: _Scene, shape: tuple[int, int], kind: str) -> _Texture:
    palette = scene.palette
    if palette == "blue_white":
        return _porcelain_texture(scene, shape, kind)
    painters: dict[str, Callable[[_Scene, tuple[int, int]], _Texture]] = {
        "crackle": _crackle_texture,
        "enamel": _enamel_texture,
        "bronze": _bronze_texture,
        "gold": _precious_texture,
        "silver": _precious_texture,
        "glass": _glass_texture,
        "jade": _jade_texture,
    }
    if palette in painters:
        return painters[palette](scene, shape)
    return _Texture(_glaze_base(scene, shape, (0.7, 0.7, 0.68), True), _aux(shape, 0, 0.5, 0))


# --- round objects ---------------------------------------------------------------------------

# Profiles as (height, radius) points, object units (the tallest objects are 1 high).
_SHAPES: dict[str, list[tuple[float, float]]] = {
    "vase": [(0.0, 0.15), (0.03, 0.16), (0.045, 0.15), (0.1, 0.2), (0.3, 0.29), (0.5, 0.31),
             (0.62, 0.28), (0.72, 0.19), (0.78, 0.11), (0.86, 0.095), (0.95, 0.11), (0.99, 0.135),
             (1.0, 0.135)],
    "pear": [(0.0, 0.14), (0.03, 0.15), (0.045, 0.14), (0.1, 0.22), (0.24, 0.29), (0.36, 0.28),
             (0.52, 0.16), (0.66, 0.085), (0.82, 0.08), (0.94, 0.11), (0.99, 0.135), (1.0, 0.135)],
    "bowl": [(0.0, 0.17), (0.025, 0.18), (0.04, 0.17), (0.06, 0.2), (0.16, 0.34), (0.28, 0.45),
             (0.4, 0.52), (0.46, 0.55), (0.47, 0.55)],
    "jar": [(0.0, 0.17), (0.03, 0.18), (0.12, 0.26), (0.3, 0.33), (0.45, 0.32), (0.58, 0.24),
            (0.63, 0.15), (0.7, 0.15), (0.705, 0.175), (0.74, 0.175), (0.78, 0.15), (0.83, 0.09),
            (0.855, 0.04), (0.87, 0.05), (0.9, 0.045), (0.92, 0.0)],
    "cup": [(0.0, 0.2), (0.02, 0.21), (0.045, 0.2), (0.07, 0.1), (0.14, 0.09), (0.18, 0.17),
            (0.3, 0.32), (0.45, 0.42), (0.58, 0.47), (0.6, 0.475)],
    "round_box": [(0.0, 0.37), (0.02, 0.39), (0.22, 0.4), (0.27, 0.4), (0.275, 0.415),
                  (0.31, 0.415), (0.36, 0.4), (0.42, 0.34), (0.46, 0.24), (0.48, 0.12),
                  (0.49, 0.07), (0.52, 0.075), (0.55, 0.0)],
    "bottle": [(0.0, 0.17), (0.02, 0.19), (0.25, 0.25), (0.4, 0.25), (0.52, 0.17), (0.6, 0.07),
               (0.85, 0.055), (0.95, 0.06), (0.98, 0.075), (1.0, 0.075)],
    "burner": [(0.2, 0.17), (0.24, 0.28), (0.33, 0.36), (0.46, 0.37), (0.52, 0.34), (0.55, 0.35),
               (0.6, 0.35), (0.605, 0.3), (0.68, 0.27), (0.76, 0.18), (0.81, 0.1), (0.83, 0.06),
               (0.88, 0.075), (0.94, 0.055), (0.98, 0.0)],
    "leg": [(0.0, 0.045), (0.04, 0.05), (0.12, 0.042), (0.26, 0.06), (0.3, 0.065)],
    "knob": [(0.0, 0.22), (0.08, 0.2), (0.16, 0.14), (0.22, 0.16), (0.3, 0.12), (0.34, 0.0)],
}  # fmt: skip
# Open shapes: the height of the inside floor, and the wall's thickness.
_OPEN = {"vase": (0.9, 0.012), "pear": (0.9, 0.012), "bowl": (0.06, 0.014),
         "cup": (0.1, 0.014), "bottle": (0.95, 0.012)}  # fmt: skip
_INSIDE_COLOURS = {
    "blue_white": (0.88, 0.88, 0.85),
    "enamel": (0.25, 0.55, 0.62),
    "gold": (0.9, 0.7, 0.35),
    "glass": (0.15, 0.25, 0.5),
}
_TURNS = {"front": 0.0, "back": 0.5, "left": -0.25, "right": 0.25, "top": 0.1, "detail": 0.0}


def _draw_round(scene: _Scene, view: str, kind: str) -> None:
    """Vases, bowls, jars, cups, round boxes, bottles: one body of revolution."""
    if view in ("bottom", "mark"):
        _draw_base(scene, view)
        return
    shape = "pear" if (kind == "vase" and scene.palette == "enamel") else kind
    profile = _Profile.from_points(_SHAPES[shape], smooth=4.0)
    rmax = float(profile.rs.max())
    height = profile.top
    elevation = {"top": 34.0, "detail": 9.0}.get(view, 16.0 if kind == "bowl" else 11.0)
    zoom, target = 1.0, None
    if view == "detail":
        zoom = 1.8
        y_t = height * (0.3 if kind in ("bowl", "cup") else 0.55)
        target = (0.0, y_t, float(profile.radius(np.array([y_t]))[0]))
    cam = _fit_camera(scene, 2 * rmax, height, 2 * rmax, elevation, zoom=zoom, target=target)
    texture = _revolution_texture(scene, _texture_size(cam, 2 * math.pi * rmax, height), kind)
    interior = None
    if shape in _OPEN:
        floor, wall = _OPEN[shape]
        points = [(y, max(0.0, r - wall)) for y, r in zip(profile.ys, profile.rs, strict=True)]
        inner = _Profile.from_points([p for p in points if p[0] >= floor], smooth=1.0)
        interior = _Interior(inner, _INSIDE_COLOURS.get(scene.palette, (0.5, 0.45, 0.4)))
    glass = (0.55, 0.72, 0.98) if scene.palette == "glass" else None
    rot = _TURNS[view] + 0.02 * scene.shot
    scene.add(_revolve(scene, cam, profile, texture, rot=rot, interior=interior, glass=glass))
    bx, by = cam.project(0, 0, 0)
    r0 = float(profile.rs[0]) * cam.scale
    scene.add_contact_ellipse(bx, by, r0 * 1.05, r0 * math.sin(cam.elevation) * 1.2 + 2)


def _draw_burner(scene: _Scene, view: str) -> None:
    """A tripod incense burner (đỉnh): body and domed lid, three legs, two upright ears."""
    if view in ("bottom", "mark"):
        _draw_base(scene, view)
        return
    body = _Profile.from_points(_SHAPES["burner"], smooth=4.0)
    leg = _Profile.from_points(_SHAPES["leg"], smooth=3.0)
    rmax = float(body.rs.max())
    elevation = 30.0 if view == "top" else 12.0
    zoom, target = (2.2, (0.0, 0.5, 0.36)) if view == "detail" else (1.0, None)
    cam = _fit_camera(
        scene, 2 * rmax + 0.3, body.top, 2 * rmax, elevation, zoom=zoom, target=target
    )
    texture = _bronze_texture(scene, _texture_size(cam, 2 * math.pi * rmax, body.top))
    leg_texture = _bronze_texture(scene, (256, 128))
    rot = _TURNS[view]
    angles = [math.pi / 2 + k * 2 * math.pi / 3 + rot * 2 * math.pi for k in range(3)]
    legs = sorted(((0.24 * math.cos(a), 0.24 * math.sin(a)) for a in angles), key=lambda p: p[1])
    # Painter's order: legs behind, ears, body, legs in front.
    for lx, lz in legs:
        if lz < 0:
            scene.add(_revolve(scene, cam, leg, leg_texture, x0=lx, z0=lz))
    ear = _ear_texture(scene)
    for side in (-1, 1):
        x = side * 0.31 * math.cos(rot * 2 * math.pi)
        corners = np.array(
            [
                cam.project(x - 0.07, 0.76, 0),
                cam.project(x + 0.07, 0.76, 0),
                cam.project(x + 0.07, 0.58, 0),
                cam.project(x - 0.07, 0.58, 0),
            ]
        )
        scene.add(_flat(scene, ear, corners, (side * 0.3, 0.2, 0.93), scene.finish, cam.scale))
    scene.add(_revolve(scene, cam, body, texture, rot=rot))
    for lx, lz in legs:
        if lz >= 0:
            scene.add(_revolve(scene, cam, leg, leg_texture, x0=lx, z0=lz))
    for lx, lz in legs:
        px, py = cam.project(lx, 0, lz)
        r = 0.05 * cam.scale
        scene.add_contact_ellipse(px, py, r * 1.3, r * 0.5 + 2)


def _ear_texture(scene: _Scene) -> _Texture:
    shape = (180, 140)
    alpha = np.zeros(shape, np.float32)
    cv2.rectangle(alpha, (4, 4), (135, 175), 1.0, -1)
    cv2.rectangle(alpha, (38, 34), (101, 150), 0.0, -1)
    tex = _bronze_texture(scene, shape)
    tex.alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    tex.aux[:, :, 0] += 0.01 * cv2.GaussianBlur(alpha, (0, 0), 8)
    return tex


def _draw_base(scene: _Scene, view: str) -> None:
    """The underside, photographed straight on: the foot ring, the recessed base, the mark."""
    scene.overhead = True
    radius = 0.36 * min(scene.width, scene.height)
    side = int(2 * radius)
    shape = (side, side)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    rho = np.hypot(xx - side / 2, yy - side / 2) / radius
    palette = scene.palette
    metallic = palette in ("bronze", "gold", "silver")
    colours = {
        "blue_white": _PORCELAIN,
        "crackle": (0.75, 0.74, 0.64),
        "enamel": (0.25, 0.62, 0.66),
        "glass": (0.2, 0.35, 0.75),
        "gold": _GOLD,
        "silver": _SILVER,
    }
    albedo = _glaze_base(scene, shape, colours.get(palette, _BRONZE), wrap=False)
    foot = cv2.GaussianBlur(((rho > 0.7) & (rho < 0.78)).astype(np.float32), (0, 0), side * 0.004)
    if not metallic and palette != "glass":
        # The foot ring is left unglazed: the biscuit shows, slightly gritty.
        grit = _make_noise(shape, scene.grain, (0.02, 0.002), (0.5, 0.5))
        biscuit = _fill(shape, (0.86, 0.76, 0.64)) * (1 + 0.15 * grit)[:, :, None]
        albedo = albedo + (biscuit - albedo) * foot[:, :, None]
    # The dish of the base: the lower body curving away outside, a raised ring, a recess.
    height = -0.25 * _power(np.clip(rho - 0.8, 0, None), 1.5)
    height = height + 0.03 * foot - 0.01 * (rho < 0.7)
    ink = _Ink(shape)
    if palette in ("blue_white", "enamel"):
        _paint_seal_mark(ink.img, (side / 2, side / 2), side * 0.3, scene.design, 255)
        albedo = _mix(albedo, _COBALT, ink.amount(blur=1.2) * 0.9)
    else:
        box = (side * 0.38, side * 0.3, side * 0.24, side * 0.4)
        _paint_inscription(ink.img, box, 2, 4, scene.design, 255)
        height = height - 0.004 * ink.amount(blur=1.0)
        albedo = _mix(albedo, (0.2, 0.16, 0.12), ink.amount(blur=1.0) * 0.5)
    aux = _aux(shape, height, 0.2 + 0.8 * (1 - foot), 1.0 if metallic else 0.0)
    tex = _Texture(albedo.astype(np.float32), aux, (rho <= 1.0).astype(np.float32))
    r = radius * (1.28 if view == "mark" else 1.0)
    cx, cy = scene.width / 2 + scene.shot * 6, scene.height / 2
    scene.add(_flat(scene, tex, _square(cx, cy, r), (0.0, 0.0, 1.0), scene.finish, 2 * r))
    scene.add_contact_ellipse(cx, cy + r * 0.2, r * 0.95, r * 0.95)


# --- flat and boxy objects -------------------------------------------------------------------


def _draw_plate(scene: _Scene, view: str) -> None:
    """A plate standing face-on to the camera: well, cavetto, rim; or its back or its base."""
    scene.overhead = True
    if view in ("bottom", "mark"):
        _draw_base(scene, view)
        return
    zoom = 2.0 if view == "detail" else 1.0
    radius = 0.44 * scene.height * zoom
    side = int(min(2 * radius, 1900))
    shape = (side, side)
    # The plate fills most of its texture; the margin below holds its edge, seen in thickness.
    fill = 0.975
    c = side / 2
    ring = c * fill
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    rho = np.hypot(xx - c, yy - c) / ring
    below = np.hypot(xx - c, yy - c - (0.012 * c + 1.5)) / ring
    ink = _Ink(shape)
    line = max(1.0, side * 0.003)

    def around(fraction: float, angle: float) -> np.ndarray:
        return _xy(c + fraction * ring * math.cos(angle), c + fraction * ring * math.sin(angle))

    if view == "back":
        for rr in (0.93, 0.55, 0.5):
            _circle(ink.img, (c, c), rr * ring, 220, width=line)
        for k in range(3):
            _paint_cloud(ink, around(0.74, k * 2 * math.pi / 3 + 0.4), side * 0.035, 210, False)
        height = np.where(rho > 0.6, 0.0, -0.01) + np.where(rho > 0.95, -0.02 * (rho - 0.95), 0)
    else:
        for rr in (0.985, 0.96, 0.8, 0.78, 0.44, 0.42):
            _circle(ink.img, (c, c), rr * ring, 220, width=line)
        for k in range(8):
            _paint_cloud(ink, around(0.88, k * 2 * math.pi / 8), side * 0.025, 210, False)
        well = (c - 0.36 * ring, c - 0.3 * ring, 0.72 * ring, 0.6 * ring)
        _paint_dragon(ink, well, scene.design)
        for k in range(6):
            _paint_cloud(ink, around(0.6, k * 2 * math.pi / 6 + 0.3), side * 0.03, 200, False)
        # Well flat, cavetto rising, rim flat and slightly raised.
        cavetto = _power(np.clip((rho - 0.45) / 0.35, 0, 1), 1.5)
        height = cavetto * 0.06 - np.clip(rho - 0.97, 0, 1)
    albedo = _glaze_base(scene, shape, _PORCELAIN, wrap=False)
    albedo = _mix(albedo, _COBALT, ink.amount(blur=max(0.6, side * 0.0012)))
    rim = ((below <= 1.0) & (rho > 1.0)).astype(np.float32)
    albedo = _mix(albedo, (0.72, 0.72, 0.68), rim)
    alpha = np.maximum((rho <= 1.0).astype(np.float32), rim)
    tex = _Texture(albedo.astype(np.float32), _aux(shape, height * (1 - rim), 1.0, 0.0), alpha)
    cx, cy = scene.width / 2 + scene.shot * 5, scene.height / 2
    if view == "detail":
        cx, cy = cx + radius * 0.1, cy + radius * 0.05
    corners = _square(cx, cy, radius / fill, radius * 0.97 / fill)
    scene.add(_flat(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, 2 * radius / fill))


def _lacquer_face(scene: _Scene, shape: tuple[int, int], motif: str) -> _Texture:
    """Red lacquer with gilded frames, dragons and clouds; worn and crazed with age."""
    h, w = shape
    rng = scene.design
    gilt = _Ink(shape)
    m = min(h, w)
    for inset, width in ((0.04, 0.012), (0.075, 0.005)):
        _rectangle(gilt.img, (m * inset, m * inset), (w - m * inset, h - m * inset), 255, m * width)
    if motif == "top":
        centre = _xy(w / 2, h / 2)
        _circle(gilt.img, centre, m * 0.14, 255, width=m * 0.01)
        corner = centre - m * 0.08
        _paint_glyph(gilt.img, corner[0], corner[1], m * 0.16, rng, 255, m * 0.018)
        _paint_dragon(gilt, (w * 0.1, h * 0.15, w * 0.28, h * 0.5), rng, scales=False)
        _paint_dragon(gilt, (w * 0.62, h * 0.15, w * 0.28, h * 0.5), rng, scales=False, facing=-1)
        for k in range(5):
            _paint_cloud(gilt, _xy(w * (0.15 + 0.17 * k), h * 0.8), m * 0.05, 255, True)
    elif motif == "back":
        centre = _xy(w / 2, h * 0.55)
        _circle(gilt.img, centre, m * 0.25, 255, width=m * 0.02)
        corner = centre - m * 0.15
        _paint_glyph(gilt.img, corner[0], corner[1], m * 0.3, rng, 255, m * 0.03)
    else:
        for k in range(4):
            _paint_cloud(gilt, _xy(w * (0.16 + 0.22 * k), h * 0.5), m * 0.12, 255, True)
        _paint_bands(gilt.img, [h * 0.22], 255, m * 0.01)
    amount = gilt.amount(blur=max(0.5, m * 0.001))
    wear = np.clip(_make_noise(shape, scene.grain, (0.04, 0.008), (0.7, 0.3)) * 2.5 - 0.55, 0, 1)
    albedo = _mix(
        _glaze_base(scene, shape, (0.6, 0.1, 0.07), wrap=False), (0.3, 0.07, 0.05), wear * 0.5
    )
    albedo = _mix(albedo, (0.95, 0.74, 0.35), amount * (1 - 0.5 * wear))
    crazing = _Ink(shape)
    paths = [
        _pts(np.cumsum(rng.normal(0, m * 0.01, (12, 2)), axis=0) + rng.uniform(0, [w, h]))
        for _ in range(120)
    ]
    cv2.polylines(crazing.img, paths, False, 140, 1, cv2.LINE_AA, 4)
    albedo = _mix(albedo, (0.15, 0.04, 0.03), crazing.amount())
    height = 0.0015 * amount - 0.0004 * crazing.amount()
    return _Texture(albedo, _aux(shape, height, 1.0 - 0.6 * wear, amount * (1 - wear)))


def _draw_lacquer_box(scene: _Scene, view: str) -> None:
    """A red-lacquered, gilded box with a lid, seen from a three-quarter angle above."""
    elevation = {"top": 55.0, "detail": 30.0}.get(view, 26.0)
    zoom = 2.2 if view == "detail" else 1.0
    target = (0.0, 0.42, 0.0) if view == "detail" else None
    cam = _fit_camera(scene, 1.25, 0.42, 1.1, elevation, zoom=zoom, target=target, fill=0.7)
    yaws = {"front": 24.0 + 4 * scene.shot, "back": 204.0, "left": -60.0, "right": 65.0}
    top = _lacquer_face(scene, _texture_size(cam, 1.0, 0.7), "top")
    side = _lacquer_face(scene, _texture_size(cam, 1.0, 0.42), "side")
    end = _lacquer_face(scene, _texture_size(cam, 0.7, 0.42), "side")
    back = _lacquer_face(scene, _texture_size(cam, 1.0, 0.42), "back")
    # The lid's seam runs round the sides.
    for face in (side, end, back):
        y = int(face.shape[0] * 0.3)
        face.albedo[y : y + max(1, face.shape[0] // 150)] *= 0.25
    faces = {"front": side, "back": back, "left": end, "right": end, "top": top}
    _cuboid(scene, cam, (1.0, 0.42, 0.7), faces, scene.finish, yaw=yaws.get(view, 18.0))


def _draw_seal(scene: _Scene, view: str) -> None:
    """A square jade seal with a round knob; its mark view is the carved face."""
    if view in ("bottom", "mark"):
        _draw_seal_face(scene)
        return
    elevation = 40.0 if view == "top" else 18.0
    zoom = 2.0 if view == "detail" else 1.0
    target = (0.0, 0.4, 0.0) if view == "detail" else None
    cam = _fit_camera(scene, 0.9, 0.64, 0.9, elevation, zoom=zoom, target=target)
    face = _jade_texture(scene, _texture_size(cam, 0.6, 0.6))
    yaw = {"front": 28.0, "back": 208.0, "left": -35.0, "right": 62.0}.get(view, 28.0)
    sides = dict.fromkeys(("front", "back", "left", "right", "top"), face)
    _cuboid(scene, cam, (0.6, 0.28, 0.6), sides, scene.finish, yaw=yaw)
    knob = _Profile.from_points([(y + 0.28, r) for y, r in _SHAPES["knob"]], smooth=3.0)
    scene.add(_revolve(scene, cam, knob, face, rot=yaw / 360))


def _draw_seal_face(scene: _Scene) -> None:
    """The seal's face, photographed straight on: characters carved in relief, red paste."""
    scene.overhead = True
    side = 0.62 * min(scene.width, scene.height)
    shape = (int(side), int(side))
    tex = _jade_texture(scene, shape)
    ink = _Ink(shape)
    h = shape[0]
    _rectangle(ink.img, (h * 0.06, h * 0.06), (h * 0.94, h * 0.94), 255, h * 0.03)
    _paint_inscription(ink.img, (h * 0.14, h * 0.14, h * 0.72, h * 0.72), 2, 2, scene.design, 255)
    raised = ink.amount(blur=1.0)
    tex.albedo = _mix(tex.albedo, (0.65, 0.18, 0.12), (1 - raised) * 0.35)
    tex.aux[:, :, 0] += 0.006 * raised
    corners = _square(scene.width / 2, scene.height / 2, side / 2)
    scene.add(_flat(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, side))


def _stone_face(scene: _Scene, shape: tuple[int, int], inscribed: bool) -> _Texture:
    """Weathered stone with lichen; inscribed: a dragon frieze over columns of characters."""
    h, w = shape
    grain = _make_noise(shape, scene.grain, (0.1, 0.02, 0.004, 0.0015), (0.3, 0.3, 0.25, 0.2))
    albedo = _fill(shape, (0.58, 0.56, 0.52)) * (1 + 0.45 * grain)[:, :, None]
    lichen = np.clip(_make_noise(shape, scene.grain, (0.06, 0.015), (0.8, 0.4)) * 3 - 0.7, 0, 1)
    albedo = _mix(albedo, (0.4, 0.42, 0.34), lichen * 0.5)
    height = 0.006 * grain
    if inscribed:
        rng = scene.design
        ink = _Ink(shape)
        _rectangle(ink.img, (w * 0.06, h * 0.2), (w * 0.94, h * 0.95), 255, w * 0.006)
        _paint_dragon(ink, (w * 0.15, h * 0.04, w * 0.3, h * 0.13), rng, scales=False)
        _paint_dragon(ink, (w * 0.55, h * 0.04, w * 0.3, h * 0.13), rng, scales=False, facing=-1)
        _paint_inscription(
            ink.img, (w * 0.1, h * 0.24, w * 0.8, h * 0.68), 9, 13, rng, 255, fill=0.7
        )
        cut = ink.amount(blur=max(0.8, w * 0.0015))
        albedo = _mix(albedo, (0.3, 0.29, 0.27), cut * 0.8)
        height = height - 0.008 * cut
    return _Texture(albedo, _aux(shape, height, 0.3, 0.0))


def _draw_stele(scene: _Scene, view: str) -> None:
    """A broken stone stele: the top is a rough fracture, the face inscribed."""
    w, h, d = 0.66, 1.0, 0.16
    elevation = 35.0 if view == "top" else 9.0
    zoom = 2.4 if view == "detail" else 1.0
    target = (0.05, 0.55, 0.09) if view == "detail" else None
    cam = _fit_camera(scene, 0.8, 1.0, 0.4, elevation, zoom=zoom, target=target, fill=0.8)
    yaw = {"front": 12.0, "back": 192.0, "left": -55.0, "right": 55.0}.get(view, 12.0)
    # The break belongs to the object's design, so every view shows the same fracture: depths
    # below the nominal top along x (front and back edges), joined straight along the sides.
    jag = np.random.default_rng(int(scene.design.integers(2**31)))
    front_cut = 0.1 + np.cumsum(jag.normal(0, 0.012, 41)) + 0.08 * np.linspace(-1, 1, 41) ** 2
    front_cut = np.clip(front_cut, 0.02, 0.28)
    back_cut = np.clip(front_cut + np.cumsum(jag.normal(0, 0.008, 41)), 0.02, 0.3)
    side_t = np.linspace(0, 1, 9)
    faces = {
        "front": _stone_face(scene, _texture_size(cam, w, h), inscribed=True),
        "back": _stone_face(scene, _texture_size(cam, w, h), inscribed=False),
        "left": _stone_face(scene, _texture_size(cam, d, h), inscribed=False),
        "right": _stone_face(scene, _texture_size(cam, d, h), inscribed=False),
    }
    # Texture x runs left to right as each face is seen from outside.
    cuts = {
        "front": front_cut,
        "back": back_cut[::-1],
        "left": back_cut[0] + (front_cut[0] - back_cut[0]) * side_t,
        "right": front_cut[-1] + (back_cut[-1] - front_cut[-1]) * side_t,
    }
    for name, tex in faces.items():
        th, tw = tex.shape
        outline = np.stack([np.linspace(0, tw, len(cuts[name])), cuts[name] / h * th], 1)
        alpha = np.ones((th, tw), np.float32)
        _fill_polygon(alpha, np.concatenate([outline, [[tw, -1], [0, -1]]]), 0.0)
        tex.alpha = alpha
    a = math.radians(yaw)
    ca, sa = math.cos(a), math.sin(a)

    def point(x: float, y: float, z: float) -> tuple[float, float]:
        return cam.project(x * ca + z * sa, y, -x * sa + z * ca)

    xs = np.linspace(-w / 2, w / 2, 41)
    front_edge = [point(x, h - c, d / 2) for x, c in zip(xs, front_cut, strict=True)]
    back_edge = [point(x, h - c, -d / 2) for x, c in zip(xs, back_cut, strict=True)]
    # The broken top, seen from above, lies between the break's front and back edges; the
    # faces drawn after it hide what of it they cover.
    fracture = np.array(front_edge + back_edge[::-1])
    low, high = fracture.min(0), fracture.max(0)
    box = np.array([low, [high[0], low[1]], high, [low[0], high[1]]])
    rough = _stone_face(scene, _texture_size(cam, w, d), inscribed=False)
    rough.aux[:, :, 0] *= 3
    up = cam.normal(0.0, 1.0, 0.0)
    scene.add(_flat(scene, rough, box, up, scene.finish, cam.scale, clip=fracture))
    _cuboid(scene, cam, (w, h, d), faces, scene.finish, yaw=yaw)


def _draw_sheet(scene: _Scene, view: str) -> None:
    """A document or a textile lying flat under a copy-stand camera."""
    scene.overhead = True
    textile = scene.palette == "silk"
    aspect = 1.0 if textile else 1.6
    zoom = 2.6 if view in ("detail", "mark") else 1.0
    h_px = 0.8 * scene.height * zoom
    w_px = min(h_px * aspect, 0.88 * scene.width * zoom)
    h_px = w_px / aspect
    texels = min(1.0, math.sqrt(3_500_000 / (h_px * w_px)))
    shape = (int(h_px * texels), int(w_px * texels))
    if textile:
        tex = _silk_texture(scene, shape)
    else:
        tex = _paper_texture(scene, shape, back=view == "back")
    cx, cy = scene.width / 2 + 4 * scene.shot, scene.height / 2
    if view == "mark" and not textile:
        # Frame the seal impression, which sits right of centre, above the middle.
        cx, cy = cx - w_px * 0.3, cy + h_px * 0.18
    elif view == "detail":
        cx, cy = cx - w_px * 0.05, cy + h_px * 0.05
    skew = math.radians(-0.8 if textile else 1.2)
    turn = np.array([[math.cos(skew), -math.sin(skew)], [math.sin(skew), math.cos(skew)]])
    corners = (_square(0, 0, w_px / 2, h_px / 2) @ turn.T) + [cx, cy]
    scene.add(_flat(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, w_px))


def _paper_texture(scene: _Scene, shape: tuple[int, int], back: bool) -> _Texture:
    """A royal decree on yellow paper: a silver dragon-and-cloud ground, columns of text,
    the vermilion seal impression; the back shows the text through, mirrored."""
    h, w = shape
    rng = scene.design
    fibres = _make_noise((h, w // 4 + 1), scene.grain, (0.003, 0.01), (0.6, 0.4))
    fibres = cv2.resize(fibres, (w, h), interpolation=cv2.INTER_LINEAR)
    wrinkles = _make_noise(shape, scene.grain, (0.15, 0.04), (0.7, 0.3))
    albedo = _fill(shape, (0.9, 0.78, 0.5)) * (1 + 0.12 * fibres)[:, :, None]
    stains = np.clip(_make_noise(shape, scene.grain, (0.08, 0.02), (0.8, 0.3)) * 3 - 0.8, 0, 1)
    albedo = _mix(albedo, (0.68, 0.5, 0.28), stains * 0.5)
    ground, text, seal = _Ink(shape), _Ink(shape), _Ink(shape)
    m = min(h, w)
    _rectangle(ground.img, (m * 0.05, m * 0.05), (w - m * 0.05, h - m * 0.05), 255, m * 0.01)
    for k in range(3):
        box = (w * (0.08 + 0.3 * k), h * 0.2, w * 0.24, h * 0.55)
        _paint_dragon(ground, box, rng, scales=False, facing=1 if k % 2 else -1)
    for _ in range(12):
        centre = _xy(rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h)
        _paint_cloud(ground, centre, m * 0.05, 255, filled=False)
    _paint_inscription(
        text.img, (w * 0.12, h * 0.12, w * 0.76, h * 0.76), 16, 14, rng, 255, fill=0.55
    )
    sx, sy = w * 0.8, h * 0.32
    _rectangle(seal.img, (sx - m * 0.16, sy - m * 0.16), (sx + m * 0.16, sy + m * 0.16), 255)
    carve = np.zeros(shape, np.uint8)
    _paint_seal_mark(carve, (sx, sy), m * 0.28, rng, 255, chars=6)
    seal_amount = seal.amount(blur=1.0) * (1 - carve.astype(np.float32) / 255 * 0.85)
    seal_amount *= np.clip(0.75 + 0.6 * _make_noise(shape, scene.grain, (0.01,), (1.0,)), 0, 1)
    text_amount = text.amount(blur=max(0.6, m * 0.0012))
    if back:
        albedo = _mix(albedo, (0.6, 0.5, 0.35), text_amount[:, ::-1] * 0.25)
        albedo = _mix(albedo, (0.8, 0.45, 0.3), seal_amount[:, ::-1] * 0.2)
    else:
        albedo = _mix(albedo, (0.82, 0.8, 0.72), ground.amount(blur=1.0) * 0.35)
        albedo = _mix(albedo, (0.08, 0.07, 0.06), text_amount * 0.92)
        albedo = _mix(albedo, (0.78, 0.14, 0.1), seal_amount * 0.9)
    height = 0.004 * wrinkles + 0.0003 * fibres
    # A decree is folded for storage: the creases stay.
    for k in (1, 2, 3):
        x = int(w * k / 4)
        height[:, max(0, x - 2) : x + 2] += 0.002
    return _Texture(albedo, _aux(shape, height, 0.3, 0.0))


def _silk_texture(scene: _Scene, shape: tuple[int, int]) -> _Texture:
    """Imperial-yellow silk embroidered with a dragon in gold thread, clouds and waves."""
    h, w = shape
    rng = scene.design
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(2.2, min(h, w) / 500)
    weave = np.cos(xx * (2 * math.pi / period)) * np.cos(yy * (2 * math.pi / period))
    folds = _make_noise(shape, scene.grain, (0.25, 0.08), (0.8, 0.3))
    albedo = _fill(shape, (0.92, 0.72, 0.16)) * (1 + 0.08 * weave + 0.1 * folds)[:, :, None]
    gold = _Ink(shape)
    names = ("red", "blue", "green", "white")
    colours = {name: _Ink(shape) for name in names}
    m = min(h, w)
    _paint_dragon(gold, (w * 0.18, h * 0.2, w * 0.64, h * 0.5), rng)
    for k in range(8):
        centre = _xy(rng.uniform(0.12, 0.88) * w, rng.uniform(0.08, 0.3) * h)
        _paint_cloud(colours[names[k % 4]], centre, m * 0.05, 255, True)
    # The standing-water border (lập thủy): diagonal rainbow stripes at the bottom.
    for k in range(24):
        x = k * w / 20 - w * 0.1
        stripe = np.array([[x, h * 0.98], [x + h * 0.14, h * 0.8]])
        _polyline(colours[("blue", "white", "green", "red")[k % 4]].img, stripe, 255, w / 45)
    _paint_waves(colours["blue"].img, h * 0.72, h * 0.08, 255, m * 0.008)
    stitches = (0.75 + 0.25 * np.sin((xx + yy) * (2 * math.pi / (period * 2.2)))).astype(np.float32)
    metal = gold.amount(blur=0.8)
    # Gold thread is couched down with a darker silk outline, which makes the motif read.
    grown = cv2.dilate(metal, np.ones((5, 5), np.uint8), iterations=max(1, m // 600))
    albedo = _mix(albedo, (0.45, 0.25, 0.08), np.clip(grown - metal, 0, 1))
    threads = {
        "red": (0.78, 0.16, 0.12),
        "blue": (0.15, 0.3, 0.65),
        "green": (0.2, 0.55, 0.3),
        "white": (0.95, 0.93, 0.88),
    }
    for name, colour in threads.items():
        amount = colours[name].amount(blur=0.8)
        albedo = _mix(albedo, colour, amount * stitches)
        metal = metal * (1 - amount)
    albedo = _mix(albedo, (0.95, 0.68, 0.2), metal * stitches)
    # Frayed top and bottom edges: each column loses a few threads.
    fray = np.abs(_make_noise((1, w), scene.grain, (0.004,), (1.0,)))[0] * m * 0.03
    rows = np.arange(h, dtype=np.float32)[:, None]
    edge = ((rows > fray[None, :]) & (rows < h - 1 - fray[None, :])).astype(np.float32)
    height = 0.006 * folds + 0.0012 * metal * stitches + 0.0002 * weave
    return _Texture(albedo, _aux(shape, height, 0.6 + 0.4 * metal, metal * 0.45), edge)


_SCENES: dict[str, Callable[[_Scene, str], None]] = {
    "vase": lambda scene, view: _draw_round(scene, view, "vase"),
    "bowl": lambda scene, view: _draw_round(scene, view, "bowl"),
    "jar": lambda scene, view: _draw_round(scene, view, "jar"),
    "cup": lambda scene, view: _draw_round(scene, view, "cup"),
    "round_box": lambda scene, view: _draw_round(scene, view, "round_box"),
    "bottle": lambda scene, view: _draw_round(scene, view, "bottle"),
    "incense_burner": _draw_burner,
    "plate": _draw_plate,
    "lacquer_box": _draw_lacquer_box,
    "seal": _draw_seal,
    "stele": _draw_stele,
    "document": _draw_sheet,
    "textile": _draw_sheet,
}
