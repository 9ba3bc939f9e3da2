"""The pull-request comment as a reviewer sees it: the markdown rendered to HTML (markdown-it-py, with
the tables and inline HTML GitHub allows) and opened in headless Chromium. The table, the high cost
risk and the cost line are on screen; the details open; nothing errs or is fetched; a screenshot."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from mlstack.review.cost import span
from mlstack.review.render import to_markdown
from tests import chromium
from tests.chromium import pages  # noqa: F401 - the fixture

# Enough of GitHub's comment style that tables and code look as they do there; no external stylesheet.
STYLE = """
body { font-family: -apple-system, "Segoe UI", sans-serif; font-size: 14px; margin: 2rem; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
code, pre { font-family: monospace; background: #f6f8fa; }
blockquote { border-left: 0.25em solid #d1d9e0; color: #59636e; margin: 0; padding: 0 1em; }
"""


def comment_page(markdown: str, path: Path) -> Path:
    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    path.write_text(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape("PR comment")}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return path


def test_the_comment_of_a_production_scale_up_in_chromium(
    edited_review: Any,
    pages: Any,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    review = edited_review("aws", "scale_up")
    markdown = to_markdown(review)
    page_file = comment_page(markdown, tmp_path / "comment.html")
    page = pages()
    page.open(page_file.as_uri())
    assert page.console == [] and page.requests == [page_file.as_uri()]

    header = page.js("[...document.querySelectorAll('table')[0].querySelectorAll('th')].map(th => th.textContent)")
    assert header == ["", "Component", "Change", "Resources", "Monthly cost Δ", "Risk"]
    rows = page.js(
        "[...document.querySelectorAll('table')[0].querySelectorAll('tbody tr')]"
        ".map(tr => [...tr.children].map(td => td.textContent.trim()))"
    )
    scorer = next(r for r in rows if r[1] == "endpoint fraud-scorer")
    [change] = review.cost.endpoints
    assert scorer[4] == span(change.delta_low, change.delta_high, signed=True)
    assert scorer[5] == "high"

    [risk] = [r for r in review.risks if r.rule == "cost"]
    for text in (risk.message, "1 high risk", f"monthly cost {span(*review.cost.delta, signed=True)}"):
        assert chromium.visible_text(page, text), f"{text!r} is not visible"
    # the cost details start closed, as on GitHub, and show the per-endpoint table when opened
    summary = "Monthly cost: "
    assert chromium.visible_text(page, summary)
    assert not chromium.visible_text(page, "Not estimated:")
    page.js("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert chromium.visible_text(page, "Not estimated:")
    assert review.cost.prices and all(chromium.visible_text(page, p.sku.sku) for p in review.cost.prices)
    unknown = review.cost.unpriced
    said = f"{len(unknown)} of {len(review.cost.prices)} prices are unknown"
    assert not unknown or chromium.visible_text(page, said), "a reviewer sees how far to trust the figures"

    shot = page.screenshot(tmp_path / "comment.png")
    assert chromium.blank_fraction(shot) < 0.97, "the screenshot shows the comment, not a blank page"
