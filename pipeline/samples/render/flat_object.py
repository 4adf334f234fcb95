"""Flat and boxy artefacts (plate, lacquer box, seal, stele, document, textile)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipeline.samples.render.drawing import (
    Ink,
    draw_circle,
    draw_polyline,
    draw_rectangle,
    fill_polygon,
    make_noise,
    square_corners,
    to_fixed_points,
    xy,
)
from pipeline.samples.render.motif import (
    paint_bands,
    paint_cloud,
    paint_dragon,
    paint_glyph,
    paint_inscription,
    paint_seal_mark,
    paint_waves,
)
from pipeline.samples.render.round_object import SHAPES, draw_base
from pipeline.samples.render.scene import Scene, Texture, fit_camera, power
from pipeline.samples.render.solid import Profile, add_box, render_quad, render_revolved
from pipeline.samples.render.surface import (
    COBALT,
    PORCELAIN,
    fill_colour,
    fit_texture_size,
    make_aux,
    make_glaze_base,
    make_jade_texture,
    mix_colour,
)


def draw_plate(scene: Scene, view: str) -> None:
    """A plate standing face-on to the camera: well, cavetto, rim; or its back or its base."""
    scene.overhead = True
    if view in ("bottom", "mark"):
        draw_base(scene, view)
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
    ink = Ink(shape)
    line = max(1.0, side * 0.003)

    def around(fraction: float, angle: float) -> np.ndarray:
        return xy(c + fraction * ring * math.cos(angle), c + fraction * ring * math.sin(angle))

    if view == "back":
        for rr in (0.93, 0.55, 0.5):
            draw_circle(ink.img, (c, c), rr * ring, 220, width=line)
        for k in range(3):
            paint_cloud(ink, around(0.74, k * 2 * math.pi / 3 + 0.4), side * 0.035, 210, False)
        height = np.where(rho > 0.6, 0.0, -0.01) + np.where(rho > 0.95, -0.02 * (rho - 0.95), 0)
    else:
        for rr in (0.985, 0.96, 0.8, 0.78, 0.44, 0.42):
            draw_circle(ink.img, (c, c), rr * ring, 220, width=line)
        for k in range(8):
            paint_cloud(ink, around(0.88, k * 2 * math.pi / 8), side * 0.025, 210, False)
        well = (c - 0.36 * ring, c - 0.3 * ring, 0.72 * ring, 0.6 * ring)
        paint_dragon(ink, well, scene.design)
        for k in range(6):
            paint_cloud(ink, around(0.6, k * 2 * math.pi / 6 + 0.3), side * 0.03, 200, False)
        # Well flat, cavetto rising, rim flat and slightly raised.
        cavetto = power(np.clip((rho - 0.45) / 0.35, 0, 1), 1.5)
        height = cavetto * 0.06 - np.clip(rho - 0.97, 0, 1)
    albedo = make_glaze_base(scene, shape, PORCELAIN, wrap=False)
    albedo = mix_colour(albedo, COBALT, ink.amount(blur=max(0.6, side * 0.0012)))
    rim = ((below <= 1.0) & (rho > 1.0)).astype(np.float32)
    albedo = mix_colour(albedo, (0.72, 0.72, 0.68), rim)
    alpha = np.maximum((rho <= 1.0).astype(np.float32), rim)
    tex = Texture(albedo.astype(np.float32), make_aux(shape, height * (1 - rim), 1.0, 0.0), alpha)
    cx, cy = scene.width / 2 + scene.shot * 5, scene.height / 2
    if view == "detail":
        cx, cy = cx + radius * 0.1, cy + radius * 0.05
    corners = square_corners(cx, cy, radius / fill, radius * 0.97 / fill)
    scene.add(render_quad(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, 2 * radius / fill))


def _lacquer_face(scene: Scene, shape: tuple[int, int], motif: str) -> Texture:
    """Red lacquer with gilded frames, dragons and clouds; worn and crazed with age."""
    h, w = shape
    rng = scene.design
    gilt = Ink(shape)
    m = min(h, w)
    for inset, width in ((0.04, 0.012), (0.075, 0.005)):
        draw_rectangle(
            gilt.img, (m * inset, m * inset), (w - m * inset, h - m * inset), 255, m * width
        )
    if motif == "top":
        centre = xy(w / 2, h / 2)
        draw_circle(gilt.img, centre, m * 0.14, 255, width=m * 0.01)
        corner = centre - m * 0.08
        paint_glyph(gilt.img, corner[0], corner[1], m * 0.16, rng, 255, m * 0.018)
        paint_dragon(gilt, (w * 0.1, h * 0.15, w * 0.28, h * 0.5), rng, scales=False)
        paint_dragon(gilt, (w * 0.62, h * 0.15, w * 0.28, h * 0.5), rng, scales=False, facing=-1)
        for k in range(5):
            paint_cloud(gilt, xy(w * (0.15 + 0.17 * k), h * 0.8), m * 0.05, 255, True)
    elif motif == "back":
        centre = xy(w / 2, h * 0.55)
        draw_circle(gilt.img, centre, m * 0.25, 255, width=m * 0.02)
        corner = centre - m * 0.15
        paint_glyph(gilt.img, corner[0], corner[1], m * 0.3, rng, 255, m * 0.03)
    else:
        for k in range(4):
            paint_cloud(gilt, xy(w * (0.16 + 0.22 * k), h * 0.5), m * 0.12, 255, True)
        paint_bands(gilt.img, [h * 0.22], 255, m * 0.01)
    amount = gilt.amount(blur=max(0.5, m * 0.001))
    wear = np.clip(make_noise(shape, scene.grain, (0.04, 0.008), (0.7, 0.3)) * 2.5 - 0.55, 0, 1)
    albedo = mix_colour(
        make_glaze_base(scene, shape, (0.6, 0.1, 0.07), wrap=False), (0.3, 0.07, 0.05), wear * 0.5
    )
    albedo = mix_colour(albedo, (0.95, 0.74, 0.35), amount * (1 - 0.5 * wear))
    crazing = Ink(shape)
    paths = [
        to_fixed_points(
            np.cumsum(rng.normal(0, m * 0.01, (12, 2)), axis=0) + rng.uniform(0, [w, h])
        )
        for _ in range(120)
    ]
    cv2.polylines(crazing.img, paths, False, 140, 1, cv2.LINE_AA, 4)
    albedo = mix_colour(albedo, (0.15, 0.04, 0.03), crazing.amount())
    height = 0.0015 * amount - 0.0004 * crazing.amount()
    return Texture(albedo, make_aux(shape, height, 1.0 - 0.6 * wear, amount * (1 - wear)))


def draw_lacquer_box(scene: Scene, view: str) -> None:
    """A red-lacquered, gilded box with a lid, seen from a three-quarter angle above."""
    elevation = {"top": 55.0, "detail": 30.0}.get(view, 26.0)
    zoom = 2.2 if view == "detail" else 1.0
    target = (0.0, 0.42, 0.0) if view == "detail" else None
    cam = fit_camera(scene, 1.25, 0.42, 1.1, elevation, zoom=zoom, target=target, fill=0.7)
    yaws = {"front": 24.0 + 4 * scene.shot, "back": 204.0, "left": -60.0, "right": 65.0}
    top = _lacquer_face(scene, fit_texture_size(cam, 1.0, 0.7), "top")
    side = _lacquer_face(scene, fit_texture_size(cam, 1.0, 0.42), "side")
    end = _lacquer_face(scene, fit_texture_size(cam, 0.7, 0.42), "side")
    back = _lacquer_face(scene, fit_texture_size(cam, 1.0, 0.42), "back")
    # The lid's seam runs round the sides.
    for face in (side, end, back):
        y = int(face.shape[0] * 0.3)
        face.albedo[y : y + max(1, face.shape[0] // 150)] *= 0.25
    faces = {"front": side, "back": back, "left": end, "right": end, "top": top}
    add_box(scene, cam, (1.0, 0.42, 0.7), faces, scene.finish, yaw=yaws.get(view, 18.0))


def draw_seal(scene: Scene, view: str) -> None:
    """A square jade seal with a round knob; its mark view is the carved face."""
    if view in ("bottom", "mark"):
        _draw_seal_face(scene)
        return
    elevation = 40.0 if view == "top" else 18.0
    zoom = 2.0 if view == "detail" else 1.0
    target = (0.0, 0.4, 0.0) if view == "detail" else None
    cam = fit_camera(scene, 0.9, 0.64, 0.9, elevation, zoom=zoom, target=target)
    face = make_jade_texture(scene, fit_texture_size(cam, 0.6, 0.6))
    yaw = {"front": 28.0, "back": 208.0, "left": -35.0, "right": 62.0}.get(view, 28.0)
    sides = dict.fromkeys(("front", "back", "left", "right", "top"), face)
    add_box(scene, cam, (0.6, 0.28, 0.6), sides, scene.finish, yaw=yaw)
    knob = Profile.from_points([(y + 0.28, r) for y, r in SHAPES["knob"]], smooth=3.0)
    scene.add(render_revolved(scene, cam, knob, face, rot=yaw / 360))


def _draw_seal_face(scene: Scene) -> None:
    """The seal's face, photographed straight on: characters carved in relief, red paste."""
    scene.overhead = True
    side = 0.62 * min(scene.width, scene.height)
    shape = (int(side), int(side))
    tex = make_jade_texture(scene, shape)
    ink = Ink(shape)
    h = shape[0]
    draw_rectangle(ink.img, (h * 0.06, h * 0.06), (h * 0.94, h * 0.94), 255, h * 0.03)
    paint_inscription(ink.img, (h * 0.14, h * 0.14, h * 0.72, h * 0.72), 2, 2, scene.design, 255)
    raised = ink.amount(blur=1.0)
    tex.albedo = mix_colour(tex.albedo, (0.65, 0.18, 0.12), (1 - raised) * 0.35)
    tex.aux[:, :, 0] += 0.006 * raised
    corners = square_corners(scene.width / 2, scene.height / 2, side / 2)
    scene.add(render_quad(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, side))


def _stone_face(scene: Scene, shape: tuple[int, int], inscribed: bool) -> Texture:
    """Weathered stone with lichen; inscribed: a dragon frieze over columns of characters."""
    h, w = shape
    grain = make_noise(shape, scene.grain, (0.1, 0.02, 0.004, 0.0015), (0.3, 0.3, 0.25, 0.2))
    albedo = fill_colour(shape, (0.58, 0.56, 0.52)) * (1 + 0.45 * grain)[:, :, None]
    lichen = np.clip(make_noise(shape, scene.grain, (0.06, 0.015), (0.8, 0.4)) * 3 - 0.7, 0, 1)
    albedo = mix_colour(albedo, (0.4, 0.42, 0.34), lichen * 0.5)
    height = 0.006 * grain
    if inscribed:
        rng = scene.design
        ink = Ink(shape)
        draw_rectangle(ink.img, (w * 0.06, h * 0.2), (w * 0.94, h * 0.95), 255, w * 0.006)
        paint_dragon(ink, (w * 0.15, h * 0.04, w * 0.3, h * 0.13), rng, scales=False)
        paint_dragon(ink, (w * 0.55, h * 0.04, w * 0.3, h * 0.13), rng, scales=False, facing=-1)
        paint_inscription(
            ink.img, (w * 0.1, h * 0.24, w * 0.8, h * 0.68), 9, 13, rng, 255, fill=0.7
        )
        cut = ink.amount(blur=max(0.8, w * 0.0015))
        albedo = mix_colour(albedo, (0.3, 0.29, 0.27), cut * 0.8)
        height = height - 0.008 * cut
    return Texture(albedo, make_aux(shape, height, 0.3, 0.0))


def draw_stele(scene: Scene, view: str) -> None:
    """A broken stone stele: the top is a rough fracture, the face inscribed."""
    w, h, d = 0.66, 1.0, 0.16
    elevation = 35.0 if view == "top" else 9.0
    zoom = 2.4 if view == "detail" else 1.0
    target = (0.05, 0.55, 0.09) if view == "detail" else None
    cam = fit_camera(scene, 0.8, 1.0, 0.4, elevation, zoom=zoom, target=target, fill=0.8)
    yaw = {"front": 12.0, "back": 192.0, "left": -55.0, "right": 55.0}.get(view, 12.0)
    # The break belongs to the object's design, so every view shows the same fracture: depths
    # below the nominal top along x (front and back edges), joined straight along the sides.
    jag = np.random.default_rng(int(scene.design.integers(2**31)))
    front_cut = 0.1 + np.cumsum(jag.normal(0, 0.012, 41)) + 0.08 * np.linspace(-1, 1, 41) ** 2
    front_cut = np.clip(front_cut, 0.02, 0.28)
    back_cut = np.clip(front_cut + np.cumsum(jag.normal(0, 0.008, 41)), 0.02, 0.3)
    side_t = np.linspace(0, 1, 9)
    faces = {
        "front": _stone_face(scene, fit_texture_size(cam, w, h), inscribed=True),
        "back": _stone_face(scene, fit_texture_size(cam, w, h), inscribed=False),
        "left": _stone_face(scene, fit_texture_size(cam, d, h), inscribed=False),
        "right": _stone_face(scene, fit_texture_size(cam, d, h), inscribed=False),
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
        fill_polygon(alpha, np.concatenate([outline, [[tw, -1], [0, -1]]]), 0.0)
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
    rough = _stone_face(scene, fit_texture_size(cam, w, d), inscribed=False)
    rough.aux[:, :, 0] *= 3
    up = cam.normal(0.0, 1.0, 0.0)
    scene.add(render_quad(scene, rough, box, up, scene.finish, cam.scale, clip=fracture))
    add_box(scene, cam, (w, h, d), faces, scene.finish, yaw=yaw)


def draw_sheet(scene: Scene, view: str) -> None:
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
    corners = (square_corners(0, 0, w_px / 2, h_px / 2) @ turn.T) + [cx, cy]
    scene.add(render_quad(scene, tex, corners, (0.0, 0.0, 1.0), scene.finish, w_px))


def _paper_texture(scene: Scene, shape: tuple[int, int], back: bool) -> Texture:
    """A royal decree on yellow paper: a silver dragon-and-cloud ground, columns of text,
    the vermilion seal impression; the back shows the text through, mirrored."""
    h, w = shape
    rng = scene.design
    fibres = make_noise((h, w // 4 + 1), scene.grain, (0.003, 0.01), (0.6, 0.4))
    fibres = cv2.resize(fibres, (w, h), interpolation=cv2.INTER_LINEAR)
    wrinkles = make_noise(shape, scene.grain, (0.15, 0.04), (0.7, 0.3))
    albedo = fill_colour(shape, (0.9, 0.78, 0.5)) * (1 + 0.12 * fibres)[:, :, None]
    stains = np.clip(make_noise(shape, scene.grain, (0.08, 0.02), (0.8, 0.3)) * 3 - 0.8, 0, 1)
    albedo = mix_colour(albedo, (0.68, 0.5, 0.28), stains * 0.5)
    ground, text, seal = Ink(shape), Ink(shape), Ink(shape)
    m = min(h, w)
    draw_rectangle(ground.img, (m * 0.05, m * 0.05), (w - m * 0.05, h - m * 0.05), 255, m * 0.01)
    for k in range(3):
        box = (w * (0.08 + 0.3 * k), h * 0.2, w * 0.24, h * 0.55)
        paint_dragon(ground, box, rng, scales=False, facing=1 if k % 2 else -1)
    for _ in range(12):
        centre = xy(rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h)
        paint_cloud(ground, centre, m * 0.05, 255, filled=False)
    paint_inscription(
        text.img, (w * 0.12, h * 0.12, w * 0.76, h * 0.76), 16, 14, rng, 255, fill=0.55
    )
    sx, sy = w * 0.8, h * 0.32
    draw_rectangle(seal.img, (sx - m * 0.16, sy - m * 0.16), (sx + m * 0.16, sy + m * 0.16), 255)
    carve = np.zeros(shape, np.uint8)
    paint_seal_mark(carve, (sx, sy), m * 0.28, rng, 255, chars=6)
    seal_amount = seal.amount(blur=1.0) * (1 - carve.astype(np.float32) / 255 * 0.85)
    seal_amount *= np.clip(0.75 + 0.6 * make_noise(shape, scene.grain, (0.01,), (1.0,)), 0, 1)
    text_amount = text.amount(blur=max(0.6, m * 0.0012))
    if back:
        albedo = mix_colour(albedo, (0.6, 0.5, 0.35), text_amount[:, ::-1] * 0.25)
        albedo = mix_colour(albedo, (0.8, 0.45, 0.3), seal_amount[:, ::-1] * 0.2)
    else:
        albedo = mix_colour(albedo, (0.82, 0.8, 0.72), ground.amount(blur=1.0) * 0.35)
        albedo = mix_colour(albedo, (0.08, 0.07, 0.06), text_amount * 0.92)
        albedo = mix_colour(albedo, (0.78, 0.14, 0.1), seal_amount * 0.9)
    height = 0.004 * wrinkles + 0.0003 * fibres
    # A decree is folded for storage: the creases stay.
    for k in (1, 2, 3):
        x = int(w * k / 4)
        height[:, max(0, x - 2) : x + 2] += 0.002
    return Texture(albedo, make_aux(shape, height, 0.3, 0.0))


def _silk_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Imperial-yellow silk embroidered with a dragon in gold thread, clouds and waves."""
    h, w = shape
    rng = scene.design
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(2.2, min(h, w) / 500)
    weave = np.cos(xx * (2 * math.pi / period)) * np.cos(yy * (2 * math.pi / period))
    folds = make_noise(shape, scene.grain, (0.25, 0.08), (0.8, 0.3))
    albedo = fill_colour(shape, (0.92, 0.72, 0.16)) * (1 + 0.08 * weave + 0.1 * folds)[:, :, None]
    gold = Ink(shape)
    names = ("red", "blue", "green", "white")
    colours = {name: Ink(shape) for name in names}
    m = min(h, w)
    paint_dragon(gold, (w * 0.18, h * 0.2, w * 0.64, h * 0.5), rng)
    for k in range(8):
        centre = xy(rng.uniform(0.12, 0.88) * w, rng.uniform(0.08, 0.3) * h)
        paint_cloud(colours[names[k % 4]], centre, m * 0.05, 255, True)
    # The standing-water border (lập thủy): diagonal rainbow stripes at the bottom.
    for k in range(24):
        x = k * w / 20 - w * 0.1
        stripe = np.array([[x, h * 0.98], [x + h * 0.14, h * 0.8]])
        draw_polyline(colours[("blue", "white", "green", "red")[k % 4]].img, stripe, 255, w / 45)
    paint_waves(colours["blue"].img, h * 0.72, h * 0.08, 255, m * 0.008)
    stitches = (0.75 + 0.25 * np.sin((xx + yy) * (2 * math.pi / (period * 2.2)))).astype(np.float32)
    metal = gold.amount(blur=0.8)
    # Gold thread is couched down with a darker silk outline, which makes the motif read.
    grown = cv2.dilate(metal, np.ones((5, 5), np.uint8), iterations=max(1, m // 600))
    albedo = mix_colour(albedo, (0.45, 0.25, 0.08), np.clip(grown - metal, 0, 1))
    threads = {
        "red": (0.78, 0.16, 0.12),
        "blue": (0.15, 0.3, 0.65),
        "green": (0.2, 0.55, 0.3),
        "white": (0.95, 0.93, 0.88),
    }
    for name, colour in threads.items():
        amount = colours[name].amount(blur=0.8)
        albedo = mix_colour(albedo, colour, amount * stitches)
        metal = metal * (1 - amount)
    albedo = mix_colour(albedo, (0.95, 0.68, 0.2), metal * stitches)
    # Frayed top and bottom edges: each column loses a few threads.
    fray = np.abs(make_noise((1, w), scene.grain, (0.004,), (1.0,)))[0] * m * 0.03
    rows = np.arange(h, dtype=np.float32)[:, None]
    edge = ((rows > fray[None, :]) & (rows < h - 1 - fray[None, :])).astype(np.float32)
    height = 0.006 * folds + 0.0012 * metal * stitches + 0.0002 * weave
    return Texture(albedo, make_aux(shape, height, 0.6 + 0.4 * metal, metal * 0.45), edge)
