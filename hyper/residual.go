package hyper

import "github.com/mhc-go/mhc/kernels"

// residual is the plain Pre-Norm residual: u = x, x' = x + y (n = 1).
type residual struct{ c int }

func (r residual) Pre(x, u []float32, N int) { copy(u[:N*r.c], x[:N*r.c]) }

func (r residual) Post(x, y, xOut []float32, N int) {
	n := N * r.c
	kernels.Add(xOut[:n], x[:n], y[:n])
}

func (r residual) PostBackward(x, y, dxOut, dy, dx []float32, N int) {
	n := N * r.c
	copy(dy[:n], dxOut[:n])
	copy(dx[:n], dxOut[:n])
}

func (r residual) PreBackward(x, du, dx []float32, N int) {
	n := N * r.c
	kernels.Axpy(1, du[:n], dx[:n])
}
