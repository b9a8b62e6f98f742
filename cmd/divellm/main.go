// Command divellm is the one CLI over divellm's packages: tokenize, attention, pretrain,
// generate, fill-mask, eval, bench, kernel, run, …  Each subcommand lives in its own file
// and registers itself in init with [register].
//
// Errors in usage (bad flags, missing files, empty text) print one line on stderr and exit 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout io.Writer) error
}

var commands = map[string]*command{}

// register adds a subcommand; called from init functions.
func register(name, summary string, run func(args []string, stdout io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("divellm: duplicate command " + name)
	}
	commands[name] = &command{name: name, summary: summary, run: run}
}

// usageError marks errors caused by the user's input (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usage error (exit code 2).
func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// newFlags returns a FlagSet that reports errors instead of exiting or printing usage noise.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("divellm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args (flags may appear before or after positional arguments) and
// turns flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("usage: %s", flagUsage(fs))
			}
			return nil, usagef("%v", err)
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

// flagUsage lists a FlagSet's flags in one line.
func flagUsage(fs *flag.FlagSet) string {
	var parts []string
	fs.VisitAll(func(f *flag.Flag) { parts = append(parts, "--"+f.Name) })
	return fs.Name() + " " + strings.Join(parts, " ")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "divellm: unknown command %q (run 'divellm help')\n", args[0])
		return 2
	}
	err := safeRun(cmd, args[1:], stdout)
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "divellm %s: %s\n", cmd.name, msg)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// safeRun runs a command and turns a panic into an error, so users never see a stack trace.
func safeRun(cmd *command, args []string, stdout io.Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return cmd.run(args, stdout)
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "divellm — Dive into LLMs, in Go. Usage: divellm COMMAND [flags] [args]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}
