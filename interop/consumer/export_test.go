package consumer

import (
	"context"
	"net/http"
	"time"
)

// SetSleep replaces the wait between attempts, so that tests see the
// waits asked for without waiting them.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }

// ParseRefusal is parseRefusal, for the fuzz test.
func ParseRefusal(status int, h http.Header, body []byte, now time.Time) *Error {
	return parseRefusal(status, h, body, "", now)
}
