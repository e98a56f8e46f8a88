"""The format registry that marks and catalogs share."""

from pathlib import Path

import pytest

from napari_imagemarker.formats import FOLDER, FileFormat, FormatRegistry


def _registry() -> FormatRegistry:
    registry = FormatRegistry("test")
    registry.register(FileFormat("tagged", (".csv",), identify=lambda p: "#tag" in p.read_text()))
    registry.register(FileFormat("csv", (".csv",)))
    registry.register(FileFormat("folder", (FOLDER,)))
    registry.register(FileFormat("anything", ()))
    return registry


def test_the_first_format_that_claims_a_file_wins_and_content_decides_between_them(tmp_path):
    registry = _registry()
    (tmp_path / "a.csv").write_text("#tag\nx,y\n")
    (tmp_path / "b.CSV").write_text("x,y\n")
    (tmp_path / "c.dat").write_text("x y\n")
    assert registry.choose(tmp_path / "a.csv").name == "tagged"
    assert registry.choose(tmp_path / "b.CSV").name == "csv"  # suffixes in any case
    assert registry.choose(tmp_path / "c.dat").name == "anything"
    assert registry.choose(tmp_path).name == "folder"
    # writing never reads the file; a path without a suffix is a folder to create
    assert registry.choose(tmp_path / "new.csv", reading=False).name == "tagged"
    assert registry.choose(tmp_path / "new", reading=False).name == "folder"


def test_registering_first_replacing_and_removing(tmp_path):
    registry = _registry()
    registry.register(FileFormat("early", (".csv",)), first=True)
    assert next(iter(registry)) == "early"
    assert registry.choose(tmp_path / "x.csv", reading=False).name == "early"
    registry.register(FileFormat("csv", (".tsv",)))  # replaced in its place
    assert list(registry) == ["early", "tagged", "csv", "folder", "anything"]
    registry.unregister("early")
    assert "early" not in registry and len(registry) == 4


def test_an_unknown_name_is_a_message_naming_the_file_and_the_known_formats():
    with pytest.raises(ValueError, match=r"x\.csv: unknown test format 'nope' \(known: tagged, "):
        _registry().named("nope", Path("x.csv"))
