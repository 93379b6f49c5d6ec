"""HTML → readable text and HTML sanitization for mail bodies.

Agents read plain text; the sanitized HTML is only for an optional rich view, so it is
cleaned with nh3 (ammonia) using a conservative allow-list.
"""

from __future__ import annotations

import re
from html import unescape

import nh3

__all__ = ["MAX_HTML_CHARS", "REMOTE_IMAGE_BLOCKED", "has_blocked_remote_images", "html_is_too_complex", "html_to_text",
           "sanitize_html"]

# Mail HTML is rarely above a few hundred KB.  Bigger input is truncated for text
# conversion, and excluded from the rich view, so hostile mail cannot pin a worker.
MAX_HTML_CHARS = 2_000_000
# html5ever (inside nh3) gets quadratic on deeply nested unclosed <div>s: 8000 of them
# take ~1 s, 200000 take minutes.  Mail that nests deeper than this loses its rich view.
MAX_UNCLOSED_TAGS = 1500
# html5ever also slows down with every literal "&" in one run of text ("& " × 80,000 takes 16 times
# "& " × 20,000): with at most this many (non-breaking spaces, the common entity, aside) a 2 MB
# mail is sanitized in well under a second; more, and the rich view is omitted.
MAX_AMPERSANDS = 10_000
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
# Each pattern scans a stretch of the input once: the value of an attribute is taken whole (quoted, or
# up to a space, quote or ">") and then looked into. The former single pattern searched lazily from
# every "background=" to the next quote: "background=" × 10,000 took 30 s (issue 25).
_REMOTE_CSS_URL = re.compile(r"""url\(\s*(?:['"]\s*)?(?:https?:)?//""", re.IGNORECASE)
_URL_ATTRIBUTE = re.compile(
    r"""\b(?:srcset|background|poster)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]*))""", re.IGNORECASE
)
_REMOTE_START = re.compile(r"(?:https?:)?//", re.IGNORECASE)
# A tag: name, then anything up to ">" but never across another "<" (so a failed match costs only
# the stretch up to the next "<", which is scanned for the next tag anyway).
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/<>]*)([^<>]*)>")
_DECLARATION = re.compile(r"<[!?/][^<>]*>")
_RAW_TEXT = {name: re.compile(rf"</{name}[^<>]*>", re.IGNORECASE) for name in ("script", "style")}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


class _TextExtractor:
    """Collects visible text, turning block boundaries and <br> into newlines."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str) -> None:
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

    def handle_startendtag(self, tag: str) -> None:
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
        if self.skip_depth or not data:
            return
        data = unescape(data)
        if self.pre_depth:
            self.parts.append(data)
        else:
            self.parts.append(_SPACES.sub(" ", data.replace("\n", " ")))

    def feed(self, markup: str) -> None:
        """One pass, never rescanning: each search starts where the last one ended, and a construct
        without its end (a comment, a script) runs to the end of the input, as HTML5 says.

        The stdlib's ``html.parser`` (3.11) rescans the rest of the input for every unterminated
        ``<!--`` or ``<a`` it meets: "<!--" × 25,000 took 6 s, a mail's worth hours (issue 25)."""
        pos, text = 0, []
        while (start := markup.find("<", pos)) >= 0:
            text.append(markup[pos:start])
            if markup.startswith("<!--", start):
                end = markup.find("-->", start + 4)
                if end < 0:
                    pos = len(markup)
                    break
                pos = end + 3
                continue
            tag = _TAG.match(markup, start)
            if tag is None:
                other = _DECLARATION.match(markup, start)  # <!DOCTYPE …>, <?xml …?>, </ …>
                if other is not None:
                    pos = other.end()
                else:
                    text.append("<")  # a "<" that starts nothing is text
                    pos = start + 1
                continue
            self.handle_data("".join(text))
            text = []
            name = tag.group(2).lower()
            pos = tag.end()
            if tag.group(1):
                self.handle_endtag(name)
            elif tag.group(3).endswith("/"):
                self.handle_startendtag(name)
            elif name in _RAW_TEXT:  # script and style: nothing inside is markup
                self.handle_starttag(name)
                close = _RAW_TEXT[name].search(markup, pos)
                if close is None:
                    return
                self.handle_endtag(name)
                pos = close.end()
            else:
                self.handle_starttag(name)
        text.append(markup[pos:])
        self.handle_data("".join(text))


def html_is_too_complex(html: str) -> bool:
    """True when sanitizing could be slow (huge, thousands of unclosed containers or of "&")."""
    if len(html) > MAX_HTML_CHARS or html.count("&") - html.count("&nbsp;") > MAX_AMPERSANDS:
        return True
    return len(_OPEN_TAG.findall(html)) - len(_CLOSE_TAG.findall(html)) > MAX_UNCLOSED_TAGS


def html_to_text(markup: str) -> str:
    """Render HTML as plain text good enough for agents and keyword matching.

    Input beyond :data:`MAX_HTML_CHARS` is ignored (linear cost, but bounded).
    """
    parser = _TextExtractor()
    parser.feed(markup[:MAX_HTML_CHARS])
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


def _has_remote_content_elsewhere(markup: str) -> bool:
    """CSS ``url(//…)`` or a srcset/background/poster attribute whose value names a remote address."""
    if _REMOTE_CSS_URL.search(markup):
        return True
    return any(_REMOTE_START.search(value.group(value.lastindex or 0)) for value in _URL_ATTRIBUTE.finditer(markup))


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
    if not has_blocked_remote_images(cleaned) and _has_remote_content_elsewhere(html):
        cleaned += f'<img src="{REMOTE_IMAGE_BLOCKED}" alt="">'
    return cleaned
