"""Fuzzing every command's arguments and inputs (issue 15): exit in {0, 1, 2}, one JSON object under
--json, never an internal error. In-process through ``cli.run`` (main's own contract), modest counts."""

from __future__ import annotations

import os
import tempfile

from conftest import invoke_main, one_json_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: RNNSHAPE_FUZZ_EXAMPLES=500 for a long random run; by default a modest, repeatable one.
_EXAMPLES = int(os.environ.get("RNNSHAPE_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_EXAMPLES or 30, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=not _EXAMPLES)

HOSTILE = st.sampled_from([
    "", " ", "-1", "0", "nan", "1e400", "abc", "1" + "0" * 5000, str(2**63), str(2**64 + 1), "3,", ",",
    "5,3,10", "5;3", "\x1bc", "\x1b]52;c;cHduZWQ=\x07", "\x00", "/dev/zero", "/nonexistent/x.pt", "x.pt:key",
    "nn.LSTM(", "nn.LSTM(10, 20, num_layers=10**100)", "nn.GRU(10**5000)", "nn.RNN(10, 20, nonlinearity='\x1bc')",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\ufffd", "-" * 3, "--json",
])
SMALL = st.integers(min_value=-3, max_value=48).map(str)
VALUE = st.one_of(SMALL, HOSTILE, st.text(max_size=30))
SHAPE = st.one_of(st.lists(st.one_of(st.integers(min_value=-2, max_value=12).map(str), HOSTILE), min_size=0,
                           max_size=4).map(",".join), HOSTILE)


def _assert_contract(code: int, out: str, err: str, as_json: bool) -> None:
    assert code in (0, 1, 2), (code, err[-2000:])
    assert "internal error" not in err and "Traceback" not in err, err[-2000:]
    if as_json:
        one_json_object(out)


def _options(pairs: list[tuple[str, str]]) -> list[str]:
    return [part for flag, value in pairs for part in ((flag,) if value is None else (flag, value))]


INSPECT_OPTIONS = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--input-size", "--hidden-size", "--num-layers", "--proj-size", "--seq-len",
                               "--batch", "--repeat"]), st.one_of(SMALL, HOSTILE)),
    st.tuples(st.sampled_from(["--input-shape", "--hidden-shape", "--cell-shape", "--lengths"]), SHAPE),
    st.tuples(st.sampled_from(["--expect"]), st.one_of(SHAPE.map(lambda s: "output=" + s), VALUE)),
    st.tuples(st.sampled_from(["--dtype", "--nonlinearity", "--mode", "--max-memory", "--dropout", "--input",
                               "--hidden", "--cell"]), VALUE),
    st.tuples(st.sampled_from(["--bidirectional", "--batch-first", "--unbatched", "--no-bias",
                               "--no-enforce-sorted", "--keep-device"]), st.none()),
), max_size=6)


@FUZZ
@given(layer=st.one_of(st.sampled_from(["lstm", "gru", "rnn", "lstm-cell", "gru-cell", "rnn-cell"]), HOSTILE),
       sizes=st.lists(st.one_of(SMALL, HOSTILE), max_size=2), options=INSPECT_OPTIONS, as_json=st.booleans(),
       dry=st.booleans())
def test_inspect(layer, sizes, options, as_json, dry) -> None:
    args = ["inspect", layer, *sizes, *_options(options), *(["--dry-run"] if dry else ["--device", "meta"])]
    if as_json:
        args.append("--json")
    _assert_contract(*invoke_main(*args), as_json)


MESSAGE = st.sampled_from([
    "RuntimeError: input.size(-1) must be equal to input_size. Expected {a}, got {b}",
    "RuntimeError: Expected hidden[0] size ({a}, {b}, {a}), got [{b}, {a}, {b}]",
    "RuntimeError: Expected hidden size ({a}, {b}, {a}), got [{b}, {a}]",
    "ValueError: LSTM: Expected input to be 2D or 3D, got {a}D instead",
    "Traceback (most recent call last):\n  File \"train.py\", line {a}, in <module>\n    out, h = self.rnn(x)\n",
    "{a}{b}",
])


@FUZZ
@given(template=MESSAGE, a=VALUE, b=VALUE, noise=st.text(max_size=300), by_stdin=st.booleans(),
       as_json=st.booleans())
def test_explain(template, a, b, noise, by_stdin, as_json) -> None:
    text = template.replace("{a}", a[:100]).replace("{b}", b[:100]) + noise
    args = ["explain", *([] if by_stdin else [text]), *(["--json"] if as_json else [])]
    _assert_contract(*invoke_main(*args, input=text if by_stdin else ""), as_json)


CODE_LINES = st.sampled_from([
    "import torch", "import torch.nn as nn", "rnn = nn.LSTM(10, 20)", "rnn = nn.GRU(10, 20, batch_first=True)",
    "x = torch.zeros(5, 3, 11)", "x = torch.randn(32, 50, 10)", "out, h = rnn(x)", "out = rnn(x)",
    "h0 = torch.zeros(2, 3, 20)", "out, h = rnn(x, h0)", "class M(nn.Module):", "    def forward(self, x):",
    "        return x", ">>> x = torch.zeros(1)", "In [1]: rnn(x)", "    out = rnn(x)",
    "RuntimeError: input.size(-1) must be equal to input_size. Expected 10, got 11", "\x1bc", "",
])


@FUZZ
@given(lines=st.lists(st.one_of(CODE_LINES, st.text(max_size=60)), max_size=12), as_json=st.booleans(),
       hints=st.lists(st.one_of(st.just("x=B,T,10"), VALUE.map(lambda v: "x=" + v), VALUE), max_size=2))
def test_diagnose(lines, as_json, hints) -> None:
    args = ["diagnose", *[p for h in hints for p in ("--shape", h)], *(["--json"] if as_json else [])]
    _assert_contract(*invoke_main(*args, input="\n".join(lines)), as_json)


TOML_VALUE = st.one_of(
    st.integers(min_value=-2, max_value=64), st.sampled_from([2**62, 2**63 - 1, -(2**63)]), st.booleans(),
    st.lists(st.integers(min_value=-1, max_value=64), max_size=4), st.text(max_size=20), HOSTILE,
    st.lists(st.sampled_from([2**62, 1, 0]), min_size=1, max_size=3))
CASE_KEYS = st.sampled_from(["name", "layer", "mode", "input_size", "hidden_size", "num_layers", "input", "hidden",
                             "cell", "lengths", "enforce_sorted", "dtype", "device", "expect_error", "batch_first",
                             "bidirectional", "proj_size", "bogus"])


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is JSON's, \u escapes included
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


@FUZZ
@given(cases=st.lists(st.dictionaries(CASE_KEYS, TOML_VALUE, max_size=8), min_size=0, max_size=3),
       raw=st.one_of(st.none(), st.text(max_size=80)), as_json=st.booleans(), dry=st.booleans(),
       junit=st.booleans())
def test_check(cases, raw, as_json, dry, junit) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases.toml")
        body = raw if raw is not None else "".join(
            "[[case]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in case.items()) for case in cases)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(body)
        args = ["check", path, *(["--dry-run"] if dry else ["--device", "meta"]),
                *(["--junit-xml", os.path.join(tmp, "r.xml")] if junit else []), *(["--json"] if as_json else [])]
        _assert_contract(*invoke_main(*args), as_json)


MODEL = ("import torch.nn as nn\n\nclass Model(nn.Module):\n    def __init__(self, hidden=20):\n"
         "        super().__init__()\n        self.rnn = nn.LSTM(10, hidden, batch_first=True)\n\n"
         "    def forward(self, x, *rest):\n        return self.rnn(x)[0]\n")


@FUZZ
@given(shapes=st.lists(st.one_of(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=3)
                                 .map(lambda xs: ",".join(map(str, xs))), HOSTILE), max_size=2),
       dtypes=st.lists(st.one_of(st.sampled_from(["float32", "long", "float64", "int8"]), VALUE), max_size=2),
       values=st.lists(VALUE, max_size=1), init=st.one_of(st.none(), st.just('{"hidden": 7}'), VALUE),
       target=st.one_of(st.just("model"), VALUE), as_json=st.booleans())
def test_trace(shapes, dtypes, values, init, target, as_json) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fuzz_model.py")
        with open(path, "w") as fh:
            fh.write(MODEL)
        where = f"{path}:Model" if target == "model" else target
        args = ["trace", where, *[p for s in shapes for p in ("--input-shape", s)],
                *[p for d in dtypes for p in ("--input-dtype", d)], *[p for v in values for p in ("--input-value", v)],
                *(["--init-args", init] if init is not None else []), "--device", "meta",
                *(["--json"] if as_json else [])]
        _assert_contract(*invoke_main(*args), as_json)
