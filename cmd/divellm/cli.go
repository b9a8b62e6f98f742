package main

// The CLI contract. Every command is a [command] whose run function receives a [cmdCtx]
// and returns (result, error):
//
//	define(&command{name: "eval", summary: "…", usage: "--model MODEL --data FILE [flags]",
//		run: func(c *cmdCtx) (any, error) {
//			model := c.String("model", "", "the model …")
//			batch := c.Int("batch", 16, 1, 4096, "windows per batch")
//			rest, err := c.Parse()
//			…
//			return evalJSON{…}, nil
//		}})
//
// The runner, not the command, prints the result: with --json (added to every command)
// as one line of JSON without HTML escaping, otherwise as text (the result's writeText
// method, or JSON when it has none). A result is printed even when an error comes with
// it (a partial result such as `run`'s summary of failed notebooks). The error becomes
// one line on stderr and the exit code: 2 for a [usageError] (made with usagef where the
// bad input is detected), 1 for anything else (a corrupt checkpoint, a failed write).
// -h/--help anywhere before "--" prints the command's full help on stdout and exits 0.
//
// Flags are declared on the context with their bounds (c.Int, c.Float reject values
// outside [lo, hi] and non-finite floats while parsing) and old names are kept with
// c.Alias. Commands that print as they go (progress, logs) write to c.stderr, or to
// c.log(), which is stdout for text output and stderr under --json so stdout stays one
// JSON line.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// command is one subcommand (or one task of a command group such as pipeline).
type command struct {
	name    string
	summary string // one line, for `divellm help`
	usage   string // the arguments after the command's name, e.g. "--model MODEL [flags] TEXT"
	run     func(c *cmdCtx) (any, error)

	// subs makes the command a group (pipeline TASK, bench NAME, kernel SUB): the first
	// argument picks one of them; subNoun names them in messages ("pipeline task").
	subs    map[string]*command
	subNoun string

	// legacy is a command registered with [register]: it parses its own flags and
	// prints its own output.
	legacy func(args []string, stdout io.Writer) error
}

// cmdCtx is what a command runs with: its arguments, its output streams, and the flags
// it declares.
type cmdCtx struct {
	name   string // "generate", "pipeline fill-mask"
	cmd    *command
	args   []string
	stdout io.Writer
	stderr io.Writer
	json   bool // --json was given

	fs      *flag.FlagSet
	aliases map[string]string // alias → canonical name
	order   []string          // canonical names in declaration order
	bad     error             // the first out-of-range value met while parsing
}

func newCtx(name string, cmd *command, args []string, stdout, stderr io.Writer) *cmdCtx {
	c := &cmdCtx{name: name, cmd: cmd, args: args, stdout: stdout, stderr: stderr, aliases: map[string]string{}}
	c.fs = flag.NewFlagSet("divellm "+name, flag.ContinueOnError)
	c.fs.SetOutput(io.Discard)
	c.fs.Usage = func() {}
	return c
}

// log is where a command writes progress and notes: stdout for text output, stderr
// under --json (so stdout holds only the JSON line). Valid after Parse.
func (c *cmdCtx) log() io.Writer {
	if c.json {
		return c.stderr
	}
	return c.stdout
}

// ---- flags ----

// String declares a string flag.
func (c *cmdCtx) String(name, def, usage string) *string {
	p := new(string)
	c.fs.StringVar(p, name, def, usage)
	c.order = append(c.order, name)
	return p
}

// Bool declares a boolean flag.
func (c *cmdCtx) Bool(name string, def bool, usage string) *bool {
	p := new(bool)
	c.fs.BoolVar(p, name, def, usage)
	c.order = append(c.order, name)
	return p
}

// Duration declares a duration flag (e.g. 90s, 10m) that must be positive.
func (c *cmdCtx) Duration(name string, def time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = def
	c.fs.Var(&durationValue{c: c, name: name, p: p}, name, usage)
	c.order = append(c.order, name)
	return p
}

// Int declares an integer flag whose value must lie in [lo, hi]. "1e6"-style values
// are accepted when they are whole numbers.
func (c *cmdCtx) Int(name string, def, lo, hi int, usage string) *int {
	p := new(int)
	*p = def
	c.fs.Var(&intValue{c: c, name: name, p: p, lo: lo, hi: hi}, name, usage)
	c.order = append(c.order, name)
	return p
}

// Uint64 declares an unsigned integer flag (seeds).
func (c *cmdCtx) Uint64(name string, def uint64, usage string) *uint64 {
	p := new(uint64)
	*p = def
	c.fs.Var(&uint64Value{c: c, name: name, p: p}, name, usage)
	c.order = append(c.order, name)
	return p
}

// Float declares a float flag whose value must be finite and lie in [lo, hi] (NaN and
// ±Inf are refused: a comparison such as x < 0 is false for NaN).
func (c *cmdCtx) Float(name string, def, lo, hi float64, usage string) *float64 {
	p := new(float64)
	*p = def
	c.fs.Var(&floatValue{c: c, name: name, p: p, lo: lo, hi: hi}, name, usage)
	c.order = append(c.order, name)
	return p
}

// Alias makes --alias another name for the flag --name (declared before). Old flag
// names are contracts: they stay accepted under their new name.
func (c *cmdCtx) Alias(alias, name string) {
	f := c.fs.Lookup(name)
	if f == nil {
		panic("divellm: alias of undeclared flag --" + name)
	}
	c.fs.Var(f.Value, alias, "alias of --"+name)
	c.aliases[alias] = name
}

// Parse parses the command's arguments: flags may come before or after the positional
// arguments, "--" ends the flags. It adds --json to the command's flags (unless the
// command declared it), and returns a help request for -h/--help.
func (c *cmdCtx) Parse() ([]string, error) {
	if c.fs.Lookup("json") == nil {
		c.fs.BoolVar(&c.json, "json", false, "print the result as one line of JSON")
		c.order = append(c.order, "json")
	}
	if wantsHelp(c.args) {
		return nil, &helpRequest{text: c.help()}
	}
	rest, err := parseInterleaved(c.fs, c.args)
	if err != nil {
		if c.bad != nil {
			return nil, c.bad
		}
		return nil, usagef("%s (see divellm %s --help)", flagErrorText(err), c.name)
	}
	return rest, nil
}

// parseInterleaved parses args with fs, allowing positional arguments between flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// wantsHelp reports -h, -help or --help among the arguments before "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// flagErrorText rewrites the flag package's messages with the double-dash names users type.
func flagErrorText(err error) string {
	s := err.Error()
	if name, ok := strings.CutPrefix(s, "flag provided but not defined: -"); ok {
		return "unknown flag --" + strings.TrimPrefix(name, "-")
	}
	if name, ok := strings.CutPrefix(s, "flag needs an argument: -"); ok {
		return "flag --" + strings.TrimPrefix(name, "-") + " needs a value"
	}
	if strings.HasPrefix(s, "invalid ") {
		if strings.Contains(s, " for flag -") {
			return strings.Replace(s, " for flag -", " for --", 1)
		}
		return strings.Replace(s, " for -", " for --", 1)
	}
	return s
}

type intValue struct {
	c      *cmdCtx
	name   string
	p      *int
	lo, hi int
}

func (v *intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}
func (v *intValue) metavar() string { return "N" }
func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return v.c.badValue(fmt.Errorf("invalid value %q for --%s: want a whole number from %d to %d", s, v.name, v.lo, v.hi))
		}
		if f < float64(v.lo) || f > float64(v.hi) {
			return v.c.badValue(v.rangeError(s))
		}
		n = int64(f)
	}
	if n < int64(v.lo) || n > int64(v.hi) {
		return v.c.badValue(v.rangeError(s))
	}
	*v.p = int(n)
	return nil
}

// rangeError says what values --name takes.
func (v *intValue) rangeError(s string) error {
	switch v.lo {
	case 0:
		return fmt.Errorf("--%s must be ≥ 0 and at most %d, got %s", v.name, v.hi, s)
	case 1:
		return fmt.Errorf("--%s must be positive and at most %d, got %s", v.name, v.hi, s)
	}
	return fmt.Errorf("--%s must be from %d to %d, got %s", v.name, v.lo, v.hi, s)
}

type uint64Value struct {
	c    *cmdCtx
	name string
	p    *uint64
}

func (v *uint64Value) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatUint(*v.p, 10)
}
func (v *uint64Value) metavar() string { return "N" }
func (v *uint64Value) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return v.c.badValue(fmt.Errorf("invalid value %q for --%s: want a whole number from 0 to %d", s, v.name, uint64(math.MaxUint64)))
	}
	*v.p = n
	return nil
}

type floatValue struct {
	c      *cmdCtx
	name   string
	p      *float64
	lo, hi float64
}

func (v *floatValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}
func (v *floatValue) metavar() string { return "X" }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return v.c.badValue(fmt.Errorf("invalid value %q for --%s: want a number from %g to %g", s, v.name, v.lo, v.hi))
	case math.IsNaN(f) || math.IsInf(f, 0):
		return v.c.badValue(fmt.Errorf("--%s %s: want a finite number from %g to %g", v.name, s, v.lo, v.hi))
	case f < v.lo || f > v.hi:
		return v.c.badValue(fmt.Errorf("--%s must be from %g to %g, got %s", v.name, v.lo, v.hi, s))
	}
	*v.p = f
	return nil
}

type durationValue struct {
	c    *cmdCtx
	name string
	p    *time.Duration
}

func (v *durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}
func (v *durationValue) metavar() string { return "DURATION" }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return v.c.badValue(fmt.Errorf("invalid value %q for --%s: want a positive duration such as 90s or 10m", s, v.name))
	}
	*v.p = d
	return nil
}

// badValue records the first out-of-range flag value (reported as is, instead of the
// flag package's wording) and returns it.
func (c *cmdCtx) badValue(err error) error {
	if c.bad == nil {
		c.bad = usagef("%v", err)
	}
	return err
}

// ---- help ----

// helpRequest is returned by Parse for -h/--help: the runner prints text and exits 0.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// help is the command's full usage: synopsis, summary, and each flag with its
// description, default, range and aliases.
func (c *cmdCtx) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: divellm %s", c.name)
	if c.cmd != nil && c.cmd.usage != "" {
		fmt.Fprintf(&b, " %s", c.cmd.usage)
	} else {
		b.WriteString(" [flags]")
	}
	b.WriteString("\n")
	if c.cmd != nil && c.cmd.summary != "" {
		fmt.Fprintf(&b, "\n%s\n", c.cmd.summary)
	}
	b.WriteString("\nflags:\n")
	aliasesOf := map[string][]string{}
	for a, n := range c.aliases {
		aliasesOf[n] = append(aliasesOf[n], "--"+a)
	}
	var rows [][]string
	for _, name := range c.order {
		f := c.fs.Lookup(name)
		rows = append(rows, []string{"  --" + name + metavar(f), flagDescription(f, aliasesOf[name])})
	}
	rows = append(rows, []string{"  -h, --help", "print this help"})
	writeTable(&b, rows, 2)
	return b.String()
}

// metavar is the placeholder shown after a flag's name in help: " N", " X", " VALUE"…
func metavar(f *flag.Flag) string {
	if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
		return ""
	}
	if m, ok := f.Value.(interface{ metavar() string }); ok {
		return " " + m.metavar()
	}
	switch {
	case f.Name == "model":
		return " MODEL"
	case f.Name == "out" || strings.HasSuffix(f.Name, "-dir") || f.Name == "dir":
		return " DIR"
	case f.Name == "data" || f.Name == "corpus" || f.Name == "val" || f.Name == "calib" || strings.HasSuffix(f.Name, "-file"):
		return " FILE"
	}
	return " " + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// flagDescription is a flag's usage text with its default, range and aliases.
func flagDescription(f *flag.Flag, aliases []string) string {
	usage := f.Usage
	var extra []string
	switch v := f.Value.(type) {
	case *intValue:
		extra = append(extra, fmt.Sprintf("default %s; %d to %d", f.DefValue, v.lo, v.hi))
	case *floatValue:
		extra = append(extra, fmt.Sprintf("default %s; %g to %g", f.DefValue, v.lo, v.hi))
	default:
		if f.DefValue == "" {
			extra = append(extra, "default none")
		} else {
			extra = append(extra, "default "+f.DefValue)
		}
	}
	if len(aliases) > 0 {
		sort.Strings(aliases)
		extra = append(extra, "also "+strings.Join(aliases, ", "))
	}
	return usage + " (" + strings.Join(extra, "; ") + ")"
}

// groupHelp lists the subcommands of a command group.
func groupHelp(name string, g *command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: divellm %s %s\n", name, g.usage)
	if g.summary != "" {
		fmt.Fprintf(&b, "\n%s\n", g.summary)
	}
	b.WriteString("\ncommands:\n")
	var rows [][]string
	for _, n := range sortedKeys(g.subs) {
		rows = append(rows, []string{"  " + n, g.subs[n].summary})
	}
	writeTable(&b, rows, 2)
	fmt.Fprintf(&b, "\nRun 'divellm %s NAME --help' for the flags of one of them.\n", name)
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- output ----

// textResult is a result with a human-readable form (printed without --json).
type textResult interface {
	writeText(w io.Writer) error
}

// printResult prints a command's result: one JSON line with --json, else its text form.
func printResult(w io.Writer, res any, asJSON bool) error {
	if res == nil {
		return nil
	}
	if v := reflect.ValueOf(res); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	if t, ok := res.(textResult); ok && !asJSON {
		return t.writeText(w)
	}
	return writeJSON(w, res)
}

// writeJSON writes v as one line of JSON (no HTML escaping, so "<|endoftext|>" stays
// readable). The line is encoded whole before anything is written.
func writeJSON(w io.Writer, v any) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// marshalNoEscape is json.Marshal without HTML escaping, for MarshalJSON methods (the
// encoder does not undo the escapes json.Marshal makes).
func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// jsonFloat is a float64 that is written as null when it is NaN or infinite (JSON has no
// NaN), e.g. a validation loss that was never measured.
type jsonFloat float64

// MarshalJSON writes the number, or null for NaN and ±Inf.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// ---- errors ----

// usageError marks errors caused by the user's input (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usage error (exit code 2): a bad flag, a missing argument, an input
// the command cannot take.
func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitCode maps a command's error to the process exit code.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// oneLine flattens a message to one line (the contract: one line on stderr per error).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "\r", " ")
}

// ---- compatibility with the first contract ----

// newFlags returns a FlagSet for a command registered with [register]: it reports errors
// instead of exiting or printing usage noise. New commands declare flags on their cmdCtx.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("divellm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args for a [register]ed command (flags may appear before or after
// positional arguments). -h/--help becomes a help request listing every flag with its
// description and default; other flag errors become usage errors.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	name := strings.TrimPrefix(fs.Name(), "divellm ")
	if wantsHelp(args) {
		var b strings.Builder
		fmt.Fprintf(&b, "usage: divellm %s [flags]\n", name)
		if c := commands[strings.Fields(name)[0]]; c != nil && c.summary != "" {
			fmt.Fprintf(&b, "\n%s\n", c.summary)
		}
		b.WriteString("\nflags:\n")
		var rows [][]string
		fs.VisitAll(func(f *flag.Flag) {
			rows = append(rows, []string{"  --" + f.Name + metavar(f), flagDescription(f, nil)})
		})
		rows = append(rows, []string{"  -h, --help", "print this help"})
		writeTable(&b, rows, 2)
		return nil, &helpRequest{text: b.String()}
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, usagef("%s (see divellm %s --help)", flagErrorText(err), name)
	}
	return rest, nil
}

// progressOut is where [register]ed commands write progress; the runner points it at
// the stderr it was given while such a command runs. Commands under the contract use
// c.stderr instead.
var progressOut io.Writer = os.Stderr
