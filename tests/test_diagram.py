"""``inspect --diagram``: every row, slice, identity and recipe the picture prints, checked against real torch.

The oracle is torch itself: modules with random weights are run, and every identity the layout prints is
evaluated on the real ``output``/``h_n``/``c_n`` (equality of the slices, not just of shapes). Which row of
``h_n`` is which layer and direction is re-derived independently, by rebuilding each (layer, direction) as a
one-layer, one-direction module from the stacked module's own weights.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from typer.testing import CliRunner

from rnnshape.cli import app
from rnnshape.model.layout import Direction, Layout, elide, last_layer_rows, layout_for, layout_for_request
from rnnshape.model.shapes import Request, TensorArg
from rnnshape.model.spec import LayerSpec
from rnnshape.render.diagram import diagram

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8",
       "PYTHONPATH": str(ROOT)}
runner = CliRunner()


# --------------------------------------------------------------------------- generated calls


@st.composite
def sequence_calls(draw, big: bool = False) -> tuple[LayerSpec, dict]:
    """A valid sequence layer and the call it gets (seq_len, batch, unbatched, packed lengths)."""
    mode = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(1, 6))
    kw: dict = {"num_layers": draw(st.integers(1, 5 if big else 3)), "bidirectional": draw(st.booleans()),
                "batch_first": draw(st.booleans()), "bias": draw(st.booleans())}
    if mode == "lstm" and hidden > 1 and draw(st.booleans()):
        kw["proj_size"] = draw(st.integers(1, hidden - 1))
    given = frozenset({"input_size", "hidden_size", *kw})
    spec = LayerSpec(mode, draw(st.integers(1, 5)), hidden, given=given, **kw)
    seq_len = draw(st.integers(1, 9 if big else 5))
    unbatched = draw(st.integers(0, 4)) == 0
    batch = 1 if unbatched else draw(st.integers(1, 4))
    lengths = None
    if not unbatched and draw(st.booleans()):
        lengths = draw(st.lists(st.integers(1, seq_len), min_size=batch, max_size=batch))
    return spec, {"seq_len": seq_len, "batch": batch, "unbatched": unbatched, "lengths": lengths}


def build(spec: LayerSpec) -> nn.Module:
    module = getattr(nn, spec.class_name)(**spec.ctor_kwargs()).double()
    return module.eval()


def run_call(spec: LayerSpec, call: dict) -> tuple[nn.Module, torch.Tensor, dict]:
    """The module, its input, and the names the layout's code uses, bound to torch's real results."""
    module = build(spec)
    seq_len, batch = call["seq_len"], call["batch"]
    if call["unbatched"]:
        x = torch.randn(seq_len, spec.input_size, dtype=torch.float64)
    elif spec.batch_first:
        x = torch.randn(batch, seq_len, spec.input_size, dtype=torch.float64)
    else:
        x = torch.randn(seq_len, batch, spec.input_size, dtype=torch.float64)
    feed = x
    if call["lengths"] is not None:
        feed = pack_padded_sequence(x, torch.tensor(call["lengths"]), batch_first=bool(spec.batch_first),
                                    enforce_sorted=False)
    with torch.no_grad():
        output, state = module(feed)
    h_n, c_n = state if spec.is_lstm else (state, None)
    names = {"torch": torch, "pad_packed_sequence": pad_packed_sequence, "output": output, "h_n": h_n,
             "c_n": c_n}
    return module, x, names


def layout_of(spec: LayerSpec, call: dict) -> Layout:
    packed = call["lengths"] is not None
    seq = max(call["lengths"]) if packed else call["seq_len"]
    return layout_for(spec, seq_len=seq, batch=None if call["unbatched"] else call["batch"],
                      unbatched=call["unbatched"], packed=packed)


def same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b


def check_layout_against_torch(spec: LayerSpec, call: dict) -> None:
    layout = layout_of(spec, call)
    _, _, names = run_call(spec, call)
    for line in layout.setup:
        exec(line, names)  # noqa: S102 - our own printed code, run on torch's real results
    assert layout.identities, "a sequence layer always has identities to print"
    for identity in layout.identities:
        lhs, rhs = eval(identity.lhs, names), eval(identity.rhs, names)  # noqa: S307
        assert same(lhs, rhs), (spec, call, identity.code)
    for recipe in layout.recipes:
        got, expected = eval(recipe.code, names), eval(recipe.equals, names)  # noqa: S307
        assert torch.equal(got, expected), (spec, call, recipe.code)
        assert tuple(got.shape) == shape_of(recipe.shape, call["batch"]), (recipe.code, recipe.shape)


def shape_of(words: str, batch: int) -> tuple[int, ...]:
    """``"(batch, 40)"`` -> ``(3, 40)``."""
    inner = words.strip("()").rstrip(",")
    return tuple(batch if part.strip() == "batch" else int(part) for part in inner.split(","))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence_calls())
def test_every_identity_and_recipe_holds_in_torch(case: tuple[LayerSpec, dict]) -> None:
    check_layout_against_torch(*case)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence_calls(big=True))
def test_every_identity_and_recipe_holds_in_torch_many(case: tuple[LayerSpec, dict]) -> None:
    check_layout_against_torch(*case)


# --------------------------------------------------------------------------- rows, rebuilt independently


def one_direction(module: nn.Module, spec: LayerSpec, layer: int, reverse: bool, in_size: int) -> nn.Module:
    """``layer``'s ``reverse`` direction of the stacked module, as its own one-layer unidirectional module."""
    kw = {k: v for k, v in spec.ctor_kwargs().items() if k not in ("num_layers", "bidirectional",
                                                                    "batch_first", "dropout")}
    single = getattr(nn, spec.class_name)(**{**kw, "input_size": in_size}).double().eval()
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    with torch.no_grad():
        for name, param in single.named_parameters():
            param.copy_(getattr(module, name.replace("_l0", suffix)))
    return single


def per_direction_states(module: nn.Module, spec: LayerSpec, x: torch.Tensor) -> dict:
    """(layer, direction) -> (final h, final c, that direction's output sequence), time-major, batched."""
    found, layer_in = {}, x
    for layer in range(spec.num_layers):
        outs = []
        for reverse in range(spec.num_directions):
            single = one_direction(module, spec, layer, bool(reverse), layer_in.shape[-1])
            with torch.no_grad():
                out, state = single(layer_in.flip(0) if reverse else layer_in)
            out = out.flip(0) if reverse else out
            h, c = state if spec.is_lstm else (state, None)
            direction = Direction.BACKWARD if reverse else Direction.FORWARD
            found[(layer, direction)] = (h[0], None if c is None else c[0], out)
            outs.append(out)
        layer_in = torch.cat(outs, dim=-1)
    return found


@settings(max_examples=25, deadline=None)
@given(sequence_calls())
def test_rows_and_slices_are_the_layers_and_directions_torch_computes(case: tuple[LayerSpec, dict]) -> None:
    spec, call = case
    call = {**call, "unbatched": False, "lengths": None, "batch": max(call["batch"], 1)}
    module, x, names = run_call(spec, call)
    time_major = x.transpose(0, 1) if spec.batch_first else x
    states = per_direction_states(module, spec, time_major)
    layout = layout_of(spec, call)
    assert len(layout.rows) == names["h_n"].shape[0]
    viewed = eval(layout.view, names)  # noqa: S307 - h_n.view(num_layers, num_directions, -1, h)
    for row in layout.rows:
        h, c, _ = states[(row.layer, row.direction)]
        assert torch.allclose(names["h_n"][row.index], h, atol=1e-9), (spec, row)
        assert torch.equal(viewed[row.layer, int(row.direction is Direction.BACKWARD)], names["h_n"][row.index])
        assert torch.allclose(names["h_n"][row.negative], h, atol=1e-9), (spec, row)
        if spec.is_lstm:  # c_n has the same rows, hidden_size wide even with proj_size
            assert torch.allclose(names["c_n"][row.index], c, atol=1e-9), (spec, row)
            assert names["c_n"].shape[-1] == spec.hidden_size
    output = names["output"].transpose(0, 1) if spec.batch_first else names["output"]
    for piece in layout.slices:
        _, _, seq = states[(spec.num_layers - 1, piece.direction)]
        assert torch.allclose(output[..., piece.start:piece.stop], seq, atol=1e-9), (spec, piece)


def test_the_issue_s_own_identities_are_the_ones_printed() -> None:
    """The identities as the torch docs and the issue write them, for both layouts of the same layer."""
    time_major = layout_for(LayerSpec("lstm", 10, 20, num_layers=2, bidirectional=True), seq_len=5, batch=3)
    assert [i.code for i in time_major.identities][:2] == ["output[-1, :, :20] == h_n[-2]",
                                                           "output[0, :, 20:] == h_n[-1]"]
    batch_first = layout_for(LayerSpec("lstm", 10, 20, num_layers=2, bidirectional=True, batch_first=True),
                             seq_len=5, batch=3)
    assert [i.code for i in batch_first.identities][:2] == ["output[:, -1, :20] == h_n[-2]",
                                                            "output[:, 0, 20:] == h_n[-1]"]
    assert batch_first.recipes[0].code == "torch.cat([h_n[-2], h_n[-1]], dim=1)"
    assert batch_first.view == "h_n.view(2, 2, -1, 20)"
    projected = layout_for(LayerSpec("lstm", 10, 20, proj_size=5, given=frozenset({"proj_size"})), seq_len=3)
    assert {(i.lhs, i.rhs) for i in projected.identities} >= {("h_n.size(-1)", "5"), ("c_n.size(-1)", "20")}


def test_packed_last_step_code_gives_each_sequence_s_own_last_step() -> None:
    """Unsorted lengths, batch-first: the printed code picks row lengths[i] - 1 of sequence i, and [:, -1] would not."""
    spec = LayerSpec("gru", 4, 3, num_layers=2, bidirectional=True, batch_first=True,
                     given=frozenset({"num_layers", "bidirectional", "batch_first"}))
    call = {"seq_len": 6, "batch": 3, "unbatched": False, "lengths": [2, 6, 4]}
    layout = layout_of(spec, call)
    _, _, names = run_call(spec, call)
    for line in layout.setup:
        exec(line, names)  # noqa: S102
    last = [r for r in layout.recipes if "lengths - 1" in r.code][0]
    picked = eval(last.code, names)  # noqa: S307
    padded = names["padded"]
    for i, n in enumerate(call["lengths"]):
        assert torch.equal(picked[i], padded[i, n - 1, :3])
        assert torch.equal(picked[i], names["h_n"][-2][i])
    assert not torch.equal(padded[:, -1, :3], names["h_n"][-2])  # the mistake the note warns about


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize("mode", ["rnn-cell", "lstm-cell", "gru-cell"])
def test_cell_identities_and_unroll_loop_match_torch(mode: str) -> None:
    spec = LayerSpec(mode, 4, 3)
    layout = layout_for(spec, batch=2)
    cell = build(spec)
    x = torch.randn(2, 4, dtype=torch.float64)
    h_0, c_0 = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    names: dict = {"cell": cell, "x": x, "h_0": h_0, "c_0": c_0, "torch": torch}
    with torch.no_grad():
        exec(layout.cell_call, names)  # noqa: S102
        for identity in layout.identities:
            assert same(eval(identity.lhs, names), eval(identity.rhs, names)), identity.code  # noqa: S307
        seq = torch.randn(5, 2, 4, dtype=torch.float64)
        loop = {"cell": cell, "seq": seq, "h": h_0, "c": c_0}
        for line in layout.unroll:
            exec(line, loop)  # noqa: S102
        # the loop is the sequence layer: the same weights in nn.RNN/LSTM/GRU give the same final state
        kw = {"nonlinearity": spec.nonlinearity} if mode == "rnn-cell" else {}
        layer = getattr(nn, spec.class_name.removesuffix("Cell"))(4, 3, **kw).double()
        for name, param in layer.named_parameters():
            param.copy_(getattr(cell, name.removesuffix("_l0")))
        state = (h_0[None], c_0[None]) if spec.is_lstm else h_0[None]
        _, final = layer(seq, state)
        h_n = final[0] if spec.is_lstm else final
        assert torch.allclose(loop["h"], h_n[0], atol=1e-9)


# --------------------------------------------------------------------------- the picture


def render(layout: Layout, highlight: tuple[int, ...] = (), width: int = 80, compact: bool = False) -> str:
    console = Console(width=width, file=io.StringIO(), no_color=True, legacy_windows=False)
    console.print(diagram(layout, highlight, compact=compact))
    return console.file.getvalue()


def assert_fits_with_whole_code(text: str, layout: Layout, width: int = 80) -> None:
    lines = text.splitlines()
    for line in lines:
        assert cell_len(line) <= width, line
    for code in layout.code_lines:
        ast.parse(code)
        assert any(code in line for line in lines), f"{code!r} is not whole on one line:\n{text}"


@settings(max_examples=30, deadline=None)
@given(sequence_calls(), st.integers(1, 2000), st.integers(1, 300))
def test_picture_fits_80_columns_with_every_code_line_whole(case: tuple[LayerSpec, dict], seq_len: int,
                                                            num_layers: int) -> None:
    spec, call = case
    spec = spec.with_(num_layers=num_layers, hidden_size=spec.hidden_size * 1000,
                      proj_size=spec.proj_size * 1000)
    layout = layout_for(spec, seq_len=seq_len, batch=call["batch"], unbatched=call["unbatched"],
                        packed=call["lengths"] is not None)
    text = render(layout)
    assert_fits_with_whole_code(text, layout)
    steps_drawn = text.splitlines()[1].count("t=")
    layers_drawn = len({line.split()[1] for line in text.splitlines() if line.startswith("layer ")})
    notice = text.partition("elided to fit 80 columns")[2].partition("\n\n")[0]  # it may wrap
    assert ("time step" in notice) == (steps_drawn < seq_len), text
    assert ("layer" in notice) == (layers_drawn < num_layers), text
    assert steps_drawn >= min(seq_len, 4) and layers_drawn == min(num_layers, 4)


@pytest.mark.parametrize("mode", ["rnn-cell", "lstm-cell", "gru-cell"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cell_picture_fits_80_columns(mode: str, unbatched: bool) -> None:
    layout = layout_for(LayerSpec(mode, 123456, 654321), batch=4096, unbatched=unbatched)
    text = render(layout)
    assert_fits_with_whole_code(text, layout)
    assert "one time step" in text and "h_n" not in text


def test_elision_says_what_it_left_out() -> None:
    text = render(layout_for(LayerSpec("gru", 10, 20, num_layers=10), seq_len=100, batch=3))
    assert "time steps 2–97" in text and "layers 2–7" in text
    assert elide(100, 4) == (0, 1, None, 98, 99)
    assert elide(3, 4) == (0, 1, 2)


def test_highlighted_rows_are_marked_and_always_drawn() -> None:
    """What a bidirectional-last-step warning would show: h_n[-2] and h_n[-1], or any other rows."""
    spec = LayerSpec("lstm", 10, 20, num_layers=10, bidirectional=True)
    layout = layout_for(spec, seq_len=5, batch=3)
    text = render(layout, highlight=(10, 11))  # layer 5, which elision would otherwise leave out
    marked = [line for line in text.splitlines() if "◀ this row" in line]
    assert len(marked) == 2 and "h_n[10]" in marked[0] and "h_n[11]" in marked[1]
    assert "layer 5 fwd →" in text and "layer 5 bwd ←" in text


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_layer_rows_are_h_n_minus_2_and_minus_1(bidirectional: bool) -> None:
    """The rows a bidirectional-last-step warning highlights are torch's h_n[-2:] (h_n[-1:] one-way)."""
    spec = LayerSpec("gru", 3, 4, num_layers=3, bidirectional=bidirectional)
    _, h_n = build(spec)(torch.randn(5, 2, 3, dtype=torch.float64))
    rows = last_layer_rows(spec)
    assert torch.equal(h_n[list(rows)], h_n[-spec.num_directions:])
    text = render(layout_for(spec, seq_len=5, batch=2), highlight=rows, compact=True)
    assert text.count("◀ this row") == len(rows) and "identities" not in text


def test_cli_diagram_at_columns_80_through_a_pipe() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rnnshape", "inspect",
         "nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)", "--diagram", "--batch", "3"],
        capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120, check=False, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    spec = LayerSpec("lstm", 10, 20, num_layers=2, bidirectional=True, batch_first=True)
    assert_fits_with_whole_code(proc.stdout, layout_for(spec, seq_len=5, batch=3))
    assert "layer 1 bwd ← h_n[3] ◀─" in proc.stdout


# --------------------------------------------------------------------------- --json, --dry-run, params


def test_json_diagram_section() -> None:
    res = runner.invoke(app, ["inspect", "lstm", "10", "20", "--num-layers", "2", "--bidirectional",
                              "--batch-first", "--batch", "3", "--proj-size", "5", "--diagram", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    section = payload["diagram"]
    assert section["kind"] == "sequence" and section["num_directions"] == 2 and section["h_size"] == 5
    assert section["c_size"] == 20 and section["batch"] == 3 and section["seq_len"] == 5
    rows = section["h_n_rows"]
    assert [(r["index"], r["negative"], r["layer"], r["direction"]) for r in rows] == [
        (0, -4, 0, "forward"), (1, -3, 0, "backward"), (2, -2, 1, "forward"), (3, -1, 1, "backward")]
    assert [s["code"] for s in section["output_slices"]] == ["output[..., :5]", "output[..., 5:]"]
    # the JSON's identities hold in torch too
    module = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True, proj_size=5)
    output, (h_n, c_n) = module(torch.randn(3, 5, 10))
    names = {"output": output, "h_n": h_n, "c_n": c_n, "torch": torch}
    for identity in section["identities"]:
        assert same(eval(identity["lhs"], names), eval(identity["rhs"], names)), identity  # noqa: S307
    plain = json.loads(runner.invoke(app, ["inspect", "lstm", "10", "20", "--json"]).stdout)
    assert "diagram" not in plain


def test_cell_json_and_invalid_layer() -> None:
    res = runner.invoke(app, ["inspect", "gru-cell", "10", "20", "--diagram", "--json"])
    section = json.loads(res.stdout)["diagram"]
    assert section["kind"] == "cell" and section["h_n_rows"] == [] and section["cell_call"] == "h_1 = cell(x, h_0)"
    bad = runner.invoke(app, ["inspect", "lstm", "10", "20", "--proj-size", "30", "--diagram"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output and "no picture" in bad.stderr
    spec = LayerSpec("lstm", 10, 20, proj_size=30, given=frozenset({"proj_size"}))
    assert layout_for_request(Request(spec, TensorArg((5, 1, 10)))) is None


DRY_PROBE = """
import sys
sys.argv = ["rnnshape", "inspect", "lstm", "10", "20", "--num-layers", "3", "--bidirectional",
            "--diagram", "--dry-run", *sys.argv[1:]]
from rnnshape.cli import main
try:
    main()
except SystemExit as exc:
    print("EXIT", exc.code, file=sys.stderr)
print("TORCH", "torch" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_diagram_with_dry_run_never_imports_torch(extra: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", DRY_PROBE, *extra], capture_output=True, text=True, env=ENV,
                          cwd=ROOT, timeout=60, check=False, encoding="utf-8")
    assert "EXIT 0" in proc.stderr and "TORCH False" in proc.stderr, proc.stderr
    assert "h_n[5]" in proc.stdout


def test_params_flags() -> None:
    args = ["inspect", "lstm", "10", "20", "--num-layers", "4", "--bidirectional"]
    names = [n for n, _ in nn.LSTM(10, 20, num_layers=4, bidirectional=True).named_parameters()]
    assert len(names) == 32
    summary = runner.invoke(app, args, env={"COLUMNS": "80"}).stdout
    assert "more" in summary and sum(n in summary.split() for n in names) < 32
    full = runner.invoke(app, [*args, "--params"], env={"COLUMNS": "80"}).stdout
    assert all(n in full.split() for n in names)
    hidden = runner.invoke(app, [*args, "--no-params"], env={"COLUMNS": "80"}).stdout
    assert not any(n in hidden.split() for n in names) and "parameters:" not in hidden
    assert "✓ shapes work" in hidden


# --------------------------------------------------------------------------- --svg / --html


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()  # parses as XML, or raises
    assert root.tag.endswith("svg")
    # Rich writes one <text> per styled run: join each line's runs back together
    return "".join(root.itertext()).replace("\xa0", " ")


def test_svg_and_html_export(tmp_path: Path) -> None:
    svg, html = tmp_path / "layer.svg", tmp_path / "layer.html"
    res = runner.invoke(app, ["inspect", "nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)",
                              "--svg", str(svg), "--html", str(html), "--json"])
    assert res.exit_code == 0, res.output
    json.loads(res.stdout)  # --json still owns stdout
    text = svg_text(svg)
    for label in ("layer 1 bwd", "h_n[3] = h_n[-1]", "output[:, 0, 20:] == h_n[-1]",
                  "torch.cat([h_n[-2], h_n[-1]], dim=1)", "nn.LSTM(10, 20"):
        assert label in text, label
    page = unescape(html.read_text(encoding="utf-8"))
    assert "torch.cat([h_n[-2], h_n[-1]], dim=1)" in page and "<html" in page


def test_svg_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed here (CI installs Debian's chromium for this check)")
    svg, png = tmp_path / "layer.svg", tmp_path / "layer.png"
    assert runner.invoke(app, ["inspect", "gru", "10", "20", "--svg", str(svg)]).exit_code == 0
    proc = subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", f"--screenshot={png}",
                           "--window-size=1000,1400", svg.as_uri()], capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert png.stat().st_size > 1000


def test_export_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    source = tmp_path / "x.pt"
    torch.save({"x": torch.randn(5, 1, 10)}, source)
    before = source.read_bytes()
    res = runner.invoke(app, ["inspect", "lstm", "10", "20", "--input", f"{source}:x", "--svg", str(source)])
    assert res.exit_code == 2 and "will not overwrite" in res.stderr
    assert source.read_bytes() == before
    same_file = runner.invoke(app, ["inspect", "gru", "--svg", str(tmp_path / "a"), "--html", str(tmp_path / "a")])
    assert same_file.exit_code == 2 and "same file" in same_file.stderr
    nowhere = runner.invoke(app, ["inspect", "gru", "--svg", str(tmp_path / "no" / "such" / "a.svg")])
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr


# --------------------------------------------------------------------------- the picture reused by diagnose's warnings


_ONE_DIRECTION = """\
import torch
import torch.nn as nn

lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
fc = nn.Linear(20, 2)
x = torch.randn(4, 7, 10)
out, (h_n, c_n) = lstm(x)
logits = fc(h_n[-1])
"""


def test_one_direction_warning_points_at_the_two_rows_in_the_picture(tmp_path) -> None:
    """Issue 14, point 4: diagnose's h_n[-1] warning draws the layer with the last layer's rows marked."""
    path = tmp_path / "snippet.py"
    path.write_text(_ONE_DIRECTION)
    out = subprocess.run([sys.executable, "-m", "rnnshape", "diagnose", str(path)], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "80", "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert "bidirectional-one-direction" in out.stdout
    marked = [line.split()[:2] for line in out.stdout.splitlines() if "◀ this row" in line]
    assert marked == [["h_n[2]", "h_n[-2]"], ["h_n[3]", "h_n[-1]"]], out.stdout
    assert all(len(line) <= 80 for line in out.stdout.splitlines())
    # the rows marked are the last layer's two directions in torch too
    lstm = torch.nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(4, 7, 10)
    output, (h_n, _) = lstm(x)
    assert torch.equal(h_n[-2], output[:, -1, :20]) and torch.equal(h_n[-1], output[:, 0, 20:])
