//! The kernel bodies, written once over a small set of vector primitives.
//!
//! Each instruction-set module (`avx2::f32k`, `avx2::f64k`, `neon::f32k`, `neon::f64k`) defines
//! the element type `T`, the vector `V` of `W` lanes, the lane mask `M`, the `f64` accumulator
//! `A`, the lane counter `C` and these primitives (all `#[inline]` with the module's target
//! features, so they inline into the kernels):
//!
//! `load store splat sub mul gt lt ge le mand mtrue mall sel vmin vmax clip01 vabs hmin
//! hmax czero cadd csum azero acc asum qacc qsum tmask transpose_tile`, and the constant `SUM_FLAGS_NONFINITE`: `true` for
//! `f32`, whose `f64` lane sums are finite exactly when every summed `z_i` is (|z| ≤ 2^128,
//! so no sum of fewer than 2^800 of them overflows; NaN and ±∞ propagate), which lets the
//! statistics passes skip the per-element finiteness test. `f64` sums can overflow, so the
//! `f64` kernels test `|z| ≤ MAX` per element.
//!
//! and then invokes [`kernels!`] with its `#[target_feature]` attribute. Every kernel
//! processes two vectors per iteration and finishes the last `< 2·W` elements with the scalar
//! formula of `hypersimplex`, so any length and any alignment is handled.
//!
//! Rounding: `d = sub(mul(x, s), λ)` is two separately rounded operations (never a fused
//! multiply-add), so the partition and every written value equal the scalar code's bit for
//! bit. The `f32` free-set sums of the piece passes use the core crate's 2^-23 fixed point
//! (`qacc`/`qsum`: integer lanes, `Real::FIXED_SUM`), so they equal the scalar code's sums
//! exactly, for every vector width and thread count. Other sums are accumulated in `f64` lanes
//! (`acc` widens `f32` lanes exactly), in a fixed order that depends only on the length: they
//! can differ from the scalar code's sums by the rounding of a different summation order,
//! `≤ (n − 1)·2^-53·Σ|v_i|`.

/// Defines the kernels of one instruction-set module (see the module docs).
macro_rules! kernels {
    ($(#[$attr:meta])*) => {
        use hypersimplex::kernel::{Piece, Stats};
        use hypersimplex::loss::Residual;
        use hypersimplex::Real;

        /// Elements per iteration of the main loops.
        const W2: usize = 2 * W;

        /// Iterations between flushes of the fixed-point lanes: each iteration adds at most
        /// 2^23 to a lane, so a lane stays below 2^30.
        const FX_FLUSH: u32 = 64;

        /// The free-set sum in the core crate's 2^-23 fixed point (`Real::FIXED_SUM`): two
        /// vectors of integer lanes, flushed into an `i64` after at most [`FX_FLUSH`]
        /// iterations (the kernels run their main loops in runs of that many). Integer sums
        /// are exact and order-free, so the result equals the scalar code's bit for bit, for
        /// every vector width and thread count.
        struct Fixed {
            q0: C,
            q1: C,
            total: i64,
        }

        impl Fixed {
            #[inline(always)]
            unsafe fn new() -> Self {
                // SAFETY: the caller is a kernel with this module's target features.
                Fixed { q0: unsafe { czero() }, q1: unsafe { czero() }, total: 0 }
            }
            /// Adds the free lanes (masks `f0`, `f1`: `0 < d < 1`) of `d0`, `d1`.
            #[inline(always)]
            unsafe fn add(&mut self, f0: M, d0: V, f1: M, d1: V) {
                // SAFETY: as in `new`.
                unsafe {
                    self.q0 = qacc(self.q0, f0, d0);
                    self.q1 = qacc(self.q1, f1, d1);
                }
            }
            /// Moves the lanes into the `i64` total (each lane is below 2^30 after
            /// [`FX_FLUSH`] additions of at most 2^23).
            #[inline(always)]
            unsafe fn flush(&mut self) {
                // SAFETY: as in `new`.
                unsafe {
                    self.total += qsum(self.q0) + qsum(self.q1);
                    self.q0 = czero();
                    self.q1 = czero();
                }
            }
            #[inline(always)]
            unsafe fn total(self) -> f64 {
                // SAFETY: as in `new`.
                let t = self.total + unsafe { qsum(self.q0) + qsum(self.q1) };
                t as f64 * (1.0 / 8_388_608.0)
            }
        }

        /// The scalar tail's free-set sum, in fixed point or `f64` like the vector part.
        struct Tail {
            fixed: i64,
            wide: f64,
        }

        impl Tail {
            #[inline(always)]
            fn new() -> Self {
                Tail { fixed: 0, wide: 0.0 }
            }
            #[inline(always)]
            fn add(&mut self, d: T, free: bool) {
                if T::FIXED_SUM {
                    self.fixed += (d.to_fixed() & -(free as i32)) as i64;
                } else {
                    self.wide += d.keep_if(free).to_f64();
                }
            }
            #[inline(always)]
            fn value(&self) -> f64 {
                if T::FIXED_SUM {
                    self.fixed as f64 * (1.0 / 8_388_608.0)
                } else {
                    self.wide
                }
            }
        }

        /// Σz, min z, max z and finiteness of `z = x·s`.
        ///
        /// # Safety
        /// The CPU must support this module's target features; `x.len() < 2^31`.
        $(#[$attr])*
        pub unsafe fn stats(x: &[T], s: T) -> Stats<T> {
            let n = x.len();
            let p = x.as_ptr();
            let mut i = 0;
            // SAFETY: the caller guarantees the target features; every load reads
            // `p.add(i)..p.add(i + W2)` with `i + W2 <= n`, inside `x`.
            let (vsum, vmn, vmx, vfin) = unsafe {
                let vs = splat(s);
                let big = splat(T::MAX);
                let (mut a0, mut a1, mut a2, mut a3) = (azero(), azero(), azero(), azero());
                let mut mn = splat(T::MAX);
                let mut mx = splat(T::LOWEST);
                let mut fin = mtrue();
                while i + W2 <= n {
                    let z0 = mul(load(p.add(i)), vs);
                    let z1 = mul(load(p.add(i + W)), vs);
                    if !SUM_FLAGS_NONFINITE {
                        fin = mand(fin, mand(le(vabs(z0), big), le(vabs(z1), big)));
                    }
                    mn = vmin(mn, vmin(z0, z1));
                    mx = vmax(mx, vmax(z0, z1));
                    acc(&mut a0, &mut a1, z0);
                    acc(&mut a2, &mut a3, z1);
                    i += W2;
                }
                let sum = (asum(a0) + asum(a1)) + (asum(a2) + asum(a3));
                let fin = if SUM_FLAGS_NONFINITE {
                    sum.is_finite()
                } else {
                    mall(fin)
                };
                (sum, hmin(mn), hmax(mx), fin)
            };
            let (mut sum, mut mn, mut mx, mut fin) = (0.0f64, vmn, vmx, vfin);
            for &v in x.get(i..).unwrap_or(&[]) {
                let z = v * s;
                fin &= z.abs() <= T::MAX;
                mn = if z < mn { z } else { mn };
                mx = if z > mx { z } else { mx };
                sum += z.to_f64();
            }
            Stats { sum: vsum + sum, min: mn, max: mx, finite: fin }
        }

        /// The piece at λ: `|F|`, `|U|`, `Σ_F d_i` with `d_i = fl(fl(x_i·s) − λ)`.
        ///
        /// # Safety
        /// The CPU must support this module's target features; `x.len() < 2^31`.
        $(#[$attr])*
        pub unsafe fn piece(x: &[T], s: T, lam: T) -> Piece {
            let n = x.len();
            let p = x.as_ptr();
            let mut i = 0;
            // SAFETY: as in `stats`.
            let (mut free, mut upper, vsum) = unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                let (mut a0, mut a1, mut a2, mut a3) = (azero(), azero(), azero(), azero());
                let (mut cf, mut cu) = (czero(), czero());
                let mut fx = Fixed::new();
                while i + W2 <= n {
                    let end = n.min(i + FX_FLUSH as usize * W2);
                    while i + W2 <= end {
                        let d0 = sub(mul(load(p.add(i)), vs), vl);
                        let d1 = sub(mul(load(p.add(i + W)), vs), vl);
                        let (p0, p1) = (gt(d0, zero), gt(d1, zero));
                        let f0 = mand(p0, lt(d0, one));
                        let f1 = mand(p1, lt(d1, one));
                        cf = cadd(cadd(cf, f0), f1);
                        // |U| = |{d > 0}| − |F| (d ≥ 1 iff d > 0 and not d < 1; NaN in neither)
                        cu = cadd(cadd(cu, p0), p1);
                        if T::FIXED_SUM {
                            fx.add(f0, d0, f1, d1);
                        } else {
                            acc(&mut a0, &mut a1, sel(f0, d0));
                            acc(&mut a2, &mut a3, sel(f1, d1));
                        }
                        i += W2;
                    }
                    if T::FIXED_SUM {
                        fx.flush();
                    }
                }
                (
                    csum(cf),
                    csum(cu) - csum(cf),
                    if T::FIXED_SUM {
                        fx.total()
                    } else {
                        (asum(a0) + asum(a1)) + (asum(a2) + asum(a3))
                    },
                )
            };
            let mut tail = Tail::new();
            for &v in x.get(i..).unwrap_or(&[]) {
                let d = v * s - lam;
                let f = (d > T::ZERO) & (d < T::ONE);
                free += f as usize;
                upper += (d >= T::ONE) as usize;
                tail.add(d, f);
            }
            Piece { free, upper, sum_free: vsum + tail.value() }
        }

        /// [`piece`] and [`stats`] in one pass.
        ///
        /// # Safety
        /// The CPU must support this module's target features; `x.len() < 2^31`.
        $(#[$attr])*
        pub unsafe fn piece_stats(x: &[T], s: T, lam: T) -> (Piece, Stats<T>) {
            let n = x.len();
            let p = x.as_ptr();
            let mut i = 0;
            // No Σz (`Stats::sum` is NaN): the solver runs this pass only from a start point,
            // and then does not use it. Finiteness: NaN fails `z ≤ z`, ±∞ shows in min/max.
            // SAFETY: as in `stats`.
            let (mut free, mut upper, psum, vmn, vmx, vfin) = unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                let (mut a0, mut a1) = (azero(), azero());
                let (mut cf, mut cu) = (czero(), czero());
                let mut fx = Fixed::new();
                let mut mn = splat(T::MAX);
                let mut mx = splat(T::LOWEST);
                let mut fin = mtrue();
                while i + W2 <= n {
                    let end = n.min(i + FX_FLUSH as usize * W2);
                    while i + W2 <= end {
                        let z0 = mul(load(p.add(i)), vs);
                        let z1 = mul(load(p.add(i + W)), vs);
                        fin = mand(fin, mand(le(z0, z0), le(z1, z1)));
                        mn = vmin(mn, vmin(z0, z1));
                        mx = vmax(mx, vmax(z0, z1));
                        let d0 = sub(z0, vl);
                        let d1 = sub(z1, vl);
                        let f0 = mand(gt(d0, zero), lt(d0, one));
                        let f1 = mand(gt(d1, zero), lt(d1, one));
                        cf = cadd(cadd(cf, f0), f1);
                        cu = cadd(cadd(cu, ge(d0, one)), ge(d1, one));
                        if T::FIXED_SUM {
                            fx.add(f0, d0, f1, d1);
                        } else {
                            acc(&mut a0, &mut a1, sel(f0, d0));
                            acc(&mut a0, &mut a1, sel(f1, d1));
                        }
                        i += W2;
                    }
                    if T::FIXED_SUM {
                        fx.flush();
                    }
                }
                (
                    csum(cf),
                    csum(cu),
                    if T::FIXED_SUM { fx.total() } else { asum(a0) + asum(a1) },
                    hmin(mn),
                    hmax(mx),
                    mall(fin),
                )
            };
            let (mut ps, mut mn, mut mx, mut fin) = (Tail::new(), vmn, vmx, vfin);
            for &v in x.get(i..).unwrap_or(&[]) {
                let z = v * s;
                fin &= z.abs() <= T::MAX;
                mn = if z < mn { z } else { mn };
                mx = if z > mx { z } else { mx };
                let d = z - lam;
                let f = (d > T::ZERO) & (d < T::ONE);
                free += f as usize;
                upper += (d >= T::ONE) as usize;
                ps.add(d, f);
            }
            let finite = fin & mn.is_finite() & mx.is_finite();
            (
                Piece { free, upper, sum_free: psum + ps.value() },
                Stats { sum: f64::NAN, min: mn, max: mx, finite },
            )
        }

        /// The split pass of the working-set solver (`crate::passes::WorkingSet`): for a
        /// bracket `a < b`, classifies every `z_i = fl(x_i·s)` by its class over all of
        /// `λ ∈ [a, b]` (`fl(z − λ)` is monotone in λ, so the classes at the two ends decide):
        /// upper throughout (`fl(z − b) ≥ 1`), lower throughout (`fl(z − a) ≤ 0`), free
        /// throughout (`fl(z − b) > 0` and `fl(z − a) < 1`), or *kept*: its class can change
        /// inside the bracket, and `z_i` is appended to `out`. Also the statistics of `z`.
        /// Processes `min(x.len(), out.len())` elements (callers pass `out.len() ≥ x.len()`).
        ///
        /// # Safety
        /// The CPU must support this module's target features; `x.len() < 2^31`.
        $(#[$attr])*
        pub unsafe fn split(
            x: &[T],
            s: T,
            a: T,
            b: T,
            out: &mut [core::mem::MaybeUninit<T>],
        ) -> crate::platform::Split<T> {
            let n = x.len().min(out.len());
            let p = x.as_ptr();
            let o = out.as_mut_ptr().cast::<T>();
            let mut i = 0;
            let mut kept = 0usize;
            // One vector per iteration (two would spill accumulators to the stack). No Σz and
            // no per-element finiteness test: ±∞ shows in min/max, and NaN (false in every
            // comparison) is always kept, where the caller checks the (few) kept elements.
            // The four class tests as comparisons of z itself (exact: `fl(z − a) ≤ 0` iff
            // `z ≤ a`, `fl(z − b) > 0` iff `z > b`, and `fl(z − c) ≥ 1` iff `z ≥ t_c`, the
            // least such z, by monotonicity), which saves a subtraction per vector.
            let (ta, tb) = (
                crate::platform::unit_threshold(a),
                crate::platform::unit_threshold(b),
            );
            // SAFETY: target features guaranteed by the caller. Loads read `p[i..i + W]`
            // with `i + W <= n`. Each `compress_unset` writes `W` slots from `o + kept`, and
            // `kept ≤ i` (at most one kept element per element read), so the writes stay
            // below `i + W <= n`, inside `out`, which is a distinct borrow from `x`.
            let (free_sum, vmn, vmx, mut upper, mut free) = unsafe {
                let (vs, va, vb, vta, vtb) = (splat(s), splat(a), splat(b), splat(ta), splat(tb));
                let (mut a0, mut a1) = (azero(), azero());
                let (mut cf, mut cu) = (czero(), czero());
                let (mut q, mut total) = (czero(), 0i64);
                let mut mn = splat(T::MAX);
                let mut mx = splat(T::LOWEST);
                // Runs of at most 2·FX_FLUSH vectors, each adding at most 2^23 to a fixed-point
                // lane: the lanes are flushed into `total` between runs.
                while i + W <= n {
                    let end = n.min(i + 2 * FX_FLUSH as usize * W);
                    while i + W <= end {
                        let z = mul(load(p.add(i)), vs);
                        mn = vmin(mn, z);
                        mx = vmax(mx, z);
                        let u = ge(z, vtb);
                        let f = mand(gt(z, vb), lt(z, vta));
                        cu = cadd(cu, u);
                        cf = cadd(cf, f);
                        let db = sub(z, vb);
                        if T::FIXED_SUM {
                            q = qacc_unit(q, f, db);
                        } else {
                            acc(&mut a0, &mut a1, sel(f, db));
                        }
                        kept += compress_unset(o.add(kept), z, mor(mor(u, le(z, va)), f));
                        i += W;
                    }
                    if T::FIXED_SUM {
                        total += qsum(q);
                        q = czero();
                    }
                }
                (
                    if T::FIXED_SUM {
                        (total + qsum(q)) as f64 * (1.0 / 8_388_608.0)
                    } else {
                        asum(a0) + asum(a1)
                    },
                    hmin(mn),
                    hmax(mx),
                    csum(cu),
                    csum(cf),
                )
            };
            let (mut ps, mut fixed_tail, mut mn, mut mx) = (Tail::new(), 0i64, vmn, vmx);
            for &v in x.get(i..n).unwrap_or(&[]) {
                let z = v * s;
                mn = if z < mn { z } else { mn };
                mx = if z > mx { z } else { mx };
                let (da, db) = (z - a, z - b);
                if db >= T::ONE {
                    upper += 1;
                } else if (db > T::ZERO) & (da < T::ONE) {
                    free += 1;
                    if T::FIXED_SUM {
                        // As `qacc_unit`: round to nearest, ties to even.
                        fixed_tail += (db * (8_388_608.0 as T)).round_ties_even() as i64;
                    } else {
                        ps.add(db, true);
                    }
                } else if da <= T::ZERO {
                    // lower throughout
                } else {
                    // kept (NaN included: it fails every comparison)
                    if let Some(slot) = out.get_mut(kept) {
                        slot.write(z);
                    }
                    kept += 1;
                }
            }
            let finite = mn.is_finite() & mx.is_finite();
            crate::platform::Split {
                stats: Stats { sum: f64::NAN, min: mn, max: mx, finite },
                upper,
                free,
                free_sum: free_sum + ps.value() + fixed_tail as f64 * (1.0 / 8_388_608.0),
                kept,
            }
        }

        /// [`clip`] with non-temporal (streaming) stores for the vector-aligned part of `y`,
        /// for outputs much larger than the caches: the stores then skip the read of `y`'s
        /// cache lines that a plain store costs. The values are [`clip`]'s, bit for bit.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn clip_stream(x: &[T], s: T, lam: T, y: &mut [T]) {
            let n = x.len().min(y.len());
            // Elements before the first slot of `y` aligned for a vector store.
            let head = y.as_ptr().align_offset(W * core::mem::size_of::<T>()).min(n);
            let (xh, yh) = (x.get(..head).unwrap_or(&[]), y.get_mut(..head).unwrap_or(&mut []));
            for (o, &v) in yh.iter_mut().zip(xh) {
                *o = (v * s - lam).clip01();
            }
            let (p, q) = (x.as_ptr(), y.as_mut_ptr());
            let mut i = head;
            // SAFETY: target features guaranteed by the caller; `i + W <= n` keeps every load
            // inside `x` and every store inside `y` (distinct borrows), and `q + i` is aligned
            // to the vector size from `head` on (`i − head` is a multiple of `W`), as the
            // streaming store requires. The fence orders the streaming stores before any later
            // store or load.
            unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                while i + W <= n {
                    stream(q.add(i), clip01(sub(mul(load(p.add(i)), vs), vl)));
                    i += W;
                }
                stream_fence();
            }
            let (xt, yt) = (x.get(i..n).unwrap_or(&[]), y.get_mut(i..n).unwrap_or(&mut []));
            for (o, &v) in yt.iter_mut().zip(xt) {
                *o = (v * s - lam).clip01();
            }
        }

        /// [`vjp`] with streaming (non-temporal) stores for the vector-aligned part of `out`
        /// (see [`clip_stream`]); bitwise the same values.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn vjp_stream(y: &[T], g: &[T], mean: T, s: T, out: &mut [T]) {
            let n = y.len().min(g.len()).min(out.len());
            let entry = |yi: T, gi: T| ((gi - mean) * s).keep_if((yi > T::ZERO) & (yi < T::ONE));
            let head = out.as_ptr().align_offset(W * core::mem::size_of::<T>()).min(n);
            let (yh, gh) = (y.get(..head).unwrap_or(&[]), g.get(..head).unwrap_or(&[]));
            let oh = out.get_mut(..head).unwrap_or(&mut []);
            for ((o, &yi), &gi) in oh.iter_mut().zip(yh).zip(gh) {
                *o = entry(yi, gi);
            }
            let (p, q, o) = (y.as_ptr(), g.as_ptr(), out.as_mut_ptr());
            let mut i = head;
            // SAFETY: target features guaranteed by the caller; `i + W <= n` keeps every access
            // inside the slices, and `o + i` is vector-aligned from `head` on, as the
            // streaming store requires; the fence orders the streaming stores.
            unsafe {
                let (zero, one, vm, vs) = (splat(T::ZERO), splat(T::ONE), splat(mean), splat(s));
                while i + W <= n {
                    let (yv, gv) = (load(p.add(i)), load(q.add(i)));
                    let f = mand(gt(yv, zero), lt(yv, one));
                    stream(o.add(i), mul(mul(sub(gv, vm), vs), sel(f, one)));
                    i += W;
                }
                stream_fence();
            }
            let (yt, gt_) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
            let ot = out.get_mut(i..n).unwrap_or(&mut []);
            for ((o, &yi), &gi) in ot.iter_mut().zip(yt).zip(gt_) {
                *o = entry(yi, gi);
            }
        }

        /// `true` when every `fl(x_i·s)` is finite.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn all_finite(x: &[T], s: T) -> bool {
            let n = x.len();
            let p = x.as_ptr();
            let mut i = 0;
            // SAFETY: as in `stats`.
            let vfin = unsafe {
                let (vs, big) = (splat(s), splat(T::MAX));
                let mut fin = mtrue();
                while i + W2 <= n {
                    let z0 = mul(load(p.add(i)), vs);
                    let z1 = mul(load(p.add(i + W)), vs);
                    fin = mand(fin, mand(le(vabs(z0), big), le(vabs(z1), big)));
                    i += W2;
                }
                mall(fin)
            };
            x.get(i..)
                .unwrap_or(&[])
                .iter()
                .fold(vfin, |ok, &v| ok & ((v * s).abs() <= T::MAX))
        }

        /// [`piece`] at λ, also writing `y_i = clip(d_i, 0, 1)` (the final write of the
        /// forward pass, fused with the pass that may turn out to be the last one).
        ///
        /// # Safety
        /// The CPU must support this module's target features; `x.len() < 2^31`.
        $(#[$attr])*
        pub unsafe fn piece_write(x: &[T], s: T, lam: T, y: &mut [T]) -> Piece {
            let n = x.len().min(y.len());
            let (p, q) = (x.as_ptr(), y.as_mut_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; `i + W2 <= n` keeps every
            // load inside `x` and every store inside `y` (distinct borrows).
            let (mut free, mut upper, vsum) = unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                let (mut a0, mut a1, mut a2, mut a3) = (azero(), azero(), azero(), azero());
                let (mut cf, mut cu) = (czero(), czero());
                let mut fx = Fixed::new();
                while i + W2 <= n {
                    let end = n.min(i + FX_FLUSH as usize * W2);
                    while i + W2 <= end {
                        let d0 = sub(mul(load(p.add(i)), vs), vl);
                        let d1 = sub(mul(load(p.add(i + W)), vs), vl);
                        store(q.add(i), clip01(d0));
                        store(q.add(i + W), clip01(d1));
                        let (p0, p1) = (gt(d0, zero), gt(d1, zero));
                        let f0 = mand(p0, lt(d0, one));
                        let f1 = mand(p1, lt(d1, one));
                        cf = cadd(cadd(cf, f0), f1);
                        // |U| = |{d > 0}| − |F| (d ≥ 1 iff d > 0 and not d < 1; NaN in neither)
                        cu = cadd(cadd(cu, p0), p1);
                        if T::FIXED_SUM {
                            fx.add(f0, d0, f1, d1);
                        } else {
                            acc(&mut a0, &mut a1, sel(f0, d0));
                            acc(&mut a2, &mut a3, sel(f1, d1));
                        }
                        i += W2;
                    }
                    if T::FIXED_SUM {
                        fx.flush();
                    }
                }
                (
                    csum(cf),
                    csum(cu) - csum(cf),
                    if T::FIXED_SUM {
                        fx.total()
                    } else {
                        (asum(a0) + asum(a1)) + (asum(a2) + asum(a3))
                    },
                )
            };
            let mut tail = Tail::new();
            let (xt, yt) = (x.get(i..n).unwrap_or(&[]), y.get_mut(i..n).unwrap_or(&mut []));
            for (o, &v) in yt.iter_mut().zip(xt) {
                let d = v * s - lam;
                *o = d.clip01();
                let f = (d > T::ZERO) & (d < T::ONE);
                free += f as usize;
                upper += (d >= T::ONE) as usize;
                tail.add(d, f);
            }
            Piece { free, upper, sum_free: vsum + tail.value() }
        }

        /// `y_i = clip(fl(x_i·s) − λ, 0, 1)` for `i < min(x.len(), y.len())`.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn clip(x: &[T], s: T, lam: T, y: &mut [T]) {
            let n = x.len().min(y.len());
            let (p, q) = (x.as_ptr(), y.as_mut_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; `i + W2 <= n` keeps every
            // load inside `x` and every store inside `y` (distinct borrows, no overlap).
            unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                while i + W2 <= n {
                    let y0 = clip01(sub(mul(load(p.add(i)), vs), vl));
                    let y1 = clip01(sub(mul(load(p.add(i + W)), vs), vl));
                    store(q.add(i), y0);
                    store(q.add(i + W), y1);
                    i += W2;
                }
            }
            let (xt, yt) = (x.get(i..n).unwrap_or(&[]), y.get_mut(i..n).unwrap_or(&mut []));
            for (o, &v) in yt.iter_mut().zip(xt) {
                *o = (v * s - lam).clip01();
            }
        }

        /// In-place [`clip`].
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn clip_in_place(x: &mut [T], s: T, lam: T) {
            let n = x.len();
            let p = x.as_mut_ptr();
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; `i + W2 <= n` keeps every
            // access inside `x`, each vector is read before it is written.
            unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                while i + W2 <= n {
                    let y0 = clip01(sub(mul(load(p.add(i)), vs), vl));
                    let y1 = clip01(sub(mul(load(p.add(i + W)), vs), vl));
                    store(p.add(i), y0);
                    store(p.add(i + W), y1);
                    i += W2;
                }
            }
            for v in x.get_mut(i..).unwrap_or(&mut []) {
                *v = (*v * s - lam).clip01();
            }
        }

        /// `(|A|, Σ_{i∈A} g_i, all finite)` with `A = {0 < y_i < 1}`, over
        /// `min(y.len(), g.len())` elements.
        ///
        /// # Safety
        /// The CPU must support this module's target features; length `< 2^31`.
        $(#[$attr])*
        pub unsafe fn free_mean(y: &[T], g: &[T]) -> (usize, f64, bool) {
            let n = y.len().min(g.len());
            let (p, q) = (y.as_ptr(), g.as_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; loads stay below `n`.
            let (mut count, vsum, vfin) = unsafe {
                let (zero, one, big) = (splat(T::ZERO), splat(T::ONE), splat(T::MAX));
                let (mut a0, mut a1, mut a2, mut a3) = (azero(), azero(), azero(), azero());
                let mut cf = czero();
                let mut fin = mtrue();
                while i + W2 <= n {
                    let (y0, y1) = (load(p.add(i)), load(p.add(i + W)));
                    let (g0, g1) = (load(q.add(i)), load(q.add(i + W)));
                    let ok0 = mand(le(vabs(y0), big), le(vabs(g0), big));
                    let ok1 = mand(le(vabs(y1), big), le(vabs(g1), big));
                    fin = mand(fin, mand(ok0, ok1));
                    let f0 = mand(gt(y0, zero), lt(y0, one));
                    let f1 = mand(gt(y1, zero), lt(y1, one));
                    cf = cadd(cadd(cf, f0), f1);
                    acc(&mut a0, &mut a1, sel(f0, g0));
                    acc(&mut a2, &mut a3, sel(f1, g1));
                    i += W2;
                }
                (csum(cf), (asum(a0) + asum(a1)) + (asum(a2) + asum(a3)), mall(fin))
            };
            let (mut sum, mut fin) = (0.0f64, vfin);
            let (yt, gt_) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
            for (&yi, &gi) in yt.iter().zip(gt_) {
                fin &= (yi.abs() <= T::MAX) & (gi.abs() <= T::MAX);
                let f = (yi > T::ZERO) & (yi < T::ONE);
                count += f as usize;
                sum += gi.keep_if(f).to_f64();
            }
            (count, vsum + sum, fin)
        }

        /// `out_i = (g_i − m)·s` where `0 < y_i < 1`, else that times 0 (a signed zero, as the
        /// core crate's `keep_if` mask-by-multiplication gives).
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn vjp(y: &[T], g: &[T], mean: T, s: T, out: &mut [T]) {
            let n = y.len().min(g.len()).min(out.len());
            let (p, q, o) = (y.as_ptr(), g.as_ptr(), out.as_mut_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; accesses stay below `n`.
            unsafe {
                let (zero, one, vm, vs) = (splat(T::ZERO), splat(T::ONE), splat(mean), splat(s));
                while i + W2 <= n {
                    let (y0, y1) = (load(p.add(i)), load(p.add(i + W)));
                    let (g0, g1) = (load(q.add(i)), load(q.add(i + W)));
                    let f0 = mand(gt(y0, zero), lt(y0, one));
                    let f1 = mand(gt(y1, zero), lt(y1, one));
                    store(o.add(i), mul(mul(sub(g0, vm), vs), sel(f0, one)));
                    store(o.add(i + W), mul(mul(sub(g1, vm), vs), sel(f1, one)));
                    i += W2;
                }
            }
            let (yt, gt_) = (y.get(i..n).unwrap_or(&[]), g.get(i..n).unwrap_or(&[]));
            let ot = out.get_mut(i..n).unwrap_or(&mut []);
            for ((o, &yi), &gi) in ot.iter_mut().zip(yt).zip(gt_) {
                let f = (yi > T::ZERO) & (yi < T::ONE);
                *o = ((gi - mean) * s).keep_if(f);
            }
        }

        /// In-place [`vjp`]: `g ← Jᵀ g`.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn vjp_in_place(y: &[T], g: &mut [T], mean: T, s: T) {
            let n = y.len().min(g.len());
            let (p, q) = (y.as_ptr(), g.as_mut_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; accesses stay below `n`.
            unsafe {
                let (zero, one, vm, vs) = (splat(T::ZERO), splat(T::ONE), splat(mean), splat(s));
                while i + W2 <= n {
                    let (y0, y1) = (load(p.add(i)), load(p.add(i + W)));
                    let (g0, g1) = (load(q.add(i)), load(q.add(i + W)));
                    let f0 = mand(gt(y0, zero), lt(y0, one));
                    let f1 = mand(gt(y1, zero), lt(y1, one));
                    store(q.add(i), mul(mul(sub(g0, vm), vs), sel(f0, one)));
                    store(q.add(i + W), mul(mul(sub(g1, vm), vs), sel(f1, one)));
                    i += W2;
                }
            }
            let yt = y.get(i..n).unwrap_or(&[]);
            for (gi, &yi) in g.get_mut(i..n).unwrap_or(&mut []).iter_mut().zip(yt) {
                let f = (yi > T::ZERO) & (yi < T::ONE);
                *gi = ((*gi - mean) * s).keep_if(f);
            }
        }

        /// The loss residual at λ: `Σ r_i²`, `|A|`, `Σ_A r_i` with `r_i = clip(d_i) − t_i`.
        ///
        /// # Safety
        /// The CPU must support this module's target features; length `< 2^31`.
        $(#[$attr])*
        pub unsafe fn residual(x: &[T], t: &[T], s: T, lam: T) -> Residual {
            let n = x.len().min(t.len());
            let (p, q) = (x.as_ptr(), t.as_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; loads stay below `n`.
            let (mut free, vsq, vsum) = unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                let (mut q0, mut q1, mut a0, mut a1) = (azero(), azero(), azero(), azero());
                let mut cf = czero();
                while i + W2 <= n {
                    let d0 = sub(mul(load(p.add(i)), vs), vl);
                    let d1 = sub(mul(load(p.add(i + W)), vs), vl);
                    let r0 = sub(clip01(d0), load(q.add(i)));
                    let r1 = sub(clip01(d1), load(q.add(i + W)));
                    acc(&mut q0, &mut q1, mul(r0, r0));
                    acc(&mut q0, &mut q1, mul(r1, r1));
                    let f0 = mand(gt(d0, zero), lt(d0, one));
                    let f1 = mand(gt(d1, zero), lt(d1, one));
                    cf = cadd(cadd(cf, f0), f1);
                    acc(&mut a0, &mut a1, sel(f0, r0));
                    acc(&mut a0, &mut a1, sel(f1, r1));
                    i += W2;
                }
                (csum(cf), asum(q0) + asum(q1), asum(a0) + asum(a1))
            };
            let (mut sq, mut sum) = (0.0f64, 0.0f64);
            let (xt, tt) = (x.get(i..n).unwrap_or(&[]), t.get(i..n).unwrap_or(&[]));
            for (&xi, &ti) in xt.iter().zip(tt) {
                let d = xi * s - lam;
                let r = d.clip01() - ti;
                let f = (d > T::ZERO) & (d < T::ONE);
                sq += (r * r).to_f64();
                free += f as usize;
                sum += r.keep_if(f).to_f64();
            }
            Residual { sq: vsq + sq, free, sum_free: vsum + sum }
        }

        /// `out_i = ((clip(d_i) − t_i) − m)·factor` where `0 < d_i < 1`, else that times 0
        /// (`hypersimplex::loss::grad_entry`, including the sign of its zeros).
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub unsafe fn grad(
            x: &[T],
            t: &[T],
            s: T,
            lam: T,
            mean: T,
            factor: T,
            out: &mut [T],
        ) {
            let n = x.len().min(t.len()).min(out.len());
            let (p, q, o) = (x.as_ptr(), t.as_ptr(), out.as_mut_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; accesses stay below `n`.
            unsafe {
                let (vs, vl, vm, vf) = (splat(s), splat(lam), splat(mean), splat(factor));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                while i + W2 <= n {
                    let d0 = sub(mul(load(p.add(i)), vs), vl);
                    let d1 = sub(mul(load(p.add(i + W)), vs), vl);
                    let f0 = mand(gt(d0, zero), lt(d0, one));
                    let f1 = mand(gt(d1, zero), lt(d1, one));
                    let g0 = mul(sub(sub(clip01(d0), load(q.add(i))), vm), vf);
                    let g1 = mul(sub(sub(clip01(d1), load(q.add(i + W))), vm), vf);
                    store(o.add(i), mul(g0, sel(f0, one)));
                    store(o.add(i + W), mul(g1, sel(f1, one)));
                    i += W2;
                }
            }
            let (xt, tt) = (x.get(i..n).unwrap_or(&[]), t.get(i..n).unwrap_or(&[]));
            let ot = out.get_mut(i..n).unwrap_or(&mut []);
            for ((o, &xi), &ti) in ot.iter_mut().zip(xt).zip(tt) {
                *o = hypersimplex::loss::grad_entry(xi, ti, s, lam, mean, factor);
            }
        }

        /// Transposes the row-major `rows × cols` matrix `x` (`rows = x.len() / cols`) into
        /// columns, `out[c·stride + r] = x[r·cols + c]`, and returns whether every
        /// `fl(x_i·s)` of those rows is finite (the [`all_finite`] test, fused). Tiles of
        /// `W` rows × `W` columns go through registers (the last column tile overlaps the one
        /// before it when `W` does not divide `cols`); fewer than `W` columns, the last
        /// `rows mod W` rows, or an `out` too short for the tiles take the scalar code.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        $(#[$attr])*
        pub unsafe fn transpose(x: &[T], cols: usize, s: T, out: &mut [T], stride: usize) -> bool {
            let rows = x.len().checked_div(cols).unwrap_or(0);
            let need = (cols.max(1) - 1).checked_mul(stride).and_then(|v| v.checked_add(rows));
            let fits = cols >= W && stride >= rows && need.is_some_and(|v| v <= out.len());
            let mut r0 = 0;
            let mut fin = true;
            if fits {
                let (p, o) = (x.as_ptr(), out.as_mut_ptr());
                // SAFETY: target features guaranteed by the caller. Loads read
                // `x[(r0 + j)·cols + c ..][..W]` with `r0 + j < rows` and `c + W <= cols`, so
                // below `rows·cols <= x.len()`; stores write `out[(c + j)·stride + r0 ..][..W]`
                // with `c + j < cols` and `r0 + W <= rows`, so below
                // `(cols − 1)·stride + rows <= out.len()` (checked in `fits`).
                fin = unsafe {
                    let (vs, big) = (splat(s), splat(T::MAX));
                    let mut ok = mtrue();
                    while r0 + W <= rows {
                        let mut c0 = 0;
                        loop {
                            let c = c0.min(cols - W);
                            let mut v = [splat(T::ZERO); W];
                            for (j, vj) in v.iter_mut().enumerate() {
                                *vj = load(p.add((r0 + j) * cols + c));
                                ok = mand(ok, le(vabs(mul(*vj, vs)), big));
                            }
                            transpose_tile(&mut v);
                            for (j, vj) in v.iter().enumerate() {
                                store(o.add((c + j) * stride + r0), *vj);
                            }
                            if c + W >= cols {
                                break;
                            }
                            c0 += W;
                        }
                        r0 += W;
                    }
                    mall(ok)
                };
            }
            if cols > 0 {
                for (r, row) in x.chunks_exact(cols).enumerate().skip(r0) {
                    for (c, &v) in row.iter().enumerate() {
                        fin &= (v * s).abs() <= T::MAX;
                        if let Some(d) = out.get_mut(c * stride + r) {
                            *d = v;
                        }
                    }
                }
            }
            fin
        }

        /// [`residual`] against the one-hot targets of `class`: `t_i = 1` where
        /// `labels[i] == class`, else 0.
        ///
        /// # Safety
        /// The CPU must support this module's target features; length `< 2^31`.
        $(#[$attr])*
        pub unsafe fn residual_labels(x: &[T], labels: &[u32], class: u32, s: T, lam: T) -> Residual {
            let n = x.len().min(labels.len());
            let (p, q) = (x.as_ptr(), labels.as_ptr());
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; loads stay below `n`.
            let (mut free, vsq, vsum) = unsafe {
                let (vs, vl) = (splat(s), splat(lam));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                let (mut q0, mut q1, mut a0, mut a1) = (azero(), azero(), azero(), azero());
                let mut cf = czero();
                while i + W2 <= n {
                    let d0 = sub(mul(load(p.add(i)), vs), vl);
                    let d1 = sub(mul(load(p.add(i + W)), vs), vl);
                    let r0 = sub(clip01(d0), sel(tmask(q.add(i), class), one));
                    let r1 = sub(clip01(d1), sel(tmask(q.add(i + W), class), one));
                    acc(&mut q0, &mut q1, mul(r0, r0));
                    acc(&mut q0, &mut q1, mul(r1, r1));
                    let f0 = mand(gt(d0, zero), lt(d0, one));
                    let f1 = mand(gt(d1, zero), lt(d1, one));
                    cf = cadd(cadd(cf, f0), f1);
                    acc(&mut a0, &mut a1, sel(f0, r0));
                    acc(&mut a0, &mut a1, sel(f1, r1));
                    i += W2;
                }
                (csum(cf), asum(q0) + asum(q1), asum(a0) + asum(a1))
            };
            let (mut sq, mut sum) = (0.0f64, 0.0f64);
            let (xt, lt_) = (x.get(i..n).unwrap_or(&[]), labels.get(i..n).unwrap_or(&[]));
            for (&xi, &li) in xt.iter().zip(lt_) {
                let d = xi * s - lam;
                let r = d.clip01() - T::ONE.keep_if(li == class);
                let f = (d > T::ZERO) & (d < T::ONE);
                sq += (r * r).to_f64();
                free += f as usize;
                sum += r.keep_if(f).to_f64();
            }
            Residual { sq: vsq + sq, free, sum_free: vsum + sum }
        }

        /// [`grad`] with a λ and a mean per element:
        /// `out_i = hypersimplex::loss::grad_entry(x_i, t_i, s, λ_i, m_i, factor)`.
        ///
        /// # Safety
        /// The CPU must support this module's target features.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub unsafe fn grad_pattern(
            x: &[T],
            t: &[T],
            lam: &[T],
            mean: &[T],
            s: T,
            factor: T,
            out: &mut [T],
        ) {
            let n = x.len().min(t.len()).min(lam.len()).min(mean.len()).min(out.len());
            let (p, q, l, m) = (x.as_ptr(), t.as_ptr(), lam.as_ptr(), mean.as_ptr());
            let o = out.as_mut_ptr();
            let mut i = 0;
            // SAFETY: target features guaranteed by the caller; accesses stay below `n`.
            unsafe {
                let (vs, vf) = (splat(s), splat(factor));
                let (zero, one) = (splat(T::ZERO), splat(T::ONE));
                while i + W2 <= n {
                    let d0 = sub(mul(load(p.add(i)), vs), load(l.add(i)));
                    let d1 = sub(mul(load(p.add(i + W)), vs), load(l.add(i + W)));
                    let f0 = mand(gt(d0, zero), lt(d0, one));
                    let f1 = mand(gt(d1, zero), lt(d1, one));
                    let g0 = mul(sub(sub(clip01(d0), load(q.add(i))), load(m.add(i))), vf);
                    let g1 = mul(
                        sub(sub(clip01(d1), load(q.add(i + W))), load(m.add(i + W))),
                        vf,
                    );
                    store(o.add(i), mul(g0, sel(f0, one)));
                    store(o.add(i + W), mul(g1, sel(f1, one)));
                    i += W2;
                }
            }
            let (xt, tt) = (x.get(i..n).unwrap_or(&[]), t.get(i..n).unwrap_or(&[]));
            let (lt_, mt) = (lam.get(i..n).unwrap_or(&[]), mean.get(i..n).unwrap_or(&[]));
            let ot = out.get_mut(i..n).unwrap_or(&mut []);
            for ((((o, &xi), &ti), &li), &mi) in ot.iter_mut().zip(xt).zip(tt).zip(lt_).zip(mt) {
                *o = hypersimplex::loss::grad_entry(xi, ti, s, li, mi, factor);
            }
        }
    };
}
