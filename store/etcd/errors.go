package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wbemd/wbemd/store"
)

// mapErr turns an error of the etcd client into the store's: ErrClosed
// once the store is closed, the context's error when it ended, and the
// store's sentinels for etcd's compaction, size and space errors. what
// names the call for the message.
func (s *Store) mapErr(ctx context.Context, what string, err error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("etcd %s: %w", what, cerr)
	}
	err = rpctypes.Error(err)
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("etcd %s: %w (%v)", what, store.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return fmt.Errorf("etcd %s: %w: the cluster refused more ops than max-txn-ops=%d says it takes: start every member with --max-txn-ops=%d or more", what, store.ErrTxnTooLarge, s.cfg.MaxTxnOps, s.cfg.MaxTxnOps)
	case errors.Is(err, rpctypes.ErrRequestTooLarge) || isMessageTooLarge(err):
		return fmt.Errorf("etcd %s: %w: the cluster refused a request max-request-bytes=%d says it takes: start every member with --max-request-bytes=%d or more", what, store.ErrTxnTooLarge, s.cfg.MaxRequestBytes, s.cfg.MaxRequestBytes)
	case errors.Is(err, rpctypes.ErrNoSpace):
		return fmt.Errorf("etcd %s: %w: %v (compact, defragment and disarm the NOSPACE alarm, or raise --quota-backend-bytes)", what, store.ErrReadOnly, err)
	}
	return fmt.Errorf("etcd %s: %w", what, err)
}

// isMessageTooLarge reports whether err is gRPC's refusal of a message
// over its size limit (etcd's server allows --max-request-bytes plus
// 512 KiB).
func isMessageTooLarge(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "larger than max")
}

// isTransient reports whether a watch ended for a reason that a new watch
// may not meet (a member lost its leader or stopped, a connection broke).
func isTransient(err error) bool {
	if err == nil {
		return true
	}
	if st, ok := status.FromError(rpctypes.Error(err)); ok && st.Code() == codes.Unavailable {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(rpctypes.Error(err), &ee) {
		return ee.Code() == codes.Unavailable
	}
	return false
}
