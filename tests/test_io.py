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
