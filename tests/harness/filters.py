"""
Content filter helpers (L{codex_relay._providers.healers}): the pieces the
filters give, a filter run over chunks, merged pieces, and DSML markup.
"""

import json

from codex_relay._providers.healers import Piece

B = "\uff5c"  # the DSML bar


def text(s):
    """
    A text piece.
    """
    return Piece("text", s)


def reasoning(s):
    """
    A reasoning piece.
    """
    return Piece("reasoning", s)


def call(name, arguments):
    """
    A call piece, its C{arguments} as JSON.
    """
    return Piece("call", name=name, arguments=json.dumps(arguments, ensure_ascii=False))


def run(f, chunks):
    """
    Feed every chunk, then flush; return all the pieces.
    """
    pieces = []
    for chunk in chunks:
        pieces.extend(f.feed(chunk))
    pieces.extend(f.flush())
    return pieces


def merged(pieces):
    """
    Merge adjacent text (or reasoning) pieces.
    """
    out = []
    for piece in pieces:
        if out and piece.kind != "call" and out[-1].kind == piece.kind:
            out[-1] = out[-1]._replace(text=out[-1].text + piece.text)
        else:
            out.append(piece)
    return out


def dsml(body, bars=B, wrapper="tool_calls"):
    """
    C{body} (a format string with C{{o}} for a tag opening, C{{c}} for a
    closing one) inside a DSML wrapper.
    """
    o = "<" + bars + "DSML" + bars
    c = "</" + bars + "DSML" + bars
    return (o + wrapper + ">\n" + body.format(o=o, c=c) + "\n" + c + wrapper + ">")


SHELL_LS = (
    '{o}invoke name="shell">\n'
    '{o}parameter name="command" string="true">ls -la{c}parameter>\n'
    "{c}invoke>"
)
