package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// Metrics appends one JSON object per line to a file (metrics.jsonl).
type Metrics struct {
	f    *os.File
	path string
}

// OpenMetrics opens (creating or appending to) path.
func OpenMetrics(path string) (*Metrics, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Metrics{f: f, path: path}, nil
}

// Write appends rec as one JSON line. A nil *Metrics discards.
func (m *Metrics) Write(rec any) error {
	if m == nil {
		return nil
	}
	if m2, ok := rec.(map[string]any); ok { // JSON has no NaN/Inf: write them as null
		for k, v := range m2 {
			switch f := v.(type) {
			case float64:
				if !finite(f) {
					m2[k] = nil
				}
			case []float64:
				if slices.ContainsFunc(f, func(x float64) bool { return !finite(x) }) {
					a := make([]any, len(f))
					for i, x := range f {
						if finite(x) {
							a[i] = x
						}
					}
					m2[k] = a
				}
			}
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	if _, err := m.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Close closes the file.
func (m *Metrics) Close() error {
	if m == nil {
		return nil
	}
	return m.f.Close()
}
