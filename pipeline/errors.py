"""The one error tree: permanent (bad input, never retried) vs retryable (a service is away)."""

from __future__ import annotations


class SohoaError(Exception):
    """Root of every error Sohoa raises on purpose."""

    code = "INTERNAL"

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "file": self.file}


# --- permanent: the input is at fault; retrying cannot help, so the file is quarantined ---------


class PermanentError(SohoaError):
    """Bad input: never retried, ends in quarantine with a stable code and a remedy."""

    code = "PERMANENT"


class EmptyFileError(PermanentError):
    """The file has no bytes at all."""

    code = "EMPTY_FILE"


class NotAnImageError(PermanentError):
    """The bytes are not any image format we can recognise."""

    code = "NOT_AN_IMAGE"


class UnsupportedFormatError(PermanentError):
    """A recognised format that Sohoa refuses to decode (PDF, EPS, PSD, a TIFF codec…)."""

    code = "UNSUPPORTED_FORMAT"


class AnimatedImageError(PermanentError):
    """An animation or image sequence (animated AVIF, WebP or PNG, a HEIF sequence): its first
    frame is not a museum scan."""

    code = "ANIMATED"


class CorruptImageError(PermanentError):
    """The image's data cannot be decoded."""

    code = "CORRUPT"


class TruncatedImageError(PermanentError):
    """The file ends before the image's data does (an interrupted copy)."""

    code = "TRUNCATED"


class PixelLimitError(PermanentError):
    """The image declares more pixels than the profile's ceiling (or is a decompression bomb)."""

    code = "PIXEL_LIMIT"


class DecodeTimeoutError(PermanentError):
    """Decoding and preparing the image took longer than the configured deadline (a hang)."""

    code = "DECODE_TIMEOUT"


class FileTooLargeError(PermanentError):
    """The file is larger than the profile allows."""

    code = "FILE_TOO_LARGE"


class WorkerLostError(PermanentError):
    """Processing the file killed its worker process again and again (a decoder crash or
    memory exhaustion): it is set aside instead of being redelivered forever."""

    code = "WORKER_LOST"


class BadNameError(PermanentError):
    """The file name does not follow the collection's naming pattern."""

    code = "BAD_NAME"


class NotRegularFileError(PermanentError):
    """The path is a symbolic link, a folder, a FIFO, a socket or a device: never opened."""

    code = "NOT_REGULAR_FILE"


class NameConflictError(PermanentError):
    """Different bytes arrived under a view and number already stored for that artefact."""

    code = "NAME_CONFLICT"


# --- retryable: a service is unavailable; back off with jitter, a bounded number of times -------


class RetryableError(SohoaError):
    """A service we depend on failed in a way that may pass; retried with bounded backoff."""

    code = "RETRYABLE"


class StorageUnavailableError(RetryableError):
    """The object store did not answer, or answered with a server-side error."""

    code = "STORAGE_UNAVAILABLE"


class BrokerUnavailableError(RetryableError):
    """Redis did not answer at the configured URL."""

    code = "BROKER_UNAVAILABLE"


class IndexUnavailableError(RetryableError):
    """The catalogue index could not be read or written just now (locked, busy, unreachable)."""

    code = "INDEX_UNAVAILABLE"


class TimeLimitError(RetryableError):
    """The task outlived its soft time limit outside decoding (storage slow to answer, most
    likely): tried again; the file itself was not judged."""

    code = "TIME_LIMIT"


class IntegrityError(RetryableError):
    """Bytes read back from storage do not match what was sent (corrupted in transit)."""

    code = "INTEGRITY"

    def __init__(self, message: str, *, file: str | None = None, expected: str, found: str) -> None:
        super().__init__(message, file=file)
        self.expected = expected
        self.found = found


class BatchBusyError(RetryableError):
    """Another process holds the batch's lock (it is reconciling or writing the report)."""

    code = "BATCH_BUSY"


class ConcurrentUpdateError(RetryableError):
    """Another writer changed an object between our read and our conditional write."""

    code = "CONCURRENT_UPDATE"


# --- configuration: neither the file's fault nor passing; stop and tell the operator ------------


class ConfigurationError(SohoaError):
    """The deployment is wrong (missing bucket, bad credentials, unsafe Redis); sources are kept."""

    code = "CONFIGURATION"


class QuarantineUnavailableError(ConfigurationError):
    """The quarantine folder cannot take a rejected file (full, read-only, not a folder, a name
    it refuses): the file ends failed, its source untouched, nothing half-written left there."""

    code = "QUARANTINE_UNAVAILABLE"


class PortsBusyError(ConfigurationError):
    """An embedded server's recorded ports stayed taken: it is not moved behind the back of
    the workers and batches that use its address."""

    code = "PORTS_BUSY"

    def __init__(self, message: str, *, endpoint: str, busy: list[int]) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.busy = busy


class RecordInvalidError(SohoaError):
    """A record we built does not validate against its schema: a bug, never the user's input."""

    code = "INTERNAL"

    def __init__(self, message: str, *, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems
