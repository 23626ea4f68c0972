package hyper

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mhc-go/mhc/param"
)

// UpcycleInit names how Upcycle sets the connection parameters of a model
// converted from a plain residual one.
type UpcycleInit string

// The upcycling inits. All three give the residual model's function at step
// 0; symmetric and split exactly (up to float32 rounding), noise within a
// tolerance proportional to Upcycle.Noise.
const (
	// UpcycleSymmetric: identical streams, every dynamic weight zero. The
	// model is invariant under permuting the streams, so its gradient is
	// too: the streams stay identical for ever and H_res never acts (the
	// symmetric-init saddle).
	UpcycleSymmetric UpcycleInit = "symmetric"
	// UpcycleSplit: as symmetric, but the write-in H_post is spread
	// linearly over the streams around its mean (all values distinct, mean
	// unchanged), so the streams differ from the first sublayer on while
	// their mean — the only thing read — is the residual state. Exact, and
	// no stream permutation leaves the model unchanged.
	UpcycleSplit UpcycleInit = "split"
	// UpcycleNoise: the dynamic weights (mHC φ, HC W_α and W_β) drawn at
	// random as for training from scratch, behind gates of size Noise
	// (mHC α, HC s_α and s_β). Not exact: coefficients move by O(Noise).
	UpcycleNoise UpcycleInit = "noise"
)

// ParseUpcycleInit validates an init name.
func ParseUpcycleInit(s string) (UpcycleInit, error) {
	switch i := UpcycleInit(s); i {
	case UpcycleSymmetric, UpcycleSplit, UpcycleNoise:
		return i, nil
	}
	return "", &FieldError{"init", fmt.Sprintf("%q: want symmetric, split or noise", s)}
}

// Upcycle computes the connection parameters that make a model with an HC,
// mHC or mHC-lite connection compute exactly what a plain Pre-Norm residual
// model with the same sublayer weights computes (docs/FORMAT.md,
// "Upcycling"). The idea: keep the streams' read-in average equal to the
// residual state. With read-in weights H_pre = ω (every stream), write-in
// weights q, a mixing matrix H_res whose columns sum to 1 and an embedding
// replicated with scale e, the weighted state A(X) = ω·Σ_i X_i satisfies
//
//	A(expand) = n·ω·e·x0,   A(H_res·X + q·y) = A(X) + ω·Σq·y,
//
// so A(X) is the residual state at every depth when n·ω·e = 1 and ω·Σq = 1,
// and the sublayers read u = A(X) exactly. The contraction must return A:
//
//	mean, learned: ω = 1/n, e = 1, mean(q) = 1 (learned: weights 1/n);
//	sum (HC only): ω = 1,   e = 1/n, mean(q) = 1/n.
//
// mHC's read-in is a sigmoid (< 1), so it cannot take ω = 1 and sum is
// refused for mHC and mHC-lite; the final RMSNorm's eps makes n·x differ
// from x, so sum with e = 1 is not exact either.
type Upcycle struct {
	Init  UpcycleInit
	Split float64 // split: spread s of H_post, 0 < s < 1: q_i = mean(q)·(1 + s·(2i−(n−1))/(n−1))
	Noise float64 // noise: gate size (mHC α, HC s_α = s_β), > 0
	Seed  uint64  // noise: seed of the random dynamic weights
}

// DefaultUpcycle is the init `mhc upcycle` uses unless told otherwise.
func DefaultUpcycle() Upcycle {
	return Upcycle{Init: UpcycleSplit, Split: 0.5, Noise: 1e-3, Seed: 1}
}

// Validate reports whether cfg (the target connection) can be reached from a
// residual model with these settings. Errors are *FieldError naming the
// config.json field (conn, streams, contract, fixed) or the Upcycle field
// (init, split, noise).
func (u Upcycle) Validate(cfg Config) error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{field, fmt.Sprintf(format, args...)}
	}
	if _, err := ParseUpcycleInit(string(u.Init)); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	n := cfg.Streams
	switch {
	case cfg.Kind == Residual:
		return nil
	case n < 2:
		return bad("streams", "%d: upcycling needs at least 2 streams (mHC's read-in σ(·) = 1/n cannot reach 1)", n)
	case cfg.Fixed != Fixed{}:
		return bad("fixed", "%q: upcycling sets every map itself; fixed maps are not supported", cfg.Fixed)
	case cfg.Contract == "sum" && cfg.Kind != HC:
		return bad("contract", "sum: %s's read-in H_pre = σ(·) < 1 cannot read back streams that sum to the residual state, and n identical streams summed differ from it by the final RMSNorm's eps; use mean or learned", cfg.Kind)
	case u.Init == UpcycleSplit && !(u.Split > 0 && u.Split < 1):
		return bad("split", "%v: want 0 < s < 1", u.Split)
	case u.Init == UpcycleNoise && !(u.Noise > 0 && u.Noise <= 1):
		return bad("noise", "%v: want 0 < noise ≤ 1", u.Noise)
	}
	return nil
}

// readIn is ω, the read-in weight of every stream, and postMean the mean of
// the write-in weights q (see Upcycle).
func readIn(cfg Config) (omega, postMean float64) {
	n := float64(cfg.Streams)
	if cfg.Contract == "sum" {
		return 1, 1 / n
	}
	return 1 / n, 1
}

// EmbedScale is e, the factor the token embedding must be multiplied by so
// that the expanded streams average to the residual model's embedding: 1/n
// for HC with a sum contraction, else 1. The contracted state is then the
// residual state itself, so an untied LM head is unchanged; with tied
// embeddings the LM head is the scaled embedding, and the caller must
// multiply the final norm's weight by 1/e to keep the logits.
func (u Upcycle) EmbedScale(cfg Config) float32 {
	if cfg.Kind == HC && cfg.Contract == "sum" {
		return 1 / float32(cfg.Streams)
	}
	return 1
}

// PostWeights returns the write-in weights q (H_post, HC's beta) of every
// sublayer for cfg: mean(q) as in Upcycle, spread by Split for the split
// init, all equal otherwise.
func (u Upcycle) PostWeights(cfg Config) []float64 {
	n := cfg.Streams
	_, qbar := readIn(cfg)
	q := make([]float64, n)
	for i := range q {
		q[i] = qbar
		if u.Init == UpcycleSplit && n > 1 {
			q[i] = qbar * (1 + u.Split*float64(2*i-(n-1))/float64(n-1))
		}
	}
	return q
}

// logit is the inverse sigmoid.
func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// SetConn OVERWRITES the parameters of sublayer l's connection, registered
// under prefix in s (e.g. "blocks.3.mlp_conn"), with the upcycling values
// for cfg (which must pass Validate):
//
//	mHC, mHC-lite: φ = 0 (noise: N(0, Glorot std²)), α = 0.01 (noise: Noise),
//	  b_pre = logit(1/n) = −ln(n−1)            → H_pre = 1/n
//	  b_post_i = logit(q_i/2) = 2·atanh(q_i−1)  → H_post = q (all 1 unless split)
//	  b_res = res_bias·I (lite: res_bias on the identity permutation; any
//	  doubly stochastic H_res preserves the stream mean)
//	HC: static_alpha = [ω·1 | I], static_beta = q, dynamic weights 0 (noise:
//	  N(0, 1/C), so that h̄·W has unit variance), s_α = s_β = 0.01 (noise: Noise).
//
// The residual connection has no parameters; SetConn does nothing for it.
// Noise draws from a generator seeded by (Seed, l), so every sublayer gets
// its own stream of numbers.
func (u Upcycle) SetConn(cfg Config, s *param.Store, prefix string, l int) error {
	if cfg.Kind == Residual {
		return nil
	}
	get := func(name string, numel int) ([]float32, error) {
		t := s.Get(prefix + "." + name)
		if t == nil || t.Numel() != numel {
			return nil, fmt.Errorf("hyper: upcycle: %s.%s: missing or not %d values", prefix, name, numel)
		}
		return t.Data, nil
	}
	n := cfg.Streams
	rng := rand.New(rand.NewPCG(u.Seed, uint64(l)))
	omega, _ := readIn(cfg)
	q := u.PostWeights(cfg)
	switch cfg.Kind {
	case MHC, MHCLite:
		r := n * n
		if cfg.Kind == MHCLite {
			r = factorial(n)
		}
		p := 2*n + r
		t := s.Get(prefix + ".phi")
		if t == nil || t.Numel()%(p*n) != 0 {
			return fmt.Errorf("hyper: upcycle: %s.phi missing or not [%d, %d·C]", prefix, p, n)
		}
		phi := t.Data
		alpha, err := get("alpha", 3)
		if err != nil {
			return err
		}
		bias, err := get("bias", p)
		if err != nil {
			return err
		}
		gate := float32(0.01)
		clear(phi)
		if u.Init == UpcycleNoise {
			gate = float32(u.Noise)
			std := float64(phiStd(len(phi)/p, p))
			for i := range phi {
				phi[i] = float32(std * rng.NormFloat64())
			}
		}
		for i := range alpha {
			alpha[i] = gate
		}
		clear(bias)
		for i := 0; i < n; i++ {
			bias[i] = float32(logit(omega))
			bias[n+i] = float32(logit(q[i] / 2))
		}
		if cfg.Kind == MHCLite {
			bias[2*n] = cfg.ResBias
		} else {
			for i := 0; i < n; i++ {
				bias[2*n+i*n+i] = cfg.ResBias
			}
		}
	case HC:
		sa, err := get("static_alpha", n*(n+1))
		if err != nil {
			return err
		}
		sb, err := get("static_beta", n)
		if err != nil {
			return err
		}
		t := s.Get(prefix + ".dynamic_beta")
		if t == nil {
			return fmt.Errorf("hyper: upcycle: %s.dynamic_beta missing", prefix)
		}
		c := t.Numel()
		da, err := get("dynamic_alpha", c*(n+1))
		if err != nil {
			return err
		}
		db := t.Data
		sca, err := get("scale_alpha", 1)
		if err != nil {
			return err
		}
		scb, err := get("scale_beta", 1)
		if err != nil {
			return err
		}
		clear(sa)
		for i := 0; i < n; i++ {
			sa[i*(n+1)] = float32(omega)
			sa[i*(n+1)+1+i] = 1
			sb[i] = float32(q[i])
		}
		gate := float32(HCScaleInit)
		clear(da)
		clear(db)
		if u.Init == UpcycleNoise {
			gate = float32(u.Noise)
			std := 1 / math.Sqrt(float64(c))
			for i := range da {
				da[i] = float32(std * rng.NormFloat64())
			}
			for i := range db {
				db[i] = float32(std * rng.NormFloat64())
			}
		}
		sca[0], scb[0] = gate, gate
	default:
		return fmt.Errorf("hyper: upcycle: connection %q", cfg.Kind)
	}
	return nil
}

// SetHead OVERWRITES the learned contraction's parameters (head_conn.*) in s
// so that it averages the streams: fn = 0, scale = HeadScaleInit and base_i =
// logit(1/n − HeadWeightEps), so w_i = σ(base_i) + HeadWeightEps = 1/n. It
// does nothing for the sum and mean contractions.
func (u Upcycle) SetHead(cfg Config, s *param.Store) error {
	if cfg.Contract != "learned" {
		return nil
	}
	fn, base, scale := s.Get("head_conn.fn"), s.Get("head_conn.base"), s.Get("head_conn.scale")
	n := cfg.Streams
	if fn == nil || base == nil || scale == nil || base.Numel() != n {
		return fmt.Errorf("hyper: upcycle: head_conn.* missing or not for %d streams", n)
	}
	clear(fn.Data)
	scale.Data[0] = HeadScaleInit
	b := float32(logit(1/float64(n) - HeadWeightEps))
	for i := range base.Data {
		base.Data[i] = b
	}
	return nil
}

func factorial(n int) int {
	f := 1
	for i := 2; i <= n; i++ {
		f *= i
	}
	return f
}
