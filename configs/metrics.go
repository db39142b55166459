package configs

// Metrics is the Prometheus endpoint. It listens apart from the webhook, so that
// /metrics is never reachable from WeChat's side of the load balancer.
type Metrics struct {
	// Addr serves /metrics (e.g. "127.0.0.1:9090"); empty: no metrics endpoint.
	// Environment: MINYUAN_METRICS_ADDR.
	Addr string `yaml:"addr"`
}
