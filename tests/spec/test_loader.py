"""The YAML loader: positions, duplicate keys, tabs, alias bombs, binary input."""

import pytest

from mlstack.errors import SpecInvalid
from mlstack.spec.yaml_loader import MAX_NODES, load_file, parse


def only_error(text: str):
    with pytest.raises(SpecInvalid) as info:
        parse(text, "s.yaml")
    assert len(info.value.errors) == 1
    return info.value.errors[0]


def test_positions_of_keys_and_values():
    doc = parse("a: 1\nb:\n  - x: 2\n    y: [1, 2]\n", "s.yaml")
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": [1, 2]}]}
    assert doc.keys[("b", 0, "y")] == (4, 5)
    assert doc.values[("b", 0, "y", 1)] == (4, 12)
    # a path that is not in the file falls back to its closest ancestor
    assert doc.locate(("b", 0, "missing")) == (3, 5)


def test_duplicate_key_names_both_lines():
    error = only_error("name: a\nowner: b\nname: c\n")
    assert (error.line, error.column) == (3, 1)
    assert "duplicate key 'name'" in error.message and "line 1" in error.message


def test_tab_indentation_is_explained():
    error = only_error("target:\n\tcloud: aws\n")
    assert error.line == 2
    assert "tabs" in error.message


def test_truncated_yaml_is_located():
    error = only_error("endpoints:\n  - name: a\n    model: {group: x, alias: [\n")
    assert error.line >= 3
    assert error.message.startswith("invalid YAML")


def test_billion_laughs_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    error = only_error("\n".join(lines) + "\n")
    assert str(MAX_NODES) in error.message


def test_merge_keys_expand_and_explicit_keys_win():
    doc = parse("base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n", "s.yaml")
    assert doc.data["thing"] == {"x": 1, "y": 3}


def test_python_tags_are_refused():
    error = only_error("a: !!python/object/apply:os.system ['true']\n")
    assert "only plain YAML" in error.message


def test_empty_and_non_mapping_documents():
    assert "empty" in only_error("# nothing\n").message
    assert "mapping" in only_error("- a\n- b\n").message
    assert "several" in only_error("a: 1\n---\nb: 2\n").message


def test_binary_and_non_utf8_files(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"apiVersion: x\n\x00\x01\x02")
    with pytest.raises(SpecInvalid) as info:
        load_file(binary)
    assert info.value.errors[0].line == 2 and "binary" in info.value.errors[0].message
    latin = tmp_path / "l.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecInvalid) as info:
        load_file(latin)
    assert "UTF-8" in info.value.errors[0].message


def test_directory_missing_and_huge_files(tmp_path):
    for path, words in ((tmp_path, "directory"), (tmp_path / "nope.yaml", "no such file")):
        with pytest.raises(SpecInvalid) as info:
            load_file(path)
        assert words in info.value.errors[0].message
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: " + "x" * (3 * 1024 * 1024) + "\n")
    with pytest.raises(SpecInvalid) as info:
        load_file(huge)
    assert "MiB" in info.value.errors[0].message
