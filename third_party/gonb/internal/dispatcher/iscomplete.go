package dispatcher

import (
	"go/scanner"
	"go/token"
	"strings"

	"github.com/janpfeifer/gonb/internal/goexec"
	"github.com/janpfeifer/gonb/internal/kernel"
	"github.com/janpfeifer/gonb/internal/specialcmd"
	"github.com/pkg/errors"
	"k8s.io/klog/v2"
)

// handleIsCompleteRequest answers an is_complete_request, which consoles (jupyter console,
// JupyterLab's console) send when the user presses Enter: run the code, or wait for more
// lines. See [IsComplete].
func handleIsCompleteRequest(msg kernel.Message) error {
	content, _ := msg.ComposedMsg().Content.(map[string]any)
	code, _ := content["code"].(string)
	status, indent := IsComplete(code)
	reply := map[string]any{"status": status}
	if status == "incomplete" {
		reply["indent"] = indent
	}
	klog.V(2).Infof("is_complete_reply: %q", status)
	if err := msg.Reply("is_complete_reply", reply); err != nil {
		return errors.WithMessagef(err, "replying to 'is_complete_request'")
	}
	return nil
}

// IsComplete classifies a cell's code for is_complete_request: "incomplete" while a
// bracket, a raw string or a block comment is open, or the last line ends in an operator
// or a comma (indent is one tab per open bracket); "invalid" for a closing bracket without
// its opener, or a line-bound literal left open; "complete" otherwise (the compiler
// reports the remaining errors when the cell runs). Lines that are GoNB special commands
// ("%…", "!…") and special cells ("%%writefile" …) are complete as they are.
func IsComplete(code string) (status, indent string) {
	lines := strings.Split(code, "\n")
	if strings.TrimSpace(code) == "" {
		return "complete", ""
	}
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if !specialcmd.IsGoCell(lines[first]) {
		return "complete", ""
	}
	cont := false // the previous special-command line ended in a backslash
	for i, l := range lines {
		t := strings.TrimSpace(goexec.TrimGonbCommentPrefix(l))
		if cont || strings.HasPrefix(t, "%") || strings.HasPrefix(t, "!") {
			lines[i] = "" // special commands and "%%" are not Go
			cont = strings.HasSuffix(t, "\\")
		}
	}
	src := []byte(strings.Join(lines, "\n"))
	fset := token.NewFileSet()
	file := fset.AddFile("cell.go", -1, len(src))
	var errs []string
	var s scanner.Scanner
	s.Init(file, src, func(_ token.Position, msg string) { errs = append(errs, msg) }, scanner.ScanComments)
	var open []token.Token
	last := token.ILLEGAL
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			open = append(open, tok)
		case token.RPAREN, token.RBRACK, token.RBRACE:
			want := map[token.Token]token.Token{token.RPAREN: token.LPAREN, token.RBRACK: token.LBRACK, token.RBRACE: token.LBRACE}[tok]
			if len(open) == 0 || open[len(open)-1] != want {
				return "invalid", ""
			}
			open = open[:len(open)-1]
		case token.COMMENT:
			continue
		case token.SEMICOLON:
			if lit == "\n" {
				continue // inserted at a line end
			}
		}
		last = tok
	}
	for _, e := range errs {
		switch {
		case strings.Contains(e, "raw string literal not terminated"), strings.Contains(e, "comment not terminated"):
			return "incomplete", strings.Repeat("\t", len(open))
		default:
			return "invalid", ""
		}
	}
	if len(open) > 0 {
		return "incomplete", strings.Repeat("\t", len(open))
	}
	if last.IsOperator() && last != token.INC && last != token.DEC && last != token.RPAREN &&
		last != token.RBRACK && last != token.RBRACE && last != token.SEMICOLON {
		return "incomplete", ""
	}
	return "complete", ""
}
