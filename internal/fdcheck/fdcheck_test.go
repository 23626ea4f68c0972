package fdcheck

import (
	"math"
	"math/rand/v2"
	"testing"
)

// f(x) = Σ sin(x_i)·x_i² has gradient cos(x_i)·x_i² + 2·x_i·sin(x_i). The
// checker accepts it and rejects it with one element wrong, in float32 and
// float64, and leaves x as it found it.
func TestDirectional(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x32 := make([]float32, 50)
	x64 := make([]float64, 50)
	for i := range x32 {
		x32[i] = float32(rng.NormFloat64())
		x64[i] = float64(x32[i])
	}
	grad := func(x []float64) []float32 {
		g := make([]float32, len(x))
		for i, v := range x {
			g[i] = float32(math.Cos(v)*v*v + 2*v*math.Sin(v))
		}
		return g
	}
	f32 := func() float64 {
		var s float64
		for _, v := range x32 {
			s += math.Sin(float64(v)) * float64(v) * float64(v)
		}
		return s
	}
	f64 := func() float64 {
		var s float64
		for _, v := range x64 {
			s += math.Sin(v) * v * v
		}
		return s
	}
	g := grad(x64)
	before := append([]float32(nil), x32...)
	if err := Directional(f32, x32, g, rng, 1e-2); err != nil {
		t.Errorf("float32, right gradient: %v", err)
	}
	if err := Directional(f64, x64, g, rng, 1e-3); err != nil {
		t.Errorf("float64, right gradient: %v", err)
	}
	for i := range x32 {
		if x32[i] != before[i] {
			t.Fatalf("x[%d] changed: %v → %v", i, before[i], x32[i])
		}
	}
	g[7] += 0.5
	if err := Directional(f32, x32, g, rng, 1e-2); err == nil {
		t.Error("float32: wrong gradient accepted")
	}
	if err := Directional(f64, x64, g, rng, 1e-3); err == nil {
		t.Error("float64: wrong gradient accepted")
	}
	if err := Directional(f64, x64, g[:3], rng, 1e-3); err == nil {
		t.Error("length mismatch accepted")
	}
}

// Gradient matches the analytic gradient of a smooth function and restores x.
func TestGradient(t *testing.T) {
	x := []float64{0.3, -1.2, 2.5}
	f := func() float64 { return x[0]*x[0]*x[1] + math.Exp(x[2]) }
	want := []float64{2 * x[0] * x[1], x[0] * x[0], math.Exp(x[2])}
	got := Gradient(f, x, 1e-6)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-7*(1+math.Abs(want[i])) {
			t.Errorf("d/dx%d = %v, want %v", i, got[i], want[i])
		}
	}
	if x[0] != 0.3 || x[1] != -1.2 || x[2] != 2.5 {
		t.Errorf("x changed: %v", x)
	}
}
