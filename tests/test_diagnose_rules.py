"""Per-construct tests of the follower: every shape rule, statement and expression form on a small snippet.

Each case names a variable and the shape ``diagnose`` gives it (or the error it stops with, or ``?`` when it
must not follow). Real torch is the oracle: all cases run in one subprocess, and a concrete shape must be
torch's, an error torch's error at the same line.
"""

from __future__ import annotations

import pytest
from conftest import (
    RULE_HEAD,
    assert_rule_agrees_with_torch,
    follow_rule_cases,
    followed_shape,
    torch_rule_cases,
)

HEAD = RULE_HEAD

#: name -> (code after HEAD, variable, expected: "(3, 4)" its shape, "!code" the error, "?" not followed)
CASES: dict[str, tuple[str, str, str]] = {
    # ---- elementwise, one rule for every spelling
    "add_op": ("a = torch.randn(3, 4)\nb = torch.randn(4)\nc = a + b", "c", "(3, 4)"),
    "add_method": ("a = torch.randn(3, 1)\nb = torch.randn(1, 4)\nc = a.add(b)", "c", "(3, 4)"),
    "add_fn": ("a = torch.randn(2, 3, 1)\nb = torch.randn(3, 5)\nc = torch.add(a, b)", "c", "(2, 3, 5)"),
    "radd_scalar": ("a = torch.randn(3, 4)\nc = 2 + a", "c", "(3, 4)"),
    "sub_mismatch": ("a = torch.randn(3, 4)\nb = torch.randn(3, 5)\nc = a - b", "c", "!shape-op"),
    "div_scalar": ("a = torch.arange(6)\nc = a / 2.0", "c", "(6,)"),
    "pow_op": ("a = torch.randn(2, 2)\nc = a ** 2", "c", "(2, 2)"),
    "floordiv_op": ("a = torch.arange(8)\nc = a // 3", "c", "(8,) int64"),
    "mod_op": ("a = torch.arange(8)\nc = a % 3", "c", "(8,) int64"),
    "compare_tensors": ("a = torch.randn(3, 4)\nc = a > torch.zeros(4)", "c", "(3, 4) bool"),
    "maximum": ("a = torch.randn(3, 4)\nc = torch.maximum(a, torch.zeros(1, 4))", "c", "(3, 4)"),
    "max_elementwise": ("a = torch.randn(3, 4)\nc = torch.max(a, torch.zeros(3, 4))", "c", "(3, 4)"),
    "neg": ("a = torch.randn(3, 4)\nc = -a", "c", "(3, 4)"),
    "inplace_add": ("a = torch.randn(3, 4)\na += torch.ones(4)\nc = a", "c", "(3, 4)"),
    "masked_fill": ("a = torch.randn(3, 4)\nc = a.masked_fill(a > 0, 0.0)", "c", "(3, 4)"),
    "functional_relu": ("a = torch.randn(3, 4)\nc = F.relu(a)", "c", "(3, 4)"),
    "functional_softmax": ("a = torch.randn(3, 4)\nc = F.softmax(a, dim=-1)", "c", "(3, 4)"),
    "torch_tanh": ("a = torch.randn(3, 4)\nc = torch.tanh(a)", "c", "(3, 4)"),
    # ---- products
    "matmul_op": ("a = torch.randn(3, 4)\nb = torch.randn(4, 5)\nc = a @ b", "c", "(3, 5)"),
    "matmul_vec": ("a = torch.randn(3, 4)\nb = torch.randn(4)\nc = a @ b", "c", "(3,)"),
    "matmul_vec_left": ("a = torch.randn(4)\nb = torch.randn(2, 4, 5)\nc = a @ b", "c", "(2, 5)"),
    "bmm": ("a = torch.randn(2, 3, 4)\nb = torch.randn(2, 4, 5)\nc = torch.bmm(a, b)", "c", "(2, 3, 5)"),
    "matmul_mismatch": ("a = torch.randn(3, 4)\nb = torch.randn(5, 6)\nc = a.mm(b)", "c", "!shape-op"),
    # ---- reshaping
    "view": ("a = torch.randn(2, 3, 4)\nc = a.view(6, 4)", "c", "(6, 4)"),
    "view_infer": ("a = torch.randn(2, 3, 4)\nc = a.view(-1, 4)", "c", "(6, 4)"),
    "reshape_tuple": ("a = torch.randn(2, 3, 4)\nc = a.reshape((2, 12))", "c", "(2, 12)"),
    "torch_reshape": ("a = torch.randn(2, 3, 4)\nc = torch.reshape(a, (4, 6))", "c", "(4, 6)"),
    "view_bad": ("a = torch.randn(2, 3, 4)\nc = a.view(5, -1)", "c", "!shape-op"),
    "view_bad_total": ("a = torch.randn(2, 3, 4)\nc = a.view(5, 5)", "c", "!shape-op"),
    "view_two_holes": ("a = torch.randn(2, 3, 4)\nc = a.view(-1, -1)", "c", "!shape-op"),
    "view_dtype": ("a = torch.randn(2, 3)\nc = a.view(torch.int32)", "c", "(2, 3) int32"),
    "permute": ("a = torch.randn(2, 3, 4)\nc = a.permute(2, 0, 1)", "c", "(4, 2, 3)"),
    "permute_tuple": ("a = torch.randn(2, 3, 4)\nc = a.permute((1, 0, 2))", "c", "(3, 2, 4)"),
    "permute_wrong_rank": ("a = torch.randn(2, 3, 4)\nc = a.permute(1, 0)", "c", "!shape-op"),
    "permute_twice": ("a = torch.randn(2, 3, 4)\nc = a.permute(0, 0, 1)", "c", "!shape-op"),
    "transpose": ("a = torch.randn(2, 3, 4)\nc = a.transpose(0, 1)", "c", "(3, 2, 4)"),
    "torch_transpose": ("a = torch.randn(2, 3, 4)\nc = torch.transpose(a, 1, 2)", "c", "(2, 4, 3)"),
    "transpose_out_of_range": ("a = torch.randn(2, 3)\nc = a.transpose(0, 2)", "c", "!shape-op"),
    "t_method": ("a = torch.randn(2, 3)\nc = a.t()", "c", "(3, 2)"),
    "t_3d": ("a = torch.randn(2, 3, 4)\nc = a.t()", "c", "!shape-op"),
    "T_attr": ("a = torch.randn(2, 3)\nc = a.T", "c", "(3, 2)"),
    "mT_attr": ("a = torch.randn(5, 2, 3)\nc = a.mT", "c", "(5, 3, 2)"),
    "unsqueeze": ("a = torch.randn(2, 3)\nc = a.unsqueeze(1)", "c", "(2, 1, 3)"),
    "unsqueeze_end": ("a = torch.randn(2, 3)\nc = torch.unsqueeze(a, -1)", "c", "(2, 3, 1)"),
    "squeeze_dim": ("a = torch.randn(2, 1, 3)\nc = a.squeeze(1)", "c", "(2, 3)"),
    "squeeze_dim_kept": ("a = torch.randn(2, 4, 3)\nc = a.squeeze(1)", "c", "(2, 4, 3)"),
    "squeeze_all": ("a = torch.randn(1, 2, 1, 3)\nc = a.squeeze()", "c", "(2, 3)"),
    "flatten": ("a = torch.randn(2, 3, 4)\nc = a.flatten(1)", "c", "(2, 12)"),
    "flatten_all": ("a = torch.randn(2, 3, 4)\nc = torch.flatten(a)", "c", "(24,)"),
    "flatten_range": ("a = torch.randn(2, 3, 4, 5)\nc = a.flatten(start_dim=1, end_dim=2)", "c", "(2, 12, 5)"),
    "expand": ("a = torch.randn(3, 1)\nc = a.expand(3, 4)", "c", "(3, 4)"),
    "expand_keep": ("a = torch.randn(3, 1)\nc = a.expand(2, -1, 5)", "c", "(2, 3, 5)"),
    "repeat": ("a = torch.randn(3, 2)\nc = a.repeat(2, 3)", "c", "(6, 6)"),
    "repeat_too_few": ("a = torch.randn(3, 2)\nc = a.repeat(2)", "c", "!shape-op"),
    # ---- reductions
    "sum_dim": ("a = torch.randn(2, 3, 4)\nc = a.sum(dim=1)", "c", "(2, 4)"),
    "mean_keepdim": ("a = torch.randn(2, 3, 4)\nc = a.mean(1, keepdim=True)", "c", "(2, 1, 4)"),
    "sum_all": ("a = torch.randn(2, 3)\nc = a.sum()", "c", "()"),
    "argmax": ("a = torch.randn(2, 3)\nc = a.argmax(dim=1)", "c", "(2,) int64"),
    "max_dim": ("a = torch.randn(2, 3)\nc, i = a.max(dim=1)", "i", "(2,) int64"),
    "torch_mean": ("a = torch.randn(2, 3)\nc = torch.mean(a, 0)", "c", "(3,)"),
    "reduce_out_of_range": ("a = torch.randn(2, 3)\nc = a.sum(dim=2)", "c", "!shape-op"),
    # ---- sizes
    "size_dim": ("a = torch.randn(2, 3)\nn = a.size(1)\nc = torch.zeros(n)", "c", "(3,)"),
    "shape_index": ("a = torch.randn(2, 3)\nc = torch.zeros(a.shape[0], a.shape[-1])", "c", "(2, 3)"),
    "size_tuple": ("a = torch.randn(2, 3)\nc = torch.zeros(a.size())", "c", "(2, 3)"),
    "numel": ("a = torch.randn(2, 3)\nc = torch.zeros(a.numel())", "c", "(6,)"),
    "dim_ndim": ("a = torch.randn(2, 3)\nc = torch.zeros(a.dim(), a.ndim)", "c", "(2, 2)"),
    "len_tensor": ("a = torch.randn(5, 3)\nc = torch.zeros(len(a))", "c", "(5,)"),
    # ---- creation
    "zeros_tuple": ("c = torch.zeros((2, 3), dtype=torch.long)", "c", "(2, 3) int64"),
    "full": ("c = torch.full((2, 3), 7)", "c", "(2, 3) int64"),
    "randint": ("c = torch.randint(0, 10, (4, 5))", "c", "(4, 5) int64"),
    "tensor_literal": ("c = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])", "c", "(3, 2)"),
    "tensor_ints": ("c = torch.tensor([1, 2, 3])", "c", "(3,) int64"),
    "long_tensor_data": ("c = torch.LongTensor([[1, 2], [3, 4]])", "c", "(2, 2) int64"),
    "float_tensor_sizes": ("c = torch.FloatTensor(2, 5)", "c", "(2, 5)"),
    "arange": ("c = torch.arange(7)", "c", "(7,) int64"),
    "arange_two": ("c = torch.arange(2, 7)", "c", "(5,) int64"),
    "zeros_like": ("a = torch.randn(2, 3)\nc = torch.zeros_like(a, dtype=torch.float64)", "c", "(2, 3) float64"),
    "new_zeros": ("a = torch.randn(2, 3)\nc = a.new_zeros(4, 5)", "c", "(4, 5)"),
    "new_full": ("a = torch.randn(2, 3)\nc = a.new_full((4, 5), 1.0)", "c", "(4, 5)"),
    "negative_size": ("c = torch.zeros(-1, 3)", "c", "!shape-op"),
    "as_tensor_of_tensor": ("a = torch.randn(2, 3)\nc = torch.as_tensor(a)", "c", "(2, 3)"),
    # ---- joining
    "cat": ("a = torch.randn(2, 3)\nb = torch.randn(4, 3)\nc = torch.cat([a, b])", "c", "(6, 3)"),
    "cat_dim1": ("a = torch.randn(2, 3)\nb = torch.randn(2, 5)\nc = torch.cat((a, b), dim=1)", "c", "(2, 8)"),
    "cat_mismatch": ("a = torch.randn(2, 3)\nb = torch.randn(4, 5)\nc = torch.cat([a, b])", "c", "!shape-op"),
    "cat_ranks": ("a = torch.randn(2, 3)\nb = torch.randn(3)\nc = torch.cat([a, b])", "c", "!shape-op"),
    "cat_dim_range": ("a = torch.randn(2, 3)\nc = torch.cat([a, a], dim=2)", "c", "!shape-op"),
    "stack": ("a = torch.randn(2, 3)\nc = torch.stack([a, a, a], dim=1)", "c", "(2, 3, 3)"),
    "stack_mismatch": ("a = torch.randn(2, 3)\nb = torch.randn(2, 4)\nc = torch.stack([a, b])", "c", "!shape-op"),
    "stack_loop": ("outs = []\nfor t in range(5):\n    outs.append(torch.randn(2, 3))\nc = torch.stack(outs)",
                   "c", "(5, 2, 3)"),
    "cat_loop": ("outs = []\nfor t in range(5):\n    outs.append(torch.randn(2, 3))\nc = torch.cat(outs, dim=1)",
                 "c", "(2, 15)"),
    "unbind": ("a = torch.randn(3, 4)\nx, y, z = a.unbind()\nc = x", "c", "(4,)"),
    # ---- dtype and device
    "dtype_methods": ("a = torch.randn(2, 3)\nc = a.long()", "c", "(2, 3) int64"),
    "to_dtype": ("a = torch.randn(2, 3)\nc = a.to(torch.float64)", "c", "(2, 3) float64"),
    "to_like": ("a = torch.randn(2, 3)\nb = a.double()\nc = a.to(b)", "c", "(2, 3) float64"),
    "type_as": ("a = torch.randn(2, 3)\nc = a.type_as(a)", "c", "(2, 3)"),
    "cpu_detach": ("a = torch.randn(2, 3)\nc = a.cpu().detach().clone().contiguous()", "c", "(2, 3)"),
    "data_attr": ("a = torch.randn(2, 3)\nc = a.data", "c", "(2, 3)"),
    "complex_dtype": ("c = torch.zeros(2, 3, dtype=torch.complex64)", "c", "(2, 3) complex64"),
    "gru_complex_input": ("g = nn.GRU(5, 1)\nc = g(torch.zeros(3, 4, 5, dtype=torch.cfloat))", "c", "!dtype-mismatch"),
    # ---- indexing
    "index_int": ("a = torch.randn(2, 3, 4)\nc = a[0]", "c", "(3, 4)"),
    "index_slices": ("a = torch.randn(2, 3, 4)\nc = a[:, 1:3]", "c", "(2, 2, 4)"),
    "index_none": ("a = torch.randn(2, 3)\nc = a[:, None]", "c", "(2, 1, 3)"),
    "index_ellipsis": ("a = torch.randn(2, 3, 4)\nc = a[..., 0]", "c", "(2, 3)"),
    "index_neg_slice": ("a = torch.randn(5, 3)\nc = a[-2:]", "c", "(2, 3)"),
    "index_step": ("a = torch.randn(6, 3)\nc = a[::2]", "c", "(3, 3)"),
    "index_out_of_range": ("a = torch.randn(2, 3)\nc = a[5]", "c", "!shape-op"),
    "too_many_indices": ("a = torch.randn(2, 3)\nc = a[0, 1, 2]", "c", "!shape-op"),
    "index_with_tensor": ("a = torch.randn(5, 3)\nc = a[torch.tensor([0, 1])]", "c", "?"),
    "index_zero_step": ("a = torch.randn(5, 3)\nc = a[::0]", "c", "?"),
    "iterate_tensor": ("a = torch.randn(5, 3)\nfor row in a:\n    c = row", "c", "(3,)"),
    "unpack_tensor": ("a = torch.randn(2, 3)\nc, d = a", "c", "(3,)"),
    "unpack_tensor_wrong": ("a = torch.randn(3, 3)\nc, d = a", "c", "!unpack-outputs"),
    # ---- python values around the tensors
    "int_arith": ("n = 4\nm = (n * 3 - 2) // 2 % 7\nc = torch.zeros(m, 2 ** 3)", "c", "(5, 8)"),
    "min_max": ("c = torch.zeros(min(3, 5), max(2, 4))", "c", "(3, 4)"),
    "ifexp": ("n = 3\nc = torch.zeros(n if n > 2 else 1)", "c", "(3,)"),
    "if_else_agree": ("import random\nif random.random() > 0.5:\n    c = torch.zeros(2)\nelse:\n    c = torch.ones(2)",
                      "c", "(2,)"),
    "if_else_differ": ("import random\nif random.random() > 0.5:\n    c = torch.zeros(2)\nelse:\n"
                       "    c = torch.ones(3)\nd = c", "d", "?"),
    "bool_ops": ("a, b = True, False\nif (a and not b) or b:\n    c = torch.zeros(1)", "c", "(1,)"),
    "while_false": ("c = torch.zeros(1)\nwhile False:\n    c = torch.zeros(2)", "c", "(1,)"),
    "with_block": ("with torch.no_grad():\n    c = torch.zeros(3)", "c", "(3,)"),
    "try_block": ("try:\n    c = torch.zeros(3)\nexcept Exception:\n    pass\nfinally:\n    d = 1", "c", "(3,)"),
    "tuple_index": ("t = (torch.zeros(2), torch.zeros(3))\nc = t[1]", "c", "(3,)"),
    "tuple_slice": ("t = (torch.zeros(2), torch.zeros(3), torch.zeros(4))\nc = t[1:][0]", "c", "(3,)"),
    "tuple_out_of_range": ("t = (torch.zeros(2),)\nc = t[3]", "c", "!shape-op"),
    "list_concat": ("a = [2] + [3]\nc = torch.zeros(*a)", "c", "(2, 3)"),
    "enumerate_zip": ("xs = [torch.zeros(2), torch.zeros(2)]\nfor i, (p, q) in enumerate(zip(xs, xs)):\n    c = p",
                      "c", "(2,)"),
    "function_call": ("def make(n, k=3, *rest, scale=1, **kw):\n    return torch.zeros(n, k)\nc = make(2, scale=2)",
                      "c", "(2, 3)"),
    "fstring_and_print": ("a = torch.zeros(2)\nprint(f'{a.shape}')\nc = a", "c", "(2,)"),
    "annotated": ("c: torch.Tensor = torch.zeros(4)", "c", "(4,)"),
    "starred_call": ("dims = (2, 3)\nc = torch.zeros(*dims)", "c", "(2, 3)"),
    "range_len": ("c = torch.zeros(len(range(4)), len('ab'))", "c", "(4, 2)"),
    "list_of_list": ("c = torch.tensor(list((1, 2)))", "c", "(2,) int64"),
    "next_iter": ("xs = [torch.zeros(3)]\nc = next(iter(xs))", "c", "(3,)"),
    "del_name": ("c = torch.zeros(2)\nd = c\ndel d", "c", "(2,)"),
    # ---- layers
    "linear": ("fc = nn.Linear(4, 2)\nc = fc(torch.randn(3, 4))", "c", "(3, 2)"),
    "linear_bad": ("fc = nn.Linear(4, 2)\nc = fc(torch.randn(3, 5))", "c", "!linear-mismatch"),
    "linear_int": ("fc = nn.Linear(4, 2)\nc = fc(torch.ones(3, 4, dtype=torch.long))", "c", "!dtype-mismatch"),
    "embedding": ("emb = nn.Embedding(10, 4)\nc = emb(torch.randint(0, 10, (2, 5)))", "c", "(2, 5, 4)"),
    "sequential": ("net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))\n"
                   "c = net(torch.randn(3, 4))", "c", "(3, 2)"),
    "loss_ok": ("loss = nn.CrossEntropyLoss()\nc = loss(torch.randn(3, 5), torch.tensor([0, 1, 2]))", "c", "()"),
    "loss_batch": ("loss = nn.CrossEntropyLoss()\nc = loss(torch.randn(3, 5), torch.tensor([0, 1]))", "c",
                   "!shape-op"),
    "f_cross_entropy": ("c = F.cross_entropy(torch.randn(3, 5), torch.tensor([0, 1, 2]))", "c", "()"),
    "layer_forward_method": ("fc = nn.Linear(4, 2)\nc = fc.forward(torch.randn(3, 4))", "c", "(3, 2)"),
    "layer_eval": ("fc = nn.Linear(4, 2).eval()\nc = fc(torch.randn(3, 4))", "c", "(3, 2)"),
    "lstm_cell_loop": ("cell = nn.LSTMCell(4, 8)\nh, cc = torch.zeros(3, 8), torch.zeros(3, 8)\n"
                       "for x in torch.randn(5, 3, 4):\n    h, cc = cell(x, (h, cc))\nc = h", "c", "(3, 8)"),
    "gru_packed_output_data": ("from torch.nn.utils.rnn import pack_padded_sequence\ngru = nn.GRU(4, 8)\n"
                               "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nout, h = gru(p)\n"
                               "c = out.data", "c", "(sum(lengths), 8)"),
    "packed_shape": ("from torch.nn.utils.rnn import pack_padded_sequence\ngru = nn.GRU(4, 8)\n"
                     "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nout, h = gru(p)\nc = out.shape",
                     "c", "!packed-as-tensor"),
    "packed_field": ("from torch.nn.utils.rnn import pack_padded_sequence\n"
                     "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nc = p[0]", "c", "(sum(lengths), 4)"),
    "packed_index": ("from torch.nn.utils.rnn import pack_padded_sequence\n"
                     "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nc = p[:, -1]", "c",
                     "!packed-as-tensor"),
    "output_tuple_add": ("gru = nn.GRU(4, 8)\nout = gru(torch.randn(5, 2, 4))\nc = out + 1", "c", "!output-tuple"),
    "output_tuple_cat": ("gru = nn.GRU(4, 8)\nout = gru(torch.randn(5, 2, 4))\nc = torch.cat([out, out])", "c",
                         "!output-tuple"),
    "state_tuple_index_tensor": ("lstm = nn.LSTM(4, 8)\nout, h = lstm(torch.randn(5, 2, 4))\nc = h[0, 0]", "c",
                                 "!state-tuple-as-tensor"),
    "output_tuple_size": ("gru = nn.GRU(4, 8)\nout = gru(torch.randn(5, 2, 4))\nc = out.size(0)", "c",
                          "!output-tuple"),
    "model_to_cuda_moves_layers": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                   "        self.seq = nn.Sequential(nn.Linear(4, 4))\n"
                                   "    def forward(self, x):\n        return self.seq(x)\nm = M()\nm.cpu()\n"
                                   "c = m(torch.randn(2, 4))", "c", "(2, 4)"),
    "method_call_on_self": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                            "        self.fc = nn.Linear(4, 2)\n    def head(self, x):\n        return self.fc(x)\n"
                            "    def forward(self, x):\n        return self.head(x)\nc = M()(torch.randn(3, 4))",
                            "c", "(3, 2)"),
}


_UNCALLED = ("class M(nn.Module):\n    def __init__(self, n, h, flag):\n        super().__init__()\n"
             "        self.n = n\n        self.emb = nn.Embedding(100, h)\n        self.fc = nn.Linear(h, 2)\n"
             "        self.gru = nn.GRU(h, h, bidirectional=flag)\n")

#: The forms whose point is what is NOT followed (``?``) or a symbolic size: static claims only.
CASES.update({
    "star_import": ("from torch.nn import *\nc = LSTM(4, 8)(torch.randn(5, 2, 4))[0]", "c", "(5, 2, 8)"),
    "dict_literal": ("d = {1: 2}\nc = d", "c", "?"),
    "huge_literal": ("n = 123456789012345678901234567890\nc = torch.zeros(n)", "c", "?"),
    "list_in_loop": ("for i in range(3):\n    l = [torch.zeros(2)]\nc = l[0]", "c", "(2,)"),
    "unary_forms": ("p = -0.5\nq = +3\nc = torch.zeros(q)\nm = ~(c > p)", "m", "?"),
    "bool_false": ("if False and undefined:\n    c = 1\nelif False or False:\n    c = 2\nc = torch.zeros(2)",
                   "c", "(2,)"),
    "chained_compare": ("n = 3\nif 0 < n < 5:\n    c = torch.zeros(2)", "c", "(2,)"),
    "is_none": ("h = None\nif h is None:\n    c = torch.zeros(1)\nif h is not None:\n    c = torch.zeros(2)",
                "c", "(1,)"),
    "ifexp_undecided_same": ("import random\nc = torch.zeros(2) if random.random() else torch.ones(2)", "c", "(2,)"),
    "ifexp_undecided_differ": ("import random\nc = torch.zeros(2) if random.random() else torch.ones(3)", "c", "?"),
    "starred_tuple": ("dims = (2, 3)\nt = (*dims, 4)\nc = torch.zeros(t)", "c", "(2, 3, 4)"),
    "lambda": ("f = lambda x: x\nc = f(torch.zeros(2))", "c", "?"),
    "listcomp_filtered": ("c = [torch.zeros(2) for i in range(3) if i]", "c", "?"),
    "listcomp_long": ("l = [torch.zeros(2) for _ in range(100)]\nc = torch.stack(l)", "c", "(100, 2)"),
    "listcomp_empty": ("l = [torch.zeros(2) for _ in range(0)]\nc = len(l)", "c", "0"),
    "float_arith": ("p = 0.5 * 2 - 1.0 + 3 / 4\nq = 1.0 / 0.0 if False else 1.0\nc = torch.zeros(2) * p", "c",
                    "(2,)"),
    "list_repeat": ("l = [0] * 3\nc = torch.zeros(len(l))", "c", "(3,)"),
    "unknown_operand": ("c = undefined_name + 1", "c", "?"),
    "int_ops": ("n = 3 + 4\nm = 7 / 2\nk = 3 << 1\nj = 2 ** 70\nc = torch.zeros(n)", "c", "(7,)"),
    "model_methods": ("m = nn.Module()\nclass M(nn.Module):\n    def forward(self, x):\n        return self.missing\n"
                      "net = M()\nnet.eval()\nnet.zero_grad()\nc = net(1)", "c", "?"),
    "packed_fields": ("from torch.nn.utils.rnn import pack_padded_sequence\n"
                      "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nb = p.batch_sizes\nc = p[1]",
                      "c", "?"),
    "int_attribute": ("n = 3\nc = n.real", "c", "?"),
    "tensor_meta": ("a = torch.randn(2)\nd = a.dtype\ndev = a.device\nif a.is_cuda:\n    pass\n"
                    "c = torch.zeros(2, dtype=d)", "c", "(2,)"),
    "tuple_index_unknown": ("t = (torch.zeros(2), torch.zeros(3))\nc = t[undefined]", "c", "?"),
    "unknown_subscript": ("c = undefined[0]", "c", "?"),
    "int_subscript": ("n = 3\nc = n[0]", "c", "?"),
    "span_slice": ("a = torch.randn(9, 3)\nfor t in range(4):\n    c = a[t:t + 2]", "c", "(2, 3)"),
    "unknown_index": ("a = torch.randn(9, 3)\nc = a[undefined]", "c", "?"),
    "starred_unknown_call": ("c = torch.zeros(*undefined)", "c", "?"),
    "kwargs_call": ("kw = {}\nc = torch.zeros(2, **kw)", "c", "?"),
    "no_forward": ("class A:\n    pass\na = A()\nc = a(1)", "c", "?"),
    "call_int": ("n = 3\nc = n()", "c", "?"),
    "missing_argument": ("def f(a, b, *, k=2, j):\n    return b\nc = f(1)", "c", "?"),
    "unknown_torch_fn": ("a = torch.zeros(2)\nc = torch.special_thing(a)", "c", "?"),
    "unknown_torch_fn_of_unknown": ("c = torch.relu(undefined)", "c", "?"),
    "rule_cannot_read": ("a = torch.zeros(2, 3)\nc = a.sum(dim=undefined)", "c", "?"),
    "range_huge": ("for i in range(2, 10**30):\n    c = torch.zeros(2)", "c", "(2,)"),
    "len_forms": ("outs = []\nfor i in range(4):\n    outs.append(1)\nn = len(outs)\nm = len((1, 2))\n"
                  "j = int(n)\nc = torch.zeros(n, m, j)", "c", "(4, 2, 4)"),
    "len_unknown": ("c = len(undefined)", "c", "?"),
    "next_list": ("c = next([torch.zeros(3)])", "c", "?"),
    "super_outside": ("s = super()\nc = isinstance(s, int)\nd = sorted([1])", "c", "?"),
    "layer_unknown_method": ("fc = nn.Linear(2, 2)\nc = fc.reset_parameters()", "c", "?"),
    "size_numel": ("a = torch.randn(2, 3)\nc = torch.zeros(a.shape.numel())", "c", "(6,)"),
    "tuple_method": ("t = (1, 2)\nc = t.count(1)", "c", "?"),
    "list_extend": ("l = []\nl.extend([torch.zeros(2)])\nc = l[0]", "c", "?"),
    "append_outer_nested": ("l = []\nfor i in range(2):\n    for j in range(3):\n        l.append(torch.zeros(2))\n"
                            "c = torch.stack(l)", "c", "(6, 2)"),
    "append_after_loop": ("l = []\nfor i in range(2):\n    l.append(torch.zeros(2))\nl.append(torch.zeros(2))\n"
                          "c = torch.stack(l)", "c", "?"),
    "model_moves": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.fc = nn.Linear(2, 2)\n    def forward(self, x):\n        return self.fc(x)\n"
                    "m = M()\nm.to(torch.float64)\nm.cuda()\nc = m.fc", "c", "Linear(2 → 2)"),
    # ---- layers
    "loader_unknown_batch": ("from torch.utils.data import DataLoader\nloader = DataLoader(undefined, "
                             "batch_size=undefined)\nfor b in loader:\n    c = b", "c", "?"),
    "loader_unknown_dataset": ("from torch.utils.data import DataLoader\nloader = DataLoader(undefined, "
                               "batch_size=4)\nfor b in loader:\n    c = b", "c", "?"),
    "random_split": ("from torch.utils.data import random_split\nc = random_split(undefined, [1])", "c", "?"),
    # a size the snippet does not define is a symbol named after it (what the input then says binds it)
    "linear_unknown_sizes": ("fc = nn.Linear(undefined, 2)\nc = fc(torch.zeros(2, 3))", "c", "(2, 2)"),
    "embedding_unknown_sizes": ("e = nn.Embedding(undefined, 2)\nc = e", "c", "Embedding(undefined ids → 2)"),
    "linear_size_from_a_call": ("fc = nn.Linear(size(), 2)\nc = fc", "c", "?"),
    "conv_transpose_not_followed": ("conv = nn.ConvTranspose1d(2, 2, 3)\nc = conv(torch.zeros(1, 2, 5))", "c", "?"),
    "lstm_device_kwarg": ("lstm = nn.LSTM(4, 8, device='cpu')\nc, _ = lstm(torch.randn(5, 2, 4))", "c", "(5, 2, 8)"),
    "lstm_unknown_size": ("lstm = nn.LSTM(undefined, 8)\nc, _ = lstm(torch.randn(5, 2, 4))", "c", "(5, 2, 8)"),
    "lstm_unknown_flag": ("lstm = nn.LSTM(4, 8, bias=undefined)\nc = lstm", "c", "?"),
    "lstm_bad_kwarg": ("lstm = nn.LSTM(4, 8, foo=1)", "lstm", "!invalid-config"),
    "lstm_missing_size": ("lstm = nn.LSTM(hidden_size=8)", "lstm", "!invalid-config"),
    "sequential_unknown": ("net = nn.Sequential(nn.Linear(2, 2), undefined)\nc = net(torch.zeros(1, 2))", "c", "?"),
    "activation_unknown": ("c = nn.ReLU()(undefined)", "c", "?"),
    "output_into_lstm": ("gru = nn.GRU(4, 4)\nout = gru(torch.randn(5, 2, 4))\nc = gru(out)", "c", "!output-tuple"),
    "state_into_embedding": ("lstm = nn.LSTM(4, 4)\n_, s = lstm(torch.randn(5, 2, 4))\nc = nn.Embedding(4, 4)(s)",
                             "c", "!state-tuple-as-tensor"),
    "linear_unknown_input": ("fc = nn.Linear(2, 2)\nc = fc(undefined)", "c", "?"),
    "linear_scalar": ("fc = nn.Linear(2, 2)\nc = fc(torch.tensor(1.0))", "c", "?"),
    "embedding_unknown_input": ("e = nn.Embedding(4, 2)\nc = e(undefined)", "c", "?"),
    "loss_not_tensors": ("loss = nn.MSELoss()\nc = loss(undefined, undefined)", "c", "()"),
    "loss_sequence_target": ("loss = nn.CrossEntropyLoss()\nc = loss(torch.randn(3, 5, 7), torch.tensor([0, 1, 2]))",
                             "c", "!shape-op"),
    "state_is_outputs": ("gru = nn.GRU(4, 4)\nout = gru(torch.randn(5, 2, 4))\nc = gru(torch.randn(5, 2, 4), out)",
                         "c", "!output-tuple"),
    "state_tuple_of_three": ("lstm = nn.LSTM(4, 4)\nz = torch.zeros(1, 2, 4)\nc = lstm(torch.randn(5, 2, 4), "
                             "(z, z, z))", "c", "?"),
    "state_unknown_item": ("lstm = nn.LSTM(4, 4)\nc = lstm(torch.randn(5, 2, 4), (undefined, undefined))", "c", "?"),
    "state_unknown": ("gru = nn.GRU(4, 4)\nc = gru(torch.randn(5, 2, 4), undefined)", "c", "?"),
    "cell_unknown_input": ("cell = nn.GRUCell(4, 4)\nc = cell(undefined)", "c", "?"),
    "packed_into_cell": ("from torch.nn.utils.rnn import pack_padded_sequence\ncell = nn.GRUCell(4, 4)\n"
                         "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\nc = cell(p)", "c", "?"),
    "pack_unknown": ("from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence\n"
                     "p = pack_padded_sequence(undefined, [5, 3])\nc = pad_packed_sequence(p)", "c", "?"),
    "pack_output_tuple": ("from torch.nn.utils.rnn import pack_padded_sequence\ngru = nn.GRU(4, 4)\n"
                          "out = gru(torch.randn(5, 2, 4))\nc = pack_padded_sequence(out, [5, 3])", "c",
                          "!output-tuple"),
    "pad_total_length": ("from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence\n"
                         "p = pack_padded_sequence(torch.randn(5, 2, 4), [5, 3])\n"
                         "c, n = pad_packed_sequence(p, total_length=7)", "c", "(7, 2, 4)"),
    "pack_sequence_other": ("from torch.nn.utils.rnn import pad_sequence\nc = pad_sequence([torch.zeros(2)])", "c",
                            "?"),
    "gru_state_split": ("gru = nn.GRU(4, 4, num_layers=2)\nout, h = gru(torch.randn(5, 2, 4))\nh1, h2 = h\nc = h1",
                        "c", "(2, 4)"),
    "time_named_axis": ("seq_len, n = 30, 4\ngru = nn.GRU(n, 8, batch_first=True)\nc, _ = gru(torch.randn(seq_len, "
                        "2, n))", "c", "(30, 2, 8)"),
    # ---- statements
    "with_as": ("import contextlib\nwith contextlib.nullcontext(torch.zeros(2)) as t:\n    c = torch.zeros(3)", "c",
                "(3,)"),
    "if_false_else": ("if False:\n    c = torch.zeros(1)\nelse:\n    c = torch.zeros(2)", "c", "(2,)"),
    "if_merge_same_name": ("import random\nc = torch.zeros(2)\nif random.random():\n    d = 1\nelse:\n    d = 1\n"
                           "e = 'x'\nif random.random():\n    e = 'x'", "c", "(2,)"),
    "for_else_empty": ("for i in range(0):\n    pass\nelse:\n    c = torch.zeros(2)", "c", "(2,)"),
    "for_single": ("for i in range(1):\n    c = torch.zeros(i + 2)", "c", "(2,)"),
    "iterate_scalar": ("a = torch.tensor(1.0)\nfor v in a:\n    c = v", "c", "!shape-op"),
    "iterate_empty_tuple": ("for v in ():\n    c = 1\nc = torch.zeros(2)", "c", "(2,)"),
    "iterate_many_differing": ("t = tuple(torch.zeros(i + 1) for i in range(20))\nfor v in t:\n    c = v", "c", "?"),
    "iterate_unknown": ("for v in undefined:\n    c = v", "c", "?"),
    "starred_assign": ("a, *rest = (1, 2, 3)\n*c, = (1,)", "c", "?"),
    "unpack_scalar": ("a = torch.tensor(1.0)\nc, d = a", "c", "!shape-op"),
    "unpack_iter": ("c, d = zip([1], [2])", "c", "?"),
    "truth_of_values": ("n = 2\nif n:\n    c = torch.zeros(2)\nfc = nn.Linear(1, 1)\nif fc:\n    d = 1", "c", "(2,)"),
    "uncalled_symbolic": (_UNCALLED + "    def forward(self, ids):\n        e = self.emb(ids)\n"
                          "        a = torch.zeros(self.n, 3)\n        c = a[-2:]\n        d = a[:2]\n"
                          "        out, h = self.gru(e)\n        return self.fc(e)", "c", "(2, 3)"),
    "uncalled_linear_first": ("class M(nn.Module):\n    def __init__(self, k):\n        super().__init__()\n"
                              "        self.fc = nn.Linear(k, 2)\n    def forward(self, x):\n"
                              "        c = self.fc(x.float().data)\n        d = x.view(-1)\n        return c", "c",
                              "(B, 2)"),
})


#: Cases torch cannot run to the end (a loop over range(10**30)), or classes the snippet never calls.
STATIC_ONLY = {"range_huge", "uncalled_symbolic", "uncalled_linear_first", "listcomp_empty", "lstm_unknown_size",
               "loss_not_tensors", "model_moves", "linear_unknown_sizes", "embedding_unknown_sizes"}


@pytest.fixture(scope="module")
def results() -> dict:
    return follow_rule_cases(CASES)


@pytest.fixture(scope="module")
def torch_results() -> dict:
    return torch_rule_cases(CASES, STATIC_ONLY)


@pytest.mark.parametrize("key", list(CASES))
def test_construct(key: str, results: dict) -> None:
    _, name, expected = CASES[key]
    assert followed_shape(results[key], name) == expected, results[key].findings


@pytest.mark.parametrize("key", list(CASES))
def test_construct_against_torch(key: str, results: dict, torch_results: dict) -> None:
    _, name, expected = CASES[key]
    if expected == "?" or key in STATIC_ONLY:
        return   # not followed: nothing claimed (or nothing torch can run)
    assert_rule_agrees_with_torch(expected, torch_results[key], results[key], every_shape_concrete=False)
