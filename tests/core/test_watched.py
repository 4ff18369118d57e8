"""`core.watched`, the one way infra opens a file found under a folder others write into:
regular files inside the roots only, never blocking, bounded in size."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from openclaw_infra.core.errors import NoInputError
from openclaw_infra.core.watched import RefusedFile, open_watched, read_watched, refusal


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "note.md").write_text("inside\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    return root


def test_regular_files_and_links_within_the_tree_are_read(tree: Path) -> None:
    """A plain file and a link that stays inside the root read normally."""
    (tree / "link.md").symlink_to(tree / "sub" / "note.md")
    assert read_watched(tree / "sub" / "note.md", [tree], max_bytes=100) == b"inside\n"
    assert read_watched(tree / "link.md", [tree], max_bytes=100) == b"inside\n"
    assert refusal(tree / "link.md", [tree]) is None


def test_fifo_device_socket_and_links_out_are_refused_without_blocking(
    tree: Path, tmp_path: Path
) -> None:
    """Each odd file is refused with its reason; a FIFO with no writer never blocks."""
    os.mkfifo(tree / "pipe.md")
    (tree / "zero.md").symlink_to("/dev/zero")
    (tree / "out.md").symlink_to(tmp_path / "secret.txt")
    (tree / "dangling.md").symlink_to(tree / "nowhere.md")
    (tree / "loop.md").symlink_to(tree / "loop.md")
    sock = socket.socket(socket.AF_UNIX)
    sock_path = tmp_path / "s.sock"  # AF_UNIX paths are short: bind outside the tree, link in
    sock.bind(str(sock_path))
    os.link(sock_path, tree / "sock.md")
    expected = {
        "pipe.md": "a FIFO",
        "zero.md": "leads to /dev/zero, outside",
        "out.md": f"leads to {os.path.realpath(tmp_path / 'secret.txt')}, outside",
        "dangling.md": "dangling symlink",
        "loop.md": "symlink loop",
        "sock.md": "a socket",
    }
    try:
        for name, reason in expected.items():
            with pytest.raises(RefusedFile) as refused:
                read_watched(tree / name, [tree], max_bytes=1 << 20)
            assert refused.value.reason.startswith(reason), name
            assert (refusal(tree / name, [tree]) or "").startswith(reason), name
    finally:
        sock.close()
    # a device is refused for what it is when no root limits where the file may be
    with pytest.raises(RefusedFile, match="a character device"):
        open_watched(Path("/dev/zero"), None)


def test_size_cap_and_gone_files(tree: Path) -> None:
    """Over the cap is refused by size; a file that vanished is FileNotFoundError (the
    caller's "gone"), not a refusal; a refusal not caught is exit 66."""
    (tree / "big.md").write_bytes(b"x" * 2048)
    with pytest.raises(RefusedFile, match="2,048 bytes, over the 1,024-byte limit"):
        read_watched(tree / "big.md", [tree], max_bytes=1024)
    with pytest.raises(FileNotFoundError):
        read_watched(tree / "missing.md", [tree], max_bytes=1024)
    assert refusal(tree / "missing.md", [tree]) is None
    assert issubclass(RefusedFile, NoInputError) and RefusedFile.exit_code == 66
