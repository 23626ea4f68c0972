package cost

import "github.com/mhc-go/mhc/hyper"

// Options are the inputs of Plan beyond the model and the device.
type Options struct {
	Stages    int   // pipeline stages; ≤ 1: no pipeline
	Workers   []int // data-parallel worker counts to predict
	GradBytes int   // bytes per gradient element all-reduced (4: float32)
}

// IOTable is the connection's per-token, per-sublayer forward I/O (ConnIO)
// for the plain residual and, for HC/mHC, with Table 2's kernels (Unfused)
// and with the paper's fused kernels (Fused).
type IOTable struct {
	Residual IO  `json:"residual"`
	Unfused  *IO `json:"unfused,omitempty"`
	Fused    *IO `json:"fused,omitempty"`
}

// Report is everything `mhc plan` prints, for one model on one device.
type Report struct {
	Arch        Arch     `json:"config"`
	Device      Device   `json:"device"`
	Params      Params   `json:"params"`
	ConnFormula string   `json:"conn_params_formula"`
	IO          IOTable  `json:"io"`
	FLOPs       FLOPs    `json:"flops"`
	Memory      Memory   `json:"activation_memory"`
	Pipeline    Pipeline `json:"pipeline"`
	// Steps are roofline estimates: the residual baseline, then for HC/mHC
	// unfused, fused and fused with recomputation. Selected indexes the one
	// that matches how the model is run (the engine: its own kernels, which
	// have the fused layout, without recomputation; otherwise fused with
	// recomputation, the paper's setup); DataParallel scales that one.
	Steps        []StepTime     `json:"steps"`
	Selected     int            `json:"selected"`
	DataParallel []DataParallel `json:"data_parallel"`
}

// Plan computes the Report of a on d. a must be valid (Arch.Validate).
func Plan(a Arch, d Device, o Options) (Report, error) {
	if err := a.Validate(); err != nil {
		return Report{}, err
	}
	r := Report{Arch: a, Device: d, Params: a.Params(), ConnFormula: ConnFormula(a.Conn.Kind)}
	n := a.Conn.Streams
	r.IO.Residual = ConnIO(hyper.Residual, 1, a.D, false)
	if a.Conn.Kind != hyper.Residual {
		u, f := ConnIO(a.Conn.Kind, n, a.D, false), ConnIO(a.Conn.Kind, n, a.D, true)
		r.IO.Unfused, r.IO.Fused = &u, &f
	}
	var err error
	if r.Memory, err = a.ActivationMemory(o.Stages); err != nil {
		return Report{}, err
	}
	r.Pipeline = a.PipelineTraffic(max(o.Stages, 1), d)

	base := a.AsResidual().Roofline(d, Variant{})
	r.Steps = []StepTime{base}
	run := Variant{Fused: true, Recompute: !a.Engine()}
	r.FLOPs = a.FLOPs(run)
	if a.Conn.Kind != hyper.Residual {
		for _, v := range []Variant{{}, {Fused: true}, {Fused: true, Recompute: true}} {
			s := a.Roofline(d, v)
			s.Overhead = s.Step/base.Step - 1
			if v == run {
				r.Selected = len(r.Steps)
			}
			r.Steps = append(r.Steps, s)
		}
	}
	gb := o.GradBytes
	if gb < 1 {
		gb = 4
	}
	r.DataParallel = DataParallelScaling(r.Steps[r.Selected].Step, r.Params.Total, gb, d, o.Workers)
	return r, nil
}
