"""HTML → readable text and HTML sanitization for mail bodies.

Agents read plain text; the sanitized HTML is only for an optional rich view, so it is
cleaned with nh3 (ammonia) using a conservative allow-list.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

import nh3

__all__ = ["MAX_HTML_CHARS", "REMOTE_IMAGE_BLOCKED", "has_blocked_remote_images", "html_is_too_complex", "html_to_text",
           "sanitize_html"]

# Mail HTML is rarely above a few hundred KB.  Bigger input is truncated for text
# conversion, and excluded from the rich view, so hostile mail cannot pin a worker.
MAX_HTML_CHARS = 2_000_000
# html5ever (inside nh3) gets quadratic on deeply nested unclosed <div>s: 8000 of them
# take ~1 s, 200000 take minutes.  Mail that nests deeper than this loses its rich view.
MAX_UNCLOSED_TAGS = 1500
_OPEN_TAG = re.compile(r"<(?!(?:br|img|hr|meta|input|link|wbr|col|area|base|source|p|li|td|tr|th|option)\b)[A-Za-z]")
_CLOSE_TAG = re.compile(r"</[A-Za-z]")

_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
        "details",
        "summary",
    }
)
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "iframe", "object", "svg"})
_CLEAN_CONTENT = {"script", "style", "title", "noscript", "template", "iframe", "object", "svg", "math"}
_URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
# Remote content (issue 12): an image fetched from the sender's server tells the sender that, when
# and from where the desk read the mail (a tracking pixel). Sanitizing replaces every <img> source
# that is not an inline part (cid:) with this placeholder, so the stored HTML records that something
# was blocked and where; the desk shows a placeholder picture and a "remote images blocked" note.
# srcset, background, poster and style (CSS url()) are not on nh3's allow-list at all, and <style>
# content is dropped; a mail that used them for remote images gets one placeholder at the end.
REMOTE_IMAGE_BLOCKED = "cid:remote-image-blocked.privacy-desk.invalid"
_REMOTE_ELSEWHERE = re.compile(
    r"""url\(\s*['"]?\s*(?:https?:)?//|\b(?:srcset|background|poster)\s*=\s*['"]?[^'">]*?(?:https?:)?//""",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    """Collects visible text, turning block boundaries and <br> into newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "pre":
                self.pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag in _BLOCK and tag != "li":
            self.parts.append("\n")
            if tag == "p":
                self.parts.append("\n")
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(_SPACES.sub(" ", data.replace("\n", " ")))


def html_is_too_complex(html: str) -> bool:
    """True when sanitizing could be slow (huge, or thousands of unclosed containers)."""
    if len(html) > MAX_HTML_CHARS:
        return True
    return len(_OPEN_TAG.findall(html)) - len(_CLOSE_TAG.findall(html)) > MAX_UNCLOSED_TAGS


def html_to_text(html: str) -> str:
    """Render HTML as plain text good enough for agents and keyword matching.

    Input beyond :data:`MAX_HTML_CHARS` is ignored (linear cost, but bounded).
    """
    html = html[:MAX_HTML_CHARS]
    parser = _TextExtractor()
    with contextlib.suppress(Exception):  # html.parser is lenient, but never let it crash intake
        parser.feed(html)
        parser.close()
    text = "".join(parser.parts).replace("\t", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _keep_inline_images_only(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: an <img> keeps a ``cid:`` source; any other source becomes the placeholder."""
    if tag == "img" and attribute == "src":
        source = value.strip().lower()
        if source.startswith("cid:"):
            return value
        if source.startswith("data:"):
            return None  # inline, not remote, but not on the allow-list either (as before)
        return REMOTE_IMAGE_BLOCKED
    return value


def _absolute_or_nothing(url: str) -> str | None:
    """Relative URLs mean nothing in mail and are dropped; protocol-relative ones (``//host/x``)
    are remote: made explicit so the image filter replaces them like any other remote source."""
    return "https:" + url if url.startswith("//") else None


def has_blocked_remote_images(sanitized: str) -> bool:
    """True when :func:`sanitize_html` replaced remote content in this (stored) HTML."""
    return REMOTE_IMAGE_BLOCKED in sanitized


def sanitize_html(html: str) -> str:
    """Sanitize with nh3: default safe tags, no scripts/styles/handlers, safe URL schemes, and no
    remote images (see :data:`REMOTE_IMAGE_BLOCKED`).

    Returns "" for HTML that :func:`html_is_too_complex` rejects.
    """
    if not html.strip() or html_is_too_complex(html):
        return ""
    cleaned: str = nh3.clean(
        html,
        clean_content_tags=_CLEAN_CONTENT,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        url_relative=_absolute_or_nothing,
        attribute_filter=_keep_inline_images_only,
    ).strip()
    if not has_blocked_remote_images(cleaned) and _REMOTE_ELSEWHERE.search(html):
        cleaned += f'<img src="{REMOTE_IMAGE_BLOCKED}" alt="">'
    return cleaned
