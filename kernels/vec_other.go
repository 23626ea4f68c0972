//go:build !amd64 || purego

package kernels

// vecAVX2 is always false without the amd64 assembly; the stubs below are
// never called.
var vecAVX2 = false

func axpyAVX2(alpha float32, x, y *float32, n int)                    { panic("unreachable") }
func scaleAVX2(alpha float32, x *float32, n int)                      { panic("unreachable") }
func addAVX2(dst, a, b *float32, n int)                               { panic("unreachable") }
func dotAVX2(x, y *float32, n int) float32                            { panic("unreachable") }
func sumSquaresAVX2(x *float32, n int) float64                        { panic("unreachable") }
func maxAVX2(x *float32, n int) float32                               { panic("unreachable") }
func mulScaledAVX2(out, x, w *float32, n int, s float32)              { panic("unreachable") }
func expAffineSumAVX2(dst, src *float32, n int, a, b float32) float64 { panic("unreachable") }
func swigluAVX2(out, gate, up *float32, n int)                        { panic("unreachable") }
func swigluBackAVX2(dg, du, dout, gate, up *float32, n int)           { panic("unreachable") }

func adamwAVX2(p, grad, m, v *float32, n int, h *adamHyper)       { panic("unreachable") }
func ropeAVX2(a, b, c, s *float32, n int, dir float32)            { panic("unreachable") }
func rmsBackAVX2(dx, dw, dy, x, w *float32, n int, rs, c float32) { panic("unreachable") }
func dot3AVX2(a, b, c *float32, n int) float32                    { panic("unreachable") }
