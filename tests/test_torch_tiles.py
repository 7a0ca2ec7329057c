"""The CPU products the torch encoders are built on: int8 quantisation with exact known
answers, and rows that do not depend on the batch they are computed in."""

from __future__ import annotations

import pytest
import torch

from aligner.encoders import EncoderLoadError
from aligner.encoders import torch_tiles
from aligner.encoders.torch_tiles import (Workspace, check_engine, exact_int_product, int8_linear,
                                          length_sorted_batches, quantize_columns, row_tiled_matmul)


@pytest.mark.parametrize("w, expected_q, expected_scale", [
    # Each column's largest magnitude maps to 127; the rest round half to even.
    ([[1.0, -0.5], [0.5, 2.0]], [[127, -32], [64, 127]], [1 / 127, 2 / 127]),
    ([[0.0, 3.0], [0.0, -3.0]], [[0, 127], [0, -127]], [1e-30 / 127, 3 / 127]),
])
def test_quantize_columns(w, expected_q, expected_scale):
    q, scale = quantize_columns(torch.tensor(w))
    assert q.dtype == torch.int8 and q.tolist() == expected_q
    torch.testing.assert_close(scale, torch.tensor(expected_scale), rtol=1e-6, atol=0)


@pytest.mark.parametrize("x, expected", [
    # Row (2, -1): scale 2/127, quantised (127, -64) (-63.5 rounds to even); identity
    # weights (scale 1/127) -> (2, -128/127), plus the bias.
    ([2.0, -1.0], [2.5, -0.5 - 128 / 127]),
    # A zero row gives the bias alone.
    ([0.0, 0.0], [0.5, -0.5]),
    # Row (-4, 1): scale 4/127, quantised (-127, 31.75 -> 32) -> (-4, 128/127).
    ([-4.0, 1.0], [-3.5, -0.5 + 128 / 127]),
])
def test_int8_linear_exact_answers(x, expected):
    wq, w_scale = quantize_columns(torch.eye(2))
    out = int8_linear(torch.tensor([x]), wq, w_scale, torch.tensor([0.5, -0.5]))
    torch.testing.assert_close(out, torch.tensor([expected]), rtol=1e-6, atol=1e-6)


def test_int8_linear_rows_do_not_depend_on_the_batch():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 384, generator=g) * torch.rand(300, 1, generator=g) * 10
    wq, w_scale = quantize_columns(torch.randn(384, 96, generator=g))
    b = torch.randn(96, generator=g)
    whole = int8_linear(x, wq, w_scale, b)
    for rows in (slice(0, 1), slice(17, 18), slice(5, 133), slice(299, 300)):
        assert torch.equal(int8_linear(x[rows], wq, w_scale, b), whole[rows])
    assert torch.equal(int8_linear(x.flip(0), wq, w_scale, b), whole.flip(0))


def _large_int8_operands(k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 operands whose row-by-column sums reach past 2**24 (where float32 can no
    longer hold every integer) with odd values, so that a wrong rounding would show."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((24, k), 127, dtype=torch.int8)
    x[1::2] = torch.randint(-127, 128, (12, k), generator=g, dtype=torch.int8)
    x[::2, :: 7] = torch.randint(100, 128, x[::2, ::7].shape, generator=g, dtype=torch.int8)
    w = torch.full((k, 16), 127, dtype=torch.int8)
    w[:, 8:] = torch.randint(-127, 128, (k, 8), generator=g, dtype=torch.int8)
    w[::5, :4] = -127
    return x, w


@pytest.mark.parametrize("k", [384, 1040, 1041, 1536, 2080, 2081, 3000])
def test_exact_int_product_has_the_bits_of_int_mm(k):
    # One product (k <= 1040 terms), two halves added once, or float64 parts: each the
    # integer product rounded once to float32, as torch._int_mm's int32 converted.
    x, w = _large_int8_operands(k, seed=k)
    expected = torch._int_mm(x, w).float()
    assert expected.abs().max() > 2 ** 24 or k < 1536
    out = torch.empty(expected.shape)
    assert torch.equal(exact_int_product(x.float(), w.float(), out), expected)


def test_int8_linear_same_bits_with_or_without_fast_int8(monkeypatch):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(40, 1536, generator=g) * 3
    wq, w_scale = quantize_columns(torch.randn(1536, 32, generator=g))
    b = torch.randn(32, generator=g)
    monkeypatch.setattr(torch_tiles, "int_mm_is_fast", lambda: True)
    with_int_mm = int8_linear(x, wq, w_scale, b)
    monkeypatch.setattr(torch_tiles, "int_mm_is_fast", lambda: False)
    assert torch.equal(int8_linear(x, wq, w_scale, b), with_int_mm)
    assert torch.equal(int8_linear(x, wq, w_scale, b, wf=wq.float()), with_int_mm)


def test_int8_linear_is_close_to_the_float_product():
    g = torch.Generator().manual_seed(1)
    x, w, b = torch.randn(64, 384, generator=g), torch.randn(384, 128, generator=g), torch.randn(128, generator=g)
    wq, w_scale = quantize_columns(w)
    exact = x @ w + b
    err = (int8_linear(x, wq, w_scale, b) - exact).norm() / exact.norm()
    assert err < 0.02, err


def test_row_tiled_matmul_rows_do_not_depend_on_the_batch():
    g = torch.Generator().manual_seed(2)
    x, w = torch.randn(300, 64, generator=g), torch.randn(64, 32, generator=g)
    whole = row_tiled_matmul(x, w, 128)
    assert torch.equal(row_tiled_matmul(x[130:131], w, 128), whole[130:131])
    torch.testing.assert_close(whole, x @ w)


@pytest.mark.parametrize("lens, budget, expected", [
    ([5, 1, 3, 2], 6, [[1, 3, 2], [0]]),   # ids by length: 1, 3, 2, 0
    ([5, 1, 3, 2], 5, [[1, 3], [2], [0]]),
    ([10, 2], 4, [[1], [0]]),          # longer than the budget: a batch of its own
    ([], 8, []),
])
def test_length_sorted_batches(lens, budget, expected):
    import numpy as np

    assert [b.tolist() for b in length_sorted_batches(np.array(lens, np.int64), budget)] == expected


@pytest.mark.parametrize("engine, device, expected", [
    ("int8", "cpu", "int8"), ("fp32", "cpu", "fp32"), ("fp32", "cuda", "bf16"),
])
def test_check_engine(engine, device, expected):
    assert check_engine(engine, torch.device(device)) == expected


@pytest.mark.parametrize("engine, device, message", [
    ("int4", "cpu", "unknown encoder engine 'int4'"),
    ("int8", "cuda", "int8 engine runs on CPU only"),
])
def test_check_engine_refuses(engine, device, message):
    with pytest.raises(EncoderLoadError, match=message):
        check_engine(engine, torch.device(device))


def test_int8_linear_into_reused_buffers_gives_the_same_bits():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(300, 384, generator=g) * torch.rand(300, 1, generator=g) * 10
    wq, w_scale = quantize_columns(torch.randn(384, 96, generator=g))
    b = torch.randn(96, generator=g)
    whole, work = int8_linear(x, wq, w_scale, b), Workspace()
    out = torch.empty(300, 96)
    assert int8_linear(x, wq, w_scale, b, out=out, work=work) is out and torch.equal(out, whole)
    for rows in (slice(0, 7), slice(100, 300), slice(299, 300)):  # the same workspace, other shapes
        assert torch.equal(int8_linear(x[rows], wq, w_scale, b, work=work), whole[rows])


def test_workspace_hands_out_views_of_one_buffer_per_name():
    work = Workspace()
    a = work.take("a", 4, 8)
    assert a.shape == (4, 8) and a.dtype == torch.float32 and a.is_contiguous()
    assert work.take("a", 4, 8) is a                       # the same request: the same view
    assert work.take("a", 2, 8).data_ptr() == a.data_ptr()  # smaller: the same memory
    assert work.take("b", 4, 8).data_ptr() != a.data_ptr()  # another name: its own buffer
    grown = work.take("a", 8, 8)                            # larger: a new buffer
    assert grown.shape == (8, 8) and work.take("a", 4, 8).data_ptr() == grown.data_ptr()
    assert work.take("q", 3, 5, torch.int8).dtype == torch.int8
