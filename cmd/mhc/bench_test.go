package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mhc-go/mhc/internal/prof"
)

// TestBenchProfileSmoke runs `mhc bench train --profile` for a few steps of
// the tiny preset with mHC and checks that every phase is printed and that
// the connection phases got samples.
func TestBenchProfileSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few steps")
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"bench", "train", "--preset", "tiny", "--conn", "mhc", "--steps", "3", "--profile", "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	var got struct {
		Bench   string
		Samples int
		Phases  map[string]struct {
			CPU     float64 `json:"cpu_ms_per_step"`
			Percent float64
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, `"bench":"profile"`) {
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got.Bench != "profile" || got.Samples == 0 {
		t.Fatalf("no profile record in %q", out.String())
	}
	var sum float64
	for _, ph := range prof.Phases {
		r, ok := got.Phases[ph]
		if !ok {
			t.Errorf("phase %q missing", ph)
		}
		sum += r.Percent
	}
	if sum < 99 || sum > 101 {
		t.Errorf("phase shares sum to %.1f%%", sum)
	}
	if got.Phases[prof.GEMM].Percent == 0 {
		t.Errorf("no GEMM samples: %+v", got.Phases)
	}
	// Text form prints one row per phase.
	out.Reset()
	if rc := run([]string{"bench", "train", "--preset", "tiny", "--conn", "residual", "--steps", "1", "--profile"}, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	for _, ph := range append(prof.Phases, "total") {
		if !strings.Contains(out.String(), "  "+ph+" ") {
			t.Errorf("text output lacks phase %q:\n%s", ph, out.String())
		}
	}
}
