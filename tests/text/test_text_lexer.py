"""The tokenizer and s-expression reader: token kinds, comments, strings and their escapes,
identifiers, and error positions."""

from __future__ import annotations

import pytest

from engine.errors import MalformedError, WasmError
from engine.text.lexer import Kind, Source, tokenize
from engine.text.sexpr import SList, read


def kinds(text: str) -> list[tuple[Kind, str]]:
    return [(t.kind, t.text) for t in tokenize(Source(text))]


def string_value(text: str) -> bytes:
    (tok,) = tokenize(Source(text))
    assert tok.kind is Kind.STRING
    return tok.value


def test_token_kinds() -> None:
    assert kinds("(module $m i32.const -1 0x1p3 nan:0x1 offset=4)") == [
        (Kind.LPAREN, "("), (Kind.KEYWORD, "module"), (Kind.ID, "$m"), (Kind.KEYWORD, "i32.const"),
        (Kind.NUMBER, "-1"), (Kind.NUMBER, "0x1p3"), (Kind.KEYWORD, "nan:0x1"),
        (Kind.KEYWORD, "offset=4"), (Kind.RPAREN, ")"),
    ]


def test_comments_are_skipped_and_nest() -> None:
    text = "a ;; line comment ( \n (; block (; nested ;) still ;) b(;x;)c"
    assert [t.text for t in tokenize(Source(text))] == ["a", "b", "c"]


def test_parens_delimit_tokens() -> None:
    assert [t.text for t in tokenize(Source("(func(nop)nop)"))] == ["(", "func", "(", "nop", ")", "nop", ")"]


@pytest.mark.parametrize("literal,expected", [
    (r'"plain"', b"plain"),
    (r'"\t\n\r\"\'\\"', b"\t\n\r\"'\\"),
    (r'"\00\ff\7F"', b"\x00\xff\x7f"),
    (r'"\u{41}\u{e9}\u{1F600}\u{10_FFFF}"', "Aé😀\U0010ffff".encode()),
    ('"日本"', "日本".encode()),
    ('""', b""),
])
def test_string_escapes(literal: str, expected: bytes) -> None:
    assert string_value(literal) == expected


@pytest.mark.parametrize("literal", [r'"\q"', r'"\u{110000}"', r'"\u{D800}"', '"tab\there"', r'"\x41"', r'"\u{}"'])
def test_bad_strings(literal: str) -> None:
    with pytest.raises(WasmError):
        tokenize(Source(literal))


def test_identifiers() -> None:
    toks = tokenize(Source(r'$simple $a.b/c!#%&*+-:<=>?@\^_`|~ $"quoted name" $"\u{41}"'))
    assert [t.kind for t in toks] == [Kind.ID] * 4
    assert [t.value for t in toks] == ["simple", r"a.b/c!#%&*+-:<=>?@\^_`|~", "quoted name", "A"]


@pytest.mark.parametrize("text,where", [
    ('(module\n  "abc', "2:3"),            # unterminated string
    ("(module (; open\n ;( ", "1:9"),       # unterminated block comment
    ("(func\n  \"a\"x)", "2:3"),            # string glued to an atom: reserved
    ("\n\n   $", "3:4"),                    # a lone $: an empty identifier
    ("(module ;", "1:9"),                   # a single semicolon
    ("(func {)", "1:7"),
])
def test_errors_carry_line_and_column(text: str, where: str) -> None:
    with pytest.raises(MalformedError) as info:
        read(Source(text))
    assert str(info.value).startswith(where + ":")


def test_reader_nests_lists_and_checks_balance() -> None:
    (top,) = read(Source("(a (b c) (d (e)))"))
    assert isinstance(top, SList) and top.head() == "a"
    assert [x.head() for x in top.items[1:]] == ["b", "d"]
    assert top.items[2].items[1].head() == "e"
    with pytest.raises(MalformedError, match="1:1"):
        read(Source("(a (b)"))
    with pytest.raises(MalformedError, match="1:4"):
        read(Source("(a))"))


def test_annotations_other_than_custom_are_dropped() -> None:
    (top,) = read(Source('(module (@name "x") (@custom "c" "d") (func))'))
    assert len(top.items) == 3
    assert top.items[1].items[0].text == "@custom"
    assert top.items[1].items[0].kind is Kind.ANNOTATION
    assert top.items[1].items[1].value == b"c"


@pytest.mark.parametrize("text", [
    '(@a x-y$yz"aa"-2 , ; ] [ }} }x{ ({) ,{{};}] ;)',     # reserved tokens are fine inside
    "(@a (;c;) (; ) ;) ;; ) (@x\n)",                      # comments as in white space
    '(@a @ @x (@x) (@) (@ x) (@(@(@(@)))) ")" x")"y)',    # nested parentheses balance
    r'(@" @ \u{45}" 0x 8q)', '(@$@#) (@0)',               # string ids, idchar ids
])
def test_annotations_take_any_token(text: str) -> None:
    assert [t.text for t in tokenize(Source(f"a {text} b"))] == ["a", "b"]


def test_annotations_are_dropped_anywhere_a_token_may_be() -> None:
    (top,) = read(Source("((@a) module (@a) $m (@a) ((@a) func (@a) $f (@a)) (@a))"))
    assert top.head() == "module"
    assert [type(x).__name__ for x in top.items] == ["Token", "Token", "SList"]
    assert [t.text for t in top.items[2].items] == ["func", "$f"]


@pytest.mark.parametrize("text,message", [
    ("(@)", "empty annotation id"), ("(@ x)", "empty annotation id"),
    ('(@"")', "empty annotation id"), ('(@"\n")', "empty annotation id"),
    ("(@(@a)x)", "empty annotation id"), (r'(@"\ef")', "malformed UTF-8"),
    ("(@x (@y )", "unclosed annotation"), ("(@x ", "unclosed annotation"),
    ('(@x ")', "unclosed string"), ("(@a \x01)", "illegal character"),
    ("(@a Hei\u00dfe)", "illegal character"), ("(@x))", "unexpected token"),
    ("( @a)", "unknown operator"), ("((@a)@b)", "unknown operator"),
    ("(func $(@a))", "empty identifier"), ('(@a $"")', "empty identifier"),
    ("(@a (@\"\"))", "empty annotation id"), ("(func ,)", "unknown operator"),
])
def test_annotation_errors(text: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        read(Source(text))


def _nested_comments(n: int) -> str:
    return "a " + "(;" * n + " x " + ";)" * n + " b"


def test_deeply_nested_block_comments_lex_in_linear_time() -> None:
    """100,000 nested block comments took 23-35 s (the closing mark was searched for again
    from every opening); the time at 4n over the time at n must stay near 4, not 16."""
    import time
    assert [t.text for t in tokenize(Source(_nested_comments(100_000)))] == ["a", "b"]
    with pytest.raises(MalformedError, match="unterminated block comment"):
        tokenize(Source(_nested_comments(50_000)[:-4]))     # one ;) short
    assert [t.text for t in tokenize(Source("(;(;);) x ;) y"))] == ["y"]   # "(;)" opens

    def cpu(n: int) -> float:
        best = None
        for _ in range(3):
            text = _nested_comments(n)
            t = time.process_time()
            tokenize(Source(text))
            t = time.process_time() - t
            best = t if best is None else min(best, t)
        return max(best, 1e-4)
    growth = cpu(80_000) / cpu(20_000)
    assert growth < 9, growth
