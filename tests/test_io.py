import json
import os

import pytest

from mvkit.io import atomic_path, atomic_write_json, read_json, read_jsonl


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_json(p, {"x": "हिन्दी"})
    assert read_json(p) == {"x": "हिन्दी"}
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_json(p, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert json.loads(p.read_text()) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]


def test_read_errors_name_file_and_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"a": 1}\n{bad\n')
    with pytest.raises(ValueError, match=r"c\.jsonl:2"):
        read_jsonl(p)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_json(tmp_path / "missing.json")


def test_atomic_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "p.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644


def test_write_failures_name_the_file_and_read_in_one_line(tmp_path, monkeypatch):
    import errno
    import os
    import stat

    from mvkit.io import (
        atomic_write_text,
        ensure_writable_dir,
        make_temp_dir,
        naming_load_errors,
        naming_os_errors,
        os_error_message,
    )
    with pytest.raises(OSError) as err, naming_os_errors(tmp_path / "x.npy"):
        raise OSError(errno.ENOSPC, "No space left on device")     # what a failed write() raises: no file
    assert err.value.filename == str(tmp_path / "x.npy") and err.value.errno == errno.ENOSPC
    assert os_error_message(err.value) == f"{tmp_path / 'x.npy'}: no space left on device"
    with pytest.raises(PermissionError), naming_os_errors("f"):    # the errno keeps its subclass
        raise OSError(errno.EACCES, "Permission denied")
    assert os_error_message(OSError("a message of its own")) == "a message of its own"

    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left") as err:
        atomic_write_text(tmp_path / "report.json", "{}")
    assert err.value.filename == str(tmp_path / "report.json") and not list(tmp_path.glob(".report.json.*"))
    monkeypatch.setattr(os, "fsync", real_fsync)

    (tmp_path / "a-file").write_text("")
    with pytest.raises(OSError) as err:
        ensure_writable_dir(tmp_path / "a-file" / "run")
    assert str(tmp_path / "a-file") in os_error_message(err.value)
    assert ensure_writable_dir(tmp_path / "new" / "run").is_dir() and not list((tmp_path / "new" / "run").iterdir())

    mask = os.umask(0o027)
    try:
        d = make_temp_dir(tmp_path, ".tmp-")
        assert stat.S_IMODE(d.stat().st_mode) == 0o750     # the umask's mode, not mkdtemp's 0700
    finally:
        os.umask(mask)
    with pytest.raises(ValueError, match=r"w.bin: cannot load this checkpoint \(KeyError: 'x'\)"), \
            naming_load_errors(tmp_path / "w.bin"):
        raise KeyError("x")
