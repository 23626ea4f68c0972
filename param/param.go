// Package param holds a model's trainable parameters in one contiguous
// float32 buffer with named views, llm.c style: the optimizer is one loop over
// Data/Grad, a checkpoint is one walk over Tensors, and every layer keeps a
// *Tensor whose Data and Grad slices alias the shared buffers.
//
// Use: layers call Add while the model is being built (Data and Grad are nil
// until then), the model calls Build once, and from then on the tensors'
// slices are valid. Tensors are laid out in Add order.
package param

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Init fills a freshly built tensor. It must draw from rng deterministically.
type Init func(data []float32, rng *rand.Rand)

// Normal returns an Init drawing N(0, std²) values.
func Normal(std float32) Init {
	return func(data []float32, rng *rand.Rand) {
		for i := range data {
			data[i] = std * float32(rng.NormFloat64())
		}
	}
}

// Uniform returns an Init drawing values uniformly from [-bound, bound).
func Uniform(bound float32) Init {
	return func(data []float32, rng *rand.Rand) {
		for i := range data {
			data[i] = bound * float32(2*rng.Float64()-1)
		}
	}
}

// Const returns an Init setting every element to v.
func Const(v float32) Init {
	return func(data []float32, _ *rand.Rand) {
		for i := range data {
			data[i] = v
		}
	}
}

// Tensor is a named view into a Store. Shape is row-major; Data and Grad have
// length Numel() once the store is built. Decay says whether AdamW applies
// weight decay to it (matrices of linear maps and embeddings: yes; norms,
// biases, gates and static connection parameters: no).
type Tensor struct {
	Name   string
	Shape  []int
	Decay  bool
	Offset int  // element offset into Store.Data / Store.Grad
	Init   Init // how Store.Initialize fills it; nil means zeros
	Data   []float32
	Grad   []float32
}

// Numel is the number of elements, the product of Shape.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Store owns the parameter and gradient buffers.
type Store struct {
	Tensors []*Tensor
	Data    []float32 // all parameters, concatenated in Tensors order
	Grad    []float32 // gradients, same layout as Data
	byName  map[string]*Tensor
	built   bool
}

// Add registers a tensor. It panics on a duplicate name or after Build: both
// are programming errors in model construction, not user input.
func (s *Store) Add(name string, decay bool, shape ...int) *Tensor {
	if s.built {
		panic("param: Add after Build: " + name)
	}
	if s.byName == nil {
		s.byName = map[string]*Tensor{}
	}
	if _, dup := s.byName[name]; dup {
		panic("param: duplicate tensor name " + name)
	}
	t := &Tensor{Name: name, Shape: append([]int(nil), shape...), Decay: decay}
	s.Tensors = append(s.Tensors, t)
	s.byName[name] = t
	return t
}

// Build allocates Data and Grad (zeroed) and points every tensor at its slice.
func (s *Store) Build() {
	if s.built {
		return
	}
	n := 0
	for _, t := range s.Tensors {
		t.Offset = n
		n += t.Numel()
	}
	s.Data = make([]float32, n)
	s.Grad = make([]float32, n)
	for _, t := range s.Tensors {
		k := t.Numel()
		t.Data = s.Data[t.Offset : t.Offset+k : t.Offset+k]
		t.Grad = s.Grad[t.Offset : t.Offset+k : t.Offset+k]
	}
	s.built = true
}

// Initialize fills every tensor, in Add order, from one PCG stream seeded by
// seed, so the same seed and architecture give bit-identical parameters.
func (s *Store) Initialize(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6863))
	for _, t := range s.Tensors {
		if t.Init == nil {
			clear(t.Data)
			continue
		}
		t.Init(t.Data, rng)
	}
}

// Share makes s use other's parameter buffer (not its gradients): both
// stores must have been built from the same architecture. It lets a model
// built for another batch shape (e.g. sampling) run the same weights.
func (s *Store) Share(other *Store) error {
	if len(s.Tensors) != len(other.Tensors) || len(s.Data) != len(other.Data) {
		return fmt.Errorf("param: cannot share stores of different layouts")
	}
	s.Data = other.Data
	for i, t := range s.Tensors {
		if t.Name != other.Tensors[i].Name || t.Offset != other.Tensors[i].Offset {
			return fmt.Errorf("param: cannot share: tensor %d is %s here, %s there", i, t.Name, other.Tensors[i].Name)
		}
		t.Data = other.Tensors[i].Data
	}
	return nil
}

// Get returns the tensor with the given name, or nil.
func (s *Store) Get(name string) *Tensor { return s.byName[name] }

// Numel is the total number of parameters.
func (s *Store) Numel() int {
	n := 0
	for _, t := range s.Tensors {
		n += t.Numel()
	}
	return n
}

// ZeroGrad clears all gradients.
func (s *Store) ZeroGrad() { clear(s.Grad) }

// ShapeString formats a shape as "[a b c]".
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
