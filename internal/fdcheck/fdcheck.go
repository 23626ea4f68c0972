// Package fdcheck checks analytic gradients against finite differences: the
// one checker every Backward in mhc is proven with before use.
//
// A full finite-difference Jacobian costs two evaluations per input; the
// directional check costs four per direction. It draws a direction v with
// N(0, 1) elements, computes the derivative of f along v with the
// fourth-order central stencil
//
//	D = (8·(f(x+hv) − f(x−hv)) − (f(x+2hv) − f(x−2hv))) / 12h
//
// (Richardson extrapolation of the plain central difference: truncation
// error O(h⁴)), and compares it with the analytic g·v. A wrong element of g
// shows up as a mismatch for almost every v.
package fdcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tolerance of Directional: |D − g·v| ≤ RelTol·max(|D|, |g·v|) + AbsTol. The
// values suit float32 forward passes of O(1) losses at h = 1e-3..1e-2.
const (
	RelTol = 2e-3
	AbsTol = 2e-4
)

// Directional compares the derivative of f at x along a random direction
// (drawn from rng) with the analytic gradient g (same length as x). f must
// read x; x is perturbed in place and restored before returning. It returns
// an error naming both values when they disagree beyond the tolerance.
func Directional[T float32 | float64](f func() float64, x []T, g []float32, rng *rand.Rand, h float64) error {
	if len(g) != len(x) {
		return fmt.Errorf("gradient has %d elements, input %d", len(g), len(x))
	}
	v := make([]float64, len(x))
	var analytic float64
	for i := range v {
		v[i] = rng.NormFloat64()
		analytic += v[i] * float64(g[i])
	}
	saved := append([]T(nil), x...)
	at := func(s float64) float64 {
		for i := range x {
			x[i] = saved[i] + T(s*v[i])
		}
		return f()
	}
	numeric := (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
	copy(x, saved)
	if diff := math.Abs(numeric - analytic); !(diff <= RelTol*math.Max(math.Abs(numeric), math.Abs(analytic))+AbsTol) {
		return fmt.Errorf("finite difference %.6g, backward %.6g (diff %.3g)", numeric, analytic, diff)
	}
	return nil
}

// Gradient returns the central-difference gradient of f at x, one element at
// a time: (f(x+h·e_i) − f(x−h·e_i)) / 2h. f must read x; x is perturbed in
// place and restored. It costs 2·len(x) evaluations, so it suits small inputs
// and float64 reference functions, where it is accurate to ~h² + ε/h.
func Gradient[T float32 | float64](f func() float64, x []T, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		orig := x[i]
		x[i] = orig + T(h)
		fp := f()
		x[i] = orig - T(h)
		fm := f()
		x[i] = orig
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}
