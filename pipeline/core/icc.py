"""Parse a scan's embedded ICC profile once, for decoding and metadata alike; never raises."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import ImageCms


@dataclass(frozen=True)
class IccProfile:
    """An embedded profile: its bytes, the LittleCMS profile and its description as written,
    or (profile None) why it cannot be read. Parsing costs: a scan's profile is read once."""

    data: bytes
    profile: ImageCms.ImageCmsProfile | None
    description: str | None
    error: str | None = None


def read_icc(data: object) -> IccProfile | None:
    """The parsed profile of `data` (an image's `icc_profile` info), None when there is none."""
    if not isinstance(data, bytes) or not data:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        description = ImageCms.getProfileDescription(profile)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        return IccProfile(data=data, profile=None, description=None, error=str(exc))
    return IccProfile(data=data, profile=profile, description=description)


def describe_icc(icc: IccProfile | None, warnings_out: list[str]) -> str | None:
    """The profile's description as records show it; an unreadable profile adds a warning
    (the scan is then treated as sRGB)."""
    if icc is None:
        return None
    if icc.profile is None or icc.description is None:
        warnings_out.append(f"embedded ICC profile is unreadable ({icc.error}); treated as sRGB")
        return None
    return icc.description.strip() or "unnamed profile"
