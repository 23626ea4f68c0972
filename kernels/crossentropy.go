package kernels

import "math"

// CrossEntropy computes the fused softmax + negative log-likelihood of rows
// rows of logits (rows×V, row-major) against targets (rows entries, each in
// [0, V); out-of-range targets panic) and returns the SUM over the rows of
//
//	loss_r = log Σ_j exp(logits[r,j]) − logits[r,targets[r]]
//
// evaluated stably as log(Σ_j exp(x_j − m)) + m − x_t (m = row max) with the
// sum and the final combination in float64, so huge logits (±1e4) give
// finite results. If dlogits != nil it is OVERWRITTEN (rows×V) with
//
//	dlogits[r,j] = scale * (softmax(logits[r])_j − [j == targets[r]])
//
// (scale is typically 1/(number of tokens in the batch)). dlogits may alias
// logits (the same slice). Serial; parallelise over row sub-ranges and add the
// returned partial losses.
func CrossEntropy(dlogits, logits []float32, targets []int32, rows, V int, scale float32) float64 {
	if rows <= 0 {
		return 0
	}
	logits, targets = logits[:rows*V], targets[:rows]
	if dlogits != nil {
		dlogits = dlogits[:rows*V]
	}
	var total float64
	v := vecs()
	for r, t := range targets {
		x := logits[r*V : (r+1)*V]
		xt := x[t] // before dlogits (maybe aliasing x) is written
		m := maxfV(v, x)
		if dlogits == nil {
			s := expAffineSumV(v, nil, x, 1, m)
			total += math.Log(s) + float64(m) - float64(xt)
			continue
		}
		d := dlogits[r*V : (r+1)*V]
		s := expAffineSumV(v, d, x, 1, m)
		total += math.Log(s) + float64(m) - float64(xt)
		scaleV(v, float32(float64(scale)/s), d)
		d[t] -= scale
	}
	return total
}
