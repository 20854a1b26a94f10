from mvkit import features


def test_every_exported_name_resolves_lazily():
    assert sorted(features.__all__) == sorted(features._EXPORTS)
    for name in features.__all__:
        assert getattr(features, name).__name__ == name
