package search_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/procedures"
)

var (
	editor   = procedures.Caller{ID: "editor-1", Roles: []string{procedures.RoleEditor}}
	approver = procedures.Caller{ID: "approver-1", Roles: []string{procedures.RoleApprover}}
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := procedures.Samples()[name+".json"]
	require.True(t, ok, name)
	return b
}

// publish takes a document through the whole workflow.
func publish(t testing.TB, reg *procedures.Registry, doc []byte) *procedures.Version {
	t.Helper()
	ctx := context.Background()
	v, err := reg.Create(ctx, editor, doc)
	require.NoError(t, err)
	for _, step := range []struct {
		c procedures.Caller
		a string
	}{{editor, procedures.ActionSubmit}, {approver, procedures.ActionApprove}, {approver, procedures.ActionPublish}} {
		v, err = reg.Transition(ctx, step.c, v.Procedure.ID, v.Version, step.a, "")
		require.NoError(t, err)
	}
	return v
}
