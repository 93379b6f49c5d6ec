"""Checks every desk page must pass: unique element ids (issue 28), and axe-core in the browser.

``duplicate_ids(html)`` works on any HTML string (test client pages); ``assert_page_sound(page)``
runs in a Playwright page: the same id check on the live DOM plus axe-core (vendored, MPL-2.0).
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if tag == "label" and name == "for" and value:
                self.label_for.append(value)


def duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(i for i, n in Counter(parser.ids).items() if n > 1)


def labels_without_field(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(set(parser.label_for) - set(parser.ids))


def assert_page_sound(page: Any) -> None:
    """No duplicate ids in the live DOM and no axe-core violations (WCAG 2.1 A/AA rules)."""
    dupes = page.evaluate("""() => {
        const seen = {}; document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
        return Object.keys(seen).filter(k => seen[k] > 1);
    }""")
    assert dupes == [], f"duplicate ids on {page.url}: {dupes}"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through DevTools, not as a <script>: the desk's Content-Security-Policy stays on.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    assert result == [], f"axe-core violations on {page.url}: {result}"
