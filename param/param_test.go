package param

import (
	"fmt"
	"testing"
)

func build() *Store {
	s := &Store{}
	a := s.Add("a", true, 2, 3)
	a.Init = Normal(0.5)
	b := s.Add("b", false, 4)
	b.Init = Const(1)
	s.Add("c", false, 1)
	s.Build()
	return s
}

func TestLayout(t *testing.T) {
	s := build()
	cases := []struct {
		name          string
		offset, numel int
	}{{"a", 0, 6}, {"b", 6, 4}, {"c", 10, 1}}
	for _, c := range cases {
		tn := s.Get(c.name)
		if tn.Offset != c.offset || tn.Numel() != c.numel || len(tn.Data) != c.numel || len(tn.Grad) != c.numel {
			t.Errorf("%s: offset %d numel %d, want %d %d", c.name, tn.Offset, tn.Numel(), c.offset, c.numel)
		}
	}
	if len(s.Data) != 11 || s.Numel() != 11 {
		t.Fatalf("store has %d elements, want 11", len(s.Data))
	}
	s.Get("b").Data[0] = 7
	if s.Data[6] != 7 {
		t.Fatal("tensor view does not alias the store buffer")
	}
}

func TestInitializeDeterministic(t *testing.T) {
	s1, s2 := build(), build()
	s1.Initialize(3)
	s2.Initialize(3)
	for i := range s1.Data {
		if s1.Data[i] != s2.Data[i] {
			t.Fatalf("element %d differs: %v vs %v", i, s1.Data[i], s2.Data[i])
		}
	}
	if s1.Get("b").Data[2] != 1 || s1.Get("c").Data[0] != 0 {
		t.Fatal("Const/nil init not applied")
	}
	s2.Initialize(4)
	if s1.Data[0] == s2.Data[0] {
		t.Fatal("different seeds gave the same init")
	}
}

func TestShare(t *testing.T) {
	s1, s2 := build(), build()
	s1.Initialize(1)
	if err := s2.Share(s1); err != nil {
		t.Fatal(err)
	}
	s1.Get("a").Data[1] = 42
	if s2.Get("a").Data[1] != 42 {
		t.Fatal("shared store does not see the other's weights")
	}
	other := &Store{}
	other.Add("x", true, 11)
	other.Build()
	if err := s2.Share(other); err == nil {
		t.Fatal("sharing a different layout succeeded")
	}
}

func TestAddAfterBuildPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	build().Add("late", false, 1)
}

func Example() {
	var s Store
	w := s.Add("w", true, 2, 2)
	w.Init = Const(0.5)
	s.Build()
	s.Initialize(1)
	fmt.Println(w.Data, ShapeString(w.Shape), len(s.Grad))
	// Output: [0.5 0.5 0.5 0.5] [2 2] 4
}
