package core

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// jsonCases are inputs with their json.Valid answer, covering every branch
// of ValidJSON.
var jsonCases = []struct {
	in   string
	want bool
}{
	{``, false},
	{` `, false},
	{"\t\r\n 1 \t\r\n", true},
	{"\v1", false},
	{"1\f", false},
	{`null`, true},
	{`true`, true},
	{`false`, true},
	{`nul`, false},
	{`tru`, false},
	{`fals`, false},
	{`nulll`, false},
	{`True`, false},
	{`0`, true},
	{`-0`, true},
	{`-`, false},
	{`+1`, false},
	{`01`, false},
	{`-01`, false},
	{`10`, true},
	{`1.`, false},
	{`1.5`, true},
	{`.5`, false},
	{`1.5e`, false},
	{`1e5`, true},
	{`1E+5`, true},
	{`1e-05`, true},
	{`1e+`, false},
	{`1.e5`, false},
	{`-1.25e-10`, true},
	{`1x`, false},
	{`1 2`, false},
	{`Infinity`, false},
	{`NaN`, false},
	{`""`, true},
	{`"`, false},
	{`"abc`, false},
	{`"a\"b"`, true},
	{`"\\"`, true},
	{`"\/\b\f\n\r\t"`, true},
	{`"\a"`, false},
	{`"\'"`, false},
	{`"\`, false},
	{`"\u00e9"`, true},
	{`"\uD800"`, true}, // lone surrogate: json.Valid accepts it
	{`"\uABCDef"`, true},
	{`"\u12"`, false},
	{`"\u12G4"`, false},
	{`"\u"`, false},
	{"\"a\x00\"", false},
	{"\"a\x1f\"", false},
	{"\"a\x7f\"", true},
	{"\"\xff\xfe\"", true}, // ill-formed UTF-8: json.Valid accepts it
	{"\"é€😀\"", true},
	{"\"tab\there\"", false},
	{`[]`, true},
	{`[ ]`, true},
	{`[`, false},
	{`]`, false},
	{`[1,]`, false},
	{`[,1]`, false},
	{`[1 2]`, false},
	{`[1,2 , 3 ]`, true},
	{`[[[]]]`, true},
	{`[[]`, false},
	{`[]]`, false},
	{`{}`, true},
	{`{ }`, true},
	{`{`, false},
	{`}`, false},
	{`{"a":1}`, true},
	{`{"a" : 1 , "b":[true,{"c":null}]}`, true},
	{`{"a"}`, false},
	{`{"a":}`, false},
	{`{"a":1,}`, false},
	{`{,"a":1}`, false},
	{`{a:1}`, false},
	{`{1:1}`, false},
	{`{"a":1 "b":2}`, false},
	{`{"a":1]`, false},
	{`[1}`, false},
	{`{"a":[1}`, false},
	{`{"a":{"b":{}}}`, true},
	{`{"a":1}{}`, false},
	{`{"a":1} x`, false},
}

func TestValidJSONTable(t *testing.T) {
	for _, c := range jsonCases {
		if got := ValidJSON([]byte(c.in)); got != c.want {
			t.Errorf("ValidJSON(%q) = %v, want %v", c.in, got, c.want)
		}
		if std := json.Valid([]byte(c.in)); std != c.want {
			t.Errorf("table is wrong: json.Valid(%q) = %v", c.in, std)
		}
	}
}

// TestValidJSONDepth: nesting is accepted up to 10000 levels and refused
// beyond, as by encoding/json, for arrays, objects and both mixed.
func TestValidJSONDepth(t *testing.T) {
	nest := func(depth int, open, close string) []byte {
		return []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
	}
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, kind := range []struct{ open, close string }{{"[", "]"}, {`{"k":`, "}"}, {`[{"k":`, "}]"}} {
			d := depth
			if len(kind.open) > 5 {
				d = depth / 2
				if depth%2 == 1 {
					d++
				}
			}
			in := nest(d, kind.open, kind.close)
			got, want := ValidJSON(in), json.Valid(in)
			if got != want {
				t.Errorf("depth %d of %s: ValidJSON = %v, json.Valid = %v", depth, kind.open, got, want)
			}
		}
	}
	if !ValidJSON(nest(maxJSONDepth, "[", "]")) || ValidJSON(nest(maxJSONDepth+1, "[", "]")) {
		t.Error("the depth limit is not exactly 10000")
	}
}

// TestValidJSONAllocs: validation never allocates.
func TestValidJSONAllocs(t *testing.T) {
	in := []byte(`{"a":[1,2.5e3,"x\u00e9\n",true,false,null,{"b":{}}]}`)
	if n := testing.AllocsPerRun(100, func() { ValidJSON(in) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// FuzzValidJSON is the differential test: ValidJSON and json.Valid agree
// on every input.
func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c.in))
	}
	for _, name := range goldenEnvelopes {
		f.Add(readGolden(f, name))
	}
	f.Add(bytes.Repeat([]byte("["), 10001))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	data := []byte(`{"blob":"` + strings.Repeat("x", 245) + `"}`)
	for _, v := range []struct {
		name string
		fn   func([]byte) bool
	}{{"ValidJSON", ValidJSON}, {"json.Valid", json.Valid}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if !v.fn(data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// TestValidJSONStringWords: a special byte is found at every position
// within and across the 8-byte words the string scanner skips.
func TestValidJSONStringWords(t *testing.T) {
	for pos := range 24 {
		for _, c := range []byte{0x00, 0x1f, 0x20, '"', '\\', 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff} {
			body := bytes.Repeat([]byte{'a'}, 24)
			body[pos] = c
			for _, in := range [][]byte{
				append(append([]byte(`"`), body...), '"'),
				append(append([]byte(`["`), body...), `"]`...),
			} {
				if got, want := ValidJSON(in), json.Valid(in); got != want {
					t.Errorf("ValidJSON(%q) = %v, json.Valid = %v", in, got, want)
				}
			}
		}
	}
}
