"""What a line of a paste can be, by its text alone: a REPL or IPython prompt, a magic, a traceback's header,
rule or error line, printed output; and where such lines are.

:func:`rnnshape.diagnose.snippets.clean` sorts a paste's lines with these tests. Each test first looks
for a literal text (:data:`MARKERS`) its pattern cannot match without, so that most lines (plain code)
never reach a pattern, and outside a REPL or IPython session the runs of lines holding no marker are
sorted in bulk, as code or blank.
"""

from __future__ import annotations

from rnnshape.lazyre import LazyPattern

# Compiled on first use, and most lines never reach them: each test below first looks for the
# literal text its pattern cannot match without (a 10,000-line paste is mostly plain code).
PROMPT = LazyPattern(r"^(>>>|\.\.\.)(?: |$)")
IPY_IN = LazyPattern(r"^In \[\d*\]: ?")
IPY_CONT = LazyPattern(r"^\s+\.{3,}: ?")
IPY_OUT = LazyPattern(r"^Out\[\d+\]: ?")
MAGIC = LazyPattern(r"^\s*(%|!)")
TB_START = "Traceback (most recent call last)"
TB_RULE = LazyPattern(r"^-{20,}\s*$")
ERROR_LINE = LazyPattern(
    r"^(?:(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Warning|Interrupt))(?::\s?.*)?$")
PRINTED = LazyPattern(r"^\s*(torch\.Size\(|tensor\(|\[?tensor\(|Output|Input|Hidden|shape:|\w[\w ]*:\s*"
                      r"torch\.Size)")


def is_prompt(line: str) -> bool:
    return line.startswith((">>>", "...")) and PROMPT.match(line) is not None


def is_ipython_in(line: str) -> bool:
    return line.startswith("In [") and IPY_IN.match(line) is not None


def is_magic(line: str) -> bool:
    return ("%" in line or "!" in line) and MAGIC.match(line) is not None


def is_tb_rule(line: str) -> bool:
    return line.startswith("-" * 20) and TB_RULE.match(line) is not None


def is_error_line(line: str) -> bool:
    return ("Error" in line or "Exception" in line or "Warning" in line or "Interrupt" in line) \
        and ERROR_LINE.match(line) is not None


def is_printed(line: str) -> bool:
    return ("torch.Size" in line or "tensor(" in line or "Output" in line or "Input" in line or "Hidden" in line
            or "shape:" in line) and PRINTED.match(line) is not None


#: Every literal text the tests above need before a line can be anything but code or blank (a traceback, its
#: rule or error line, a magic, printed output): outside a REPL or IPython session, a line without any of
#: them is code (or blank), and ``snippets.clean`` sorts the runs of such lines in bulk.
MARKERS = ("Traceback (most recent call last)", "-" * 20, "Error", "Exception", "Warning", "Interrupt", "%", "!",
           "torch.Size", "tensor(", "Output", "Input", "Hidden", "shape:")


def marked_lines(text: str) -> list[int]:
    """The indices of the lines of ``text`` holding one of :data:`MARKERS`, in order.

    One ``str.find`` scan per marker (a regular expression of them all was ten times slower), one
    hit per line and marker, so the cost is the text's length plus the marked lines."""
    find, line_starts = text.find, set()
    for marker in MARKERS:
        at = find(marker)
        while at >= 0:
            line_starts.add(text.rfind("\n", 0, at) + 1)
            at = find("\n", at)
            if at < 0:
                break
            at = find(marker, at + 1)
    indices, line, pos = [], 0, 0
    for start in sorted(line_starts):
        line += text.count("\n", pos, start)
        pos = start
        indices.append(line)
    return indices


def some_line_starts(text: str, head: str) -> bool:
    """Whether a line of ``text`` starts with ``head``: two C scans (most pastes have no prompt at all)."""
    return text.startswith(head) or "\n" + head in text
