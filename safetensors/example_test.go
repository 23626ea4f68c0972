package safetensors_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	tensors := []safetensors.Tensor{
		safetensors.F32("wte.weight", []int{2, 3}, []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}),
		safetensors.I32("tokens", []int{1, 2}, []int32{7, 42}),
	}
	if err := safetensors.WriteFile(path, tensors, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	w, _ := f.Get("wte.weight")
	v, err := w.Float32s()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.DType, w.Shape, v)
	fmt.Println(f.Metadata["format"])
	// Output:
	// F32 [2 3] [0.1 0.2 0.3 0.4 0.5 0.6]
	// pt
}

// ExampleEncoder streams float32 parameters straight from their buffers,
// without building byte copies first. The checksums go into the header, so
// they are computed first (ChecksumFloat32s); the Encoder checks the data
// against them as it is written, and ReadFile verifies them.
func ExampleEncoder() {
	params := map[string][]float32{"a": {1, 2}, "b": {3, 4, 5}}
	infos := []safetensors.Info{
		{Name: "a", DType: "F32", Shape: []int{2}, CRC32C: safetensors.ChecksumFloat32s(params["a"])},
		{Name: "b", DType: "F32", Shape: []int{3}, CRC32C: safetensors.ChecksumFloat32s(params["b"])},
	}
	dir, _ := os.MkdirTemp("", "safetensors-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ckpt.safetensors")
	err := safetensors.WriteAtomic(path, func(w io.Writer) error {
		e, err := safetensors.NewEncoder(w, infos, nil)
		if err != nil {
			return err
		}
		for _, in := range infos {
			if err := e.WriteFloat32s(params[in.Name]); err != nil {
				return err
			}
		}
		return e.Close()
	})
	if err != nil {
		log.Fatal(err)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range f.Tensors {
		v, _ := t.Float32s()
		fmt.Println(t.Name, v)
	}
	fmt.Println("checksummed:", f.Checksummed, f.Metadata[safetensors.ChecksumKey])
	// Output:
	// a [1 2]
	// b [3 4 5]
	// checksummed: true 28c0c9b1,29c7e07d
}
