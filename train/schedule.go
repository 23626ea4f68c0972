package train

import (
	"fmt"
	"math"
)

// Schedule names a learning-rate decay after warmup.
type Schedule string

// Schedules.
const (
	// StepDecay is the mHC paper's schedule: ×0.316 at 80 % and ×0.1 at 90 % of the steps.
	StepDecay Schedule = "step"
	// Cosine decays from the peak to 10 % of it over the steps after warmup.
	Cosine Schedule = "cosine"
	// Constant keeps the peak after warmup.
	Constant Schedule = "constant"
)

// ParseSchedule validates a schedule name.
func ParseSchedule(s string) (Schedule, error) {
	switch Schedule(s) {
	case StepDecay, Cosine, Constant:
		return Schedule(s), nil
	}
	return "", &FieldError{"schedule", fmt.Sprintf("%q: want step, cosine or constant", s)}
}

// MarshalText implements encoding.TextMarshaler.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText implements encoding.TextUnmarshaler (and so flag.TextVar):
// it accepts only the known schedules.
func (s *Schedule) UnmarshalText(b []byte) error {
	v, err := ParseSchedule(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// LR returns the learning rate for step (0-based) of total steps: linear
// warmup from peak/warmup to peak over the first warmup steps, then the
// schedule.
func LR(s Schedule, peak float64, step, warmup, total int) float64 {
	if step < warmup {
		return peak * float64(step+1) / float64(warmup)
	}
	frac := float64(step) / float64(max(total, 1))
	switch s {
	case StepDecay:
		switch {
		case frac >= 0.9:
			return peak * 0.1
		case frac >= 0.8:
			return peak * 0.316
		}
		return peak
	case Cosine:
		span := max(total-warmup, 1)
		p := math.Min(1, float64(step-warmup)/float64(span))
		return peak * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*p)))
	}
	return peak
}
