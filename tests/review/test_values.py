"""Differences between nested values as dotted paths."""

from __future__ import annotations

from mlstack.review.values import MISSING, Change, diff, path_covers, path_matches, show


def test_paths_sorted_and_numbers_as_json_sees_them() -> None:
    old = {"b": [1, 2], "a": {"x": 1.0, "y": True}}
    new = {"b": [1], "a": {"x": 1, "y": 1}, "c": None}
    assert list(diff(old, new)) == [Change("a.y", True, 1), Change("b[1]", 2, MISSING)]


def test_json_in_strings_and_odd_keys() -> None:
    old = {"split": '{"a": 100}', "tags": {"k.8s/x": "1"}}
    new = {"split": '{"a": 90, "b": 10}', "tags": {"k.8s/x": "2"}}
    assert [c.path for c in diff(old, new)] == ["split.a", "split.b", 'tags."k.8s/x"']


def test_lists_matched_by_identity_and_whole_plain_lists() -> None:
    def by_name(items: list) -> str | None:
        return "name" if all(isinstance(i, dict) and "name" in i for i in items) else None

    old = [{"name": "a", "v": 1}, {"name": "b", "v": 1}]
    new = [{"name": "b", "v": 2}, {"name": "c", "v": 1}]
    assert [(c.path, c.kind) for c in diff(old, new, identity=by_name)] == [
        ("[a]", "removed"),
        ("[b].v", "changed"),
        ("[c]", "added"),
    ]
    assert list(diff({"x": ["a"]}, {"x": ["a", "b"]}, whole_lists=True)) == [Change("x", ["a"], ["a", "b"])]


def test_property_path_patterns() -> None:
    assert path_matches("productionVariants[0].instanceType", "productionVariants[*].instanceType")
    assert path_matches("productionVariants[1]", "productionVariants[*].instanceType"), "a new item has the input"
    assert path_matches("anything.at.all", "*")
    assert not path_matches("tags.x", "tagsAll")
    assert path_covers("sku", "sku.capacity") and not path_covers("sku.capacity", "sku")


def test_show_is_one_line() -> None:
    assert show({"a": None, "b": [1, True]}) == "{b: [1, true]}"
    assert show("line one\nline two") == '"line one\\nline two"'
    assert show("x" * 50, limit=10) == "x" * 9 + "…"
