// Command divellm is the one CLI over divellm's packages: tokenize, attention, pretrain,
// generate, fill-mask, eval, pipeline, quantize, download, bench, kernel, run, …  Each
// subcommand lives in its own file and adds itself in init with [define] (or, the first
// contract, [register]).
//
// Every command follows one contract (see cli.go): it returns a result, which is printed
// as text, or as one line of JSON with --json; -h/--help prints its flags with their
// descriptions and defaults and exits 0. An error prints one line on stderr and exits 2
// for a usage error (bad flags, missing arguments, an input the command cannot take) or
// 1 for a runtime error (a corrupt checkpoint, a failed write). No input leads to a Go
// stack trace.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/divellm/divellm/llm"
)

var commands = map[string]*command{}

// define adds a command under the contract of cli.go; called from init functions.
func define(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("divellm: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// defineSub adds a subcommand to the group (pipeline, bench, kernel) named group.
func defineSub(group string, c *command) {
	g := commands[group]
	if g == nil {
		panic("divellm: no command group " + group)
	}
	if g.subs == nil {
		g.subs = map[string]*command{}
	}
	if _, dup := g.subs[c.name]; dup {
		panic("divellm: duplicate command " + group + " " + c.name)
	}
	g.subs[c.name] = c
}

// register adds a command written to the first contract: run parses its own flags (with
// [newFlags] and [parseFlags], which give it --help) and prints its own output on stdout;
// its error is classified as for every command (usagef → exit 2, else 1). New commands
// use [define].
func register(name, summary string, run func(args []string, stdout io.Writer) error) {
	define(&command{name: name, summary: summary, legacy: run})
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args (without the program name) and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stdout)
		fmt.Fprintln(stderr, "divellm: no command given (run 'divellm help' for the list, 'divellm COMMAND --help' for one)")
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			return run(append(args[1:], "--help"), stdout, stderr)
		}
		printHelp(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "divellm: unknown command %q (run 'divellm help')\n", args[0])
		return 2
	}
	name := cmd.name
	res, asJSON, err := dispatch(cmd, cmd.name, args[1:], stdout, stderr, &name)
	var help *helpRequest
	if errors.As(err, &help) {
		io.WriteString(stdout, help.text)
		return 0
	}
	if perr := printResult(stdout, res, asJSON); perr != nil && err == nil {
		err = perr
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "divellm %s: %s\n", name, oneLine(err.Error()))
	return exitCode(err)
}

// dispatch runs cmd (or the subcommand its first argument names) with args. name is set
// to the full name of what ran ("pipeline fill-mask"). A panic becomes an internal
// error: users never see a stack trace.
func dispatch(cmd *command, fullName string, args []string, stdout, stderr io.Writer, name *string) (res any, asJSON bool, err error) {
	*name = fullName
	if cmd.subs != nil {
		if len(args) == 0 {
			return nil, false, usagef("usage: divellm %s %s (run 'divellm %s --help')", fullName, cmd.usage, fullName)
		}
		if wantsHelp(args[:1]) {
			return nil, false, &helpRequest{text: groupHelp(fullName, cmd)}
		}
		sub, ok := cmd.subs[args[0]]
		if !ok {
			noun := cmd.subNoun
			if noun == "" {
				noun = fullName + " command"
			}
			return nil, false, usagef("unknown %s %q (have %s)", noun, args[0], strings.Join(sortedKeys(cmd.subs), ", "))
		}
		return dispatch(sub, fullName+" "+sub.name, args[1:], stdout, stderr, name)
	}
	// Notes from the library (a checkpoint restored from its backup) go to this stderr.
	prevWarn, prevProgress := llm.Warn, progressOut
	llm.Warn = func(msg string) { fmt.Fprintln(stderr, "divellm: "+msg) }
	progressOut = stderr
	defer func() {
		llm.Warn, progressOut = prevWarn, prevProgress
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	if cmd.legacy != nil {
		return nil, false, cmd.legacy(args, stdout)
	}
	c := newCtx(fullName, cmd, args, stdout, stderr)
	res, err = cmd.run(c)
	return res, c.json, err
}

// printHelp lists the commands, one line each.
func printHelp(w io.Writer) {
	var b strings.Builder
	b.WriteString("divellm — Dive into LLMs, in Go. Usage: divellm COMMAND [flags] [args]\n\ncommands:\n")
	var rows [][]string
	for _, n := range sortedKeys(commands) {
		rows = append(rows, []string{"  " + n, firstLine(commands[n].summary)})
	}
	rows = append(rows, []string{"  help", "this list; 'divellm help COMMAND' or 'divellm COMMAND --help' shows a command's flags"})
	writeTable(&b, rows, 2)
	b.WriteString("\nEvery command takes --json (one line of JSON on stdout) and --help. Exit codes: 0 ok, 1 runtime error, 2 usage error.\n")
	io.WriteString(w, b.String())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
