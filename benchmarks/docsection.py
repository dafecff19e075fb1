"""Rewrite one generated section of a Markdown file, between two HTML-comment markers."""

from pathlib import Path

__all__ = ["split_section", "replace_section"]


def _markers(name):
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def split_section(path, name):
    """``(head, body, tail)`` of ``path`` around section ``name`` (appended if missing)."""
    begin, end = _markers(name)
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    body, tail = rest.split(end, 1)
    return head, body, tail


def replace_section(path, name, body):
    """Replace the body of section ``name`` of ``path`` with ``body``."""
    begin, end = _markers(name)
    head, _, tail = split_section(path, name)
    Path(path).write_text(head + begin + "\n" + body.strip("\n") + "\n" + end + tail)
