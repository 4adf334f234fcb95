"""Round artefacts (vessels, the tripod burner) and their undersides, drawn into a scene."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipeline.samples.render.drawing import Ink, make_noise, square_corners
from pipeline.samples.render.motif import paint_inscription, paint_seal_mark
from pipeline.samples.render.scene import Scene, Texture, fit_camera, power
from pipeline.samples.render.solid import Interior, Profile, render_quad, render_revolved
from pipeline.samples.render.surface import (
    BRONZE,
    COBALT,
    GOLD,
    PORCELAIN,
    SILVER,
    fill_colour,
    fit_texture_size,
    make_aux,
    make_bronze_texture,
    make_glaze_base,
    make_revolution_texture,
    mix_colour,
)

# Profiles as (height, radius) points, object units (the tallest objects are 1 high).
SHAPES: dict[str, list[tuple[float, float]]] = {
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


def draw_round(scene: Scene, view: str, kind: str) -> None:
    """Vases, bowls, jars, cups, round boxes, bottles: one body of revolution."""
    if view in ("bottom", "mark"):
        draw_base(scene, view)
        return
    shape = "pear" if (kind == "vase" and scene.palette == "enamel") else kind
    profile = Profile.from_points(SHAPES[shape], smooth=4.0)
    rmax = float(profile.rs.max())
    height = profile.top
    elevation = {"top": 34.0, "detail": 9.0}.get(view, 16.0 if kind == "bowl" else 11.0)
    zoom, target = 1.0, None
    if view == "detail":
        zoom = 1.8
        y_t = height * (0.3 if kind in ("bowl", "cup") else 0.55)
        target = (0.0, y_t, float(profile.radius(np.array([y_t]))[0]))
    cam = fit_camera(scene, 2 * rmax, height, 2 * rmax, elevation, zoom=zoom, target=target)
    texture = make_revolution_texture(
        scene, fit_texture_size(cam, 2 * math.pi * rmax, height), kind
    )
    interior = None
    if shape in _OPEN:
        floor, wall = _OPEN[shape]
        points = [(y, max(0.0, r - wall)) for y, r in zip(profile.ys, profile.rs, strict=True)]
        inner = Profile.from_points([p for p in points if p[0] >= floor], smooth=1.0)
        interior = Interior(inner, _INSIDE_COLOURS.get(scene.palette, (0.5, 0.45, 0.4)))
    glass = (0.55, 0.72, 0.98) if scene.palette == "glass" else None
    rot = _TURNS[view] + 0.02 * scene.shot
    scene.add(
        render_revolved(scene, cam, profile, texture, rot=rot, interior=interior, glass=glass)
    )
    bx, by = cam.project(0, 0, 0)
    r0 = float(profile.rs[0]) * cam.scale
    scene.add_contact_ellipse(bx, by, r0 * 1.05, r0 * math.sin(cam.elevation) * 1.2 + 2)


def draw_burner(scene: Scene, view: str) -> None:
    """A tripod incense burner (đỉnh): body and domed lid, three legs, two upright ears."""
    if view in ("bottom", "mark"):
        draw_base(scene, view)
        return
    body = Profile.from_points(SHAPES["burner"], smooth=4.0)
    leg = Profile.from_points(SHAPES["leg"], smooth=3.0)
    rmax = float(body.rs.max())
    elevation = 30.0 if view == "top" else 12.0
    zoom, target = (2.2, (0.0, 0.5, 0.36)) if view == "detail" else (1.0, None)
    cam = fit_camera(scene, 2 * rmax + 0.3, body.top, 2 * rmax, elevation, zoom=zoom, target=target)
    texture = make_bronze_texture(scene, fit_texture_size(cam, 2 * math.pi * rmax, body.top))
    leg_texture = make_bronze_texture(scene, (256, 128))
    rot = _TURNS[view]
    angles = [math.pi / 2 + k * 2 * math.pi / 3 + rot * 2 * math.pi for k in range(3)]
    legs = sorted(((0.24 * math.cos(a), 0.24 * math.sin(a)) for a in angles), key=lambda p: p[1])
    # Painter's order: legs behind, ears, body, legs in front.
    for lx, lz in legs:
        if lz < 0:
            scene.add(render_revolved(scene, cam, leg, leg_texture, x0=lx, z0=lz))
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
        scene.add(
            render_quad(scene, ear, corners, (side * 0.3, 0.2, 0.93), scene.finish, cam.scale)
        )
    scene.add(render_revolved(scene, cam, body, texture, rot=rot))
    for lx, lz in legs:
        if lz >= 0:
            scene.add(render_revolved(scene, cam, leg, leg_texture, x0=lx, z0=lz))
    for lx, lz in legs:
        px, py = cam.project(lx, 0, lz)
        r = 0.05 * cam.scale
        scene.add_contact_ellipse(px, py, r * 1.3, r * 0.5 + 2)


def _ear_texture(scene: Scene) -> Texture:
    shape = (180, 140)
    alpha = np.zeros(shape, np.float32)
    cv2.rectangle(alpha, (4, 4), (135, 175), 1.0, -1)
    cv2.rectangle(alpha, (38, 34), (101, 150), 0.0, -1)
    tex = make_bronze_texture(scene, shape)
    tex.alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    tex.aux[:, :, 0] += 0.01 * cv2.GaussianBlur(alpha, (0, 0), 8)
    return tex


def draw_base(scene: Scene, view: str) -> None:
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
        "blue_white": PORCELAIN,
        "crackle": (0.75, 0.74, 0.64),
        "enamel": (0.25, 0.62, 0.66),
        "glass": (0.2, 0.35, 0.75),
        "gold": GOLD,
        "silver": SILVER,
    }
    albedo = make_glaze_base(scene, shape, colours.get(palette, BRONZE), wrap=False)
    foot = cv2.GaussianBlur(((rho > 0.7) & (rho < 0.78)).astype(np.float32), (0, 0), side * 0.004)
    if not metallic and palette != "glass":
        # The foot ring is left unglazed: the biscuit shows, slightly gritty.
        grit = make_noise(shape, scene.grain, (0.02, 0.002), (0.5, 0.5))
        biscuit = fill_colour(shape, (0.86, 0.76, 0.64)) * (1 + 0.15 * grit)[:, :, None]
        albedo = albedo + (biscuit - albedo) * foot[:, :, None]
    # The dish of the base: the lower body curving away outside, a raised ring, a recess.
    height = -0.25 * power(np.clip(rho - 0.8, 0, None), 1.5)
    height = height + 0.03 * foot - 0.01 * (rho < 0.7)
    ink = Ink(shape)
    if palette in ("blue_white", "enamel"):
        paint_seal_mark(ink.img, (side / 2, side / 2), side * 0.3, scene.design, 255)
        albedo = mix_colour(albedo, COBALT, ink.amount(blur=1.2) * 0.9)
    else:
        box = (side * 0.38, side * 0.3, side * 0.24, side * 0.4)
        paint_inscription(ink.img, box, 2, 4, scene.design, 255)
        height = height - 0.004 * ink.amount(blur=1.0)
        albedo = mix_colour(albedo, (0.2, 0.16, 0.12), ink.amount(blur=1.0) * 0.5)
    aux = make_aux(shape, height, 0.2 + 0.8 * (1 - foot), 1.0 if metallic else 0.0)
    tex = Texture(albedo.astype(np.float32), aux, (rho <= 1.0).astype(np.float32))
    r = radius * (1.28 if view == "mark" else 1.0)
    cx, cy = scene.width / 2 + scene.shot * 6, scene.height / 2
    scene.add(
        render_quad(scene, tex, square_corners(cx, cy, r), (0.0, 0.0, 1.0), scene.finish, 2 * r)
    )
    scene.add_contact_ellipse(cx, cy + r * 0.2, r * 0.95, r * 0.95)
