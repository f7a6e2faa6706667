// Command sdgscan measures the sensitive-data scanner beside ripgrep on the
// same corpus with the same patterns, one after the other in one run, and
// prints each one's throughput per CPU-second and per wall-second and the
// ratio. bench/sdg-scan.sh runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/holdfast/holdfast/sdg/scan"
	"github.com/holdfast/holdfast/sdg/scan/scantest"
)

// patterns are the predefined detectors' shapes as regular expressions,
// what ripgrep searches for (it cannot check digits or keywords; the
// scanner does both on top).
var patterns = []string{
	`\b(?:\d{4}[ -]){3}\d{1,4}\b`,            // card, grouped
	`\b\d{13,19}\b`,                          // card, one run
	`\b\d{4}[ -]\d{6}[ -]\d{4,5}\b`,          // Amex, Diners
	`\b\d{3}[ -]\d{2}[ -]\d{4}\b`,            // SSN
	`\b\d{9}\b`,                              // SSN unformatted, passports, SIN
	`\b\d{3}[ -]\d{3}[ -]\d{3}\b`,            // SIN
	`\b\d{4}[ -]\d{4}[ -]\d{4}\b|\b\d{12}\b`, // Aadhaar
	`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`, // IBAN
	`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`,         // email
	`\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\b\d{10}\b`,              // North American phone
	`\+\d{1,3}(?:[ -]\d{1,4}){2,5}`,                               // international phone
	`\b[A-Z]\d{7,8}\b`,                                            // passports
	`\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]?\b`,                   // UK NINO
}

func main() {
	size := flag.Int("mb", 256, "corpus size in MiB")
	rounds := flag.Int("rounds", 3, "runs of each tool; the best of each counts")
	dir := flag.String("dir", os.TempDir(), "where the corpus and the patterns are written")
	flag.Parse()
	if err := run(*size<<20, *rounds, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "sdgscan:", err)
		os.Exit(1)
	}
}

type result struct {
	cpu, wall time.Duration
	matches   int
}

func run(size, rounds int, dir string) error {
	corpus := filepath.Join(dir, "sdg-corpus.txt")
	pats := filepath.Join(dir, "sdg-patterns.txt")
	if err := os.WriteFile(corpus, scantest.Corpus(size, 1), 0o600); err != nil { // the generated text is garbage from here
		return err
	}
	defer os.Remove(corpus)
	if err := os.WriteFile(pats, []byte(strings.Join(patterns, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pats)
	s, err := scan.New(scan.Predefined(), []byte("benchmark key"))
	if err != nil {
		return err
	}
	var best [2]result
	for r := 0; r < rounds; r++ {
		ours, err := scanFile(s, corpus)
		if err != nil {
			return err
		}
		rg, err := ripgrep(pats, corpus)
		if err != nil {
			return err
		}
		for i, x := range []result{ours, rg} {
			if r == 0 || x.cpu < best[i].cpu {
				best[i] = x
			}
		}
	}
	mb := float64(size) / (1 << 20)
	fmt.Printf("corpus: %.0f MiB of text, %d predefined types, %d patterns for ripgrep, best of %d runs\n", mb, len(scan.Predefined()), len(patterns), rounds)
	fmt.Printf("%-10s %10s %10s %14s %14s %10s\n", "tool", "cpu s", "wall s", "MB/s per cpu", "MB/s wall", "matches")
	for i, name := range []string{"holdfast", "ripgrep"} {
		b := best[i]
		fmt.Printf("%-10s %10.2f %10.2f %14.0f %14.0f %10d\n", name, b.cpu.Seconds(), b.wall.Seconds(),
			mb/b.cpu.Seconds(), mb/b.wall.Seconds(), b.matches)
	}
	fmt.Printf("holdfast / ripgrep throughput: %.2fx per cpu-second, %.2fx wall\n",
		best[1].cpu.Seconds()/best[0].cpu.Seconds(), best[1].wall.Seconds()/best[0].wall.Seconds())
	return nil
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scanFile reads the corpus and scans it, as ripgrep reads and searches it,
// and summarizes what it found as the scanning job does.
func scanFile(s *scan.Scanner, path string) (result, error) {
	runtime.GC() // the garbage of earlier rounds is not this round's work
	c0, w0 := cpuNow(), time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		return result{}, err
	}
	ms := s.Scan(data)
	s.Summarize(data, ms, 3)
	n := len(ms)
	return result{cpu: cpuNow() - c0, wall: time.Since(w0), matches: n}, nil
}

// ripgrep counts the patterns' matches in the one file (one search thread).
func ripgrep(pats, path string) (result, error) {
	var out bytes.Buffer
	cmd := exec.Command("rg", "--count-matches", "--no-filename", "-f", pats, path)
	cmd.Stdout = &out
	w0 := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("rg: %w", err)
	}
	wall := time.Since(w0)
	var n int
	fmt.Sscan(out.String(), &n)
	return result{cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), wall: wall, matches: n}, nil
}
