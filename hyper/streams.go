package hyper

import "fmt"

// Streams expands a (N, C) embedding into n identical streams (N, n, C) and
// contracts the final streams back to (N, C) by sum or mean (HC paper Alg. 1
// replicates and sums; Megatron uses the mean; the final RMSNorm makes the
// two equivalent up to its eps). For n = 1 both directions are copies.
type Streams struct {
	N, C int    // streams, channels
	Mode string // "sum" or "mean"
}

// NewStreams validates and returns a Streams.
func NewStreams(cfg Config, c int) (*Streams, error) {
	if cfg.Contract != "sum" && cfg.Contract != "mean" {
		return nil, fmt.Errorf("--contract %q is not implemented (want sum or mean)", cfg.Contract)
	}
	return &Streams{N: cfg.Streams, C: c, Mode: cfg.Contract}, nil
}

// Expand OVERWRITES x (T, n, C) with n copies of each row of emb (T, C).
func (s *Streams) Expand(emb, x []float32, T int) {
	n, c := s.N, s.C
	for t := 0; t < T; t++ {
		src := emb[t*c : (t+1)*c]
		for i := 0; i < n; i++ {
			copy(x[(t*n+i)*c:(t*n+i+1)*c], src)
		}
	}
}

// ExpandBackward OVERWRITES demb (T, C) with the sum over streams of dx (T, n, C).
func (s *Streams) ExpandBackward(dx, demb []float32, T int) {
	s.sum(dx, demb, T, 1)
}

func (s *Streams) scale() float32 {
	if s.Mode == "mean" {
		return 1 / float32(s.N)
	}
	return 1
}

func (s *Streams) sum(x, out []float32, T int, a float32) {
	n, c := s.N, s.C
	for t := 0; t < T; t++ {
		o := out[t*c : (t+1)*c]
		copy(o, x[t*n*c:t*n*c+c])
		for i := 1; i < n; i++ {
			xi := x[(t*n+i)*c : (t*n+i+1)*c]
			for j := range o {
				o[j] += xi[j]
			}
		}
		if a != 1 {
			for j := range o {
				o[j] *= a
			}
		}
	}
}

// Contract OVERWRITES out (T, C) with the sum or mean over streams of x (T, n, C).
func (s *Streams) Contract(x, out []float32, T int) { s.sum(x, out, T, s.scale()) }

// ContractBackward OVERWRITES dx (T, n, C) given dout (T, C).
func (s *Streams) ContractBackward(dout, dx []float32, T int) {
	n, c, a := s.N, s.C, s.scale()
	for t := 0; t < T; t++ {
		src := dout[t*c : (t+1)*c]
		for i := 0; i < n; i++ {
			d := dx[(t*n+i)*c : (t*n+i+1)*c]
			for j := range d {
				d[j] = a * src[j]
			}
		}
	}
}
