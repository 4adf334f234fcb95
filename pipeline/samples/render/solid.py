"""Primitives rendered into layers: bodies of revolution, textured quads, boxes; paints no motif."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.samples.render.drawing import to_fixed_points
from pipeline.samples.render.scene import (
    LIGHT,
    Camera,
    Colour,
    Finish,
    Layer,
    Scene,
    Texture,
    bump_slope,
    normalise,
    shade_points,
    to_f32,
    to_layer,
)


@dataclass(frozen=True)
class Profile:
    """A body of revolution: radius as a function of height, tabulated finely and smoothed."""

    ys: np.ndarray
    rs: np.ndarray

    @classmethod
    def from_points(cls, points: list[tuple[float, float]], smooth: float = 3.0) -> Profile:
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
class Interior:
    """The inside of an open vessel: its inner profile (mouth down to the floor), its glaze."""

    profile: Profile
    colour: Colour


def render_revolved(
    scene: Scene,
    cam: Camera,
    profile: Profile,
    texture: Texture,
    *,
    x0: float = 0.0,
    z0: float = 0.0,
    rot: float = 0.0,
    interior: Interior | None = None,
    glass: Colour | None = None,
) -> Layer | None:
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
    nx, ny, nz = normalise(px / rho, -profile.slope(y), zl / rho)
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
    gx, gy = bump_slope(np.ascontiguousarray(aux[:, :, 0]), inner, scale)
    albedo, aux = albedo[rows, cols], aux[rows, cols]
    nx, ny, nz = cam.to_camera(nx, ny, nz)
    normal = normalise(nx - gx[rows, cols], ny + gy[rows, cols], nz)
    light = scene.pixel_light(rows + top, cols + left)
    if glass is not None:
        # Glass is mostly what lies behind it; the surface adds reflections and a faint body.
        ratio = np.abs(px) / np.maximum(r, 1e-6)
        rgb = _shade_glass(scene, normal, ratio, rows + top, cols + left, glass, light)
        rgb += shade_points(normal, albedo * 0.12, aux, scene.finish, light)
    else:
        rgb = shade_points(normal, albedo, aux, scene.finish, light)
    if interior is not None:
        mouth = float(interior.profile.radius(np.array([profile.top]))[0])
        cavity = cap & (y >= profile.top - 2 * step) & (rho < mouth)
        if cavity.any():
            rgb[cavity] = _shade_cavity(
                cam, interior, px[cavity], py[cavity], z0, scene.finish, light[cavity]
            )
    return to_layer(mask, rows, cols, rgb, top, left)


def _shade_cavity(
    cam: Camera,
    interior: Interior,
    px: np.ndarray,
    py: np.ndarray,
    z0: float,
    finish: Finish,
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
    wall = normalise(-px / rho, inner.slope(y), -zl / rho)
    nx = np.where(on_wall, wall[0], 0.0)
    ny = np.where(on_wall, wall[1], 1.0)
    nz = np.where(on_wall, wall[2], 0.0)
    # The rim shades the inside: follow the key light up to the mouth and see if it gets out.
    lo = np.array([LIGHT[0], LIGHT[1] * c + LIGHT[2] * s, -LIGHT[1] * s + LIGHT[2] * c])
    reach = (inner.top - y) / max(lo[1], 1e-3)
    out_r = np.sqrt((px + reach * lo[0]) ** 2 + (zl + reach * lo[2]) ** 2)
    mouth = inner.radius(np.array([inner.top]))[0]
    lit = np.clip((mouth - out_r) / (0.06 * mouth) + 0.5, 0, 1)
    depth = (y - inner.bottom) / (inner.top - inner.bottom)
    occlusion = (0.55 + 0.45 * depth).astype(np.float32)
    albedo = np.tile(to_f32(interior.colour) ** 2, (px.size, 1))
    aux = np.tile(to_f32([0, 1, 0]), (px.size, 1))
    normal = cam.to_camera(nx, ny, nz)
    return shade_points(normal, albedo, aux, finish, light * lit) * occlusion[:, None]


def _shade_glass(
    scene: Scene,
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
    transmit = to_f32(tint) ** 2
    rgb = behind[:, None] * np.exp(thickness[:, None] * np.log(transmit)[None, :])
    # The far wall's inside catches the key light: a soft glow on the side away from it.
    glow = 0.05 * np.clip(nx, 0, 1) * (1 - grazing)
    rgb += glow[:, None] * transmit[None, :]
    return (rgb * (0.9 + 0.1 * light[:, None])).astype(np.float32)


def render_quad(
    scene: Scene,
    texture: Texture,
    corners: np.ndarray,
    normal: tuple[float, float, float],
    finish: Finish,
    scale: float,
    clip: np.ndarray | None = None,
) -> Layer | None:
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
    source = to_f32([[0, 0], [tex_w - 1, 0], [tex_w - 1, tex_h - 1], [0, tex_h - 1]])
    target = (corners - [left, top]).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    size = (right - left, bottom - top)
    albedo = cv2.warpPerspective(texture.albedo, matrix, size, flags=cv2.INTER_LINEAR)
    aux = cv2.warpPerspective(texture.aux, matrix, size, flags=cv2.INTER_LINEAR)
    if texture.alpha is not None:
        alpha = cv2.warpPerspective(texture.alpha, matrix, size, flags=cv2.INTER_LINEAR)
    else:
        alpha = np.zeros(size[::-1], np.float32)
        cv2.fillConvexPoly(alpha, to_fixed_points(target), 1.0, cv2.LINE_8, 4)
    mask = alpha > 0.5
    if clip is not None:
        outline = np.zeros(mask.shape, np.uint8)
        cv2.fillPoly(outline, [to_fixed_points(clip - [left, top])], 1, cv2.LINE_8, 4)
        mask &= outline.astype(bool)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    gx, gy = bump_slope(np.ascontiguousarray(aux[:, :, 0]), inner, scale)
    n = [np.full(rows.size, value, np.float32) for value in normal]
    normals = normalise(n[0] - gx[rows, cols], n[1] + gy[rows, cols], n[2])
    light = scene.pixel_light(rows + top, cols + left)
    rgb = shade_points(normals, albedo[rows, cols], aux[rows, cols], finish, light)
    return to_layer(mask, rows, cols, rgb, top, left)


def add_box(
    scene: Scene,
    cam: Camera,
    size: tuple[float, float, float],
    faces: dict[str, Texture],
    finish: Finish,
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
        scene.add(render_quad(scene, faces[name], corners, normal, finish, cam.scale))
    footprint = [point(-hw, 0, hd), point(hw, 0, hd), point(hw, 0, -hd), point(-hw, 0, -hd)]
    scene.contact.append(np.array(footprint))
