"""hypersimplex.jax against the float64 NumPy reference, jax.grad against finite differences and
the library's VJP, jax.vmap against a loop (and as one FFI call), jax.jit tracing once, and the
error paths."""

import os
import subprocess
import sys

import numpy as np
import pytest

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

import hypersimplex as hs  # noqa: E402
import hypersimplex.jax as hsj  # noqa: E402
import reference as ref  # noqa: E402
from hypersimplex import HypersimplexError  # noqa: E402

TOL = {np.float64: 1e-9, np.float32: 2e-5}


def _case(seed):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(1, 6, size=rank))
    axis = int(rng.integers(-rank, rank))
    return rng, shape, axis, tuple(np.delete(shape, axis % rank))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("dtype", list(TOL))
def test_soft_binary_argmax_random_shapes(seed, dtype):
    rng, shape, axis, batch = _case(seed)
    n = shape[axis]
    x = rng.standard_normal(shape).astype(dtype)
    k = rng.uniform(0, n, size=batch) if seed % 2 else float(rng.uniform(0, n))
    y = hsj.soft_binary_argmax(x, k, 0.7, axis=axis)
    assert y.dtype == dtype and y.shape == x.shape
    want = ref.soft_binary_argmax(x.astype(np.float64), np.asarray(k), 0.7, axis)
    np.testing.assert_allclose(np.asarray(y, np.float64), want, atol=TOL[dtype] * 10)
    m = hsj.binary_argmax(x, n // 2, axis=axis)
    np.testing.assert_array_equal(np.asarray(m), ref.along(lambda v: ref.topk(v, n // 2), x, axis))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("dtype", list(TOL))
def test_losses_random_shapes(seed, dtype):
    rng, shape, axis, batch = _case(seed)
    x = rng.standard_normal(shape).astype(dtype)
    t = (rng.random(shape) < 0.5).astype(dtype)
    k = None if seed % 2 else rng.uniform(0, shape[axis], size=batch)
    per, g = ref.loss(x.astype(np.float64), t, k, 0.6, axis)
    tol = TOL[dtype] * 10
    for red, want, scale in (("none", per, None), ("sum", per.sum(), 1.0), ("mean", 2 * per.sum() / x.size, 2 / x.size)):
        got = hsj.hypersimplex_loss(x, t, k=k, tau=0.6, axis=axis, reduction=red)
        assert got.dtype == dtype
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol, atol=tol)
        if scale is not None:
            gx = jax.grad(lambda x: hsj.hypersimplex_loss(x, t, k=k, tau=0.6, axis=axis, reduction=red))(x)
            np.testing.assert_allclose(np.asarray(gx, np.float64), g * scale, atol=tol)


@pytest.mark.parametrize("dtype", list(TOL))
@pytest.mark.parametrize("k", [None, 3.0, "per-class"])
def test_multiclass_matches_reference(dtype, k):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 5)).astype(dtype)
    lab = rng.integers(0, 5, 40)
    kk = rng.uniform(1, 10, 5) if k == "per-class" else k
    for red in ("mean", "sum"):
        wl, wg = ref.multiclass(x.astype(np.float64), lab, kk, 0.8, red)
        loss, g = jax.value_and_grad(hsj.hypersimplex_loss_multiclass)(x, lab, kk, 0.8, red)
        assert loss.dtype == dtype and g.dtype == dtype and g.shape == x.shape
        np.testing.assert_allclose(float(loss), wl, rtol=TOL[dtype] * 10)
        np.testing.assert_allclose(np.asarray(g, np.float64), wg, atol=TOL[dtype] * 10)


def _fd(f, x, eps=1e-6):
    """Central finite differences of scalar f at float64 x."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def test_grad_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 4))
    w = rng.standard_normal((3, 6, 4))
    t = (rng.random(x.shape) < 0.5).astype(np.float64)
    k = np.array([[1.5], [2.5], [0.5]])  # broadcasts to (3, 4)

    def sba(x):
        return jnp.sum(w * hsj.soft_binary_argmax(x, k, 0.6, axis=1))

    fns = [
        sba,
        lambda x: hsj.hypersimplex_loss(x, t, tau=0.6, axis=1),
        lambda x: hsj.hypersimplex_loss(x, t, k=2.0, tau=0.6, axis=-1, reduction="sum"),
        lambda x: hsj.hypersimplex_loss_multiclass(x.reshape(18, 4), np.arange(18) % 4, tau=0.8),
    ]
    for f in fns:
        got = np.asarray(jax.jit(jax.grad(f))(x))
        want = _fd(lambda v: float(f(v)), x)
        assert np.abs(want).max() > 1e-3  # a real check, not 0 == 0
        np.testing.assert_allclose(got, want, atol=1e-6)
    # the gradient in k: ∂y/∂k = 1/|free set| there
    kg = np.asarray(jax.grad(lambda k: jnp.sum(w * hsj.soft_binary_argmax(x, k, 0.6, axis=1)))(k * np.ones((3, 4))))
    want = _fd(lambda kv: float(jnp.sum(w * hsj.soft_binary_argmax(x, kv, 0.6, axis=1))), k * np.ones((3, 4)))
    np.testing.assert_allclose(kg, want, atol=1e-6)
    # the top-k mask has a zero gradient
    assert not np.any(np.asarray(jax.grad(lambda x: jnp.sum(w * hsj.binary_argmax(x, 2)))(x)))


@pytest.mark.parametrize("dtype", list(TOL))
def test_vjp_is_the_librarys(dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 30)).astype(dtype)
    g = rng.standard_normal((7, 30)).astype(dtype)
    y, vjp = jax.vjp(lambda x: hsj.soft_binary_argmax(x, 5.0, 0.3, axis=0), x)
    want = hs.soft_binary_argmax_vjp(np.asarray(y), g, 0.3, axis=0)  # the C library via cffi
    np.testing.assert_array_equal(np.asarray(vjp(g)[0]), want)
    np.testing.assert_array_equal(np.asarray(y), hs.soft_binary_argmax(x, 5.0, 0.3, axis=0))


def _ffi_calls(fn, *args):
    """The number of hypersimplex FFI calls in fn's program (nested ones included)."""
    return str(jax.make_jaxpr(fn)(*args)).count("target_name=hypersimplex")


def test_vmap_equals_loop_and_is_one_call():
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((6, 4, 9))
    ks = rng.uniform(0, 9, (6, 4))
    f = lambda x, k: hsj.soft_binary_argmax(x, k, 0.5, axis=-1)  # noqa: E731
    got = jax.vmap(f)(xs, ks)
    np.testing.assert_array_equal(np.asarray(got), np.stack([np.asarray(f(a, b)) for a, b in zip(xs, ks)]))
    assert _ffi_calls(jax.vmap(f), xs, ks) == 1
    # vmap over the non-last axis with an unbatched k, and of grad
    got = jax.vmap(lambda x: hsj.soft_binary_argmax(x, 2.0, 0.5, axis=0), in_axes=2)(xs)
    np.testing.assert_array_equal(np.asarray(got), np.stack([np.asarray(hsj.soft_binary_argmax(xs[..., i], 2.0, 0.5, axis=0)) for i in range(9)]))
    t = (rng.random(xs.shape) < 0.5).astype(np.float64)
    lg = jax.vmap(jax.grad(lambda x, t: hsj.hypersimplex_loss(x, t, tau=0.5)))
    np.testing.assert_array_equal(np.asarray(lg(xs, t)), np.stack([np.asarray(jax.grad(lambda x: hsj.hypersimplex_loss(x, b, tau=0.5))(a)) for a, b in zip(xs, t)]))
    # multiclass: a vmapped loss and gradient over 6 batches is one FFI call forward
    lab = rng.integers(0, 9, (6, 4))
    mc = jax.value_and_grad(lambda x, l: hsj.hypersimplex_loss_multiclass(x, l, tau=0.7))
    vl, vg = jax.vmap(mc)(xs, lab)
    for i in range(6):
        l1, g1 = mc(xs[i], lab[i])
        assert float(vl[i]) == float(l1)
        np.testing.assert_array_equal(np.asarray(vg[i]), np.asarray(g1))
    assert _ffi_calls(jax.vmap(mc), xs, lab) == 1
    m = jax.vmap(lambda x: hsj.binary_argmax(x, 3))(xs)
    np.testing.assert_array_equal(np.asarray(m), np.stack([np.asarray(hsj.binary_argmax(a, 3)) for a in xs]))


def test_jit_traces_once_and_k_may_be_traced():
    traces = []

    @jax.jit
    def step(x, lab, k):
        traces.append(1)
        l, g = jax.value_and_grad(hsj.hypersimplex_loss_multiclass)(x, lab, tau=1.5)
        return l, g, hsj.soft_binary_argmax(x, k, 0.5)  # k traced: an operand, not an attribute

    rng = np.random.default_rng(8)
    for i in range(5):
        x = rng.standard_normal((32, 10)).astype(np.float32)
        lab = rng.integers(0, 10, 32)
        l, g, y = step(x, lab, 2.0 + i)
        wl, wg = ref.multiclass(x.astype(np.float64), lab, None, 1.5, "mean")
        np.testing.assert_allclose(float(l), wl, rtol=2e-5)
        np.testing.assert_allclose(np.asarray(y).sum(-1), 2.0 + i, rtol=1e-5)
    assert len(traces) == 1 and step._cache_size() == 1


def _status(fn, *args, **kw):
    with pytest.raises(HypersimplexError) as e:
        fn(*args, **kw)
    return e.value.status, str(e.value)


def test_bad_input():
    x = np.random.default_rng(9).standard_normal((4, 6))
    t = (x > 0).astype(np.float64)
    lab = np.array([0, 1, 2, 5])
    xn = x.copy()
    xn[1, 2] = np.nan
    # negative control: the same calls with good values work
    hsj.soft_binary_argmax(x, 3)
    hsj.hypersimplex_loss(x, t)
    hsj.hypersimplex_loss_multiclass(x, lab)
    # values: found by the library while running, its message in the exception
    s, msg = _status(hsj.soft_binary_argmax, x, 7)
    assert s == -2 and msg == "HS_ERR_INVALID_K (-2): " + hs.status_message(-2)
    assert _status(hsj.soft_binary_argmax, x, 2, tau=0.0)[0] == -4
    assert _status(hsj.soft_binary_argmax, xn, 2)[0] == -5
    assert _status(hsj.binary_argmax, x, 2.5)[0] == -3
    assert _status(hsj.binary_argmax, x, 7)[0] == -2
    assert _status(hsj.binary_argmax, xn, 2)[0] == -5  # NaN in the second row (one rows call)
    assert _status(hsj.hypersimplex_loss, x, t * 2)[0] == -9
    assert _status(hsj.hypersimplex_loss_multiclass, x, np.array([0, 1, 2, 6]))[0] == -7
    assert _status(hsj.hypersimplex_loss_multiclass, x, np.array([0, 1, 2, -1]))[0] == -7
    assert _status(hsj.hypersimplex_loss_multiclass, x, np.array([0, 1, 2, 2**32 + 1]))[0] == -7
    assert _status(hsj.hypersimplex_loss_multiclass, x, np.array([0, 1, 2, -1], np.int32))[0] == -7
    # inside jit: JaxRuntimeError carrying the library's status and message
    with pytest.raises(jax.errors.JaxRuntimeError, match="hypersimplex error -2: " + hs.status_message(-2)):
        jax.jit(hsj.soft_binary_argmax)(x, 7.0)
    with pytest.raises(jax.errors.JaxRuntimeError, match="hypersimplex error -5"):
        jax.jit(jax.grad(lambda x: hsj.hypersimplex_loss(x, t)))(xn)
    # shapes and arguments: found while tracing
    assert _status(hsj.hypersimplex_loss, x, t[:, :3])[0] == -1
    assert _status(hsj.soft_binary_argmax, x, np.ones(3))[0] == -1
    assert _status(hsj.soft_binary_argmax, np.float64(1.0), 0)[0] == -1
    assert _status(hsj.hypersimplex_loss_multiclass, x, lab[:3])[0] == -1
    assert _status(hsj.hypersimplex_loss_multiclass, x, lab, reduction="none")[0] == -10
    with pytest.raises(TypeError, match="tau must be a concrete number"):
        jax.jit(lambda x, tau: hsj.soft_binary_argmax(x, 2, tau))(x, 0.5)
    with pytest.raises(TypeError, match="unsupported dtype"):
        hsj.soft_binary_argmax(x.astype(jnp.complex64), 2)
    with pytest.raises(TypeError, match="integer"):
        hsj.hypersimplex_loss_multiclass(x, lab.astype(np.float32))


def _run(code):
    path = [os.path.dirname(__file__)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/")


def test_default_float32_mode():
    r = _run(
        "import numpy as np, jax, hypersimplex.jax as hsj, reference as ref\n"
        "x = np.random.default_rng(0).standard_normal((5, 8))\n"  # float64 input, x64 off
        "y = hsj.soft_binary_argmax(x, 2.5, 0.5)\n"
        "assert y.dtype == np.float32, y.dtype\n"
        "np.testing.assert_allclose(np.asarray(y), ref.soft_binary_argmax(x.astype(np.float32), 2.5, 0.5, -1), atol=2e-5)\n"
        "g = jax.jit(jax.grad(lambda x: hsj.hypersimplex_loss_multiclass(x, np.arange(5) % 8)))(x)\n"
        "assert g.dtype == np.float32\n"
        "print('ok')\n"
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_package_imports_without_jax():
    r = _run(
        "import sys; sys.modules['jax'] = None; sys.modules['jaxlib'] = None\n"
        "import hypersimplex, hypersimplex.torch\n"
        "try:\n    import hypersimplex.jax\nexcept ImportError:\n    print('ok')\n"
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_missing_compiler_is_a_clear_import_error(tmp_path):
    env = dict(os.environ, CXX="/nonexistent/c++", HYPERSIMPLEX_JAX_CACHE=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-c", "import hypersimplex.jax"], capture_output=True, text=True, env=env, cwd="/"
    )
    assert r.returncode != 0 and "ImportError" in r.stderr and "needs a C++17 compiler" in r.stderr, r.stderr
    assert not list(tmp_path.iterdir())  # nothing half-built left in the cache


# ---------------------------------------------------------------- half precision (issue 15)
HALF = {jnp.bfloat16: 2.0**-8, jnp.float16: 2.0**-11}  # one ulp of the type on [0, 1]


@pytest.mark.parametrize("dt", list(HALF))
def test_half_forward_vjp_topk(dt):
    """bfloat16/float16 go to the library's half functions: the same bits as the NumPy API's half
    path (the same C functions), within one ulp of the float64 reference on the widened input,
    dtypes kept, one FFI call under vmap."""
    rng = np.random.default_rng(11)
    x = jnp.asarray(rng.standard_normal((6, 4, 33)), dt)
    xw = np.asarray(x, np.float64)
    k = rng.uniform(0, 33, (6, 4))
    y = jax.jit(lambda x, k: hsj.soft_binary_argmax(x, k, 0.7))(x, k)
    assert y.dtype == dt and y.shape == x.shape
    want = ref.soft_binary_argmax(xw, k, 0.7, -1)
    err = np.abs(np.asarray(y, np.float64) - want).max()
    assert 0 < err <= HALF[dt], err  # rounded once to the half type: not exact, within 1 ulp
    np.testing.assert_array_equal(np.asarray(y), hs.soft_binary_argmax(np.asarray(x), k, 0.7))
    g = jnp.asarray(rng.standard_normal(x.shape), dt)
    y2, vjp = jax.vjp(lambda x: hsj.soft_binary_argmax(x, k, 0.7), x)
    gx = vjp(g)[0]
    assert gx.dtype == dt
    np.testing.assert_array_equal(np.asarray(gx), hs.soft_binary_argmax_vjp(np.asarray(y2), np.asarray(g), 0.7))
    wv = ref.along(lambda yy, gg: ref.vjp(yy, gg, 0.7), np.asarray(y2, np.float64), -1, np.asarray(g, np.float64))
    np.testing.assert_allclose(np.asarray(gx, np.float64), wv, atol=8 * HALF[dt] * np.abs(wv).max())
    f = lambda x, k: hsj.soft_binary_argmax(x, k, 0.7)  # noqa: E731
    assert _ffi_calls(jax.vmap(f), x, k) == 1
    np.testing.assert_array_equal(np.asarray(jax.vmap(f)(x, k)), np.asarray(y))
    m = hsj.binary_argmax(x, 5)
    assert m.dtype == dt
    np.testing.assert_array_equal(np.asarray(m, np.float64), ref.along(lambda v: ref.topk(v, 5), xw, -1))


@pytest.mark.parametrize("dt", list(HALF))
def test_half_losses(dt):
    rng = np.random.default_rng(12)
    x = jnp.asarray(rng.standard_normal((5, 24)), dt)
    xw = np.asarray(x, np.float64)
    t = jnp.asarray(rng.random(x.shape) < 0.5, dt)
    for k in (None, 7.5):
        per, g = ref.loss(xw, np.asarray(t, np.float64), k, 0.6, -1)
        loss, gx = jax.value_and_grad(lambda x: hsj.hypersimplex_loss(x, t, k=k, tau=0.6, reduction="sum"))(x)
        assert loss.dtype == dt and gx.dtype == dt
        np.testing.assert_allclose(float(loss), per.sum(), rtol=4 * HALF[dt])
        np.testing.assert_allclose(np.asarray(gx, np.float64), g, atol=2 * HALF[dt] * np.abs(g).max())
    lab = rng.integers(0, 24, 5)
    for red in ("mean", "sum"):
        wl, wg = ref.multiclass(xw, lab, None, 0.8, red)
        loss, gx = jax.value_and_grad(hsj.hypersimplex_loss_multiclass)(x, lab, None, 0.8, red)
        assert loss.dtype == dt and gx.dtype == dt
        np.testing.assert_allclose(float(loss), wl, rtol=4 * HALF[dt])
        np.testing.assert_allclose(np.asarray(gx, np.float64), wg, atol=2 * HALF[dt] * np.abs(wg).max())
    xn = x.at[1, 2].set(jnp.nan)
    assert _status(hsj.soft_binary_argmax, xn, 2)[0] == -5
