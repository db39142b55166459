package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// OpMediaGet is downloading a user's temporary media (获取临时素材).
const OpMediaGet = "media_get"

// FetchMedia downloads a temporary media file a user sent (a photo, a voice
// message) by its media id, which the platform keeps 3 days: GET
// /cgi-bin/media/get. It reads at most max bytes; an error answer (JSON with an
// errcode) is an *APIError, the token refreshed once as for any call.
func (d *Deliverer) FetchMedia(ctx context.Context, mediaID string, max int64) ([]byte, string, error) {
	var data []byte
	var ctype string
	err := d.call(ctx, func(tok string) error {
		u := "https://api.weixin.qq.com/cgi-bin/media/get?access_token=" + url.QueryEscape(tok) + "&media_id=" + url.QueryEscape(mediaID)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := util.DefaultHTTPClient.Do(req)
		if err != nil {
			return fmt.Errorf("media get: %s", Redact(err.Error()))
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
		if err != nil {
			return err
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if mt == "application/json" || mt == "text/plain" || (len(body) > 0 && body[0] == '{') {
			var ce util.CommonError
			if json.Unmarshal(body, &ce) == nil && ce.ErrCode != 0 {
				return &ce
			}
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("media get: http status %d", resp.StatusCode)
		}
		if int64(len(body)) > max {
			return fmt.Errorf("media get: larger than %d bytes", max)
		}
		data, ctype = body, strings.TrimSpace(mt)
		return nil
	}, OpMediaGet)
	return data, ctype, err
}
