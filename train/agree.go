package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/mhc-go/mhc/model"
)

// agree is the startup check of data-parallel training: the workers must
// train the same model, with the same options, on the same tokens, from the
// same step, with the same program; otherwise their gradients would not
// belong to one model and the run would silently be wrong.
func agree(g Group, cfg model.Config, opts Options, d *Data, st *State) error {
	step := 0
	if st != nil {
		step = st.Step
	}
	checks := []struct {
		what string
		sum  []byte
	}{
		{"model config", digestJSON(cfg)},
		{"training options and step", digestJSON(struct {
			Options
			Step int
		}{opts, step})},
		{"data (corpus " + d.Spec + ", tokenizer " + d.Tokenizer.Name() + ")", digestTokens(d)},
		{"mhc program (binary)", digestExecutable()},
	}
	for _, c := range checks {
		if err := g.Agree(c.sum, c.what); err != nil {
			return fmt.Errorf("train: workers disagree: %w", err)
		}
	}
	return nil
}

func digestJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // configs and options always marshal
	}
	h := sha256.Sum256(b)
	return h[:]
}

func digestTokens(d *Data) []byte {
	h := sha256.New()
	io.WriteString(h, d.Tokenizer.Name())
	for _, toks := range [][]int32{d.Train, d.Val} {
		binary.Write(h, binary.LittleEndian, int64(len(toks)))
		binary.Write(h, binary.LittleEndian, toks)
	}
	return h.Sum(nil)
}

// digestExecutable hashes the running binary, so that workers on several
// machines run the same code; nil (agreeing with anything) if unreadable.
func digestExecutable() []byte {
	p, err := os.Executable()
	if err != nil {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	return h.Sum(nil)
}
