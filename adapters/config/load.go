package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rustok/rustok-iggy/core"
)

// EnvConfigPath names the environment variable LoadFromEnv reads.
const EnvConfigPath = "RUSTOK_IGGY_CONFIG"

// MaxFileSize is the largest configuration document accepted, in bytes.
const MaxFileSize = 1 << 20

// ErrInvalidConfig is wrapped by every error of this package about the
// content of a configuration (syntax, unknown keys, types, unset variables
// and Validate's problems). It wraps core.ErrInvalid.
var ErrInvalidConfig = fmt.Errorf("%w: config", core.ErrInvalid)

// Load reads and parses the YAML file at path (see Parse). Errors name the
// file.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// LoadFromEnv loads the file named by RUSTOK_IGGY_CONFIG, or returns
// Default() when the variable is unset or empty.
func LoadFromEnv() (Config, error) {
	if path := os.Getenv(EnvConfigPath); path != "" {
		return Load(path)
	}
	return Default(), nil
}

// Parse reads one YAML document over Default(), expands environment
// variables in scalar values, and validates the result. An empty document
// gives the defaults. The returned error lists every problem found.
func Parse(b []byte) (Config, error) {
	if len(b) > MaxFileSize {
		return Config{}, fmt.Errorf("%w: document is larger than %d bytes", ErrInvalidConfig, MaxFileSize)
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil
		}
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: yaml: only one document is allowed", ErrInvalidConfig)
	}
	w := walker{lookup: os.LookupEnv, seen: make(map[*yaml.Node]bool), paths: make(map[int]string)}
	w.walk(&doc, reflect.TypeFor[Config](), "")
	if len(w.errs) > 0 {
		return Config{}, errors.Join(w.errs...)
	}
	if err := doc.Decode(&cfg); err != nil {
		return Config{}, w.typeErrors(err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// walker checks keys against the config types (the KnownFields rule, with
// the key's path) and expands ${VAR} in scalar values, before the tree is
// decoded.
type walker struct {
	lookup func(string) (string, bool)
	errs   []error
	// seen holds the nodes already walked: an aliased node is expanded
	// once, and alias chains cost linear time.
	seen map[*yaml.Node]bool
	// paths maps a line to the key path of the deepest value on it ("" if
	// the line holds unrelated keys), to name the key in the decoder's
	// type errors.
	paths map[int]string
}

func (w *walker) fail(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("%w: line %d: %s: %s", ErrInvalidConfig, n.Line, displayPath(path), fmt.Sprintf(format, args...)))
}

// typeErrors turns the decoder's errors into one error per problem, each
// naming the key path of its line where known.
func (w *walker) typeErrors(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			if p := w.paths[line]; p != "" {
				_, rest, _ := strings.Cut(msg, ":")
				msg = fmt.Sprintf("line %d: %s:%s", line, p, rest)
			}
		}
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
	}
	return errors.Join(errs...)
}

func displayPath(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n == nil || w.seen[n] {
		return
	}
	w.seen[n] = true
	if old, ok := w.paths[n.Line]; path != "" {
		switch {
		case !ok, strings.HasPrefix(path, old):
			w.paths[n.Line] = path // the deepest key on the line
		case !strings.HasPrefix(old, path):
			w.paths[n.Line] = "" // two keys on one line: name neither
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		w.walk(n.Alias, t, path)
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct {
			return // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			if k.Tag == "!!merge" { // <<: *anchor merges a mapping here
				w.walk(v, t, path)
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				w.fail(k, sub, "unknown key %q (known keys at %s: %s)", k.Value, displayPath(path), strings.Join(fieldNames(t), ", "))
				continue
			}
			w.walk(v, f.Type, sub)
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value, w.lookup)
		if err != nil {
			w.fail(n, path, "%v", err)
			return
		}
		if v == n.Value {
			return
		}
		n.Value = v
		if t.Kind() == reflect.String {
			// A string field stays a string whatever the value looks like.
			n.Tag = "!!str"
		} else if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // resolve the expanded text as a plain scalar
		}
	}
}

// yamlFields maps a struct's yaml keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f
		}
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

// expand replaces ${VAR} and ${VAR:-default} in s; $${ is a literal ${.
// A $ not followed by { stays as it is.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("bad variable name %q in ${%s}", name, expr)
		}
		val, ok := lookup(name)
		switch {
		case hasDef && val == "":
			val = def
		case !ok:
			return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
		}
		b.WriteString(val)
		i += 2 + end + 1
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
