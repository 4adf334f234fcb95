"""Judge a scan's technical quality from its upright 8-bit pixels; pure, no I/O, never edits them.

Which resolution each measure uses ("analysis copy" is the image shrunk with INTER_AREA to at
most `analysis_long_edge` on its long edge, 1000 px by default; never enlarged):

- clipping, size, resolution tier: every pixel of the full image (shrinking hides clipping);
- noise: 256 small patches of the full image (shrinking averages noise away);
- sharpness: the analysis copy's luminance resampled to exactly `sharpness_long_edge` (1000 px)
  on its long edge, so two photographs of one object at different sizes score alike: the
  variance of the 3×3 Laplacian on the object's box (on the whole frame when no object is
  found), i.e. detail at access-copy scale; a scan too small to hold that detail is enlarged
  and scores low, as it should;
- exposure, blank frame, colour cast, object box, perceptual hash: the analysis copy.

The checks that judge these measures are one table, `check.CHECKS`.
"""

from pipeline.core.profile import QualityThresholds, Tier
from pipeline.core.quality.assessment import (
    assess_quality,
    assess_quality_with_chart,
    classify_tier,
    compute_phash,
    hamming_distance,
)
from pipeline.core.quality.check import CHECKS, Check
from pipeline.core.quality.model import (
    EUROPEANA_TIERS,
    Box,
    ColourCast,
    Finding,
    QualityReport,
    Status,
)

__all__ = [
    "CHECKS",
    "EUROPEANA_TIERS",
    "Box",
    "Check",
    "ColourCast",
    "Finding",
    "QualityReport",
    "QualityThresholds",
    "Status",
    "Tier",
    "assess_quality",
    "assess_quality_with_chart",
    "classify_tier",
    "compute_phash",
    "hamming_distance",
]
