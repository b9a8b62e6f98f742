package display

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// This file is the client side of GoNB's display protocol: two named pipes whose paths GoNB
// puts in the cell's environment. The cell writes protocol.DisplayData values, gob-encoded,
// to $GONB_PIPE; GoNB turns each into a Jupyter display_data (or update_display_data when
// DisplayID is set) message, and writes protocol.CommValue values back on $GONB_PIPE_BACK,
// among them the acknowledgement of a sync request. It speaks the same messages as
// package gonbui, whose Display* and Sync functions it replaces here, without gonbui's
// logging and widget dependencies (klog, uuid, …): those cost about 0.13 s of build time
// in every notebook cell that imports this package.

// pipeClient is the connection to GoNB, opened on first use.
type pipeClient struct {
	mu      sync.Mutex
	enc     *gob.Encoder
	dec     *gob.Decoder
	err     error // persistent: a broken connection stays broken
	nextID  int
	waiting map[int]chan struct{} // sync id → closed when GoNB acknowledges it
}

var client = &pipeClient{waiting: map[int]chan struct{}{}}

// inGoNB reports whether GoNB started this program (it sets $GONB_PIPE).
func inGoNB() bool { return os.Getenv(protocol.GONB_PIPE_ENV) != "" }

// openLocked opens both pipes and starts reading acknowledgements; c.mu is held.
func (c *pipeClient) openLocked() error {
	if c.err != nil || c.enc != nil {
		return c.err
	}
	w, err := os.OpenFile(os.Getenv(protocol.GONB_PIPE_ENV), os.O_WRONLY, 0o600)
	if err != nil {
		c.err = fmt.Errorf("open GoNB pipe: %w", err)
		return c.err
	}
	r, err := os.OpenFile(os.Getenv(protocol.GONB_PIPE_BACK_ENV), os.O_RDONLY, 0o600)
	if err != nil {
		w.Close()
		c.err = fmt.Errorf("open GoNB back pipe: %w", err)
		return c.err
	}
	c.enc, c.dec = gob.NewEncoder(w), gob.NewDecoder(r)
	go c.read()
	return nil
}

// read delivers GoNB's acknowledgements until the back pipe closes or fails; a failure
// releases every waiting Sync.
func (c *pipeClient) read() {
	for {
		msg := &protocol.CommValue{}
		err := c.dec.Decode(msg)
		c.mu.Lock()
		if err != nil {
			if c.err == nil {
				c.err = fmt.Errorf("read GoNB back pipe: %w", err)
			}
			for id, ch := range c.waiting {
				close(ch)
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		if id, ok := msg.Value.(int); ok && msg.Address == protocol.GonbuiSyncAckAddress {
			if ch, ok := c.waiting[id]; ok {
				close(ch)
				delete(c.waiting, id)
			}
		}
		c.mu.Unlock()
	}
}

// sendLocked writes one message; c.mu is held.
func (c *pipeClient) sendLocked(d *protocol.DisplayData) error {
	if err := c.openLocked(); err != nil {
		return err
	}
	if err := c.enc.Encode(d); err != nil {
		c.err = fmt.Errorf("write GoNB pipe: %w", err)
	}
	return c.err
}

// display sends one output and waits until GoNB has received it: messages are
// asynchronous, and a large one (1 MB of HTML) is lost if the program exits first.
func (c *pipeClient) display(mime protocol.MIMEType, value any, displayID string) error {
	c.mu.Lock()
	if err := c.sendLocked(&protocol.DisplayData{Data: map[protocol.MIMEType]any{mime: value}, DisplayID: displayID}); err != nil {
		c.mu.Unlock()
		return err
	}
	id := c.nextID
	c.nextID++
	ack := make(chan struct{})
	c.waiting[id] = ack
	err := c.sendLocked(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMECommValue: &protocol.CommValue{Address: protocol.GonbuiSyncAddress, Value: id}}})
	c.mu.Unlock()
	if err != nil {
		return err
	}
	<-ack
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// show sends one output to the notebook, or reports why it could not.
func show(mime protocol.MIMEType, value any, displayID string) error {
	if err := client.display(mime, value, displayID); err != nil {
		return errors.Join(errors.New("display: notebook connection"), err)
	}
	return nil
}
