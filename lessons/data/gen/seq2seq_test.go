package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// An independent reading of an alert line: the summary it must have.
var s2sLineRE = regexp.MustCompile(`^\d\d-\d\d \d\d:\d\d:\d\d \[(CRITICAL|WARNING)\] ([a-z0-9]+-\d\d) (.+)$`)

func wantSummary(source string) (string, error) {
	m := s2sLineRE.FindStringSubmatch(source)
	if m == nil {
		return "", fmt.Errorf("not an alert line")
	}
	level := map[string]string{"CRITICAL": "严重", "WARNING": "警告"}[m[1]]
	metric := m[3]
	var what string
	for _, r := range []struct{ re, out string }{
		{`^磁盘使用率 (\d+)%$`, "磁盘 ${1}%"}, {`^内存使用率 (\d+)%$`, "内存 ${1}%"}, {`^CPU 使用率 (\d+)%$`, "CPU ${1}%"},
		{`^丢包率 (\d+)%$`, "丢包 ${1}%"}, {`^连接数 (\d+)/\d+$`, "连接 ${1}"}, {`^延迟 (\d+)ms$`, "延迟 ${1}ms"},
		{`^证书剩余 (\d+) 天$`, "证书 ${1}天"}, {`^进程退出$`, "宕机"},
	} {
		re := regexp.MustCompile(r.re)
		if re.MatchString(metric) {
			what = re.ReplaceAllString(metric, r.out)
		}
	}
	if what == "" {
		return "", fmt.Errorf("unknown metric %q", metric)
	}
	return m[2] + " " + what + " " + level, nil
}

// zhValue reads a Chinese number of 0–59 (零, 十四, 二十, 三十一).
func zhValue(s string) int {
	d := map[rune]int{'零': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	r := []rune(s)
	switch {
	case len(r) == 1 && r[0] == '十':
		return 10
	case r[0] == '十':
		return 10 + d[r[1]]
	case len(r) >= 2 && r[1] == '十':
		if len(r) == 2 {
			return 10 * d[r[0]]
		}
		return 10*d[r[0]] + d[r[2]]
	case len(r) == 2 && r[0] == '零':
		return d[r[1]]
	}
	return d[r[0]]
}

var s2sDateRE = regexp.MustCompile(`^(.+)月(.+)[日号](凌晨|早上|上午|中午|下午|傍晚|晚上)(.+)点(.*)$`)

// wantTime reads a spoken date and time independently of s2sDate.
func wantTime(source string) (string, error) {
	m := s2sDateRE.FindStringSubmatch(source)
	if m == nil {
		return "", fmt.Errorf("not a spoken date")
	}
	hour := zhValue(m[4])
	afternoon := m[3] == "下午" || m[3] == "傍晚" || m[3] == "晚上" || m[3] == "中午" && hour < 12
	if afternoon && hour < 12 {
		hour += 12
	}
	minute := 0
	switch mm := strings.TrimSuffix(m[5], "分"); mm {
	case "", "整":
	case "半":
		minute = 30
	default:
		minute = zhValue(mm)
	}
	return fmt.Sprintf("%02d-%02d %02d:%02d", zhValue(m[1]), zhValue(m[2]), hour, minute), nil
}

func TestSeq2SeqTargetsAreRight(t *testing.T) {
	d := mustBuild(t)
	for name, pairs := range d.s2s {
		want := wantSummary
		if strings.HasPrefix(name, "dates") {
			want = wantTime
		}
		for _, p := range pairs {
			w, err := want(p.source)
			if err != nil || w != p.target {
				t.Errorf("%s: %q → %q, want %q (%v)", name, p.source, p.target, w, err)
			}
		}
	}
	for src, want := range map[string]string{"三月十四日凌晨两点十三分": "03-14 02:13", "十二月一号中午一点半": "12-01 13:30", "一月二十日晚上十一点": "01-20 23:00"} {
		if got, err := wantTime(src); err != nil || got != want {
			t.Errorf("wantTime(%s) = %s, %v; want %s", src, got, err, want)
		}
	}
}

func TestSeq2SeqSplits(t *testing.T) {
	d := mustBuild(t)
	for _, task := range []string{"alerts", "dates"} {
		train, test := d.s2s[task+"_train"], d.s2s[task+"_test"]
		if len(train) < 2000 || len(test) < 200 {
			t.Errorf("%s: %d train, %d test pairs, want ≥ 2000 and ≥ 200", task, len(train), len(test))
		}
		sources, hosts, chars := map[string]bool{}, map[string]bool{}, map[rune]bool{}
		for _, p := range train {
			sources[p.source] = true
			hosts[strings.Fields(p.target)[0]] = true
			for _, r := range p.source + p.target {
				chars[r] = true
			}
		}
		copied, total := 0, 0
		for _, p := range append(append([]s2sPair(nil), train...), test...) {
			if utf8.RuneCountInString(p.source) > 48 || utf8.RuneCountInString(p.target) > 20 {
				t.Errorf("%s: %q → %q exceeds 48 → 20 characters", task, p.source, p.target)
			}
			for _, r := range p.target {
				if r != ' ' {
					total++
					if strings.ContainsRune(p.source, r) {
						copied++
					}
				}
			}
		}
		for _, p := range test {
			if sources[p.source] {
				t.Errorf("%s test source in train: %s", task, p.source)
			}
			if h := strings.Fields(p.target)[0]; task == "alerts" && hosts[h] {
				t.Errorf("alerts test host %s occurs in train", h)
			}
			for _, r := range p.source + p.target {
				if !chars[r] {
					t.Errorf("%s test character %q never occurs in train", task, r)
				}
			}
		}
		limit := map[string]int{"alerts": 80, "dates": 45}[task]
		if len(chars) > limit {
			t.Errorf("%s uses %d characters, want ≤ %d", task, len(chars), limit)
		}
		share := float64(copied) / float64(total)
		t.Logf("%s: %d characters, %.0f%% of target characters occur in the source", task, len(chars), 100*share)
		if task == "alerts" && share < 0.7 {
			t.Errorf("alerts: %.2f of the target characters occur in the source, want ≥ 0.7", share)
		}
	}
}
