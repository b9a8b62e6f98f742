package viz

import (
	"fmt"
	"html"
	"strconv"
	"strings"
)

// TokenRow is one tokenizer's view of a text for Tokens: the token strings and, optionally,
// their ids and byte spans [start, end) in the original text.
type TokenRow struct {
	// Name of the tokenizer, shown at the start of the row ("GPT-2 BPE", "bert-base-chinese").
	Name   string
	Tokens []string
	// IDs, if not nil, has one id per token.
	IDs []int
	// Spans, if not nil, has one [start, end) byte range per token.
	Spans [][2]int
}

var chipColors = []string{"#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5", "#d7f4f2", "#fce1c7", "#e4f1c4"}

// visible shows whitespace in a token: space as ␣, newline as ↵, tab as →.
func visible(tok string) string {
	return strings.NewReplacer(" ", "␣", "\n", "↵", "\t", "→").Replace(tok)
}

// Tokens draws each tokenizer's tokens as coloured chips, one row per tokenizer, so the
// same text can be compared across tokenizers; under each chip are its id and byte span
// (start–end, end exclusive), repeated on hover. Whitespace is made visible (␣ ↵ →).
// Rows show their token count.
func Tokens(rows ...TokenRow) *Chart {
	var b strings.Builder
	b.WriteString(`<div class="divellm-tokens" style="font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;font-size:14px;line-height:1.2">`)
	for r, row := range rows {
		if row.IDs != nil && len(row.IDs) != len(row.Tokens) {
			return errChart("Tokens", fmt.Errorf("row %d (%s): %d ids for %d tokens", r, row.Name, len(row.IDs), len(row.Tokens)))
		}
		if row.Spans != nil && len(row.Spans) != len(row.Tokens) {
			return errChart("Tokens", fmt.Errorf("row %d (%s): %d spans for %d tokens", r, row.Name, len(row.Spans), len(row.Tokens)))
		}
		fmt.Fprintf(&b, `<div style="margin:6px 0"><div style="color:#555;font-size:12px;margin-bottom:2px">%s · %d 个 token</div><div style="display:flex;flex-wrap:wrap;gap:2px">`,
			html.EscapeString(row.Name), len(row.Tokens))
		for i, tok := range row.Tokens {
			tip := fmt.Sprintf("#%d %q", i, tok)
			if row.IDs != nil {
				tip += fmt.Sprintf(" id=%d", row.IDs[i])
			}
			if row.Spans != nil {
				tip += fmt.Sprintf(" bytes [%d,%d)", row.Spans[i][0], row.Spans[i][1])
			}
			fmt.Fprintf(&b, `<span class="divellm-chip" title="%s" style="display:inline-flex;flex-direction:column;align-items:center;background:%s;border-radius:3px;padding:1px 3px">`,
				html.EscapeString(tip), chipColors[i%len(chipColors)])
			fmt.Fprintf(&b, `<span style="white-space:pre">%s</span>`, html.EscapeString(visible(tok)))
			var sub []string
			if row.IDs != nil {
				sub = append(sub, strconv.Itoa(row.IDs[i]))
			}
			if row.Spans != nil {
				sub = append(sub, fmt.Sprintf("%d–%d", row.Spans[i][0], row.Spans[i][1]))
			}
			if sub != nil {
				fmt.Fprintf(&b, `<span style="font-size:10px;color:#666;white-space:nowrap">%s</span>`, strings.Join(sub, " · "))
			}
			b.WriteString(`</span>`)
		}
		b.WriteString(`</div></div>`)
	}
	b.WriteString(`</div>`)
	return &Chart{name: "tokens", html: b.String()}
}
