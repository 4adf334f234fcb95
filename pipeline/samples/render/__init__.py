"""Draws photographed-looking artefacts as arrays; it must not write files or know accessions."""

# Shading is done in linear light (an encoded value v is taken as v**2, a cheap stand-in for the
# sRGB curve); objects are composited over a grey studio sweep with soft shadows, then encoded,
# softened by a lens blur and given sensor noise, so that compression behaves as on real photos.
# Geometry is analytic: bodies of revolution are drawn from a profile curve, boxes and sheets as
# textured quads; motifs are painted into textures with OpenCV, never pixel by pixel in Python.
# The modules, from the outside in: photograph (the entry), round_object and flat_object (one
# drawing per kind), surface (materials) and motif (decoration), solid (primitives), scene (the
# studio, camera and shading), drawing (strokes and noise).

from pipeline.samples.render.photograph import (
    DEFAULT_PALETTES,
    KINDS,
    PALETTES,
    VIEWS,
    frame_size,
    render_artefact,
)

__all__ = ["DEFAULT_PALETTES", "KINDS", "PALETTES", "VIEWS", "frame_size", "render_artefact"]
