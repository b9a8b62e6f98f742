// Package display shows rich output (HTML, Markdown, tables, images, live progress) in a
// GoNB notebook cell, and degrades gracefully outside one.
//
// GoNB runs every cell as a separate Go program. That program talks to the kernel through a
// named pipe (GoNB's protocol, spoken here directly rather than through package gonbui,
// whose dependencies would add 0.13 s to every cell's build): each display sends one
// Jupyter display_data message, and an updatable display re-sends the whole HTML under the
// same display id, which the notebook replaces in place (update_display_data). Messages are
// asynchronous, so every helper here waits for the kernel's acknowledgement of a sync
// request before returning: without it a large output (say 1 MB of HTML) is silently lost
// when the cell's program exits right after.
//
// Outside a notebook (IsNotebook false: tests, the CLI, `go run`) the same calls still do
// something useful: text goes to stdout, tables are printed aligned, HTML and images are
// written to files under OutDir ($DIVELLM_OUT, or the system temp dir) and the path is
// printed so you can open it in a browser.
//
// This package is a leaf: it imports only GoNB's protocol definitions and the standard
// library, so that a lesson cell that displays something builds quickly.
package display
