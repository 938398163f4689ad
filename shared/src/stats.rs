//! Statistics for A/B tests: frequentist and Bayesian comparison of two
//! conversion rates, and a sample-ratio-mismatch (SRM) check of the traffic split.
//!
//! Everything is std-only. The special functions (erfc, ln Γ, the regularized
//! incomplete gamma) are implemented here rather than pulled from a crate; they
//! are accurate to roughly 1e-13 or better over the ranges A/B tests exercise.
//! Public results never contain NaN or infinity: undefined quantities become
//! `None` or a documented neutral value.

use std::f64::consts::{PI, SQRT_2};

/// Two-sided 95% normal quantile. The conventional rounded value is used on purpose
/// so reported intervals match what textbooks and dashboards print.
const Z_95: f64 = 1.96;
/// Above this posterior alpha of the variant, the exact sum has too many terms to be
/// worth it and the normal approximation of the betas is already excellent.
const EXACT_ALPHA_LIMIT: f64 = 20_000.0;
const EPS: f64 = f64::EPSILON;
const MAX_ITER: usize = 100_000;

/// p-value below which a split is flagged as broken (GrowthBook uses 0.001)
pub const SRM_THRESHOLD: f64 = 0.001;

/// Standard normal CDF, accurate to ~1e-12 or better.
///
/// NaN input propagates (there is no meaningful answer to hide it behind).
pub fn normal_cdf(z: f64) -> f64 {
    // Always evaluate the tail that is small so the result keeps relative accuracy
    // far out in the lower tail instead of suffering 1 - (almost 1) cancellation.
    if z < 0.0 {
        0.5 * erfc(-z / SQRT_2)
    } else {
        1.0 - 0.5 * erfc(z / SQRT_2)
    }
}

/// Complementary error function for x >= 0 (callers only need that half).
fn erfc(x: f64) -> f64 {
    if x < 2.0 {
        // erf(x) = 2/√π e^{-x²} Σ (2x²)^n x / (1·3·…·(2n+1)): every term is positive,
        // so unlike the alternating Taylor series there is no cancellation.
        let (x2, mut term, mut sum, mut n) = (x * x, x, x, 0.0);
        while term > sum * EPS {
            n += 1.0;
            term *= 2.0 * x2 / (2.0 * n + 1.0);
            sum += term;
        }
        // erfc(2) ≈ 4.7e-3, so 1 - erf loses at most ~2.5 digits here.
        1.0 - 2.0 / PI.sqrt() * (-x2).exp() * sum
    } else {
        // Laplace continued fraction erfc(x) = e^{-x²}/√π / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
        // evaluated bottom-up. For x >= 2, 80 levels reach full double precision
        // (checked against mpmath), so no convergence test is needed.
        let tail = (1..=80).rev().fold(0.0, |f, k| (k as f64 / 2.0) / (x + f));
        (-x * x).exp() / (PI.sqrt() * (x + tail))
    }
}

/// Natural log of |Γ(x)| (Lanczos, g = 7, n = 9; ~1e-15 relative).
///
/// Returns +∞ at the poles (0, -1, -2, …); internal callers only pass positive values.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the Lanczos sum in the region where it is accurate.
        let s = (PI * x).sin().abs();
        if s == 0.0 {
            return f64::INFINITY;
        }
        return (PI / s).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = COEF
        .iter()
        .enumerate()
        .skip(1)
        .fold(COEF[0], |acc, (i, c)| acc + c / (x + i as f64));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Division that yields 0 instead of NaN/∞ when the denominator is 0 (an empty group).
fn div_or_zero(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Upper tail of chi-square with `df` degrees of freedom: P(X >= x).
///
/// Degenerate inputs (x <= 0, NaN, df <= 0 or NaN) give 1.0, i.e. "no evidence",
/// so a malformed statistic can never raise an alarm.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || df.is_nan() || df <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    gamma_q(df / 2.0, x / 2.0).clamp(0.0, 1.0)
}

/// Regularized upper incomplete gamma Q(a, x) for a > 0, x > 0 (Numerical Recipes split):
/// the series for P converges fast below a + 1, the continued fraction for Q above it,
/// and computing Q directly there avoids 1 - P cancellation in the far tail.
fn gamma_q(a: f64, x: f64) -> f64 {
    let ln_prefactor = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut ap, mut term, mut sum) = (a, 1.0 / a, 1.0 / a);
        for _ in 0..MAX_ITER {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term <= sum * EPS {
                break;
            }
        }
        1.0 - sum * ln_prefactor.exp()
    } else {
        // Modified Lentz; `nonzero` keeps a vanishing partial denominator from dividing by 0.
        let nonzero = |v: f64| if v.abs() < 1e-300 { 1e-300 } else { v };
        let mut b = x + 1.0 - a;
        let (mut c, mut d) = (1e300, 1.0 / b);
        let mut h = d;
        for i in 1..MAX_ITER {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = 1.0 / nonzero(an * d + b);
            c = nonzero(b + an / c);
            h *= d * c;
            if (d * c - 1.0).abs() <= EPS {
                break;
            }
        }
        ln_prefactor.exp() * h
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// conversions / visitors of the control and the variant (0 when visitors == 0)
    pub control_rate: f64,
    pub variant_rate: f64,
    /// variant_rate - control_rate, with its 95% interval (unpooled standard error, Wald).
    /// A group with no visitors contributes no variance.
    pub difference: f64,
    pub difference_ci: Interval,
    /// relative uplift (variant_rate / control_rate - 1) and its 95% interval (delta method
    /// on the log of the rate ratio); uplift is None when control_rate == 0, the interval
    /// when either rate is 0.
    pub uplift: Option<f64>,
    pub uplift_ci: Option<Interval>,
    /// pooled two-proportion z statistic and its two-sided p-value; None when the pooled
    /// se is 0 or a group has 0 visitors
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    /// Bayesian probability that the variant's true rate beats the control's, with
    /// Beta(1 + c, 1 + n - c) posteriors. 0.5 when both groups have no visitors.
    pub chance_to_beat_control: f64,
}

/// Compares a variant against the control. Conversions above visitors are clamped.
pub fn compare(
    control_visitors: u64,
    control_conversions: u64,
    variant_visitors: u64,
    variant_conversions: u64,
) -> Comparison {
    let (n1, c1) = (control_visitors, control_conversions.min(control_visitors));
    let (n2, c2) = (variant_visitors, variant_conversions.min(variant_visitors));
    let p1 = div_or_zero(c1 as f64, n1 as f64);
    let p2 = div_or_zero(c2 as f64, n2 as f64);
    let variance = |p: f64, n: u64| div_or_zero(p * (1.0 - p), n as f64);

    let difference = p2 - p1;
    let margin = Z_95 * (variance(p1, n1) + variance(p2, n2)).sqrt();
    let difference_ci = Interval {
        low: difference - margin,
        high: difference + margin,
    };

    let uplift = (p1 > 0.0).then(|| p2 / p1 - 1.0);
    // A rate > 0 implies its group has visitors, so the n * p divisions are safe.
    let uplift_ci = (p1 > 0.0 && p2 > 0.0).then(|| {
        let ratio = p2 / p1;
        let se = ((1.0 - p1) / (n1 as f64 * p1) + (1.0 - p2) / (n2 as f64 * p2)).sqrt();
        Interval {
            low: ratio * (-Z_95 * se).exp() - 1.0,
            high: ratio * (Z_95 * se).exp() - 1.0,
        }
    });

    let z = if n1 == 0 || n2 == 0 {
        None
    } else {
        let (n1f, n2f) = (n1 as f64, n2 as f64);
        let pooled = (c1 as f64 + c2 as f64) / (n1f + n2f);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
        (se > 0.0).then(|| difference / se)
    };
    // 2·Φ(-|z|) rather than 2·(1 - Φ(|z|)) keeps tiny p-values from rounding to 0.
    let p_value = z.map(|z| (2.0 * normal_cdf(-z.abs())).min(1.0));

    let chance_to_beat_control = if n1 == 0 && n2 == 0 {
        0.5
    } else {
        let control = (1.0 + c1 as f64, 1.0 + (n1 - c1) as f64);
        let variant = (1.0 + c2 as f64, 1.0 + (n2 - c2) as f64);
        if variant.0 <= EXACT_ALPHA_LIMIT {
            prob_beats_exact(control, variant)
        } else {
            prob_beats_normal(control, variant)
        }
    };

    Comparison {
        control_rate: p1,
        variant_rate: p2,
        difference,
        difference_ci,
        uplift,
        uplift_ci,
        z,
        p_value,
        chance_to_beat_control,
    }
}

/// P(X_b > X_a) for X_a ~ Beta(a.0, a.1), X_b ~ Beta(b.0, b.1), integer b.0 (Evan Miller):
/// Σ_{i<α_b} B(α_a+i, β_a+β_b) / ((β_b+i) B(1+i, β_b) B(α_a, β_a)).
fn prob_beats_exact((alpha_a, beta_a): (f64, f64), (alpha_b, beta_b): (f64, f64)) -> f64 {
    // Only the first term needs ln_beta; consecutive terms differ by the rational factor
    // (α_a+i)(β_b+i) / ((α_a+β_a+β_b+i)(i+1)). Accumulating that in log space avoids
    // ~6 ln_gamma calls per term and the cancellation of huge ln_gamma values when
    // visitor counts are large, while still surviving an underflowing first term.
    let mut ln_term = ln_beta(alpha_a, beta_a + beta_b) - ln_beta(alpha_a, beta_a);
    let mut total = 0.0;
    let mut i = 0.0;
    while i < alpha_b {
        total += ln_term.exp();
        ln_term +=
            ((alpha_a + i) * (beta_b + i) / ((alpha_a + beta_a + beta_b + i) * (i + 1.0))).ln();
        i += 1.0;
    }
    total.clamp(0.0, 1.0)
}

/// Same probability, approximating each beta posterior by a normal with its mean and variance.
fn prob_beats_normal((alpha_a, beta_a): (f64, f64), (alpha_b, beta_b): (f64, f64)) -> f64 {
    let moments = |a: f64, b: f64| {
        let s = a + b;
        (a / s, a * b / (s * s * (s + 1.0)))
    };
    let (mean_a, var_a) = moments(alpha_a, beta_a);
    let (mean_b, var_b) = moments(alpha_b, beta_b);
    // alpha, beta >= 1 keep both variances strictly positive.
    normal_cdf((mean_b - mean_a) / (var_a + var_b).sqrt())
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleRatio {
    pub chi_square: f64,
    pub p_value: f64,
    /// true when p_value < SRM_THRESHOLD
    pub mismatch: bool,
    /// expected visitors per group given the weights (0 for ignored groups)
    pub expected: Vec<f64>,
}

/// Chi-square goodness of fit of observed visitors per variant against the weights.
///
/// Weights need not sum to 1; groups whose weight is 0, negative, non-finite or missing
/// (weights shorter than observed) are ignored. Fewer than 2 usable groups or 0 total
/// visitors yields chi_square 0, p_value 1, no mismatch. df = usable groups - 1.
pub fn sample_ratio(observed: &[u64], weights: &[f64]) -> SampleRatio {
    let weight = |i: usize| {
        let w = weights.get(i).copied().unwrap_or(0.0);
        if w.is_finite() && w > 0.0 {
            w
        } else {
            0.0
        }
    };
    // Scale by the largest weight so absurd (but finite) weights cannot overflow the sum.
    let max_weight = (0..observed.len()).map(weight).fold(0.0, f64::max);
    let share: Vec<f64> = (0..observed.len())
        .map(|i| div_or_zero(weight(i), max_weight))
        .collect();
    let share_sum: f64 = share.iter().sum();
    let groups = share.iter().filter(|&&s| s > 0.0).count();
    let total: f64 = observed
        .iter()
        .zip(&share)
        .filter(|&(_, &s)| s > 0.0)
        .map(|(&o, _)| o as f64)
        .sum();
    let expected: Vec<f64> = share
        .iter()
        .map(|s| total * div_or_zero(*s, share_sum))
        .collect();

    let chi_square = if groups < 2 || total == 0.0 {
        0.0
    } else {
        observed
            .iter()
            .zip(&expected)
            .filter(|&(_, &e)| e > 0.0)
            .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
            .sum()
    };
    // chi_square_sf already maps a zero statistic or zero df to p = 1.
    let p_value = chi_square_sf(chi_square, groups.saturating_sub(1) as f64);
    SampleRatio {
        chi_square,
        p_value,
        mismatch: p_value < SRM_THRESHOLD,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // References: mpmath at 40 digits unless noted (python's math.lgamma for ln Γ).
    fn close(actual: f64, expected: f64, relative_tol: f64) {
        let err = ((actual - expected) / expected).abs();
        assert!(
            err <= relative_tol,
            "{actual} vs {expected} (rel err {err:e})"
        );
    }

    /// NaN for None, so a missing value fails whichever comparison follows.
    fn some(value: Option<f64>) -> f64 {
        value.unwrap_or(f64::NAN)
    }

    fn bounds(interval: Option<Interval>) -> (f64, f64) {
        interval.map_or((f64::NAN, f64::NAN), |i| (i.low, i.high))
    }

    #[test]
    fn normal_cdf_matches_reference() {
        // Relative tolerance throughout: the lower tail must not degrade to absolute accuracy.
        for (z, expected) in [
            (0.0, 0.5),
            (0.5, 0.691_462_461_274_013_1),
            (1.96, 0.975_002_104_851_779_6),
            (3.0, 0.998_650_101_968_369_9),
            (8.0, 0.999_999_999_999_999_4),
            (-1.96, 0.024_997_895_148_220_436),
            (-5.0, 2.866_515_718_791_939e-7),
            (-8.0, 6.220_960_574_271_784e-16),
            (-20.0, 2.753_624_118_606_233_7e-89),
        ] {
            close(normal_cdf(z), expected, 1e-12);
        }
        assert_eq!((normal_cdf(-40.0), normal_cdf(40.0)), (0.0, 1.0));
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        close(ln_gamma(3.0), 2f64.ln(), 1e-14);
        close(ln_gamma(0.5), 0.5 * PI.ln(), 1e-14);
        close(ln_gamma(-0.5), (2.0 * PI.sqrt()).ln(), 1e-14);
        close(ln_gamma(10.0), 362_880f64.ln(), 1e-14);
        close(ln_gamma(20_000.5), 178_070.669_987_172_4, 1e-14);
        assert!(ln_gamma(0.0).is_infinite());
    }

    #[test]
    fn chi_square_sf_matches_reference() {
        for (x, df, expected) in [
            (3.841_458_820_694_124, 1.0, 0.05),
            (0.5, 1.0, 0.479_500_122_186_953_5),
            (5.0, 2.0, (-2.5f64).exp()),
            (7.814_727_903_251_178, 3.0, 0.05),
            (1.0, 3.0, 0.801_251_956_901_200_8),
            (100.0, 3.0, 1.554_159_431_389_605e-21),
            (18.307_038_053_275_146, 10.0, 0.05),
            (0.1, 10.0, 0.999_999_997_502_048_7),
            (5.0, 10.0, 0.891_178_018_914_151_2),
            (40.0, 10.0, 1.694_474_393_006_738_4e-5),
        ] {
            close(chi_square_sf(x, df), expected, 1e-12);
        }
        for (x, df) in [(0.0, 1.0), (f64::NAN, 1.0), (3.0, 0.0), (3.0, f64::NAN)] {
            assert_eq!(chi_square_sf(x, df), 1.0);
        }
    }

    #[test]
    fn textbook_significant_example() {
        let c = compare(1000, 300, 1000, 350);
        assert_eq!((c.control_rate, c.variant_rate), (0.3, 0.35));
        close(c.difference, 0.05, 1e-14);
        // pooled p = 0.325, z = 0.05 / sqrt(0.325 · 0.675 · 2/1000)
        close(some(c.z), 2.387_049_580_131_442_6, 1e-12);
        close(some(c.p_value), 0.016_984_200_582_130_61, 1e-10);
        // 0.05 ± 1.96 · sqrt(0.3·0.7/1000 + 0.35·0.65/1000)
        close(c.difference_ci.low, 0.009_003_658_699_830_289, 1e-12);
        close(c.difference_ci.high, 0.090_996_341_300_169_69, 1e-12);
        close(some(c.uplift), 1.0 / 6.0, 1e-12);
        // (7/6) · exp(±1.96 · sqrt(0.7/300 + 0.65/350)) - 1
        let (low, high) = bounds(c.uplift_ci);
        close(low, 0.027_647_552_344_324_255, 1e-12);
        close(high, 0.324_492_145_197_127_44, 1e-12);
        // mpmath quadrature of ∫ I_x(301, 701) f(x; 351, 651) dx; Monte Carlo gave 0.99157.
        close(c.chance_to_beat_control, 0.991_489_427_374_966, 1e-3);
    }

    #[test]
    fn non_significant_example() {
        let c = compare(1000, 100, 1000, 105);
        close(some(c.z), 0.368_617_411_571_762_2, 1e-12);
        close(some(c.p_value), 0.712_412_915_599_754_5, 1e-10);
        assert!(c.difference_ci.low < 0.0 && c.difference_ci.high > 0.0);
        let (low, high) = bounds(c.uplift_ci);
        assert!(low < 0.0 && high > 0.0);
    }

    #[test]
    fn chance_to_beat_control_properties() {
        close(compare(500, 50, 500, 50).chance_to_beat_control, 0.5, 1e-9);
        let forward = compare(40, 10, 50, 7).chance_to_beat_control;
        let backward = compare(50, 7, 40, 10).chance_to_beat_control;
        close(forward, 0.095_296_707_972_066_69, 1e-10); // term-by-term sum in mpmath
        close(forward + backward, 1.0, 1e-10);
    }

    #[test]
    fn exact_and_normal_paths_agree_near_switch() {
        let (control, variant) = ((19_801.0, 80_201.0), (19_951.0, 80_051.0));
        let exact = prob_beats_exact(control, variant);
        close(exact, 0.799_683_851_993_335_7, 1e-9); // term-by-term sum in mpmath
        assert!((exact - prob_beats_normal(control, variant)).abs() < 0.005);
        // Just past the switch compare() takes the normal path and stays consistent.
        let past = compare(100_000, 20_100, 100_000, 20_000).chance_to_beat_control;
        let exact_past = prob_beats_exact((20_101.0, 79_901.0), (20_001.0, 80_001.0));
        assert!((past - exact_past).abs() < 0.005);
    }

    #[test]
    fn zero_and_degenerate_inputs_stay_finite() {
        // Debug prints every field, Options included, so this catches NaN/inf anywhere.
        let finite = |c: &Comparison| {
            let text = format!("{c:?}");
            !text.contains("NaN") && !text.contains("inf")
        };
        let empty = compare(0, 0, 0, 0);
        assert!(finite(&empty));
        assert_eq!((empty.uplift, empty.z, empty.p_value), (None, None, None));
        assert_eq!(empty.chance_to_beat_control, 0.5);

        let none = compare(100, 0, 100, 0);
        assert!(finite(&none));
        assert_eq!((none.uplift, none.uplift_ci, none.z), (None, None, None));
        close(none.chance_to_beat_control, 0.5, 1e-9);

        let all = compare(10, 10, 10, 10);
        assert!(finite(&all));
        assert_eq!((all.uplift, all.z, all.p_value), (Some(0.0), None, None));

        let clamped = compare(10, 50, 0, 3);
        assert!(finite(&clamped));
        assert_eq!((clamped.control_rate, clamped.variant_rate), (1.0, 0.0));
        assert!(finite(&compare(u64::MAX, u64::MAX / 3, 1, 0)));
    }

    #[test]
    fn srm_two_way() {
        let s = sample_ratio(&[5_000, 4_500], &[0.5, 0.5]);
        close(s.chi_square, 26.315_789_473_684_21, 1e-12);
        close(s.p_value, 2.899_088_282_877_565e-7, 1e-10);
        assert!(s.mismatch);
        assert_eq!(s.expected, vec![4_750.0, 4_750.0]);

        let ok = sample_ratio(&[5_000, 4_960], &[1.0, 1.0]);
        close(ok.p_value, 0.688_565_605_843_997_1, 1e-10);
        assert!(!ok.mismatch);
    }

    #[test]
    fn srm_three_way_uses_two_degrees_of_freedom() {
        let s = sample_ratio(&[2_000, 3_100, 4_900], &[20.0, 30.0, 50.0]);
        close(s.chi_square, 16.0 / 3.0, 1e-12);
        close(s.p_value, (-s.chi_square / 2.0).exp(), 1e-12);
        assert!(!s.mismatch);
        // A zero-weight group is ignored entirely, leaving the broken 2-group split.
        let two = sample_ratio(&[5_000, 123, 4_500], &[0.5, 0.0, 0.5]);
        close(two.p_value, 2.899_088_282_877_565e-7, 1e-10);
        assert_eq!(two.expected[1], 0.0);
    }

    #[test]
    fn srm_degenerate_inputs() {
        for s in [
            sample_ratio(&[], &[]),
            sample_ratio(&[0, 0], &[0.5, 0.5]),
            sample_ratio(&[10, 20], &[1.0, 0.0]),
            sample_ratio(&[10, 20], &[1.0]),
            sample_ratio(&[10, 20], &[f64::NAN, f64::INFINITY]),
        ] {
            assert_eq!((s.chi_square, s.p_value, s.mismatch), (0.0, 1.0, false));
            assert!(s.expected.iter().all(|e| e.is_finite()));
        }
        let huge = sample_ratio(&[10, 10], &[f64::MAX, f64::MAX]);
        assert_eq!(huge.expected, vec![10.0, 10.0]);
    }
}
