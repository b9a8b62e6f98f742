package viz

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (file
// descriptors 3 and 4, messages of JSON ending in a NUL byte), enough to load a page,
// wait for the page to say it is done and take a screenshot. It replaces the
// --dump-dom/--screenshot command-line modes, whose virtual-time budget made Chromium hang
// before writing the screenshot in 1 run out of 3 on a busy 2-core machine; here the test
// waits for an event (the page's result marker) and nothing depends on time.

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    any             `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

type cdpClient struct {
	cmd    *exec.Cmd
	w      io.WriteCloser
	r      *bufio.Reader
	next   int
	events []cdpMessage // events read while waiting for a reply
	stderr bytes.Buffer
}

// startChromium starts headless Chromium with the DevTools protocol on a pipe. ctx bounds
// its life: when ctx ends, Chromium is killed and every call fails.
func startChromium(ctx context.Context, t *testing.T) (*cdpClient, error) {
	toChrome, chromeIn, err := os.Pipe() // Chromium reads commands on fd 3
	if err != nil {
		return nil, err
	}
	chromeOut, fromChrome, err := os.Pipe() // and writes replies on fd 4
	if err != nil {
		return nil, err
	}
	c := &cdpClient{w: chromeIn, r: bufio.NewReaderSize(chromeOut, 1<<20)}
	c.cmd = exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync",
		"--disable-quic", "--user-data-dir="+t.TempDir(), "--hide-scrollbars", "--remote-debugging-pipe", "about:blank")
	c.cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	toChrome.Close()
	fromChrome.Close()
	return c, nil
}

// read returns the next message from Chromium.
func (c *cdpClient) read() (cdpMessage, error) {
	b, err := c.r.ReadBytes(0)
	if err != nil {
		return cdpMessage{}, fmt.Errorf("devtools pipe: %w", err)
	}
	var m cdpMessage
	if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
		return cdpMessage{}, fmt.Errorf("devtools message %q: %w", b, err)
	}
	return m, nil
}

// call sends method to the browser (session "") or to a page session and decodes the
// reply's result into result (if not nil). It waits as long as the reply takes.
func (c *cdpClient) call(session, method string, params, result any) error {
	c.next++
	id := c.next
	b, err := json.Marshal(cdpMessage{ID: id, Method: method, SessionID: session, Params: params})
	if err != nil {
		return err
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		m, err := c.read()
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if m.ID != id {
			if m.Method != "" {
				c.events = append(c.events, m)
			}
			continue
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	}
}

// waitEvent waits for the event method on session.
func (c *cdpClient) waitEvent(session, method string) error {
	for i, m := range c.events {
		if m.Method == method && m.SessionID == session {
			c.events = append(c.events[:i], c.events[i+1:]...)
			return nil
		}
	}
	for {
		m, err := c.read()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", method, err)
		}
		if m.Method == method && m.SessionID == session {
			return nil
		}
	}
}

// close asks Chromium to exit and waits for it.
func (c *cdpClient) close() {
	_ = c.call("", "Browser.close", nil, nil)
	c.w.Close()
	_ = c.cmd.Wait()
}

// renderedPage is what [renderPage] got from the page.
type renderedPage struct {
	Result string // the text of the page's marker element
	DOM    string // document.documentElement.outerHTML at that moment
	PNG    []byte // screenshot of the width×height viewport
}

// renderPage loads url in a width×height viewport, waits until the page has written an
// element with id marker (the page decides when it is done: see whenDoneJS), then reads
// its text and the DOM and takes a screenshot. ctx bounds the whole run.
func renderPage(ctx context.Context, t *testing.T, url string, width, height int, marker string) (*renderedPage, error) {
	c, err := startChromium(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.close()
	fail := func(err error) (*renderedPage, error) {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (guard of the browser run: %v)", err, ctx.Err())
		}
		return nil, fmt.Errorf("%w\nchromium stderr (tail):\n%s", err, tailBytes(c.stderr.Bytes(), 3000))
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return fail(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return fail(err)
	}
	s := attached.SessionID
	if err := c.call(s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		return fail(err)
	}
	if err := c.call(s, "Page.enable", nil, nil); err != nil {
		return fail(err)
	}
	if err := c.call(s, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		return fail(err)
	}
	if err := c.waitEvent(s, "Page.loadEventFired"); err != nil {
		return fail(err)
	}
	eval := func(expr string) (string, error) {
		var r struct {
			Result struct {
				Value string `json:"value"`
			} `json:"result"`
			ExceptionDetails *struct {
				Text string `json:"text"`
			} `json:"exceptionDetails"`
		}
		err := c.call(s, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
		if err == nil && r.ExceptionDetails != nil {
			err = errors.New(r.ExceptionDetails.Text)
		}
		return r.Result.Value, err
	}
	out := &renderedPage{}
	// The page's own event: resolves when resultJS has written its marker.
	if out.Result, err = eval(`new Promise(function(done){(function poll(){var e=document.getElementById(` + strconv.Quote(marker) + `);` +
		`if(e)done(e.textContent);else setTimeout(poll,50)})()})`); err != nil {
		return fail(err)
	}
	if out.DOM, err = eval(`document.documentElement.outerHTML`); err != nil {
		return fail(err)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := c.call(s, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		return fail(err)
	}
	if out.PNG, err = base64.StdEncoding.DecodeString(shot.Data); err != nil {
		return fail(err)
	}
	return out, nil
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
