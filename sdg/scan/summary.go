package scan

import (
	"slices"
	"strings"
)

// maxMatchLen bounds how far before a context a match may start and still
// reach into it (a custom pattern reaches at most maxSpan).
const maxMatchLen = maxSpan + 64

// Finding is what the scanner reports of one type in one item: how many
// matches, the highest confidence, a fingerprint of the values found, and
// a few redacted snippets. It carries no value in clear.
type Finding struct {
	Type       string     `json:"type"`
	Count      int        `json:"count"`
	Confidence Confidence `json:"confidence"`
	// Fingerprint is a keyed hash of the type and the distinct values
	// found (their fingerprints, sorted): the same values in any item, in
	// any order and format, give the same fingerprint, so a dismissal of it
	// holds until a new value appears.
	Fingerprint string   `json:"fingerprint"`
	Snippets    []string `json:"snippets"`
}

// Summarize groups matches (as Scan returns them for data) by type, in the
// order types first appear, keeping at most maxSnippets snippets of each.
func (s *Scanner) Summarize(data []byte, matches []Match, maxSnippets int) []Finding {
	var out []Finding
	values := map[string][]string{}
	at := map[string]int{}
	spans := make([][2]int, len(matches))
	for i, m := range matches {
		spans[i] = [2]int{m.Start, m.End}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	for _, m := range matches {
		i, ok := at[m.Type]
		if !ok {
			i = len(out)
			at[m.Type] = i
			out = append(out, Finding{Type: m.Type})
		}
		f := &out[i]
		f.Count++
		f.Confidence = max(f.Confidence, m.Confidence)
		if len(f.Snippets) < maxSnippets {
			lo, _ := slices.BinarySearchFunc(spans, m.Start-SnippetContext-maxMatchLen, func(a [2]int, t int) int { return a[0] - t })
			f.Snippets = append(f.Snippets, Redact(data, m.Start, m.End, spans[lo:]...))
		}
		values[m.Type] = append(values[m.Type], m.Fingerprint)
	}
	fp := newFingerprinter(s.key)
	for i := range out {
		v := values[out[i].Type]
		slices.Sort(v)
		v = slices.Compact(v)
		out[i].Fingerprint = fp.sum(out[i].Type, []byte(strings.Join(v, ",")))
	}
	return out
}
