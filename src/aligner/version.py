"""The installed package's version (recorded in every output)."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("aligner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
