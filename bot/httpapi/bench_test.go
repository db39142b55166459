package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"minyuan/bot/httpapi"
)

// BenchmarkLogCall is POST /api/v1/hotline/calls end to end over HTTP against the
// real Redis: each call a new call_id (a ticket filed, the caller log written).
// Report calls/s with: go test ./bot/httpapi -run '^$' -bench LogCall -benchtime 3s
func BenchmarkLogCall(b *testing.B) {
	e := newAPIB(b)
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := goodCall(fmt.Sprintf("bench-%d", i))
			body["caller"] = fmt.Sprintf("139%08d", i%5000)
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/hotline/calls", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+goodToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func newAPIB(b *testing.B) *apiEnv {
	return newAPIFor(b, func(c *httpapi.Config) { c.RateLimit = 1 << 30 })
}
