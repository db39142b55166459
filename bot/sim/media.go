package sim

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"
)

// Temporary media (素材管理 → 新增临时素材): POST /cgi-bin/media/upload?type=image
// with the file as the multipart field "media". The platform answers a media_id that
// customer-service image messages then name. The simulator keeps the bytes so the
// demo page (and tests) can show what was sent.

// KindMediaUpload is the kind of a media upload call.
const KindMediaUpload = "media_upload"

// maxImage is the platform's limit for an image (10 MB); ours only bounds memory.
const maxImage = 10 << 20

// uploadMedia stores an uploaded file. The caller holds a.mu.
func (a *API) uploadMedia(r *http.Request, body []byte, kind string) map[string]any {
	if kind != "image" && kind != "voice" && kind != "video" && kind != "thumb" {
		return errAnswer(40004) // invalid media type
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return errAnswer(41005) // media data missing
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return errAnswer(41005)
		}
		if p.FormName() != "media" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, maxImage+1))
		if err != nil || len(data) == 0 {
			return errAnswer(41005)
		}
		if len(data) > maxImage {
			return errAnswer(40009) // invalid image size
		}
		if a.media == nil {
			a.media = map[string][]byte{}
		}
		a.msgID++
		id := fmt.Sprintf("sim-media-%d", a.msgID)
		a.media[id] = data
		answer := errAnswer(0)
		answer["type"], answer["media_id"], answer["created_at"] = kind, id, a.clock.Now().Unix()
		return answer
	}
}

// Media returns an uploaded file by media_id.
func (a *API) Media(id string) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.media[id]
	return b, ok
}

// Downloading temporary media (获取临时素材): GET /cgi-bin/media/get?media_id=…
// answers the file itself, for 3 days after it was received or uploaded; after that,
// or for an id the platform never gave, JSON errcode 40007.

// KindMediaGet is the kind of a media download call.
const KindMediaGet = "media_get"

// MediaTTL is how long the platform keeps temporary media.
const MediaTTL = 72 * time.Hour

// getMedia answers a download. The caller holds a.mu.
func (a *API) getMedia(id string, now time.Time) map[string]any {
	data, ok := a.media[id]
	if !ok || (!a.mediaAt[id].IsZero() && now.Sub(a.mediaAt[id]) > MediaTTL) {
		return errAnswer(40007) // invalid media_id
	}
	ctype := http.DetectContentType(data)
	if bytes.HasPrefix(data, []byte("#!AMR")) {
		ctype = "audio/amr"
	}
	answer := errAnswer(0)
	answer["file"], answer["type"] = data, ctype
	return answer
}

// AddMedia makes data a file a user sent, as the platform keeps it: the media id
// an image or voice message then carries, downloadable for 3 days from now.
func (a *API) AddMedia(data []byte) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.media == nil {
		a.media = map[string][]byte{}
	}
	if a.mediaAt == nil {
		a.mediaAt = map[string]time.Time{}
	}
	a.msgID++
	id := fmt.Sprintf("sim-user-media-%d", a.msgID)
	a.media[id], a.mediaAt[id] = data, a.clock.Now()
	return id
}
