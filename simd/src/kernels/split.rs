//! The split pass of the working-set solver (see [`crate::working_set`]).

use core::mem::MaybeUninit;

use hypersimplex::internal::kernel::Stats;
use hypersimplex::Real;

use super::{Tail, FX_FLUSH};
use crate::isa::{FreeSum, Lanes};
use crate::working_set::{unit_threshold, SplitSummary};

/// For a bracket `a < b`, classifies every `z_i = fl(x_i·s)` by its class over all of
/// `λ ∈ [a, b]` (`fl(z − λ)` is monotone in λ, so the classes at the two ends decide): upper
/// throughout (`fl(z − b) ≥ 1`), lower throughout (`fl(z − a) ≤ 0`), free throughout
/// (`fl(z − b) > 0` and `fl(z − a) < 1`), or *kept*: its class can change inside the bracket,
/// and `z_i` is appended to `out`. Also the statistics of `z` (no Σz). Processes
/// `min(x.len(), out.len())` elements (callers pass `out.len() ≥ x.len()`).
///
/// One vector per iteration (two would spill accumulators to the stack). No per-element
/// finiteness test: ±∞ shows in min/max, and NaN (false in every comparison) is always kept,
/// where the caller checks the (few) kept elements. The class tests compare z itself (exact:
/// `fl(z − a) ≤ 0` iff `z ≤ a`, `fl(z − b) > 0` iff `z > b`, and `fl(z − c) ≥ 1` iff
/// `z ≥ t_c`, the least such z, by monotonicity), which saves a subtraction per vector.
///
/// # Safety
/// The CPU must support `L`'s instruction set; `x.len() < 2^31`.
#[inline(always)]
pub(crate) unsafe fn split<L: Lanes>(
    x: &[L::T],
    s: L::T,
    a: L::T,
    b: L::T,
    out: &mut [MaybeUninit<L::T>],
) -> SplitSummary<L::T> {
    let (n, w) = (x.len().min(out.len()), L::W);
    let p = x.as_ptr();
    let o = out.as_mut_ptr().cast::<L::T>();
    let mut i = 0;
    let mut kept = 0usize;
    let (ta, tb) = (unit_threshold(a), unit_threshold(b));
    // SAFETY: the caller guarantees the instruction set. Loads read `p[i..i + w]` with
    // `i + w <= n`. Each `compress_clear` writes `w` slots from `o + kept`, and `kept ≤ i` (at
    // most one kept element per element read), so the writes stay below `i + w <= n`, inside
    // `out`, which is a distinct borrow from `x`.
    let (free_sum, vmn, vmx, mut upper, mut free) = unsafe {
        let (vs, va, vb) = (L::splat(s), L::splat(a), L::splat(b));
        let (vta, vtb) = (L::splat(ta), L::splat(tb));
        let (mut cf, mut cu) = (L::count_zero(), L::count_zero());
        let mut fs = L::FreeSum::new();
        let mut mn = L::splat(L::T::MAX);
        let mut mx = L::splat(L::T::LOWEST);
        // Runs of at most 2·FX_FLUSH vectors, each adding at most 2^23 to a fixed-point lane.
        while i + w <= n {
            let end = n.min(i + 2 * FX_FLUSH * w);
            while i + w <= end {
                let z = L::mul(L::load(p.add(i)), vs);
                mn = L::min(mn, z);
                mx = L::max(mx, z);
                let u = L::ge(z, vtb);
                let f = L::and(L::gt(z, vb), L::lt(z, vta));
                cu = L::count(cu, u);
                cf = L::count(cf, f);
                fs.add_nearest(f, L::sub(z, vb));
                kept += L::compress_clear(o.add(kept), z, L::or(L::or(u, L::le(z, va)), f));
                i += w;
            }
            fs.flush();
        }
        let (mn, mx) = (L::reduce_min(mn), L::reduce_max(mx));
        (fs.total(), mn, mx, L::count_total(cu), L::count_total(cf))
    };
    let (mut tail, mut mn, mut mx) = (Tail::new(), vmn, vmx);
    for &v in x.get(i..n).unwrap_or(&[]) {
        let z = v * s;
        mn = if z < mn { z } else { mn };
        mx = if z > mx { z } else { mx };
        let (da, db) = (z - a, z - b);
        if db >= L::T::ONE {
            upper += 1;
        } else if (db > L::T::ZERO) & (da < L::T::ONE) {
            free += 1;
            tail.add_nearest(db);
        } else if da <= L::T::ZERO {
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
    SplitSummary {
        stats: Stats {
            sum: f64::NAN,
            min: mn,
            max: mx,
            finite,
        },
        upper,
        free,
        free_sum: free_sum + tail.value::<L::T>(),
        kept,
    }
}
