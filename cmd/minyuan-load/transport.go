package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// connTransport is an HTTP/1.1 keep-alive transport for one host that does each
// exchange on the caller's goroutine: write the request, read the whole answer, put
// the connection back. http.Transport hands every request to a reader and a writer
// goroutine of its connection; against a slow server each hand-off is a wake-up on
// the machine the server shares, and the load tool's CPU per message then depends on
// how fast the server answers. It dials at most max connections.
type connTransport struct {
	addr  string
	idle  chan *bufConn
	slots chan struct{} // one per connection open or being dialled
	dial  net.Dialer
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// maxAnswer bounds what is read of one answer; a passive reply is a few kilobytes.
const maxAnswer = 1 << 20

func newConnTransport(addr string, max int) *connTransport {
	return &connTransport{addr: addr, idle: make(chan *bufConn, max), slots: make(chan struct{}, max)}
}

func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if host := req.URL.Host; host != t.addr && net.JoinHostPort(host, "80") != t.addr {
		return nil, fmt.Errorf("transport for %s asked for %s", t.addr, host)
	}
	ctx := req.Context()
	c, reused, err := t.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := exchange(ctx, c, req)
	if err != nil && reused && ctx.Err() == nil && req.GetBody != nil &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		// The server closed the idle connection before the request reached it, as
		// http.Transport also assumes: once more on a new one.
		c.Close()
		<-t.slots
		if req.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
		if c, _, err = t.get(ctx); err != nil {
			return nil, err
		}
		resp, err = exchange(ctx, c, req)
	}
	if err != nil {
		c.Close()
		<-t.slots
		return nil, err
	}
	if resp.Close {
		c.Close()
		<-t.slots
	} else {
		t.idle <- c
	}
	return resp, nil
}

// exchange writes req on c and reads the whole answer, bounded by ctx's deadline and
// cut short when ctx ends.
func exchange(ctx context.Context, c *bufConn, req *http.Request) (*http.Response, error) {
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline) // zero: none
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(c.w); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	if _, err := c.r.Peek(1); err != nil {
		return nil, err // io.EOF: nothing came back, which ReadResponse would blur
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > maxAnswer {
		return nil, errors.New("answer too long")
	}
	var body []byte
	if resp.ContentLength >= 0 {
		body = make([]byte, resp.ContentLength)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
		if err == nil && len(body) > maxAnswer {
			err = errors.New("answer too long")
		}
	}
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// get is an idle connection (reused) or a new one.
func (t *connTransport) get(ctx context.Context) (c *bufConn, reused bool, err error) {
	select {
	case c := <-t.idle:
		return c, true, nil
	default:
	}
	select {
	case c := <-t.idle:
		return c, true, nil
	case t.slots <- struct{}{}:
		conn, err := t.dial.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			<-t.slots
			return nil, false, err
		}
		return &bufConn{Conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}, false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// Close closes the idle connections.
func (t *connTransport) Close() {
	for {
		select {
		case c := <-t.idle:
			c.Close()
			<-t.slots
		default:
			return
		}
	}
}
