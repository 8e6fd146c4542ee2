package sms_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/egovkit/egovkit/sms"
)

func ExampleOutbox() {
	var outbox sms.Outbox // the zero value keeps the last 100 messages
	_ = outbox.Send(context.Background(), sms.Message{ID: "c1", To: "+306900000000", Text: "Κωδικός: 123456", Purpose: "sign-in"})
	m, ok := outbox.Last("+306900000000")
	fmt.Println(ok, m.Text)
	// Output: true Κωδικός: 123456
}

func ExampleWebhook() {
	secret := []byte("the gateway's shared secret")
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(sms.HeaderTimestamp), 10, 64)
		if r.Header.Get(sms.HeaderSignature) != sms.SignWebhook(secret, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Println(string(body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gateway.Close()

	sender := &sms.Webhook{URL: gateway.URL, Secret: secret}
	err := sender.Send(context.Background(), sms.Message{ID: "c1", To: "+306900000000", Text: "123456", Purpose: "sign-in"})
	fmt.Println(err)
	// Output:
	// {"id":"c1","to":"+306900000000","text":"123456","purpose":"sign-in"}
	// <nil>
}
