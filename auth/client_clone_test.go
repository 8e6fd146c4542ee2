package auth

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCloneCopiesEveryReference: a field of Client added later that holds
// a slice, a map or a pointer must be copied by clone too, or callers of
// the registry would share it through the cache of decoded registrations.
func TestCloneCopiesEveryReference(t *testing.T) {
	var c Client
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
			f.SetMapIndex(reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem())
		case reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			t.Fatalf("Client.%s is a %s: clone must copy it", v.Type().Field(i).Name, f.Kind())
		}
	}
	cp := c.clone()
	cv := reflect.ValueOf(cp)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		switch f := v.Field(i); f.Kind() {
		case reflect.Slice, reflect.Map:
			assert.NotEqual(t, f.Pointer(), cv.Field(i).Pointer(), "Client.%s shared by clone", name)
		}
		assert.Equal(t, v.Field(i).Interface(), cv.Field(i).Interface(), "Client.%s", name)
	}
}
