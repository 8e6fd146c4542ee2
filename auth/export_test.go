package auth

import "github.com/egovkit/egovkit/internal/otp"

// HoldPasswordSlots takes every password-hashing slot of a, as a burst of
// sign-ins would, until release is called.
func HoldPasswordSlots(a *Accounts) (release func()) {
	for range a.slots {
		a.hashing <- struct{}{}
	}
	return func() {
		for range a.slots {
			<-a.hashing
		}
	}
}

// OneTimeCodesOf wraps a code service built with test options (a clock).
func OneTimeCodesOf(svc *otp.Service) *OneTimeCodes { return &OneTimeCodes{svc: svc} }
