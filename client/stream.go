package client

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/protocol/cimxml"
)

// results returns an enumerator over the results of an answer, decoded one
// at a time as they arrive by decode (nil passes a result over). Its
// context bounds the whole enumeration. Reading the enumerator to its end
// or closing it ends the exchange.
func (c *Client) results(ctx context.Context, ans *cimxml.Answer, abort context.CancelFunc, flags cimom.Flags, decode func(context.Context, *cimxml.Element) (*cim.Object, error)) cimom.Enumerator {
	return stream(ctx, flags, func(yield func(*cim.Object, error) bool) {
		// A call made while decoding (the class of an instance) may take
		// a connection past MaxConns: this answer holds one.
		nested := context.WithValue(ctx, nestedCall{}, true)
		for {
			el, err := ans.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil && ctx.Err() != nil {
				err = cim.Errorf(cim.ECallCancelled, "%v", err)
			}
			var o *cim.Object
			if err == nil {
				o, err = decode(nested, el)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if o != nil && !yield(o, nil) {
				return
			}
		}
	}, abort, ans.Close)
}

// nestedCall marks the context of a call made while an answer is read.
type nestedCall struct{}

// stream returns an enumerator over src with the semantics of flags.
// abort interrupts src where it waits (it may run while src runs); end
// releases what src holds, once src has returned or, never started, will
// not run.
func stream(ctx context.Context, flags cimom.Flags, src iter.Seq2[*cim.Object, error], abort, end func()) cimom.Enumerator {
	s := &streamed{abort: abort}
	s.end = func() { s.once.Do(end) }
	s.Enumerator = cimom.NewEnumerator(ctx, func(yield func(*cim.Object, error) bool) {
		defer s.end()
		src(yield)
	}, flags&(cimom.FlagForwardOnly|cimom.FlagReturnImmediately))
	return s
}

// streamed is an enumerator whose source holds an exchange.
type streamed struct {
	cimom.Enumerator
	abort, end func()
	once       sync.Once
}

// Close interrupts the source, closes the enumerator (which waits for the
// source to return), then releases what the source held.
func (s *streamed) Close() error {
	s.abort()
	err := s.Enumerator.Close()
	s.end()
	return err
}
