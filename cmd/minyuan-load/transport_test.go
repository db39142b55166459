package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func echoServer(t *testing.T, keepAlive bool) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sleep") != "" {
			time.Sleep(200 * time.Millisecond)
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(bytes.ToUpper(b))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.SetKeepAlivesEnabled(keepAlive)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post(t *testing.T, c *http.Client, url, body string) (string, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestConnTransportReusesAtMostMaxConnections(t *testing.T) {
	for _, keepAlive := range []bool{true, false} {
		srv, conns := echoServer(t, keepAlive)
		tr := newConnTransport(strings.TrimPrefix(srv.URL, "http://"), 4)
		c := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				for j := range 20 {
					body := strings.Repeat("ab", i*50+j)
					got, err := post(t, c, srv.URL+"/x?a=1", body)
					if err != nil || got != strings.ToUpper(body) {
						t.Errorf("keep-alive %v: got %q, %v", keepAlive, got, err)
					}
				}
			})
		}
		wg.Wait()
		tr.Close()
		if n := conns.Load(); keepAlive && n > 4 || !keepAlive && n != 320 {
			t.Errorf("keep-alive %v: %d connections", keepAlive, n)
		}
	}
}

func TestConnTransportRedialsAClosedIdleConnection(t *testing.T) {
	srv, conns := echoServer(t, true)
	tr := newConnTransport(strings.TrimPrefix(srv.URL, "http://"), 1)
	c := &http.Client{Transport: tr}
	if got, err := post(t, c, srv.URL, "a"); err != nil || got != "A" {
		t.Fatalf("got %q, %v", got, err)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if got, err := post(t, c, srv.URL, "b"); err != nil || got != "B" {
		t.Fatalf("after the server closed the connection: got %q, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestConnTransportKeepsToTheDeadline(t *testing.T) {
	srv, _ := echoServer(t, true)
	tr := newConnTransport(strings.TrimPrefix(srv.URL, "http://"), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"?sleep=1", strings.NewReader("a"))
	t0 := time.Now()
	_, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil || time.Since(t0) > 150*time.Millisecond {
		t.Fatalf("err %v after %s", err, time.Since(t0))
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err %v", err)
	}
	// The connection was dropped and its slot freed: the next request gets one.
	if got, err := post(t, &http.Client{Transport: tr}, srv.URL, "b"); err != nil || got != "B" {
		t.Fatalf("got %q, %v", got, err)
	}
}
