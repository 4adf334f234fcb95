"""Generates a deterministic sample museum collection for demos and tests; never ships binaries."""

from pipeline.samples.collection import (
    ADOBE_RGB,
    SRGB,
    VIEW_WORDS_VI,
    SampleCollection,
    SampleScan,
    generate_collection,
    to_file_accession,
)
from pipeline.samples.icc import make_adobe_rgb_profile, make_rgb_profile, make_srgb_profile
from pipeline.samples.render import KINDS, PALETTES, VIEWS, frame_size, render_artefact

__all__ = [
    "ADOBE_RGB",
    "KINDS",
    "PALETTES",
    "SRGB",
    "VIEWS",
    "VIEW_WORDS_VI",
    "SampleCollection",
    "SampleScan",
    "frame_size",
    "generate_collection",
    "make_adobe_rgb_profile",
    "make_rgb_profile",
    "make_srgb_profile",
    "render_artefact",
    "to_file_accession",
]
