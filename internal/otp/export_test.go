package otp

// MissingMessages lists what the message catalogue lacks.
func MissingMessages() []string { return messages.Missing() }
