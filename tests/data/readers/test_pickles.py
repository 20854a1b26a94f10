import os
import pickle

import pytest

from mvkit.data.pickles import PickleNotAllowedError, load_pickle


class _Boom:
    """Unpickling this runs code (makes a directory): what the opt-in guards against."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_refuses_by_default_and_runs_nothing(tmp_path):
    p, marker = tmp_path / "evil.pkl", tmp_path / "code-ran"
    p.write_bytes(pickle.dumps(_Boom(marker)))
    with pytest.raises(PickleNotAllowedError, match=r"evil.pkl: this is a Python pickle\. Unpickling can run arbitrary code.*allow_pickle=True"):
        load_pickle(p)
    assert not marker.exists()
    load_pickle(p, allow_pickle=True)
    assert marker.is_dir()   # proof the risk is real, and only taken on opt-in


def test_opt_in_loads_data(tmp_path):
    p = tmp_path / "ok.pkl"
    p.write_bytes(pickle.dumps({"a": [1, 2]}))
    assert load_pickle(p, allow_pickle=True) == {"a": [1, 2]}
    assert issubclass(PickleNotAllowedError, PermissionError)


def test_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl: file not found"):
        load_pickle(tmp_path / "nope.pkl", allow_pickle=True)
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x04\x95garbage")
    with pytest.raises(ValueError, match="bad.pkl: cannot unpickle"):
        load_pickle(bad, allow_pickle=True)


def test_no_reader_reads_a_pickle_as_text(tmp_path):
    from mvkit.data.pickles import is_pickle
    from mvkit.data.readers.vatex import read_vatex
    (tmp_path / "vatex_validation_v1.0.json").write_bytes(pickle.dumps([{"videoID": "x_000000_000010"}]))
    with pytest.raises(ValueError, match=r"vatex_validation_v1.0.json: this is a Python pickle, not text"):
        read_vatex(tmp_path)
    assert is_pickle(tmp_path / "vatex_validation_v1.0.json") and is_pickle(tmp_path / "any.pickle")
    (tmp_path / "plain.txt").write_text("v1#enc#0 a caption")
    assert not is_pickle(tmp_path / "plain.txt")
