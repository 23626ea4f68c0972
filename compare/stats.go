package compare

import (
	"math"
	"slices"
)

// Stat summarises a sample: its size, mean, sample standard deviation
// (n − 1 in the denominator) and the half-width of the two-sided 95 %
// confidence interval of the mean, t(0.975, n − 1)·s/√n (Student's t). Std
// and CI are NaN when N < 2: one value gives no interval.
type Stat struct {
	N             int
	Mean, Std, CI float64
	Min, Max      float64
}

// Summarize returns the Stat of xs, ignoring non-finite values.
func Summarize(xs []float64) Stat {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	s := Stat{N: len(v), Mean: Mean(v), Std: StdDev(v), CI: CI95(v), Min: math.NaN(), Max: math.NaN()}
	if len(v) > 0 {
		s.Min, s.Max = slices.Min(v), slices.Max(v)
	}
	return s
}

// Significant reports whether the 95 % interval excludes zero: N ≥ 2 and
// |Mean| > CI.
func (s Stat) Significant() bool { return s.N >= 2 && math.Abs(s.Mean) > s.CI }

// Mean is the arithmetic mean (NaN for no values).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// StdDev is the sample standard deviation, with n − 1 in the denominator
// (NaN for fewer than two values).
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	m := Mean(xs)
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// CI95 is the half-width of the two-sided 95 % confidence interval of the
// mean of xs: TQuantile(0.975, n−1)·StdDev/√n (NaN for fewer than two
// values).
func CI95(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	return TQuantile(0.975, len(xs)-1) * StdDev(xs) / math.Sqrt(float64(len(xs)))
}

// Paired returns the differences a[s] − b[s] for the keys s (seeds) present
// in both maps with finite values, in increasing key order, and those keys.
func Paired(a, b map[uint64]float64) (diffs []float64, keys []uint64) {
	for k, x := range a {
		if y, ok := b[k]; ok && !math.IsNaN(x-y) && !math.IsInf(x-y, 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		diffs = append(diffs, a[k]-b[k])
	}
	return diffs, keys
}

// TCDF is the cumulative distribution function of Student's t with df
// degrees of freedom: for t ≥ 0, 1 − I_x(df/2, 1/2)/2 with x = df/(df+t²),
// I the regularized incomplete beta function.
func TCDF(t float64, df int) float64 {
	switch {
	case df < 1 || math.IsNaN(t):
		return math.NaN()
	case math.IsInf(t, 1):
		return 1
	case math.IsInf(t, -1):
		return 0
	}
	n := float64(df)
	tail := 0.5 * regIncBeta(n/2, 0.5, n/(n+t*t)) // P(T > |t|)
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// TQuantile is the inverse of TCDF: the t with TCDF(t, df) = p, for p in
// (0, 1) and df ≥ 1 (NaN otherwise). df = 1 and 2 have closed forms; larger
// df are found by bisection on TCDF to full double precision.
func TQuantile(p float64, df int) float64 {
	if !(p > 0 && p < 1) || df < 1 {
		return math.NaN()
	}
	switch df {
	case 1:
		return math.Tan(math.Pi * (p - 0.5))
	case 2:
		return (2*p - 1) / math.Sqrt(2*p*(1-p))
	}
	if p < 0.5 {
		return -TQuantile(1-p, df)
	}
	// For df ≥ 3 the quantile at p ≤ 1 − 1e-300 is below 1e100: bracket it.
	lo, hi := 0.0, 1.0
	for TCDF(hi, df) < p {
		lo, hi = hi, 2*hi
		if hi > 1e300 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if TCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by the
// continued fraction of Numerical Recipes §6.4 (modified Lentz), using the
// symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction for I_x(a, b).
func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	// step applies one term aa of the fraction (modified Lentz) and
	// returns its factor.
	step := func(aa float64) float64 {
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		return d * c
	}
	for m := 1; m <= 1000; m++ {
		fm := float64(m)
		m2 := 2 * fm
		h *= step(fm * (b - fm) * x / ((qam + m2) * (a + m2)))
		del := step(-(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2)))
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return h
}
