package interop_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/interop"
)

func Example() {
	ctx := context.Background()
	store, _ := interop.NewMemoryStore()

	// A provider's service, registered by the centre's operators.
	svc, err := store.CreateService(ctx, interop.Service{
		ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"},
		Title:    interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"},
		Upstream: "https://registry.aade.example/api",
		Items: []interop.DataItem{{Code: "residence_address", Type: interop.ItemText,
			Label: interop.Text{El: "Διεύθυνση κατοικίας", En: "Residence address"}}},
		ConsentRequired: true,
	})
	if err != nil {
		panic(err)
	}
	// One consumer may read one kind of path.
	consumer, _ := interop.ParseClientID("GR/GOV/DYPA/APP")
	_, err = store.GrantRight(ctx, interop.Right{Consumer: consumer, Service: svc.ID, Method: "GET", Path: "/persons/*/address"})
	if err != nil {
		panic(err)
	}

	authz, err := interop.New(ctx, interop.Config{Store: store})
	if err != nil {
		panic(err)
	}
	defer authz.Close()

	id, rest, _ := interop.ParsePath("/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/123/address")
	d, err := authz.Authorize(ctx, consumer, id, "GET", rest)
	fmt.Println(d.Upstream, d.ConsentRequired, d.Items, err)

	_, err = authz.Authorize(ctx, consumer, id, "DELETE", rest)
	var refusal *interop.Refusal
	fmt.Println(errors.As(err, &refusal), errors.Is(err, interop.ErrForbidden), refusal.XRoadError())
	// Output:
	// https://registry.aade.example/api true [residence_address] <nil>
	// true true Server.ServerProxy.AccessDenied
}
