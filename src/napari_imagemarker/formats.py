"""One registry pattern for file formats, shared by marks and catalogs.

A :class:`FileFormat` names a format, the file name endings it claims and, where several
formats share an ending, how to recognise its files by content. A :class:`FormatRegistry`
keeps formats in the order they are tried and picks the first that claims a path, like
``astropy.table.Table.read`` and ``regions.Regions.read`` do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "FileFormat", "FormatRegistry"]

#: The suffix of a format whose "file" is a folder.
FOLDER = "/"


@dataclass(frozen=True)
class FileFormat:
    """A file format.

    Attributes
    ----------
    name : str
        What ``format=`` takes.
    suffixes : tuple of str
        File name endings it claims (lower case, with the dot); ``(FOLDER,)`` for a folder;
        empty for any file (a fallback, tried in registration order).
    reader : callable or None
        Reads a path (the signature is the registry owner's).
    writer : callable or None
        Writes a path (likewise).
    identify : callable or None
        ``identify(path) -> bool``: whether an existing file is this format, from its
        content; for formats that share endings.
    """

    name: str
    suffixes: tuple[str, ...]
    reader: Callable[..., Any] | None = None
    writer: Callable[..., Any] | None = None
    identify: Callable[[Path], bool] | None = None

    def claims(self, path: Path, reading: bool = True) -> bool:
        """Whether this format is the one for ``path`` when no format is given.

        On writing, a path without a suffix is a folder, and content is not looked at.
        """
        folder = path.is_dir() or (not reading and not path.suffix)
        if FOLDER in self.suffixes or folder:
            return folder and FOLDER in self.suffixes
        if self.suffixes and not path.name.lower().endswith(self.suffixes):
            return False
        return not reading or self.identify is None or self.identify(path)


class FormatRegistry(Mapping):
    """Formats by name, in the order they are tried; a read-only mapping plus
    :meth:`register`.

    Parameters
    ----------
    what : str
        What the formats hold (``"marks"``, ``"catalog"``), for messages.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._formats: dict[str, FileFormat] = {}

    def register(self, fmt: FileFormat, first: bool = False) -> None:
        """Add a format, tried after those already there (``first``: before them), or
        replace the one of that name in its place."""
        if first and fmt.name not in self._formats:
            self._formats = {fmt.name: fmt, **self._formats}
        else:
            self._formats[fmt.name] = fmt

    def unregister(self, name: str) -> None:
        """Remove the format called ``name`` (KeyError if there is none)."""
        del self._formats[name]

    def __getitem__(self, name: str) -> FileFormat:
        return self._formats[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._formats)

    def __len__(self) -> int:
        return len(self._formats)

    def named(self, name: str, path: Path) -> FileFormat:
        """The format called ``name``; ValueError naming ``path`` and the known ones."""
        try:
            return self._formats[name]
        except KeyError:
            raise ValueError(
                f"{path}: unknown {self.what} format {name!r} (known: {', '.join(self)})"
            ) from None

    def choose(self, path: Path, reading: bool = True) -> FileFormat | None:
        """The first format that claims ``path`` (see :meth:`FileFormat.claims`), or None."""
        return next((f for f in self._formats.values() if f.claims(path, reading)), None)
