package data

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// FuzzLoaderRestore restores random and sequential loaders from arbitrary
// JSON (the "loader" of a state.json):
//
//	go test ./data -run '^$' -fuzz '^FuzzLoaderRestore$' -fuzztime 5m -parallel 1
//
// A refused state leaves the loader unchanged; an accepted one yields
// in-range windows (targets are inputs shifted by one), and its State,
// restored into a fresh loader, continues identically.
func FuzzLoaderRestore(f *testing.F) {
	tokens := make([]int32, 100)
	for i := range tokens {
		tokens[i] = int32(i)
	}
	in, tg := make([]int32, 16), make([]int32, 16)
	r, _ := NewLoader(tokens, 2, 8, 1)
	s, _ := NewSequentialLoader(tokens, 2, 8)
	for range 3 {
		for _, l := range []*Loader{r, s} {
			b, _ := json.Marshal(l.State())
			f.Add(b)
			l.Next(in, tg)
		}
	}
	f.Add([]byte(`{"mode":"random","batch":2,"seq":8,"tokens":100,"rng":"AAAA"}`))
	f.Add([]byte(`{"mode":"sequential","batch":2,"seq":8,"tokens":100,"pos":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st LoaderState
		if json.Unmarshal(b, &st) != nil {
			return
		}
		fresh := func(mode string) *Loader {
			if mode == ModeRandom {
				l, _ := NewLoader(tokens, 2, 8, 1)
				return l
			}
			l, _ := NewSequentialLoader(tokens, 2, 8)
			return l
		}
		for _, mode := range []string{ModeRandom, ModeSequential} {
			l := fresh(mode)
			before := l.State()
			if err := l.Restore(st); err != nil {
				if !reflect.DeepEqual(l.State(), before) {
					t.Fatalf("%s: a refused Restore changed the loader", mode)
				}
				continue
			}
			saved := l.State()
			for range 3 {
				if err := l.Next(in, tg); err != nil {
					t.Fatal(err)
				}
				for i := range in {
					if tg[i] != in[i]+1 || in[i] < 0 || tg[i] >= int32(len(tokens)) {
						t.Fatalf("%s: window out of place: inputs %v targets %v", mode, in, tg)
					}
				}
			}
			l2 := fresh(mode)
			if err := l2.Restore(saved); err != nil {
				t.Fatalf("%s: State of a restored loader refused: %v", mode, err)
			}
			in2, tg2 := make([]int32, 16), make([]int32, 16)
			l.Restore(saved)
			for range 3 {
				l.Next(in, tg)
				l2.Next(in2, tg2)
				if !slices.Equal(in, in2) || !slices.Equal(tg, tg2) {
					t.Fatalf("%s: restored loaders diverge", mode)
				}
			}
		}
	})
}
