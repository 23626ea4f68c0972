// Package manifold implements the manifold projections that mHC
// (Manifold-Constrained Hyper-Connections, arXiv 2512.24880) applies to the
// per-token residual-mixing logits, with their exact backward passes, and the
// "Amax gain" stability instruments used to judge the result.
//
// # Orientation
//
// Every n×n matrix in this package is row-major and uses the paper's
// orientation: H[i*n+j] is the weight of input stream j in output stream i,
// so output stream i is Σ_j H[i,j]·x_j. Row sums of H are the forward gain,
// column sums are the backward (gradient) gain. DeepSeek's released code
// stores the transpose (comb[src][dst] = H[dst][src]); weights loaded from it
// must be transposed before they are handed to this package.
//
// # Projections
//
// [Sinkhorn] maps one token's logits to a (nearly) doubly stochastic H:
//
//   - [Paper]: Eq. 9 of the paper. M0 = exp(L − colmax(L)), then Iters rounds
//     of (normalise columns, normalise rows). The last step normalises rows,
//     so rows sum to 1 to rounding error and the truncation error of the
//     finite iteration lands in the column sums.
//   - [DeepSeek]: the order of DeepSeek's released kernels, with their
//     epsilons: column softmax + eps, row normalisation, then Iters−1 rounds of
//     (column, row) normalisation, each denominator being sum+eps.
//   - [Lite]: mHC-lite (arXiv 2601.05732): n! logits, H = Σ_k softmax(w)_k P_k
//     over all permutation matrices, exactly doubly stochastic (n ≤ 4).
//
// Backward is exact reverse mode through the unrolled iteration (not implicit
// differentiation at the fixed point). It stores nothing between Forward and
// Backward except the logits: Backward recomputes the forward trajectory into
// the caller's [Workspace] and then sweeps it in reverse, which makes one
// Backward cost about two Forwards.
//
// Internally the iteration is carried in scaling form, every intermediate
// being diag(r)·M0·diag(c), so the stored trajectory is M0 plus two
// n-vectors per step rather than 2t matrices. Storage is float32 at the API;
// all internal arithmetic (trajectory, sums, reciprocals, gradients) is
// float64. No call allocates once a Workspace exists.
//
// # Instruments
//
// [ForwardGain], [BackwardGain] and [MaxLogColSum] measure a single matrix;
// [Composite] builds the forward (H_l···H_1) and backward (H_L···H_l)
// composites over depth, and [Analyze] reports all gains per layer, as in
// Figs. 3, 7 and 8 of the paper.
package manifold
