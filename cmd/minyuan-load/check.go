package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"minyuan/bot/sim"
	"minyuan/bot/wechat"
)

// checkTarget makes sure a comparison is honest: t must refuse a message whose
// signature is wrong (in safe mode, a right signature but a wrong msg_signature over
// the ciphertext, which is what guards an encrypted message), and a target other than
// Minyuan must answer a good message with its text, which in safe mode also proves
// it decrypted the message and sealed the reply (the client checks the reply's
// MsgSignature and decrypts it).
func checkTarget(ctx context.Context, o options, t target) error {
	client := o.client(t.url, http.DefaultClient)
	msg := sim.Message{From: o.prefix + "check", Type: "text", Content: "核对 " + rand.Text()[:8],
		CreateTime: time.Now().Unix(), MsgID: time.Now().UnixNano()}
	body, q, err := forged(client, o, msg)
	if err != nil {
		return err
	}
	status, _, err := client.Raw(ctx, body, q)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	if status == http.StatusOK {
		return fmt.Errorf("%s answered a message with a bad signature (HTTP 200): the comparison would not be honest", t.name)
	}
	what := "a bad signature"
	if o.mode == "safe" {
		what = "a bad msg_signature"
	}
	fmt.Printf("%s refuses %s (HTTP %d)", t.name, what, status)
	if t.name != "minyuan" {
		got, err := client.Text(ctx, msg.From, msg.Content)
		if err != nil {
			return fmt.Errorf("%s: a good message: %w", t.name, err)
		}
		if got == "" || strings.ReplaceAll(got, msg.Content, "") != "" { // echo -repeat
			return fmt.Errorf("%s echoed %q to %q", t.name, got, msg.Content)
		}
		fmt.Printf(" and echoes a good one")
	}
	fmt.Println()
	return nil
}

// forged is msg signed wrongly for o.mode.
func forged(c *sim.Client, o options, msg sim.Message) ([]byte, url.Values, error) {
	plain, err := c.XML(msg)
	if err != nil {
		return nil, nil, err
	}
	q := c.SignedQuery()
	if o.mode == "plain" {
		q.Set("signature", wechat.Sign(o.token+"x", q.Get("timestamp"), q.Get("nonce")))
		return plain, q, nil
	}
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	sealed, err := util.EncryptMsg(random, plain, o.appID, o.aesKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt: %w", err)
	}
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wechat.Sign(o.token+"x", q.Get("timestamp"), q.Get("nonce"), string(sealed)))
	body := "<xml><ToUserName><![CDATA[" + sim.DefaultAccount + "]]></ToUserName><Encrypt><![CDATA[" + string(sealed) + "]]></Encrypt></xml>"
	return []byte(body), q, nil
}
