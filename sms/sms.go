package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Message is one code on its way to a person.
type Message struct {
	ID      string `json:"id"`      // the challenge id, for the gateway's delivery reports
	To      string `json:"to"`      // the destination, such as +306912345678
	Text    string `json:"text"`    // the text to deliver, code included
	Purpose string `json:"purpose"` // what the code confirms
}

// Sender delivers messages: an SMS gateway, an e-mail relay, a test outbox.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outbox is a Sender for development and tests: it keeps the last messages
// in memory instead of sending them. It is safe for concurrent use.
type Outbox struct {
	mu   sync.Mutex
	max  int
	msgs []Message
}

// NewOutbox keeps at most max messages (100 when max ≤ 0), dropping the
// oldest.
func NewOutbox(max int) *Outbox {
	if max <= 0 {
		max = 100
	}
	return &Outbox{max: max}
}

// Send records m. The zero Outbox keeps 100 messages.
func (o *Outbox) Send(_ context.Context, m Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	limit := o.max
	if limit <= 0 {
		limit = 100
	}
	o.msgs = append(o.msgs, m)
	if len(o.msgs) > limit {
		o.msgs = append(o.msgs[:0:0], o.msgs[len(o.msgs)-limit:]...)
	}
	return nil
}

// All returns the kept messages, newest last.
func (o *Outbox) All() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Message(nil), o.msgs...)
}

// Last returns the newest message sent to the destination.
func (o *Outbox) Last(to string) (Message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.msgs) - 1; i >= 0; i-- {
		if o.msgs[i].To == to {
			return o.msgs[i], true
		}
	}
	return Message{}, false
}

// Webhook is a Sender that posts each message as JSON to an SMS gateway:
//
//	POST <URL>
//	Content-Type: application/json
//	X-Egovkit-Timestamp: 1732270000
//	X-Egovkit-Signature: v1=<hex HMAC-SHA-256 of "<timestamp>.<body>" under Secret>
//
//	{"id":"…","to":"+30…","text":"…","purpose":"sign-in"}
//
// The signature headers are sent only when Secret is set; a gateway checks
// the timestamp is recent and the signature matches. Any 2xx answer means
// accepted. 5xx answers and connection errors are retried up to Retries
// times with a short, doubling pause; other answers fail at once.
type Webhook struct {
	URL     string
	Secret  []byte
	Client  *http.Client // nil means a client with a 10 s timeout
	Retries int          // further tries after the first; 0 means 2, negative none
	Now     func() time.Time
}

// Header names used by Webhook.
const (
	HeaderTimestamp = "X-Egovkit-Timestamp"
	HeaderSignature = "X-Egovkit-Signature"
)

var defaultWebhookClient = &http.Client{Timeout: 10 * time.Second}

// SignWebhook returns the signature header value for a body sent at ts.
func SignWebhook(secret []byte, ts int64, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(strconv.FormatInt(ts, 10)))
	h.Write([]byte{'.'})
	h.Write(body)
	return "v1=" + hex.EncodeToString(h.Sum(nil))
}

// Send posts m and waits for the gateway's answer.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	client := w.Client
	if client == nil {
		client = defaultWebhookClient
	}
	retries := w.Retries
	switch {
	case retries == 0:
		retries = 2
	case retries < 0:
		retries = 0
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(100 * time.Millisecond << (attempt - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook: %w (last error: %v)", ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, err := w.post(ctx, client, body, now().Unix())
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

var errGateway = errors.New("gateway refused the message")

func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte, ts int64) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("webhook: the gateway URL is malformed")
	}
	req.Header.Set("Content-Type", "application/json")
	if len(w.Secret) > 0 {
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, SignWebhook(w.Secret, ts, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		// net/http quotes the URL in its errors, and a gateway URL may
		// carry an API key: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	return resp.StatusCode >= 500, fmt.Errorf("webhook: %w: HTTP %d", errGateway, resp.StatusCode)
}
