#!/usr/bin/python3
"""Golden values for descent's indexing and selection ops (src/autograd/indexing.ts), from PyTorch
1.13 and NumPy, where the semantics could differ: slicing with negative indices and steps (NumPy's
rule; PyTorch refuses negative steps, and where it accepts a slice it must agree with NumPy),
broadcasting in where/clamp and their gradients (ties and min > max included), gather/index_select
index semantics with repeated indices, topk/sort order and ties, NaN in comparisons, argmax/argmin,
split with uneven sizes, chunk when the size does not divide, and which calls are errors.

Gradients are of sum(out * w) for a fixed weighting w. Non-finite numbers are written as the
strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them).

Run:  /usr/bin/python3 tools/golden_indexing.py > test/fixtures/indexing/golden.json
"""
import json
import math

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def enc(v):
    out = []
    for f in np.asarray(v, dtype=np.float64).reshape(-1).tolist():
        if math.isnan(f):
            out.append("NaN")
        elif math.isinf(f):
            out.append("Infinity" if f > 0 else "-Infinity")
        else:
            out.append(f)
    return out


def T(t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    return {"shape": list(a.shape), "data": enc(a)}


def weights(shape, seed):
    n = int(np.prod(shape)) if len(shape) else 1
    return torch.tensor(np.sin(np.arange(n) * 0.7 + seed).reshape(shape))


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ------------------------------------------------------------ slicing (NumPy's rule)

X = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
SPECS = [
    "1:", "::-1", "-1", "1:, ::-1", "..., ::2", ":, -3:-1, 4:0:-2", "-2:, None, 1", "::-2, ::3, -1",
    "10:", "-10:2", "2:1", "::-1, ::-1, ::-1", "..., None", "0, ..., 1", ":, 1:100:3", "-1:-4:-1",
    ":, :, -100:100", "::5", "1, 2, 3", "-3, -4, -5", "None, ..., None", "", "..., -2:", "2:0:-1, 3::-2",
]
slicing = []
for spec in SPECS:
    ref = eval(f"X[{spec}]", {"X": X}) if spec else X[()]
    entry = {"spec": spec, "out": T(ref)}
    try:
        tx = torch.tensor(X)
        got = eval(f"tx[{spec}]", {"tx": tx}) if spec else tx[()]
        entry["torch"] = "same" if np.array_equal(got.numpy(), ref) else "differs"
    except ValueError as e:  # negative steps
        entry["torch"] = "refuses: " + str(e).splitlines()[0]
    slicing.append(entry)

# gradient of a slice with repeated use (x[::-1] + x[1:] overlap) for the chain of take/put
# is checked in the TypeScript tests by central differences; here only values.

# ------------------------------------------------------------ where (broadcasting)

where = []
for cshape, ashape, bshape, seed in [([3, 1], [1, 4], [], 1), ([4], [3, 4], [3, 1], 2), ([2, 1, 3], [3], [2, 1], 3)]:
    c = (weights(cshape, seed + 10) > 0).double()
    a = leaf(weights(ashape, seed + 20).numpy() if ashape else 0.5)
    b = leaf(weights(bshape, seed + 30).numpy() if bshape else -2.0)
    out = torch.where(c.bool(), a, b)
    w = weights(list(out.shape), seed)
    (out * w).sum().backward()
    where.append({"cond": T(c), "a": T(a), "b": T(b), "w": T(w), "out": T(out), "ga": T(a.grad), "gb": T(b.grad)})

# ------------------------------------------------------------ clamp (ties, min > max, broadcasting, NaN)

clamp = []
cases = [
    ([-2, 0, 1, 2, 3, 0.5], [0, 0, 2, 2, 1, 1], [1, 1, 1, 2, 3, 1]),  # ties at both bounds, min > max, x < min == max
    ([[-1.5, 0.2, 0.7], [1.2, -0.3, 0.0]], [-0.5], [[0.5], [1.0]]),  # bounds broadcast against x
    ([0.0, 0.5, 1.0, 2.0], [[0.0], [0.5], [1.5]], None),  # min only, result larger than x
    ([0.0, 0.5, 1.0, 2.0], None, [1.0, 1.0, 1.0, 1.0]),  # max only
    ([-3.0, 0.0, 0.5, 3.0], -1.0, 1.0),  # number bounds: only x has a gradient
    ([-3.0, 0.0, 1.0, 3.0], 1.0, 0.0),  # number bounds with min > max
    ([float("nan"), 0.5, 2.0], [0.0, float("nan"), 0.0], [1.0, 1.0, 1.0]),  # NaN in x and in a bound
]
for k, (xv, lov, hiv) in enumerate(cases):
    x = leaf(xv)
    lo = leaf(lov) if isinstance(lov, list) else lov
    hi = leaf(hiv) if isinstance(hiv, list) else hiv
    out = torch.clamp(x, lo, hi)
    w = weights(list(out.shape), k)
    (out * w).sum().backward()
    g = lambda t: T(t.grad) if isinstance(t, torch.Tensor) else None
    v = lambda t: T(t) if isinstance(t, torch.Tensor) else t
    clamp.append({"x": T(x), "min": v(lo), "max": v(hi), "w": T(w), "out": T(out), "gx": g(x), "gmin": g(lo), "gmax": g(hi)})

# ------------------------------------------------------------ gather and index_select

gather = []
for xshape, axis, index, seed in [
    ([3, 4], 0, [[0, 1, 2, 0], [2, 2, 1, 0]], 1),
    ([3, 4], 1, [[3, 3], [0, 1], [2, 0]], 2),
    ([3, 4], 1, [[1], [0]], 3),  # index smaller than x on the other axis
    ([2, 3, 4], 2, [[[0, 0, 3]], [[3, 2, 1]]], 4),
    ([2, 3, 4], -2, [[[0, 2, 1, 2], [2, 2, 2, 2]]], 5),
]:
    x = leaf(weights(xshape, seed + 40).numpy())
    out = torch.gather(x, axis, torch.tensor(index))
    w = weights(list(out.shape), seed)
    (out * w).sum().backward()
    gather.append({"x": T(x), "axis": axis, "index": T(np.array(index)), "w": T(w), "out": T(out), "gx": T(x.grad)})

index_select = []
for xshape, axis, index, seed in [([3, 4], 0, [2, 0, 2, 2], 1), ([3, 4], 1, [3, 1], 2), ([2, 3, 4], -1, [0, 0, 3], 3), ([2, 3], 1, [], 4)]:
    x = leaf(weights(xshape, seed + 50).numpy())
    out = torch.index_select(x, axis, torch.tensor(index, dtype=torch.long))
    w = weights(list(out.shape), seed)
    (out * w).sum().backward()
    index_select.append({"x": T(x), "axis": axis, "index": index, "w": T(w), "out": T(out), "gx": T(x.grad)})

# ------------------------------------------------------------ topk, sort, argmax, argmin

topk = []
for xv, k, axis, largest in [
    ([[0.3, -1.2, 2.5, 0.7, 1.1], [4.0, 0.1, -0.5, 2.2, 3.3]], 3, -1, True),
    ([[0.3, -1.2, 2.5, 0.7, 1.1], [4.0, 0.1, -0.5, 2.2, 3.3]], 2, 0, False),
    ([[0.3, -1.2, 2.5, 0.7, 1.1], [4.0, 0.1, -0.5, 2.2, 3.3]], 1, 1, False),
    ([3.0, 1.0, 3.0, 2.0, 3.0, 1.0], 4, 0, True),  # ties: PyTorch's order among equal values is unspecified
    ([3.0, 1.0, 3.0, 2.0, 3.0, 1.0], 3, 0, False),
    ([1.0, float("nan"), 2.0, float("-inf"), float("inf")], 3, 0, True),  # NaN counts as the largest
    ([1.0, float("nan"), 2.0, float("-inf"), float("inf")], 5, 0, False),
    ([[1.0, 2.0]], 0, 1, True),
    # few of many (descent keeps a running list of the best k instead of sorting): no ties
    (np.sin(np.arange(60) * 1.3).reshape(3, 20).tolist(), 2, 1, True),
    (np.sin(np.arange(60) * 1.3).reshape(3, 20).tolist(), 2, -1, False),
    ([float("nan") if i in (5, 17) else math.cos(i * 0.9) for i in range(24)], 3, 0, True),
    ([float("nan") if i in (5, 17) else math.cos(i * 0.9) for i in range(24)], 3, 0, False),
]:
    t = torch.tensor(xv)
    r = torch.topk(t, k, axis, largest)
    topk.append({"x": T(t), "k": k, "axis": axis, "largest": largest, "values": T(r.values), "indices": T(r.indices)})

sort = []
for xv, axis, descending in [
    ([[0.3, -1.2, 2.5, 0.7], [4.0, 0.1, -0.5, 2.2]], -1, False),
    ([[0.3, -1.2, 2.5, 0.7], [4.0, 0.1, -0.5, 2.2]], 0, True),
    ([3.0, 1.0, 3.0, 2.0, 3.0, 1.0], 0, True),  # stable: equal values keep their order
    ([3.0, 1.0, 3.0, 2.0, 3.0, 1.0], 0, False),
    ([1.0, float("nan"), -0.0, 0.0, float("-inf")], 0, False),
]:
    t = torch.tensor(xv)
    r = torch.sort(t, dim=axis, descending=descending, stable=True)
    sort.append({"x": T(t), "axis": axis, "descending": descending, "values": T(r.values), "indices": T(r.indices)})

arg = []
for xv, axis in [
    ([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]], 1),
    ([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]], 0),
    ([[1.0, float("nan"), 0.0, float("nan")]], -1),
    ([[[1.0, 5.0], [5.0, 0.0]], [[-1.0, -1.0], [2.0, 7.0]]], 1),
]:
    t = torch.tensor(xv)
    arg.append({"x": T(t), "axis": axis, "argmax": T(torch.argmax(t, axis)), "argmin": T(torch.argmin(t, axis)),
                "max": T(torch.max(t, axis).values), "min": T(torch.min(t, axis).values)})

# ------------------------------------------------------------ comparisons (broadcasting, NaN)

ca = torch.tensor([[1.0, float("nan"), -0.0], [2.0, 3.0, float("inf")]])
cb = torch.tensor([0.0, float("nan"), 3.0])
compare = {"a": T(ca), "b": T(cb), "scalar": 2.0}
for name, f in [("gt", torch.gt), ("ge", torch.ge), ("lt", torch.lt), ("le", torch.le), ("eq", torch.eq), ("ne", torch.ne)]:
    compare[name] = T(f(ca, cb).double())
    compare[name + "Scalar"] = T(f(ca, 2.0).double())
compare["logicalAnd"] = T(torch.logical_and(ca, cb).double())
compare["logicalOr"] = T(torch.logical_or(ca, cb).double())
compare["logicalNot"] = T(torch.logical_not(ca).double())
compare["maskedFill"] = T(torch.zeros(2, 3).masked_fill(torch.tensor([True, False, True]), 5.0))

# ------------------------------------------------------------ split, chunk, flip, cat, stack

split = []
for n, arg_ in [(7, 3), (6, 3), (6, 6), (6, 10), (7, [2, 0, 5]), (5, [5])]:
    split.append({"n": n, "arg": arg_, "sizes": [p.shape[0] for p in torch.split(torch.arange(n), arg_)]})
chunk = []
for n, c in [(7, 4), (5, 4), (6, 4), (6, 3), (2, 5), (10, 3), (1, 1)]:
    chunk.append({"n": n, "chunks": c, "sizes": [p.shape[0] for p in torch.chunk(torch.arange(n), c)]})

F = torch.arange(24.0).reshape(2, 3, 4)
flip = [{"axes": a, "out": T(torch.flip(F, a))} for a in ([0], [2], [0, 2], [-1, -2, 0])]
cat_ = [{"axis": a, "out": T(torch.cat([F, F * 10], a))} for a in (0, 1, -1)]
stack_ = [{"axis": a, "out": T(torch.stack([F, F * 10], a))} for a in (0, 2, 3, -1, -4)]

# ------------------------------------------------------------ errors: PyTorch must refuse these too


def refuses(f):
    try:
        f()
    except (IndexError, RuntimeError, ValueError, TypeError) as e:
        return str(e).splitlines()[0]
    return None


E = torch.arange(12.0).reshape(3, 4)
errors = {
    "index 3 on axis 0": refuses(lambda: E[3]),
    "index -4 on axis 0": refuses(lambda: E[-4]),
    "three indices on a matrix": refuses(lambda: E[1, 2, 3]),
    "gather index -1": refuses(lambda: torch.gather(E, 1, torch.tensor([[-1]]))),
    "gather index 4 on axis of size 4": refuses(lambda: torch.gather(E, 1, torch.tensor([[4]]))),
    "gather index of the wrong rank": refuses(lambda: torch.gather(E, 1, torch.tensor([0]))),
    "gather index larger than x off the axis": refuses(lambda: torch.gather(E, 1, torch.zeros(4, 1, dtype=torch.long))),
    "index_select index -1": refuses(lambda: torch.index_select(E, 0, torch.tensor([-1]))),
    "index_select index 3 on axis of size 3": refuses(lambda: torch.index_select(E, 0, torch.tensor([3]))),
    "axis 2 of a matrix": refuses(lambda: torch.flip(E, [2])),
    "cat mismatched shapes": refuses(lambda: torch.cat([E, torch.zeros(2, 3)], 0)),
    "stack mismatched shapes": refuses(lambda: torch.stack([E, torch.zeros(3, 3)])),
    "split sections not summing to the axis": refuses(lambda: torch.split(E, [1, 1], 0)),
    "topk k larger than the axis": refuses(lambda: torch.topk(E, 5, 1)),
    "narrow past the end": refuses(lambda: torch.narrow(E, 1, 2, 3)),
    "chunk into 0": refuses(lambda: torch.chunk(E, 0)),
    "where with shapes that do not broadcast": refuses(lambda: torch.where(torch.ones(3, 1).bool(), E, torch.zeros(2))),
    "clamp with neither bound": refuses(lambda: torch.clamp(E)),
    "flip the same axis twice": refuses(lambda: torch.flip(E, [0, 0])),
}

print(json.dumps({
    "torch": torch.__version__, "numpy": np.__version__,
    "slicing": {"x": T(X), "cases": slicing},
    "where": where, "clamp": clamp, "gather": gather, "indexSelect": index_select,
    "topk": topk, "sort": sort, "arg": arg, "compare": compare,
    "split": split, "chunk": chunk, "flip": {"x": T(F), "cases": flip}, "cat": cat_, "stack": stack_,
    "errors": errors,
}, separators=(",", ":")))
