package wechat

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// The library's API URLs are constants on this host; requests for it are sent to the
// configured base instead, so a forward proxy, the simulator or a test fake can stand in.
const platformHost = "api.weixin.qq.com"

// rebase sends requests for the platform's host to base.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (t rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == platformHost {
		req = req.Clone(req.Context())
		req.URL.Scheme = t.base.Scheme
		req.URL.Host = t.base.Host
		if t.base.Path != "" && t.base.Path != "/" {
			req.URL.Path = t.base.Path + req.URL.Path
		}
		req.Host = t.base.Host
	}
	return t.next.RoundTrip(req)
}

// NewHTTPClient makes the client every WeChat API call goes through.
func NewHTTPClient(baseURL string, timeout time.Duration) (*http.Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("wechat: api base url %q: %v", baseURL, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: timeout, Transport: rebase{base: u, next: tr}}, nil
}

// UseAPIBase points the library's global HTTP client at baseURL. The library has no
// per-instance client, so this is process-wide; call it once at start-up.
func UseAPIBase(baseURL string, timeout time.Duration) error {
	c, err := NewHTTPClient(baseURL, timeout)
	if err != nil {
		return err
	}
	util.DefaultHTTPClient = c
	return nil
}
