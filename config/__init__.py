"""Settings and processing profiles; the only package that reads the environment."""

from config.profile import ProcessingProfile, load_profile
from config.settings import SohoaSettings, load_settings

__all__ = ["ProcessingProfile", "SohoaSettings", "load_profile", "load_settings"]
