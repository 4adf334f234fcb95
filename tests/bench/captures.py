"""Realistic captures for the benchmarks, rendered deterministically (same bytes every run).

What a museum's camera delivers, not a smooth test card: a painted terracotta vase on a grey
sweep, with glaze bands, fine stripes, craquelure, a specular glint that clips, a 24-patch
colour chart, a millimetre scale bar, lens blur and signal-dependent sensor noise; the files
carry an Adobe RGB (1998) or eciRGB v2 profile (or sRGB, the best case), as FADGI and
Metamorfoze masters do. The scene is the one of the team's shared capture renderer; nothing is
downloaded. Not a test and not product code.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

F32 = np.float32

# Classic 24-patch colour target (approximate 8-bit values), 4 rows x 6 columns
TARGET = (
    np.array(
        [
            (115, 82, 68),
            (194, 150, 130),
            (98, 122, 157),
            (87, 108, 67),
            (133, 128, 177),
            (103, 189, 170),
            (214, 126, 44),
            (80, 91, 166),
            (193, 90, 99),
            (94, 60, 108),
            (157, 188, 64),
            (224, 163, 46),
            (56, 61, 150),
            (70, 148, 73),
            (175, 54, 60),
            (231, 199, 31),
            (187, 86, 149),
            (8, 133, 161),
            (243, 243, 242),
            (200, 200, 200),
            (160, 160, 160),
            (122, 122, 121),
            (85, 85, 85),
            (52, 52, 52),
        ],
        F32,
    ).reshape(4, 6, 3)
    / 255.0
)


def octave(rng, W, H, cells_x):
    """Smooth value noise: random grid of ~cells_x columns upsampled (bicubic) to WxH."""
    cx = max(2, int(cells_x))
    cy = max(2, round(cells_x * H / W))
    g = rng.standard_normal((cy, cx)).astype(F32)
    return cv2.resize(g, (W, H), interpolation=cv2.INTER_CUBIC)


def render_scene(W: int, H: int, seed: int) -> np.ndarray:
    """Return float32 HxWx3 in [0, ~1.05] (encoded Adobe RGB values, not yet clipped)."""
    rng = np.random.default_rng(seed)
    S = min(W, H)  # scale unit in pixels
    y = (np.arange(H, dtype=F32) / H)[:, None]
    x = (np.arange(W, dtype=F32) / W)[None, :]

    # --- backdrop: grey sweep + vignette + low-frequency mottling -------------------
    aspect = H / W
    r2 = (x - 0.5) ** 2 + ((y - 0.5) * aspect) ** 2
    bg = (0.86 - 0.16 * y) * (1.0 - 0.55 * r2)
    bg = bg + 0.012 * octave(rng, W, H, 12) + 0.006 * octave(rng, W, H, W / 2.5)  # fabric grain
    # contact + cast shadow (light from upper left -> shadow to the lower right)
    top, bot = 0.12, 0.86
    cxp = 0.5 * W
    px = np.arange(W, dtype=F32)[None, :]
    py = np.arange(H, dtype=F32)[:, None]
    d_contact = ((px - cxp - 0.03 * S) / (0.26 * S)) ** 2 + ((py - bot * H) / (0.03 * S)) ** 2
    d_cast = ((px - cxp - 0.22 * S) / (0.30 * S)) ** 2 + ((py - (0.62 * H)) / (0.30 * S)) ** 2
    bg = bg * (1.0 - 0.45 * np.exp(-d_contact) - 0.12 * np.exp(-d_cast))
    img = np.empty((H, W, 3), F32)
    for c, tint in enumerate((1.0, 0.993, 0.982)):  # barely warm neutral
        img[..., c] = bg * tint
    del bg, r2, d_contact, d_cast

    # --- vase: lathe profile --------------------------------------------------------
    t_ctrl = [0.0, 0.03, 0.10, 0.17, 0.30, 0.52, 0.75, 0.90, 0.95, 1.0]
    r_ctrl = [0.105, 0.100, 0.062, 0.068, 0.165, 0.235, 0.185, 0.095, 0.112, 0.112]
    rows = np.arange(H, dtype=F32)
    t = (rows / H - top) / (bot - top)
    radius = np.interp(t, t_ctrl, r_ctrl).astype(F32) * S
    k = max(3, H // 200) | 1
    radius = np.convolve(radius, np.ones(k, F32) / k, mode="same")
    inside_rows = (t >= 0) & (t <= 1)
    radius[~inside_rows] = 0.0
    rad = radius[:, None]
    dxp = px - cxp
    alpha = np.clip(rad - np.abs(dxp) + 0.5, 0.0, 1.0) * (rad > 0)  # anti-aliased silhouette
    nx = np.clip(dxp / np.maximum(rad, 1.0), -1.0, 1.0)
    nz = np.sqrt(1.0 - nx * nx)
    lambert = np.maximum(0.0, -0.55 * nx + 0.83 * nz)
    shade = 0.22 + 0.78 * lambert
    spec = 0.55 * np.exp(-(((nx + 0.38) / 0.045) ** 2))  # glint -> some clipped pixels
    theta = np.arcsin(nx)
    s_arc = theta * rad  # arc length around the body, px
    tt = t[:, None]

    base = np.array([0.70, 0.40, 0.24], F32)
    glaze = np.array([0.075, 0.060, 0.050], F32)
    tex = (
        1.0
        + 0.07 * octave(rng, W, H, 60)
        + 0.035 * octave(rng, W, H, 240)
        + 0.02 * octave(rng, W, H, 900)
        + 0.05 * octave(rng, W, H, W / 2.2)
    )  # clay grain
    paint = np.zeros((H, W), F32)  # 1 = black glaze
    # glaze bands
    for a, b in ((0.0, 0.035), (0.09, 0.115), (0.80, 0.86), (0.93, 1.0)):
        paint = np.maximum(paint, ((tt >= a) & (tt < b)).astype(F32))
    # fine stripes, ~6 px period at 24 MP (aliasing / resize stress)
    per = max(4.0, S / 660.0)
    band = ((tt >= 0.22) & (tt < 0.30)).astype(F32)
    paint = np.maximum(paint, band * (np.sin(py * (2 * np.pi / per)) > 0.3).astype(F32))
    # meander-like checker band wrapped around the body
    P = max(8.0, S / 150.0)
    band = ((tt >= 0.34) & (tt < 0.40)).astype(F32)
    chk = (np.sin(s_arc * (np.pi / P)) * np.sin(py * (np.pi / P))) > 0
    paint = np.maximum(paint, band * chk.astype(F32))
    # painted figures in the main zone (random filled ellipses / polygons)
    fig = np.zeros((H, W), np.uint8)
    y0, y1 = int((top + 0.45 * (bot - top)) * H), int((top + 0.74 * (bot - top)) * H)
    for _ in range(14):
        yc = int(rng.integers(y0, y1))
        rmax = max(1.0, radius[yc] * 0.8)
        xc = int(cxp + rng.uniform(-rmax, rmax))
        axes = (int(rng.uniform(0.015, 0.05) * S), int(rng.uniform(0.03, 0.09) * S))
        cv2.ellipse(fig, (xc, yc), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1, cv2.LINE_AA)
        pts = (np.array([xc, yc]) + rng.normal(0, 0.03 * S, (5, 2))).astype(np.int32)
        cv2.fillPoly(fig, [pts], 1, cv2.LINE_AA)
    paint = np.maximum(paint, fig.astype(F32))
    del fig, chk, band
    # craquelure: thin zero-crossing network of mid-frequency noise
    crack = np.abs(octave(rng, W, H, 140)) < 0.035
    surface = np.empty((H, W, 3), F32)
    for c in range(3):
        col = base[c] * (1.0 - paint) + glaze[c] * paint
        col = col * tex * (1.0 - 0.35 * crack)
        surface[..., c] = col * shade + spec * (1.0 - 0.6 * paint)
    del tex, paint, crack, nx, nz, lambert, theta, s_arc
    a3 = alpha[..., None]
    img = img * (1.0 - a3) + surface * a3
    del surface, a3, alpha

    # --- colour target (bottom-left) and mm scale bar (bottom-right) -----------------
    p = int(0.045 * S)
    gap = max(2, p // 8)
    ox, oy = int(0.04 * W), int(H - 0.04 * H - 4 * (p + gap) - gap)
    img[oy : oy + 4 * (p + gap) + gap, ox : ox + 6 * (p + gap) + gap] = 0.04
    for r in range(4):
        for c in range(6):
            yy, xx = oy + gap + r * (p + gap), ox + gap + c * (p + gap)
            img[yy : yy + p, xx : xx + p] = TARGET[r, c]
    bw, bh = int(0.30 * W), int(0.025 * S)
    bx, by = int(W - 0.04 * W - bw), int(H - 0.06 * H)
    img[by : by + bh, bx : bx + bw] = 0.93
    mm = max(4, int(S / 170))
    for i, xx in enumerate(range(bx + mm, bx + bw - mm, mm)):
        ln = bh * (0.8 if i % 10 == 9 else 0.5 if i % 5 == 4 else 0.3)
        img[by : by + int(ln), xx : xx + max(1, mm // 8)] = 0.03

    # --- optics + sensor -------------------------------------------------------------
    img = cv2.GaussianBlur(img, (0, 0), 0.65)
    sigma = 0.0035 + 0.0065 * np.sqrt(np.clip(img, 0.0, None))  # read + shot noise
    img += sigma * rng.standard_normal(img.shape, dtype=F32)
    return img


def quantise(img: np.ndarray, bits: int) -> np.ndarray:
    m = (1 << bits) - 1
    out = np.clip(img, 0.0, 1.0)
    out *= m
    out += 0.5
    return out.astype(np.uint8 if bits == 8 else np.uint16)


def write_tiff(path: Path, array: np.ndarray, icc: bytes | None) -> None:
    """Uncompressed, ~256 KiB strips, 300 ppi, as common capture software writes them."""
    row_bytes = array.shape[1] * array.shape[2] * array.itemsize
    options = {"iccprofile": icc} if icc else {}
    tifffile.imwrite(path, array, photometric="rgb", rowsperstrip=max(1, (256 * 1024) // row_bytes),
                     compression=None, metadata=None, resolution=(300, 300),
                     resolutionunit="INCH", software="sohoa bench", **options)  # fmt: skip


def jpeg_orientation_6(array: np.ndarray, icc: bytes) -> bytes:
    """q95 4:2:0 with EXIF Orientation 6: `array` (upright, portrait) stored turned 90° CCW."""
    stored = np.ascontiguousarray(np.rot90(array, k=1))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW to display: a camera held in portrait
    exif[0x010F] = "Synthetic"
    exif[0x0110] = "sohoa bench"
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", quality=95, icc_profile=icc,
                                 exif=exif.tobytes(), dpi=(300, 300))  # fmt: skip
    return buffer.getvalue()


def profiles() -> dict[str, bytes | None]:
    """The embedded profiles by name: Adobe RGB (1998), eciRGB v2 (an L* curve table), sRGB."""
    from pipeline.core.srgb import SRGB_ICC
    from pipeline.samples.icc import make_adobe_rgb_profile
    from tests.unit.icc_builder import D50_XY, ECI_RGB_V2, lstar_decode, rgb_profile, table_tag

    return {
        "adobe": make_adobe_rgb_profile(),
        "eci": rgb_profile("eciRGB v2", ECI_RGB_V2, D50_XY, table_tag(lstar_decode)),
        "srgb": SRGB_ICC,
    }


def write_captures(folder: Path, width: int, height: int, names: dict[str, str]) -> dict[str, Path]:
    """The realistic captures named in `names` (bench name -> kind) into `folder`, each made
    only if missing. Kinds: adobe8, adobe16, eci8, srgb8 (TIFF), adobe-jpeg6 (portrait JPEG)."""
    folder.mkdir(parents=True, exist_ok=True)
    icc = profiles()
    paths: dict[str, Path] = {}
    scene: np.ndarray | None = None
    for name, kind in names.items():
        suffix = "jpg" if kind.endswith("jpeg6") else "tif"
        path = paths[name] = folder / f"BENCH.{name}_front_1.{suffix}"
        if path.exists():
            continue
        cv2.setNumThreads(2)
        if kind == "adobe-jpeg6":
            portrait = quantise(render_scene(height, width, seed=20240602), 8)
            path.write_bytes(jpeg_orientation_6(portrait, icc["adobe"] or b""))
            continue
        if scene is None:
            scene = render_scene(width, height, seed=20240601)
        profile = icc[kind[:-2] if kind.endswith("16") else kind[:-1]]
        write_tiff(path, quantise(scene, 16 if kind.endswith("16") else 8), profile)
    return paths
