"""The studio: backdrop, camera, shading and development of one photograph; knows no object."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.samples.render.drawing import make_noise, to_fixed_points

# Camera frame: x right, y up, z towards the camera. A key light from the upper left, a fill
# from the right; float32 so that shading stays in float32 (numpy 2 widens on float64 scalars).
LIGHT = (np.array([-0.62, 0.52, 0.59]) / np.linalg.norm([-0.62, 0.52, 0.59])).astype(np.float32)
_FILL = (np.array([0.8, 0.1, 0.6]) / np.linalg.norm([0.8, 0.1, 0.6])).astype(np.float32)
_HALF = (np.add(LIGHT, [0, 0, 1]) / np.linalg.norm(np.add(LIGHT, [0, 0, 1]))).astype(np.float32)

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Finish:
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
    "glaze": Finish(specular=0.9, shininess=90, sheen=0.08, reflect=0.12),
    "crackle": Finish(specular=0.5, shininess=50, sheen=0.07, reflect=0.08),
    "metal": Finish(specular=0.9, shininess=40, sheen=0.1, metal_base=0.22, metal_env=1.0),
    "lacquer": Finish(specular=0.8, shininess=70, sheen=0.1, reflect=0.1),
    "jade": Finish(ambient=0.25, specular=0.7, shininess=60, reflect=0.1, translucency=0.25),
    "stone": Finish(ambient=0.1, specular=0.04, shininess=8, sheen=0.02, reflect=0.0),
    "paper": Finish(ambient=0.16, specular=0.02, shininess=6, sheen=0.02, reflect=0.0),
    "silk": Finish(ambient=0.14, specular=0.15, shininess=12, sheen=0.08, reflect=0.02),
    "glass": Finish(specular=1.2, shininess=120, sheen=0.1, reflect=0.3),
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
class Texture:
    """Surface maps, linear light: albedo (h, w, 3); aux (h, w, 3) = height, gloss, metal;
    an optional alpha (h, w) cuts the outline. Heights are in object units."""

    albedo: np.ndarray
    aux: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.albedo.shape[0], self.albedo.shape[1]


@dataclass
class Layer:
    rgb: np.ndarray
    mask: np.ndarray
    top: int
    left: int


class Scene:
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
        self.layers: list[Layer] = []
        self.contact: list[np.ndarray] = []
        self.overhead = False
        self.backdrop = self._make_backdrop()

    @property
    def long_edge(self) -> int:
        return max(self.width, self.height)

    @property
    def finish(self) -> Finish:
        return _FINISHES[_PALETTE_FINISH[self.palette]]

    def _make_backdrop(self) -> np.ndarray:
        # A paper sweep: light falls off downwards and away from the key light, corners darker.
        h, w = self.height, self.width
        ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
        level = 0.2 - 0.075 * ys - 0.03 * xs
        vignette = 1.0 - 0.22 * ((xs - 0.45) ** 2 + (ys - 0.4) ** 2)
        mottle = make_noise((h, w), self.grain, (0.25, 0.08), (0.04, 0.015))
        return (level * vignette * (1.0 + mottle)).astype(np.float32)

    def add(self, layer: Layer | None) -> None:
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
        cast = cv2.warpAffine(occluder, to_f32([[1, 0, dx], [0, 1, dy]]), (sw, sh))
        cast = cv2.GaussianBlur(cast, (0, 0), 0.018 * max(sh, sw) * (0.6 if self.overhead else 1))
        footprint = np.zeros((sh, sw), np.float32)
        for polygon in self.contact:
            cv2.fillPoly(footprint, [to_fixed_points(polygon / factor)], 1.0, cv2.LINE_AA, 4)
        contact = cv2.GaussianBlur(footprint, (0, 0), 0.006 * max(sh, sw) + 0.6)
        shade = np.clip(1.0 - 0.38 * cast - 0.45 * contact, 0.2, 1.0)
        return cv2.resize(shade, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Camera:
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
        x, y, z = self.to_camera(*(to_f32([v]) for v in (nx, ny, nz)))
        return float(x[0]), float(y[0]), float(z[0])


def fit_camera(
    scene: Scene,
    width: float,
    height: float,
    depth: float,
    elevation_deg: float,
    *,
    fill: float = 0.74,
    zoom: float = 1.0,
    target: tuple[float, float, float] | None = None,
) -> Camera:
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
    return Camera(scale, cx, cy, el)


# --- shading ---------------------------------------------------------------------------------


def to_f32(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def power(x: np.ndarray, exponent: float) -> np.ndarray:
    """x ** exponent for x >= 0, in float32; OpenCV's is some fifty times faster than numpy's."""
    return cv2.pow(np.ascontiguousarray(x, np.float32), float(exponent))


def normalise(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    x, y, z = (np.asarray(v, np.float32) for v in (x, y, z))
    inverse = 1 / (np.sqrt(x * x + y * y + z * z) + 1e-9)
    return x * inverse, y * inverse, z * inverse


def _environment(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    # What a mirror sees in the studio: a softbox upper left, a reflector right, a dark floor.
    sky = np.where(ry >= 0, 0.22 + 0.3 * ry, 0.1 + 0.08 * (1 + ry))
    softbox = 2.4 * np.exp(-(((rx + 0.55) / 0.2) ** 2) - ((ry - 0.3) / 0.4) ** 2)
    reflector = 0.7 * np.exp(-(((rx - 0.72) / 0.16) ** 2) - (ry / 0.55) ** 2)
    return (sky + softbox + reflector).astype(np.float32)


def shade_points(
    normal: tuple[np.ndarray, ...],
    albedo: np.ndarray,
    aux: np.ndarray,
    finish: Finish,
    light: np.ndarray,
) -> np.ndarray:
    """Shade N surface points: normals (3 arrays of N, camera frame), albedo and aux (N, 3),
    light falloff (N,). Dielectrics get diffuse light, highlights and a little reflection;
    metals (aux metal = 1) reflect the studio, tinted by their albedo."""
    nx, ny, nz = (np.asarray(v, np.float32) for v in normal)
    light = np.asarray(light, np.float32)
    albedo = np.asarray(albedo, np.float32)
    gloss, metal = aux[:, 1].astype(np.float32), aux[:, 2].astype(np.float32)
    ndl = np.clip(nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2], 0, None)
    ndf = np.clip(nx * _FILL[0] + ny * _FILL[1] + nz * _FILL[2], 0, None)
    ndh = np.clip(nx * _HALF[0] + ny * _HALF[1] + nz * _HALF[2], 0, None)
    ndv = np.clip(nz, 0, 1)
    diffuse = finish.ambient + finish.diffuse * ndl * light + finish.fill * ndf
    diffuse += finish.translucency * (1 - ndl)
    spec = finish.specular * power(ndh, finish.shininess) + finish.sheen * power(ndh, 6)
    spec *= light
    env = _environment(2 * ndv * nx, 2 * ndv * ny)
    fresnel = finish.reflect * (0.25 + 0.75 * power(1 - ndv, 4))
    dielectric = albedo * diffuse[:, None] + (gloss * (spec + fresnel * env))[:, None]
    metallic = albedo * (finish.metal_base * diffuse + finish.metal_env * env * light)[:, None]
    metallic += albedo * (gloss * spec)[:, None]
    return (dielectric + metal[:, None] * (metallic - dielectric)).astype(np.float32)


def bump_slope(height_map: np.ndarray, inner: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
    """Slope of a height map sampled into the image (object units per object unit), zeroed
    near the silhouette where the map's edge would fake a ridge."""
    gx = cv2.Sobel(height_map, cv2.CV_32F, 1, 0, ksize=3) * (scale / 8)
    gy = cv2.Sobel(height_map, cv2.CV_32F, 0, 1, ksize=3) * (scale / 8)
    return gx * inner, gy * inner


def to_layer(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray, rgb, top, left) -> Layer:
    layer_rgb = np.zeros((*mask.shape, 3), np.float32)
    layer_rgb[rows, cols] = rgb
    return Layer(layer_rgb, mask, top, left)
