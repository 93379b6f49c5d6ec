"""Subject normalization and a keyword-based first guess of the privacy request type.

The guess only pre-fills the triage form; an agent always confirms it.  Matching is
deliberately simple and predictable so agents can learn what it does.
"""

from __future__ import annotations

import re

__all__ = [
    "REQUEST_TYPES",
    "find_ticket_references",
    "language_of_text",
    "strip_subject_prefixes",
    "suggest_request_type",
]

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


def language_of_text(subject: str, body: str) -> str:
    """A new requester's language: Korean if they wrote any Hangul, else English."""
    return "ko" if _HANGUL.search(f"{subject}\n{body[:4000]}") else "en"


REQUEST_TYPES: tuple[str, ...] = (
    "access",
    "correction",
    "deletion",
    "suspension",
    "consent_withdrawal",
    "membership_withdrawal",
    "automated_refusal",
    "automated_explanation",
    "automated_review",
    "complaint",
    "inquiry",
    "other",
)

# One reply/forward prefix: Re:, RE :, Re[2]:, Re(2):, Fwd:, FW:, AW:, 답장:, 회신:, 전달:
# (also with a full-width colon, which Korean/Japanese clients emit).
# Used with ``match(text, pos)``, so no ``^``; one ``\s*`` between the parts, so a run of spaces is
# never split two ways between two of them (that backtracking is quadratic in the run's length).
_PREFIX = re.compile(
    r"\s*(?:re|fwd?|aw|sv|wg|답장|회신|전달|답변)\s*(?:(?:\[\d+\]|\(\d+\)|\^\d+)\s*)?[:：]\s*",
    re.IGNORECASE,
)
_TICKET_REF = re.compile(r"(?<![A-Za-z0-9])PRIV-(\d{4})-(\d{4,})(?!\d)", re.IGNORECASE)


def strip_subject_prefixes(subject: str) -> str:
    """Strip the whole leading chain of reply/forward prefixes ("Re: Fwd: 회신: ...")."""
    text = subject.strip()
    pos = 0
    while (match := _PREFIX.match(text, pos)) is not None and match.end() > pos:
        pos = match.end()  # moving a position, not slicing: "Re: " × 250,000 stays linear
    return text[pos:]


def find_ticket_references(subject: str) -> list[str]:
    """Return every PRIV-YYYY-NNNN reference in the subject, uppercased, in order, unique."""
    refs = (f"PRIV-{match.group(1)}-{match.group(2)}" for match in _TICKET_REF.finditer(subject))
    return list(dict.fromkeys(refs))  # ordered and unique in linear time (a list's ``in`` is quadratic)


# Priority order (first match wins).  Ambiguous mail goes to the most specific right:
# 1. membership_withdrawal – closing the account implies deletion of its data;
# 2. suspension – the explicit legal term 처리정지 / "stop processing" is narrow;
# 3. deletion – stronger than (and usually mentioned together with) consent withdrawal;
# 4. consent_withdrawal – 동의 철회 / 수신거부 / unsubscribe / marketing;
# 5. correction – "열람 후 정정" is a correction request;
# 6. access;
# 7. complaint – generic grievance without a concrete right;
# 8. inquiry – a question; 9. other.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "membership_withdrawal",
        re.compile(
            r"탈퇴|계정\s*(?:삭제|해지|폐쇄)|close\s+(?:my|the)\s+account|withdraw(?:al of)?\s+(?:my\s+)?membership"
            r"|cancel\s+my\s+membership|delete\s+my\s+account|account\s+(?:closure|deletion)",
            re.IGNORECASE,
        ),
    ),
    (
        "suspension",
        re.compile(
            r"처리\s*정지|이용\s*정지|stop\s+(?:the\s+)?processing|\bsuspen(?:d|sion)\b"
            r"|restrict(?:ion\s+of)?\s+(?:the\s+)?processing|object\s+to\s+(?:the\s+)?processing",
            re.IGNORECASE,
        ),
    ),
    (
        "deletion",
        re.compile(
            r"삭제|파기|지워\s*주|\bdelet(?:e|ion)\b|\berase\b|\berasure\b|right\s+to\s+be\s+forgotten",
            re.IGNORECASE,
        ),
    ),
    (
        "consent_withdrawal",
        re.compile(
            r"동의\s*철회|철회|수신\s*거부|광고\s*(?:(?:메일|문자|전화)\s*)?(?:중단|거부)"
            r"|unsubscribe|\bopt[\s-]?out\b|withdraw\s+(?:my\s+)?consent|\bmarketing\b",
            re.IGNORECASE,
        ),
    ),
    (
        "correction",
        re.compile(r"정정|수정|변경해\s*주|\bcorrect(?:ion|ed)?\b|\brectif|\bupdate\s+my\b", re.IGNORECASE),
    ),
    (
        "access",
        re.compile(
            r"열람|사본|\baccess\b|copy\s+of\s+(?:my|the|all)\b|data\s+portability|what\s+(?:personal\s+)?data",
            re.IGNORECASE,
        ),
    ),
    ("complaint", re.compile(r"민원|불만|신고|항의|\bcomplain", re.IGNORECASE)),
    ("inquiry", re.compile(r"문의|질문|궁금|\bquestions?\b|\binquir|\benquir", re.IGNORECASE)),
)
# Automated decisions (PIPA Art. 37-2) come first: a mail about one names it, and what it asks
# (refuse it, have it reviewed with new information, or have it explained) picks the right.
_AUTOMATED_DECISION = re.compile(
    r"자동화된?\s*(?:결정|판단|처리|시스템)|자동\s*(?:결정|심사|판정)|(?:인공지능|AI)\s*(?:가|이|의|로)?\s*(?:결정|판단|심사)"
    r"|automated\s+(?:decision|processing|system)|automatic\s+decision|decided\s+by\s+(?:an?\s+)?(?:algorithm|AI|computer)"
    r"|\bprofiling\b",
    re.IGNORECASE,
)
_AUTOMATED_RIGHTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("automated_refusal", re.compile(
        r"거부|거절|적용\s*(?:하지|받지)\s*않|원하지\s*않|인적\s*개입|사람이\s*(?:직접|다시)|refus|\bobject\b|opt[\s-]?out"
        r"|not\s+(?:to\s+)?be\s+subject|human\s+(?:intervention|decision)", re.IGNORECASE)),
    ("automated_review", re.compile(
        r"재?검토|재심사|다시\s*(?:판단|심사)|의견|반영|추가\s*(?:정보|자료)|\breview|reconsider|re-?assess|contest"
        r"|additional\s+information", re.IGNORECASE)),
    ("automated_explanation", re.compile(r".", re.DOTALL)),  # naming the decision at all: explain it
)
# [ \t], not \s: \s would run across line breaks from every line start (quadratic on blank lines).
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)


def suggest_request_type(subject: str, body: str) -> str:
    """Guess the request type from subject and body (quoted '>' lines ignored).

    Returns one of :data:`REQUEST_TYPES`; the first rule in priority order that matches
    anywhere in subject or (the first 8000 characters of) body wins.
    """
    text = subject + "\n" + _QUOTED_LINE.sub("", body[:8000])
    if _AUTOMATED_DECISION.search(text):
        return next(right for right, pattern in _AUTOMATED_RIGHTS if pattern.search(text))
    for request_type, pattern in _RULES:
        if pattern.search(text):
            return request_type
    return "other"
