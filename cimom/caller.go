package cimom

import "context"

type callerKey struct{}

// withCaller returns ctx carrying p as the principal on whose behalf
// providers are called. Every provider call made for a Services
// operation carries the connection's principal this way.
func withCaller(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, callerKey{}, p)
}

// CallerOf returns the principal on whose behalf a provider is called
// (ok is false outside a Services operation). In-process providers read
// it from their context; hosted providers get it as ProviderCall.Caller.
func CallerOf(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(callerKey{}).(Principal)
	return p, ok
}

// forProvider is ctx for a provider call made by s: it carries s's
// principal.
func (s *services) forProvider(ctx context.Context) context.Context {
	return withCaller(ctx, s.p)
}
