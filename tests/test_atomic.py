"""Atomic writes: all or nothing, and outputs get the permissions of a normal write."""

from __future__ import annotations

import os
import stat

import pytest

from engine.atomic import atomic_path, write_bytes_atomic


def test_new_file_gets_the_umask_mode_not_private(tmp_path):
    umask = os.umask(0o022)
    try:
        target = tmp_path / "out.png"
        write_bytes_atomic(target, b"data")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
    finally:
        os.umask(umask)


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
