"""The exception hierarchy. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class MimicaError(Exception):
    """Base class: the message is one line that names the file and says what to do."""


class MediaError(MimicaError):
    """A file could not be opened or decoded as an image or a video."""


class UnsupportedMediaError(MediaError):
    """The file is readable but not a kind of media mimica scans (audio only, GIF, too large...)."""


class NoMediaError(MimicaError):
    """A folder holds no media file."""


class ModelError(MimicaError):
    """A model or its card is missing, corrupt or inconsistent."""


class FaceBackendError(MimicaError):
    """The face detector could not be created (missing package or model file)."""


class DatasetError(MimicaError):
    """A dataset folder does not have the expected layout."""


class SwapError(MimicaError):
    """A face swap could not be made (no face in the source or the target, bad options)."""


class NoFaceError(SwapError):
    """No face was found where one is needed (the source picture, or anywhere in the target)."""


class OutputError(SwapError):
    """The output path cannot be written: same as an input, unsupported container, folder missing."""


class SigningError(MimicaError):
    """C2PA signing keys are missing or unusable, or signing failed."""


class ProvenanceError(MimicaError):
    """Provenance marks (watermark, XMP, C2PA) could not be read or written."""


class BatchError(MimicaError):
    """A batch cannot run: no inputs, results folder unusable or locked, workers that cannot start."""
