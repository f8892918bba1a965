package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

// styled makes the calls of a connection the way --semisync asks:
// semisynchronous calls (WBEM_FLAG_RETURN_IMMEDIATELY)
// polled as a WMI client polls them — IWbemCallResult::GetCallStatus,
// IEnumWbemClassObject::Next with a timeout — each WBEM_S_TIMEDOUT shown
// on standard error.
type styled struct {
	cimom.Services
	every time.Duration // 0: synchronous calls
	log   io.Writer
}

// style wraps svc as the global flags ask (svc itself when they ask
// nothing): with --locale, reads and writes of localized objects
// (cimom.Localized: WBEM_FLAG_USE_AMENDED_QUALIFIERS, the locale in the
// call's context), which the Go client carries as Accept-Language through
// the local socket and --url; with --semisync, semisynchronous calls.
func (a *app) style(svc cimom.Services) cimom.Services {
	if a.semisync > 0 {
		svc = &styled{Services: svc, every: a.semisync, log: a.stderr}
	}
	return cimom.Localized(svc, a.locale)
}

// await polls a call result until the call is done and returns its
// outcome.
func (s *styled) await(op string, cr *cimom.CallResult) error {
	for {
		st, err := cr.GetCallStatus(s.every)
		if st != cim.STimedOut {
			return err
		}
		fmt.Fprintf(s.log, "wbem: %s: GetCallStatus: %s (0x%08X), polling again\n", op, cim.STimedOut, uint32(cim.STimedOut))
	}
}

func (s *styled) GetObject(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) (*cim.Object, error) {
	if s.every <= 0 {
		return s.Services.GetObject(ctx, path, flags, wctx)
	}
	cr, err := s.Services.GetObjectCall(ctx, path, flags|cimom.FlagReturnImmediately, wctx)
	if err == nil {
		err = s.await("GetObject", cr)
	}
	if err != nil {
		return nil, err
	}
	return cr.GetResultObject(cimom.NoWait)
}

func (s *styled) PutInstance(ctx context.Context, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) (string, error) {
	if s.every <= 0 {
		return s.Services.PutInstance(ctx, inst, flags, wctx)
	}
	cr, err := s.Services.PutInstanceCall(ctx, inst, flags|cimom.FlagReturnImmediately, wctx)
	if err == nil {
		err = s.await("PutInstance", cr)
	}
	if err != nil {
		return "", err
	}
	return cr.GetResultString(cimom.NoWait)
}

func (s *styled) PutClass(ctx context.Context, class *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	if s.every <= 0 {
		return s.Services.PutClass(ctx, class, flags, wctx)
	}
	cr, err := s.Services.PutClassCall(ctx, class, flags|cimom.FlagReturnImmediately, wctx)
	if err != nil {
		return err
	}
	return s.await("PutClass", cr)
}

func (s *styled) DeleteInstance(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) error {
	if s.every <= 0 {
		return s.Services.DeleteInstance(ctx, path, flags, wctx)
	}
	cr, err := s.Services.DeleteInstanceCall(ctx, path, flags|cimom.FlagReturnImmediately, wctx)
	if err != nil {
		return err
	}
	return s.await("DeleteInstance", cr)
}

func (s *styled) DeleteClass(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) error {
	if s.every <= 0 {
		return s.Services.DeleteClass(ctx, class, flags, wctx)
	}
	cr, err := s.Services.DeleteClassCall(ctx, class, flags|cimom.FlagReturnImmediately, wctx)
	if err != nil {
		return err
	}
	return s.await("DeleteClass", cr)
}

func (s *styled) ExecMethod(ctx context.Context, path, method string, in *cim.Object, flags cimom.Flags, wctx *cimom.Context) (*cim.Object, error) {
	if s.every <= 0 {
		return s.Services.ExecMethod(ctx, path, method, in, flags, wctx)
	}
	cr, err := s.Services.ExecMethodCall(ctx, path, method, in, flags|cimom.FlagReturnImmediately, wctx)
	if err == nil {
		err = s.await("ExecMethod", cr)
	}
	if err != nil {
		return nil, err
	}
	return cr.GetResultObject(cimom.NoWait)
}

// enumeration makes an enumeration call semisynchronous when asked.
func (s *styled) enumeration(op string, flags cimom.Flags, start func(cimom.Flags) (cimom.Enumerator, error)) (cimom.Enumerator, error) {
	if s.every <= 0 {
		return start(flags)
	}
	e, err := start(flags | cimom.FlagReturnImmediately)
	if err != nil {
		return nil, err
	}
	return &polled{Enumerator: e, op: op, s: s}, nil
}

func (s *styled) CreateInstanceEnum(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	return s.enumeration("CreateInstanceEnum", flags, func(f cimom.Flags) (cimom.Enumerator, error) {
		return s.Services.CreateInstanceEnum(ctx, class, f, wctx)
	})
}

func (s *styled) CreateClassEnum(ctx context.Context, superclass string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	return s.enumeration("CreateClassEnum", flags, func(f cimom.Flags) (cimom.Enumerator, error) {
		return s.Services.CreateClassEnum(ctx, superclass, f, wctx)
	})
}

func (s *styled) ExecQuery(ctx context.Context, language, query string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	return s.enumeration("ExecQuery", flags, func(f cimom.Flags) (cimom.Enumerator, error) {
		return s.Services.ExecQuery(ctx, language, query, f, wctx)
	})
}

func (s *styled) Associators(ctx context.Context, q *wql.Assoc, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	return s.enumeration("ExecQuery", flags, func(f cimom.Flags) (cimom.Enumerator, error) {
		return s.Services.Associators(ctx, q, f, wctx)
	})
}

// polled is an enumerator whose Next waits at most the poll interval at a
// time, as a WMI client calls IEnumWbemClassObject::Next with a timeout,
// and shows each WBEM_S_TIMEDOUT.
type polled struct {
	cimom.Enumerator
	op string
	s  *styled
}

func (p *polled) Next(ctx context.Context, timeout time.Duration, count int) ([]*cim.Object, cim.Status, error) {
	for {
		objs, st, err := p.Enumerator.Next(ctx, p.s.every, count)
		if err != nil || st != cim.STimedOut {
			return objs, st, err
		}
		fmt.Fprintf(p.s.log, "wbem: %s: Next: %s (0x%08X) after %d objects, polling again\n", p.op, cim.STimedOut, uint32(cim.STimedOut), len(objs))
		if len(objs) > 0 {
			return objs, cim.SNoError, nil
		}
	}
}
