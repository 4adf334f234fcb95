"""What an ingest takes from a drop folder and how it prints names: links, FIFOs, sockets and
hostile names, on the real file system (no server)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from pipeline.core.naming import to_printable
from pipeline.errors import NotRegularFileError
from pipeline.services.intake import collect_files
from pipeline.services.quarantine import sha256_of_file
from pipeline.services.source import open_source


def hostile_drop(tmp_path: Path) -> tuple[Path, Path]:
    """A drop folder holding one real scan and every kind of entry that is not one."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "OTHER.1_front_1.jpg").write_bytes(b"\xff\xd8 an image elsewhere")
    (outside / "secrets").mkdir()
    (outside / "secrets" / "HM.9_front_1.jpg").write_bytes(b"\xff\xd8 private")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "HM.1_front_1.jpg").write_bytes(b"\xff\xd8 the real scan")
    (drop / "HM.2_front_1.tif").symlink_to("/etc/passwd")
    (drop / "HM.3_front_1.jpg").symlink_to(outside / "OTHER.1_front_1.jpg")
    (drop / "HM.4_front_1.jpg").symlink_to(drop / "HM.1_front_1.jpg")
    (drop / "HM.5_front_1.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (drop / "linked").symlink_to(outside / "secrets")
    os.mkfifo(drop / "HM.6_front_1.jpg")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(drop / "HM.7_front_1.jpg"))
    server.close()
    return drop, outside


def test_links_and_other_non_regular_entries_are_skipped_with_why_and_never_opened(
    tmp_path: Path,
) -> None:
    """Fault: a drop folder holding links named like scans (to /etc/passwd, to an image outside
    the folder, to another scan in it, to nothing), a link to a folder outside, a FIFO and a
    socket.
    Outcome: `ingest` and `batch` take only the regular file; every other entry is skipped
    with a line saying what it is (a link: never followed); a FIFO is never opened (the
    listing would block on it); links named on the command line are skipped the same way.
    """
    drop, _ = hostile_drop(tmp_path)
    selection = collect_files([drop])
    assert selection.files == [drop.resolve() / "HM.1_front_1.jpg"]
    why = {path.name: reason for path, reason in selection.skipped}
    assert set(why) == {f"HM.{i}_front_1.{'tif' if i == 2 else 'jpg'}" for i in range(2, 8)} | {
        "linked"
    }
    for name in ("HM.2_front_1.tif", "HM.3_front_1.jpg", "HM.4_front_1.jpg", "HM.5_front_1.jpg"):
        assert why[name].startswith("a symbolic link: links are never followed"), why[name]
    assert why["linked"].startswith("a link to a folder: links are never followed")
    assert why["HM.6_front_1.jpg"] == "a named pipe (FIFO), not a regular file"
    assert why["HM.7_front_1.jpg"] == "a socket, not a regular file"
    # Nothing of the folder the link points at is taken.
    assert not any("secrets" in str(p) for p in selection.files)

    named = collect_files([drop / "HM.2_front_1.tif", drop / "linked", drop / "HM.1_front_1.jpg"])
    assert named.files == [drop.resolve() / "HM.1_front_1.jpg"]
    assert sorted(p.name for p, _ in named.skipped) == ["HM.2_front_1.tif", "linked"]


def test_a_source_is_opened_only_as_the_regular_file_it_is(tmp_path: Path) -> None:
    """Fault: the worker (or the batch's hashing) is handed a link to /etc/passwd, a link to an
    image, a FIFO, a folder.
    Outcome: NOT_REGULAR_FILE naming the file (and where a link points) and the remedy,
    before anything is read: a FIFO without a writer does not block the open.
    """
    drop, _ = hostile_drop(tmp_path)
    with open_source(drop / "HM.1_front_1.jpg") as handle:
        assert handle.read() == b"\xff\xd8 the real scan"
    for name in ("HM.2_front_1.tif", "HM.3_front_1.jpg", "HM.6_front_1.jpg", "linked"):
        with pytest.raises(NotRegularFileError) as refused:
            open_source(drop / name)
        assert refused.value.code == "NOT_REGULAR_FILE"
        assert repr(name) in refused.value.message
    with pytest.raises(NotRegularFileError) as refused:
        sha256_of_file(drop / "HM.2_front_1.tif")
    assert "symbolic link to '/etc/passwd'" in refused.value.message
    assert "never follows links" in refused.value.message


def test_names_print_on_one_line_whatever_they_hold() -> None:
    """Fault: file names holding a newline, a carriage return, an ANSI escape, a right-to-left
    override, bytes that are not UTF-8, a backslash.
    Outcome: printed escaped (\\n, \\x1b, \\u202e, \\xff, \\\\), so a name cannot forge or
    colour a log line; Vietnamese names, NFC or NFD, print as they are.
    """
    assert to_printable("HM.1_front_1.jpg\nstored HM.2_front_1.jpg") == (
        "HM.1_front_1.jpg\\nstored HM.2_front_1.jpg"
    )
    assert to_printable("a\r\x1b[31mred\u202egpj.exe") == "a\\r\\x1b[31mred\\u202egpj.exe"
    assert to_printable(os.fsdecode(b"scan-\xff.jpg")) == "scan-\\xff.jpg"
    assert to_printable("a\\nb") == "a\\\\nb"
    for name in ("Bình gốm Huế_front_1.jpg", "Bi\u0300nh go\u0302\u0301m_front_1.jpg"):
        assert to_printable(name) == name
    assert "\n" not in to_printable("\n\u2028\u2029\x85")
