package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Maintain does the provider's periodic work; run it every few minutes
// from any number of instances (each step is safe to repeat). It rotates
// the signing key when it is due (for keys that rotate themselves), and
// deletes what has expired: authorization codes, refresh tokens of
// families with no live token, sign-ins under way, sessions, pushed
// requests, stale failure counts, revocation records, used client
// assertions and one-time codes. Nothing that can still be used goes.
func (p *Provider) Maintain(ctx context.Context) error {
	var errs []error
	if m, ok := p.cfg.Keys.(interface{ Maintain(context.Context) error }); ok {
		errs = append(errs, m.Maintain(ctx))
	}
	now := p.cfg.Now()
	var purged int64
	add := func(n int64, err error) {
		purged += n
		errs = append(errs, err)
	}
	add(p.PurgeRevocations(ctx, now))
	add(p.cfg.Clients.PurgeAssertions(ctx, now))
	if p.cfg.Codes != nil {
		add(p.cfg.Codes.Purge(ctx, now))
		add(p.cfg.Codes.Refresh().Purge(ctx, now))
	}
	if p.store != nil {
		// Failure counts are kept a day after their window, so that a
		// lock's doubling still knows the earlier failures.
		add(p.store.purge(ctx, now, now.Add(-24*time.Hour)))
	}
	if p.cfg.OneTimeCodes != nil {
		add(p.cfg.OneTimeCodes.Purge(ctx, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: maintain %s: %w", p.cfg.Realm, err)
	}
	p.log.Debug("maintenance done", zap.String("realm", p.cfg.Realm), zap.Int64("purged", purged))
	return nil
}
