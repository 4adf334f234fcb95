"""Materials as textures for bodies of revolution (u round the body, v down it); no geometry."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from pipeline.samples.render.drawing import (
    Ink,
    draw_circle,
    draw_polyline,
    make_noise,
    make_seamless,
    xy,
)
from pipeline.samples.render.motif import (
    paint_bands,
    paint_cloud,
    paint_dragon,
    paint_glyph,
    paint_lappets,
    paint_lotus_scroll,
    paint_waves,
)
from pipeline.samples.render.scene import Camera, Colour, Scene, Texture, to_f32

COBALT = (0.13, 0.2, 0.52)
PORCELAIN = (0.93, 0.93, 0.9)
GOLD = (0.98, 0.78, 0.4)
SILVER = (0.86, 0.86, 0.84)
BRONZE = (0.42, 0.3, 0.17)


def _lin(colour: Colour) -> np.ndarray:
    return to_f32(colour) ** 2


def mix_colour(base: np.ndarray, colour: Colour, amount: np.ndarray) -> np.ndarray:
    return base + (_lin(colour) - base) * amount[:, :, None]


def fill_colour(shape: tuple[int, int], colour: Colour) -> np.ndarray:
    return np.broadcast_to(_lin(colour), (*shape, 3)).astype(np.float32)


def make_aux(shape: tuple[int, int], height, gloss, metal) -> np.ndarray:
    aux = np.empty((*shape, 3), np.float32)
    aux[:, :, 0], aux[:, :, 1], aux[:, :, 2] = height, gloss, metal
    return aux


def make_glaze_base(scene: Scene, shape: tuple[int, int], colour: Colour, wrap: bool) -> np.ndarray:
    field = make_noise(shape, scene.grain, (0.2, 0.05, 0.006), (0.05, 0.03, 0.02))
    if wrap:
        field = make_seamless(field)
    return fill_colour(shape, colour) * (1 + field)[:, :, None]


def fit_texture_size(cam: Camera, width: float, height: float) -> tuple[int, int]:
    """(rows, columns) for a surface of the given extent: about a texel per image pixel,
    capped so that zoomed views stay fast (they get a little softer instead)."""
    tw, th = max(64, int(width * cam.scale)), max(64, int(height * cam.scale))
    cap = 3_500_000
    if tw * th > cap:
        f = math.sqrt(cap / (tw * th))
        tw, th = int(tw * f), int(th * f)
    return th, tw


def _porcelain_texture(scene: Scene, shape: tuple[int, int], kind: str) -> Texture:
    """Blue-and-white: cobalt bands, a dragon chasing a pearl in front, clouds behind."""
    h, w = shape
    ink = Ink(shape)
    line = max(1.0, h * 0.006)
    if kind == "vase":
        paint_bands(ink.img, [h * f for f in (0.06, 0.075, 0.2, 0.215, 0.86, 0.875)], 220, line)
        paint_waves(ink.img, h * 0.015, h * 0.04, 200, line)
        paint_lappets(ink.img, h * 0.2, h * 0.07, 10, 210, line, up=True)
        paint_lappets(ink.img, h * 0.86, h * 0.06, 12, 210, line, up=False)
        main = (w * 0.33, h * 0.3, w * 0.34, h * 0.45)
        cloud_y = h * 0.55
    else:
        paint_bands(ink.img, [h * 0.05, h * 0.07, h * 0.8, h * 0.82], 220, line)
        paint_waves(ink.img, h * 0.84, h * 0.1, 200, line)
        main = (w * 0.3, h * 0.14, w * 0.4, h * 0.6)
        cloud_y = h * 0.45
    paint_dragon(ink, main, scene.design)
    # Clouds drift round the back, across the texture's seam: paint them on both sides of it.
    for k in range(5):
        cx = (k + 0.5) / 5 * w * 0.38 - w * 0.19
        cy = cloud_y + h * 0.1 * math.sin(k * 1.7)
        for dx in (0, w):
            paint_cloud(ink, xy(cx + dx, cy), h * 0.06, 210, filled=False)
    amount = ink.amount(blur=max(0.6, h * 0.0015))
    # Cobalt pools where it is thick: darker flecks ("heaped and piled").
    flecks = np.clip(make_noise(shape, scene.grain, (0.004, 0.0015), (1.0, 0.6)) * 2, 0, 1)
    amount = np.clip(amount * (0.9 + 0.3 * flecks), 0, 1)
    albedo = mix_colour(make_glaze_base(scene, shape, PORCELAIN, wrap=True), COBALT, amount)
    return Texture(albedo, make_aux(shape, 0.0005 * amount, 1.0, 0.0))


def _crackle_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """A grey-green crackle glaze with brown iron bands, the crazing stained dark."""
    h, w = shape
    # Zero crossings of smooth noise close into cells, much like a crackle network.
    coarse = make_seamless(make_noise(shape, scene.grain, (0.035, 0.012), (0.8, 0.2)))
    fine = make_seamless(make_noise(shape, scene.grain, (0.011,), (1.0,)))
    px = 1.0 / (0.035 * max(h, w))
    crack = np.exp(-((coarse / (1.2 * px)) ** 2)) * 0.85 + np.exp(-((fine / (2.5 * px)) ** 2)) * 0.3
    crack = np.clip(crack, 0, 1).astype(np.float32)
    bands = Ink(shape)
    paint_bands(bands.img, [h * 0.02, h * 0.95], 255, h * 0.03)
    paint_bands(bands.img, [h * 0.24, h * 0.255], 255, h * 0.006)
    albedo = mix_colour(
        make_glaze_base(scene, shape, (0.76, 0.75, 0.66), wrap=True), (0.4, 0.34, 0.24), crack
    )
    albedo = mix_colour(albedo, (0.36, 0.2, 0.1), bands.amount(blur=h * 0.003))
    return Texture(albedo, make_aux(shape, -0.0002 * crack, 0.85, 0.0))


def _enamel_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Painted enamel (pháp lam): a turquoise ground, lotus scrolls, gilt copper rims."""
    h = shape[0]
    layers = {name: Ink(shape) for name in ("stem", "leaf", "flower", "heart")}
    paint_lotus_scroll(layers, h * 0.38, h * 0.3, scene.design)
    band, motif, gilt = Ink(shape), Ink(shape), Ink(shape)
    paint_bands(band.img, [h * 0.2, h * 0.75], 255, h * 0.07)
    paint_lappets(motif.img, h * 0.2, h * 0.05, 16, 255, h * 0.005, up=False)
    paint_lappets(motif.img, h * 0.75, h * 0.05, 16, 255, h * 0.005, up=True)
    gilt_rows = [h * f for f in (0.004, 0.995, 0.165, 0.235, 0.715, 0.785)]
    paint_bands(gilt.img, gilt_rows, 255, h * 0.012)
    albedo = make_glaze_base(scene, shape, (0.25, 0.62, 0.66), wrap=True)
    albedo = mix_colour(albedo, (0.95, 0.82, 0.25), band.amount())
    albedo = mix_colour(albedo, (0.15, 0.25, 0.6), motif.amount())
    albedo = mix_colour(albedo, (0.3, 0.55, 0.2), layers["stem"].amount())
    albedo = mix_colour(albedo, (0.25, 0.55, 0.22), layers["leaf"].amount())
    albedo = mix_colour(albedo, (0.93, 0.55, 0.6), layers["flower"].amount())
    albedo = mix_colour(albedo, (0.98, 0.9, 0.4), layers["heart"].amount())
    metal = gilt.amount()
    albedo = mix_colour(albedo, GOLD, metal)
    # Enamel is pitted with tiny bubbles.
    pits = np.clip(make_noise(shape, scene.grain, (0.002,), (1.0,)) - 0.55, 0, 1) * 3
    height = 0.0004 * metal - 0.0003 * pits
    return Texture(albedo, make_aux(shape, height, 1.0 - 0.5 * pits, metal))


def make_bronze_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Cast bronze: relief bands of meander, a longevity medallion, green patina in hollows."""
    h, w = shape
    relief = Ink(shape)
    paint_bands(relief.img, [h * 0.3, h * 0.33, h * 0.62, h * 0.65], 255, h * 0.006)
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
        draw_polyline(relief.img, meander, 255, h * 0.005)
    for cx in (w * 0.5, 0.0, w):
        draw_circle(relief.img, (cx, h * 0.5), h * 0.09, 255, width=h * 0.008)
        # The same character ("longevity") on every bronze, whatever the object's design.
        glyph_rng = np.random.default_rng(7)
        paint_glyph(relief.img, cx - h * 0.055, h * 0.445, h * 0.11, glyph_rng, 255, h * 0.009)
    paint_dragon(relief, (w * 0.1, h * 0.67, w * 0.25, h * 0.2), scene.design, scales=False)
    paint_dragon(
        relief, (w * 0.65, h * 0.67, w * 0.25, h * 0.2), scene.design, scales=False, facing=-1
    )
    raised = relief.amount(blur=max(0.8, h * 0.002))
    mottle = make_seamless(make_noise(shape, scene.grain, (0.08, 0.02, 0.004), (0.5, 0.3, 0.2)))
    albedo = fill_colour(shape, BRONZE) * (1 + 0.35 * mottle)[:, :, None]
    patina = np.clip(0.5 * mottle + 0.2 - raised * 0.6, 0, 1)
    patina = np.clip(patina * 1.6 + (1 - raised) * 0.1 * (mottle > 0.1), 0, 1)
    albedo = mix_colour(albedo, (0.4, 0.52, 0.4), patina * 0.7)
    albedo = mix_colour(albedo, (0.72, 0.55, 0.32), raised * 0.45)
    metal = np.clip(0.85 - patina, 0, 1)
    return Texture(albedo, make_aux(shape, 0.004 * raised, 0.7 - 0.5 * patina, metal))


def _precious_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Gold or silver: repoussé dragon and clouds, a beaded rim, tarnish in the recesses."""
    h, w = shape
    gold = scene.palette == "gold"
    relief = Ink(shape)
    paint_bands(relief.img, [h * 0.06, h * 0.1, h * 0.88], 255, h * 0.01)
    paint_dragon(relief, (w * 0.32, h * 0.25, w * 0.36, h * 0.5), scene.design, scales=True)
    for k in range(6):
        paint_cloud(relief, xy((k + 0.5) * w / 6, h * 0.18), h * 0.06, 255, filled=True)
    beads = Ink(shape)
    for k in range(int(w / (h * 0.03))):
        draw_circle(beads.img, (k * h * 0.03, h * 0.035), h * 0.011, 255)
    raised = np.maximum(relief.amount(blur=max(0.8, h * 0.002)), beads.amount(blur=1.0))
    wear = make_seamless(make_noise(shape, scene.grain, (0.05, 0.01), (0.6, 0.4)))
    # Tarnish collects in the recesses beside the relief, where polishing does not reach.
    halo = np.clip(cv2.GaussianBlur(raised, (0, 0), max(1.0, h * 0.006)) - raised, 0, 1) * 2.5
    tarnish = np.clip(halo + 0.12 + 0.2 * wear, 0, 1) * (0.5 if gold else 0.9)
    tarnish_colour = (0.6, 0.42, 0.2) if gold else (0.42, 0.38, 0.33)
    albedo = mix_colour(fill_colour(shape, GOLD if gold else SILVER), tarnish_colour, tarnish)
    height = 0.005 * raised + 0.0004 * wear
    return Texture(albedo, make_aux(shape, height, 0.9 - 0.4 * tarnish, 1.0))


def _glass_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Blown glass: an even tint, a few seed bubbles, faint waviness from the blowing."""
    bubbles = np.clip(make_noise(shape, scene.grain, (0.004,), (1.0,)) - 0.7, 0, 1)
    waves = make_seamless(make_noise(shape, scene.grain, (0.08, 0.02), (0.7, 0.3)))
    albedo = fill_colour(shape, (0.2, 0.35, 0.75))
    return Texture(albedo, make_aux(shape, 0.002 * waves + 0.0005 * bubbles, 1.0, 0.0))


def make_jade_texture(scene: Scene, shape: tuple[int, int]) -> Texture:
    """Nephrite: an even celadon green, clouded paler, with a few darker veins."""
    clouds = make_noise(shape, scene.grain, (0.4, 0.12), (0.6, 0.25))
    veins = np.exp(-((make_noise(shape, scene.grain, (0.15,), (1.0,)) / 0.015) ** 2))
    pale = np.clip(clouds * 1.5 + 0.3, 0, 1) * 0.45
    albedo = mix_colour(fill_colour(shape, (0.52, 0.7, 0.52)), (0.8, 0.87, 0.74), pale)
    albedo = mix_colour(albedo, (0.3, 0.45, 0.32), veins.astype(np.float32) * 0.35)
    return Texture(albedo, make_aux(shape, 0.0001 * clouds, 0.9, 0.0))


def make_revolution_texture(scene: Scene, shape: tuple[int, int], kind: str) -> Texture:
    palette = scene.palette
    if palette == "blue_white":
        return _porcelain_texture(scene, shape, kind)
    painters: dict[str, Callable[[Scene, tuple[int, int]], Texture]] = {
        "crackle": _crackle_texture,
        "enamel": _enamel_texture,
        "bronze": make_bronze_texture,
        "gold": _precious_texture,
        "silver": _precious_texture,
        "glass": _glass_texture,
        "jade": make_jade_texture,
    }
    if palette in painters:
        return painters[palette](scene, shape)
    return Texture(
        make_glaze_base(scene, shape, (0.7, 0.7, 0.68), True), make_aux(shape, 0, 0.5, 0)
    )
