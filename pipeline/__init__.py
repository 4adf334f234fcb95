"""Sohoa: museum scans in, a verified catalogue in S3-compatible storage out."""

__version__ = "0.1.0"
