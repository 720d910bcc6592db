from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat.rendering import (
    MENTION_RE,
    WILDCARD_MENTIONS,
    MentionTarget,
    extract_mentions,
    render_content,
)

REL = 'target="_blank" rel="noopener noreferrer nofollow"'
BOB = MentionTarget(user_id=7, username="bob", display_name="Bob Builder")
ALICE = MentionTarget(user_id=3, username="Alice.Smith", display_name="Alice")
MENTIONS = {"bob": BOB, "alice.smith": ALICE}


# --- Markdown subset -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain text", "<p>plain text</p>"),
        ("**bold**", "<p><strong>bold</strong></p>"),
        ("*italic* and _italic_", "<p><em>italic</em> and <em>italic</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("use `x < y`", "<p>use <code>x &lt; y</code></p>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
    ],
)
def test_it_renders_the_markdown_subset(source: str, expected: str) -> None:
    assert render_content(source) == expected


def test_headings_and_rules_stay_chat_text() -> None:
    assert render_content("# not a heading\n---") == "<p># not a heading<br>\n---</p>"


def test_fenced_code_keeps_a_sanitised_language_class() -> None:
    assert render_content("```python\nprint('<b>')\n```") == (
        "<pre><code class=\"language-python\">print('&lt;b&gt;')\n</code></pre>"
    )
    assert render_content('```py" onclick="x\ncode\n```') == (
        '<pre><code class="language-py">code\n</code></pre>'
    )
    assert render_content("```\nbare\n```") == "<pre><code>bare\n</code></pre>"


def test_raw_html_is_escaped() -> None:
    assert render_content("<script>alert(1)</script>") == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert render_content("<b onclick=x>hi</b>") == "<p>&lt;b onclick=x&gt;hi&lt;/b&gt;</p>"


def test_image_syntax_never_yields_an_img() -> None:
    result = render_content("![cat](https://example.com/cat.png)")
    assert "<img" not in result
    assert result == f'<p>!<a href="https://example.com/cat.png" {REL}>cat</a></p>'


# --- links -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "href", ["http://example.com/", "https://example.com/a?b=1", "mailto:someone@example.com"]
)
def test_allowed_link_schemes_are_kept_with_rel_and_target(href: str) -> None:
    assert render_content(f"[x]({href})") == f'<p><a href="{href}" {REL}>x</a></p>'


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "/relative/path",
        "ftp://example.com/",
    ],
)
def test_other_link_schemes_are_dropped(href: str) -> None:
    result = render_content(f"[x]({href})")
    assert "<a" not in result
    assert "href" not in result


def test_bare_urls_are_linked_without_trailing_punctuation() -> None:
    assert render_content("see https://example.com/a_(b). now") == (
        f'<p>see <a href="https://example.com/a_(b)" {REL}>https://example.com/a_(b)</a>. now</p>'
    )
    assert render_content("(www.example.com)") == (
        f'<p>(<a href="http://www.example.com" {REL}>www.example.com</a>)</p>'
    )


def test_autolinks_and_email_autolinks() -> None:
    assert render_content("<https://example.com>") == (
        f'<p><a href="https://example.com" {REL}>https://example.com</a></p>'
    )
    assert render_content("<bob@example.com>") == (
        f'<p><a href="mailto:bob@example.com" {REL}>bob@example.com</a></p>'
    )


def test_bare_urls_in_code_are_not_linked() -> None:
    assert render_content("`https://example.com`") == "<p><code>https://example.com</code></p>"


# --- mentions --------------------------------------------------------------------------


def test_resolved_mentions_are_marked_up_with_the_user_id() -> None:
    assert render_content("hi @Bob and @alice.smith.", mentions=MENTIONS) == (
        '<p>hi <span class="mention" data-user-id="7">@bob</span> and '
        '<span class="mention" data-user-id="3">@Alice.Smith</span>.</p>'
    )


def test_unresolved_mentions_stay_plain_text() -> None:
    assert render_content("hi @carol", mentions=MENTIONS) == "<p>hi @carol</p>"
    assert render_content("hi @bob") == "<p>hi @bob</p>"


def test_mentions_in_code_are_ignored() -> None:
    assert render_content("`@bob`", mentions=MENTIONS) == "<p><code>@bob</code></p>"
    assert render_content("```\n@bob\n```", mentions=MENTIONS) == ("<pre><code>@bob\n</code></pre>")


def test_an_email_address_is_not_a_mention() -> None:
    assert render_content("write to bob@example.com", mentions=MENTIONS) == (
        "<p>write to bob@example.com</p>"
    )


def test_wildcards_are_marked_up_only_when_allowed() -> None:
    assert render_content("@all @here", wildcards=True) == (
        '<p><span class="mention mention-wildcard" data-mention="all">@all</span> '
        '<span class="mention mention-wildcard" data-mention="here">@here</span></p>'
    )
    assert render_content("@all @here", wildcards=False) == "<p>@all @here</p>"


def test_extract_mentions() -> None:
    text = (
        "hey @Bob, @alice.smith. and @all!\n"
        "not `@code` or bob@example.com or [@linked](https://x.com)\n"
        "```\n@fenced\n```"
    )
    assert extract_mentions(text) == {"Bob", "alice.smith", "all"}
    assert extract_mentions("") == set()
    assert {"all", "here"} == WILDCARD_MENTIONS


def test_mention_regex_takes_the_common_username_form() -> None:
    assert MENTION_RE.findall("@a_b-c+d.e @x. (@y) z@w") == ["a_b-c+d.e", "x", "y"]


# --- emoji and math --------------------------------------------------------------------


def test_emoji_shortcodes_become_unicode_outside_code() -> None:
    assert render_content(":thumbsup: `:thumbsup:`") == (
        "<p>\N{THUMBS UP SIGN} <code>:thumbsup:</code></p>"
    )


def test_inline_math_becomes_mathml() -> None:
    assert render_content("area $x^2$") == (
        '<p>area <math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">'
        "<mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math></p>"
    )


def test_display_math_becomes_block_mathml() -> None:
    expected = (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
        "<mrow><mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac></mrow></math>"
    )
    assert render_content("$$\n\\frac{a}{b}\n$$") == f"<p>{expected}</p>"
    assert render_content("so $$\\frac{a}{b}$$") == f"<p>so {expected}</p>"


def test_malformed_math_stays_code() -> None:
    assert render_content("$\\frac{$ oops") == (
        '<p><code class="math-error">$\\frac{$</code> oops</p>'
    )


def test_math_with_markup_in_text_stays_code() -> None:
    result = render_content("$\\text{<script>alert(1)</script>}$")
    assert result.startswith('<p><code class="math-error">')
    assert "<script" not in result


def test_math_href_is_stripped() -> None:
    result = render_content("$\\href{javascript:alert(1)}{x}$")
    assert "<math" in result
    assert "href" not in result
    assert "javascript" not in result


def test_dollar_amounts_are_not_math() -> None:
    assert render_content("it costs $5 and $6") == "<p>it costs $5 and $6</p>"
    assert render_content("$ x $") == "<p>$ x $</p>"


def test_math_in_code_is_not_rendered() -> None:
    assert render_content("`$x$`") == "<p><code>$x$</code></p>"


# --- robustness ------------------------------------------------------------------------


def test_nul_bytes_do_not_crash() -> None:
    assert render_content("a\x00b") == "<p>a\N{REPLACEMENT CHARACTER}b</p>"
    assert extract_mentions("@a\x00b") == {"a"}


def test_long_input_does_not_crash() -> None:
    for text in ["a" * 10_000, "[" * 10_000, "*a " * 3_000, "$x$ " * 2_500, "@a " * 3_000]:
        assert render_content(text)


# --- property: nothing executable survives -----------------------------------------------

_TAG_RE = re.compile(r"<[^>]*>")
_EVENT_RE = re.compile(r"\son\w+\s*=", re.IGNORECASE)
_BAD_SCHEME_RE = re.compile(r"^(javascript|data|vbscript):", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x20]+")

DANGEROUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.js>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<javascript:alert(1)>",
    "$\\href{javascript:alert(1)}{x}$",
    "$$\\href{javascript:alert(1)}{x}$$",
    "$\\text{<img src=x onerror=alert(1)>}$",
    "$\\style{background:url(javascript:x)}{y}$",
    "<svg onload=alert(1)>",
    "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
    "![x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    '" onmouseover="alert(1)',
    "`",
    "```",
    "$",
    "$$",
    "@",
    "*",
    "_",
    "~~",
    "[",
    "](",
    ")",
    "<",
    ">",
    "\n",
    " ",
    "https://",
    "www.",
    ":smile:",
]


class _AttributeCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)


def assert_safe(output: str) -> None:
    assert "<script" not in output.lower()
    for tag in _TAG_RE.findall(output):
        assert not _EVENT_RE.search(tag), tag
        assert "style=" not in tag.lower(), tag
    collector = _AttributeCollector()
    collector.feed(output)
    collector.close()
    assert "script" not in collector.tags
    assert "img" not in collector.tags
    for name, value in collector.attrs:
        assert not name.startswith("on"), name
        assert name != "style"
        for candidate in (value, html.unescape(value)):
            assert not _BAD_SCHEME_RE.match(_CONTROL_RE.sub("", candidate)), (name, value)


dangerous_text = st.lists(
    st.one_of(st.sampled_from(DANGEROUS), st.text(max_size=5)), max_size=12
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_renders_safely(text: str) -> None:
    assert_safe(render_content(text, mentions=MENTIONS, wildcards=True))
    extract_mentions(text)


@settings(max_examples=500, deadline=None)
@given(dangerous_text)
def test_dangerous_fragments_render_safely(text: str) -> None:
    assert_safe(render_content(text, mentions=MENTIONS, wildcards=True))


@pytest.mark.parametrize("fragment", DANGEROUS)
def test_each_dangerous_fragment_renders_safely(fragment: str) -> None:
    assert_safe(render_content(fragment, mentions=MENTIONS, wildcards=True))
