"""`iam.widened` looks exact permissions up instead of scanning them; its answers must stay those of
the plain pairwise `covers` scan, wildcards, case and conditions included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlstack.review.iam import Permission, widened

_PARTS = st.sampled_from(
    [
        *("s3:GetObject", "s3:getobject", "s3:*", "s3:Get?bject", "*", "arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/a"),
        # patterns whose literal starts are prefixes of each other, in other cases, or of nothing here
        *("ARN:aws:s3:::B/a*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/a/x", "arn:aws:s3:::", "arn:aws:s3:::b?a"),
    ]
)
_PERMISSIONS = st.builds(
    Permission,
    effect=st.sampled_from(["Allow", "Deny", "Grant"]),
    principal=st.sampled_from(["*", "AWS:role/a", "aws:ROLE/a", "AWS:role/*"]),
    action=_PARTS,
    resource=_PARTS,
    condition=st.sampled_from(["", '{"Bool": {"aws:SecureTransport": "true"}}']),
)


def _pairwise(old: set[Permission], new: set[Permission]) -> list[str]:
    added = [p for p in new if p.effect != "Deny" and not any(o.covers(p) for o in old)]
    dropped = [p for p in old if p.effect == "Deny" and not any(n.covers(p) for n in new if n.effect == "Deny")]
    return sorted([p.describe() for p in added] + [f"no longer {p.describe()}" for p in dropped])


@settings(max_examples=400, deadline=None)
@given(st.sets(_PERMISSIONS, max_size=12), st.sets(_PERMISSIONS, max_size=12))
def test_widened_answers_as_the_pairwise_scan(old: set[Permission], new: set[Permission]) -> None:
    assert widened(old, new) == _pairwise(old, new)


def test_an_exact_permission_with_another_case_or_a_condition_is_covered() -> None:
    old = {Permission("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/a")}
    assert widened(old, {Permission("Allow", "*", "S3:getobject", "arn:aws:s3:::b/a", '{"c": 1}')}) == []
    conditioned = {Permission("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/a", '{"c": 1}')}
    assert widened(conditioned, {Permission("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/a")}) == [
        "Allow s3:GetObject on arn:aws:s3:::b/a"
    ]
