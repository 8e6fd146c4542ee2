package auth

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
