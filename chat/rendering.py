"""Message content → ``content_html``: a chat-sized Markdown subset, then a strict sanitiser.

Pure functions, no database access. The pipeline is

1. markdown-it (CommonMark, raw HTML off) with strikethrough, ``$…$`` / ``$$…$$`` math and
   hard line breaks; headings, rules and images are switched off (``![alt](src)`` becomes
   ``!`` followed by an ordinary link);
2. one core rule over the inline text tokens that detects bare URLs, ``@mentions`` and emoji
   shortcodes, so none of them ever applies inside code spans, code blocks or math;
3. render, with links restricted to http/https/mailto and math converted to MathML;
4. ``nh3`` with an explicit allow-list, which is the last word on what reaches a browser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import emoji
import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin

# Django allows letters, digits and @ . + - _ in usernames; the common form without "@" is
# matched here. Not after a word character (so "bob@example.com" is no mention) and ending
# on a letter, digit or underscore (so "@bob." mentions "bob").
MENTION_RE = re.compile(r"(?<![\w@.+\-/])@([A-Za-z0-9_.+\-]*[A-Za-z0-9_])")
WILDCARD_MENTIONS = frozenset({"all", "here"})

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_URL_RE = re.compile(r"(?<![\w@.\-/:])(?:https?://|www\.)[^\s<>\"'`\x00-\x1f\x7f]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*_~"
_URL_BRACKETS = {")": "(", "]": "[", "}": "{"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_LANGUAGE_RE = re.compile(r"[^A-Za-z0-9_+#.\-]")
_MATH_MAX_CHARS = 2000
_MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"

MATHML_TAGS = frozenset(
    {
        "math",
        "semantics",
        "annotation",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msup",
        "msub",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mtable",
        "mtr",
        "mtd",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mstyle",
        "menclose",
        "mpadded",
        "mphantom",
        "merror",
    }
)
# Presentational attributes only: no href, style, class, id or colours.
MATHML_ATTRIBUTES = frozenset(
    {
        "accent",
        "accentunder",
        "align",
        "columnalign",
        "columnlines",
        "columnspacing",
        "depth",
        "displaystyle",
        "encoding",
        "fence",
        "form",
        "frame",
        "framespacing",
        "height",
        "largeop",
        "linethickness",
        "lspace",
        "mathsize",
        "mathvariant",
        "maxsize",
        "minsize",
        "movablelimits",
        "notation",
        "rowalign",
        "rowlines",
        "rowspacing",
        "rspace",
        "scriptlevel",
        "separator",
        "stretchy",
        "symmetric",
        "voffset",
        "width",
    }
)
HTML_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "del",
        "s",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "span",
    }
)


@dataclass(frozen=True)
class MentionTarget:
    user_id: int
    username: str
    display_name: str


def extract_mentions(text: str) -> set[str]:
    """Usernames mentioned in ``text`` as typed, including ``all``/``here``.

    Mentions inside code, math and link text are not mentions. Matching a name to a user
    (case-insensitively) and deciding who may be notified is the caller's job.
    """
    tokens = _MARKDOWN.parse(text, {})
    names: set[str] = set()
    for block in tokens:
        for token in block.children or ():
            if token.type == "chat_mention":
                names.add(token.meta["name"])
    return names


def render_content(
    text: str,
    *,
    mentions: Mapping[str, MentionTarget] | None = None,
    wildcards: bool = False,
) -> str:
    """Sanitised HTML for a message body.

    ``mentions`` maps lower-cased usernames to users the caller resolved (and who may see
    the room); other ``@names`` stay plain text. ``wildcards`` marks up ``@all``/``@here``.
    """
    env: dict[str, Any] = {"mentions": mentions or {}, "wildcards": wildcards}
    html = _MARKDOWN.render(text, env)
    return _CLEANER.clean(html).strip()


# --- core rule: URLs, mentions, emoji in inline text ----------------------------------


def _chat_text_rule(state: StateCore) -> None:
    for block in state.tokens:
        if block.type == "inline" and block.children:
            block.children = _transform_inline(block.children, state)


def _transform_inline(children: Sequence[Token], state: StateCore) -> list[Token]:
    result: list[Token] = []
    link_depth = 0
    for token in children:
        if token.type == "link_open":
            link_depth += 1
        elif token.type == "link_close":
            link_depth = max(0, link_depth - 1)
        if token.type != "text":
            result.append(token)
        elif link_depth:
            result.append(_text_token(token.content))
        else:
            result.extend(_split_text(token.content, state))
    return result


def _split_text(text: str, state: StateCore) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while match := _URL_RE.search(text, position):
        url = _trim_url(match.group(0))
        href = url if "://" in url else f"http://{url}"
        normalized = state.md.normalizeLink(href)
        if len(url) <= len("www.") or not state.md.validateLink(normalized):
            tokens.extend(_split_mentions(text[position : match.start() + len(url)]))
            position = match.start() + max(len(url), 1)
            continue
        tokens.extend(_split_mentions(text[position : match.start()]))
        link_open = Token("link_open", "a", 1, attrs={"href": normalized})
        link_open.markup = "linkify"
        link_open.info = "auto"
        tokens.extend([link_open, _text_token(url, emojize=False), Token("link_close", "a", -1)])
        position = match.start() + len(url)
    tokens.extend(_split_mentions(text[position:]))
    return tokens


def _trim_url(url: str) -> str:
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (
            last in _URL_BRACKETS and url.count(last) > url.count(_URL_BRACKETS[last])
        ):
            url = url[:-1]
        else:
            break
    return url


def _split_mentions(text: str) -> list[Token]:
    if not text:
        return []
    tokens: list[Token] = []
    position = 0
    for match in MENTION_RE.finditer(text):
        if match.start() > position:
            tokens.append(_text_token(text[position : match.start()]))
        mention = Token("chat_mention", "span", 0)
        mention.meta = {"name": match.group(1)}
        tokens.append(mention)
        position = match.end()
    if position < len(text):
        tokens.append(_text_token(text[position:]))
    return tokens


def _text_token(content: str, *, emojize: bool = True) -> Token:
    token = Token("text", "", 0)
    token.content = emoji.emojize(content, language="alias") if emojize else content
    return token


# --- renderers ------------------------------------------------------------------------


def _render_mention(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    name = tokens[idx].meta["name"]
    lowered = name.lower()
    if lowered in WILDCARD_MENTIONS:
        if env.get("wildcards"):
            return (
                f'<span class="mention mention-wildcard" data-mention="{lowered}">'
                f"@{escapeHtml(name)}</span>"
            )
        return f"@{escapeHtml(name)}"
    target = env.get("mentions", {}).get(lowered)
    if target is None:
        return f"@{escapeHtml(name)}"
    return (
        f'<span class="mention" data-user-id="{int(target.user_id)}">'
        f"@{escapeHtml(target.username)}</span>"
    )


def _render_link_open(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    token.attrSet("target", "_blank")
    token.attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _render_fence(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    language = _LANGUAGE_RE.sub("", token.info.strip().split(maxsplit=1)[0] if token.info else "")
    language = language[:32]
    css_class = f' class="language-{language}"' if language else ""
    return f"<pre><code{css_class}>{escapeHtml(token.content)}</code></pre>\n"


def _render_math_inline(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _math_html(tokens[idx].content, display="inline", delimiter="$")


def _render_math_display(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    html = _math_html(tokens[idx].content.strip(), display="block", delimiter="$$")
    return html if tokens[idx].type == "math_inline_double" else f"<p>{html}</p>\n"


def _math_html(source: str, *, display: str, delimiter: str) -> str:
    mathml = _to_mathml(source, display=display)
    if mathml is None:
        return f'<code class="math-error">{escapeHtml(delimiter + source + delimiter)}</code>'
    return mathml


def _to_mathml(source: str, *, display: str) -> str | None:
    """MathML for ``source``, or None if it does not convert to pure MathML."""
    if not source.strip() or len(source) > _MATH_MAX_CHARS:
        return None
    try:
        mathml = latex_to_mathml(source, display=display)
        root = ElementTree.fromstring(mathml)
    except Exception:  # latex2mathml raises a variety of errors on malformed input
        return None
    # latex2mathml copies \text{} content verbatim; refuse anything but MathML elements.
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str) or tag.removeprefix(_MATHML_NS) not in MATHML_TAGS:
            return None
    return mathml


def _validate_link(url: str) -> bool:
    match = _SCHEME_RE.match(url.strip())
    return match is not None and match.group(1).lower() in LINK_SCHEMES


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable("strikethrough")
    md.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    dollarmath_plugin(
        md, allow_labels=False, allow_space=False, allow_digits=False, double_inline=True
    )
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.core.ruler.push("chat_text", _chat_text_rule)
    md.add_render_rule("chat_mention", _render_mention)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_double", _render_math_display)
    md.add_render_rule("math_block", _render_math_display)
    return md


def _build_cleaner() -> nh3.Cleaner:
    attributes: dict[str, set[str]] = {
        "a": {"href", "title"},
        "code": {"class"},
        "span": {"class", "data-user-id", "data-mention"},
        "ol": {"start"},
    }
    for tag in MATHML_TAGS:
        attributes[tag] = set(MATHML_ATTRIBUTES)
    attributes["math"] |= {"display", "xmlns"}
    return nh3.Cleaner(
        tags=set(HTML_TAGS | MATHML_TAGS),
        clean_content_tags={"script", "style"},
        attributes=attributes,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        link_rel=LINK_REL,
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
        strip_comments=True,
    )


_MARKDOWN = _build_markdown()
_CLEANER = _build_cleaner()


# --- the emoji picker's catalogue ---------------------------------------------------------

SKIN_TONES = range(0x1F3FB, 0x1F400)
SMILEYS = range(0x1F600, 0x1F650)


@dataclass(frozen=True)
class EmojiEntry:
    emoji: str
    name: str
    aliases: tuple[str, ...]


def _shortcode_words(code: str) -> str:
    return code.strip(":").replace("_", " ")


@functools.cache
def emoji_catalogue() -> tuple[EmojiEntry, ...]:
    """Every fully-qualified emoji without a skin tone (the ``emoji`` package's data,
    whose shortcodes the renderer turns into emoji), smileys first, then by code point.
    ``aliases`` are the other shortcodes that name it, without colons."""
    fully_qualified = emoji.STATUS["fully_qualified"]
    entries = [
        EmojiEntry(
            emoji=character,
            name=_shortcode_words(data["en"]),
            aliases=tuple(_shortcode_words(alias) for alias in data.get("alias", ())),
        )
        for character, data in emoji.EMOJI_DATA.items()
        if data["status"] == fully_qualified
        and not any(ord(char) in SKIN_TONES for char in character)
    ]
    entries.sort(key=lambda entry: (ord(entry.emoji[0]) not in SMILEYS, ord(entry.emoji[0])))
    return tuple(entries)
