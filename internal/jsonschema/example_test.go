package jsonschema_test

import (
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/internal/jsonschema"
)

func Example() {
	schema := jsonschema.MustCompile([]byte(`{
		"type": "object",
		"required": ["recipient", "text"],
		"properties": {
			"recipient": {"type": "string", "minLength": 2},
			"text": {"type": "string", "maxLength": 2000},
			"valid_for": {"type": "string", "format": "duration"}
		}
	}`))

	fmt.Println(schema.Validate([]byte(`{"recipient": "ΔΟΥ Αθηνών", "text": "…", "valid_for": "P6M"}`)))

	err := schema.Validate([]byte(`{"recipient": "Χ", "valid_for": "six months"}`))
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		for _, v := range ve.Violations {
			fmt.Printf("%s: %s / %s\n", v.Pointer, v.Message, v.MessageEL)
		}
	}
	// Output:
	// <nil>
	// /recipient: must be at least 2 characters long / πρέπει να έχει τουλάχιστον 2 χαρακτήρες
	// /text: is required / είναι υποχρεωτικό
	// /valid_for: is not a valid duration / δεν είναι έγκυρη τιμή μορφής duration
}
