package cimom

import (
	"context"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// CallResult is the result of a single-result operation made with a call
// result, as WMI's IWbemCallResult. Its methods wait up to a timeout
// (Infinite to block, NoWait to poll).
type CallResult struct {
	done chan struct{}
	str  string
	obj  *cim.Object
	err  error
}

// runCall starts fn and returns its CallResult: at once when async is
// set, after fn finished otherwise.
func runCall(ctx context.Context, async bool, fn func(ctx context.Context) (string, *cim.Object, error)) *CallResult {
	r := &CallResult{done: make(chan struct{})}
	run := func(ctx context.Context) {
		defer close(r.done)
		r.str, r.obj, r.err = fn(ctx)
	}
	if async {
		// The work outlives the call that started it, as in WMI.
		go run(context.WithoutCancel(ctx))
	} else {
		run(ctx)
	}
	return r
}

func (r *CallResult) wait(timeout time.Duration) bool {
	if timeout < 0 {
		<-r.done
		return true
	}
	if timeout == 0 {
		select {
		case <-r.done:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
		return false
	}
}

// timedOut is the WBEM_S_TIMEDOUT answer of the result getters.
func timedOut() error {
	return &cim.Error{Status: cim.STimedOut, Description: "the call has not finished", Provider: providerSelf}
}

// GetCallStatus waits for the call. It returns STimedOut while the call
// runs; once done, SNoError and the operation's own outcome (nil or its
// error), as IWbemCallResult::GetCallStatus puts it in plStatus.
func (r *CallResult) GetCallStatus(timeout time.Duration) (cim.Status, error) {
	if !r.wait(timeout) {
		return cim.STimedOut, nil
	}
	return cim.SNoError, r.err
}

// GetResultString waits for the call and returns the path it wrote
// (PutInstance). While the call runs it returns an error whose status is
// WBEM_S_TIMEDOUT; a call that produced no string gives
// WBEM_E_INVALID_OPERATION; a failed call gives its error.
func (r *CallResult) GetResultString(timeout time.Duration) (string, error) {
	if !r.wait(timeout) {
		return "", timedOut()
	}
	if r.err != nil {
		return "", r.err
	}
	if r.str == "" {
		return "", cim.Errorf(cim.EInvalidOperation, "the call produced no result string")
	}
	return r.str, nil
}

// GetResultObject waits for the call and returns the object it produced
// (GetObject), with the same timeout and error rules as GetResultString.
func (r *CallResult) GetResultObject(timeout time.Duration) (*cim.Object, error) {
	if !r.wait(timeout) {
		return nil, timedOut()
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.obj == nil {
		return nil, cim.Errorf(cim.EInvalidOperation, "the call produced no result object")
	}
	return r.obj, nil
}

// StartCall runs fn as a call result: in the background when async is
// set (WBEM_FLAG_RETURN_IMMEDIATELY), before returning otherwise. Other
// implementations of Services (the CIM-XML client) use it for their
// ...Call methods.
func StartCall(ctx context.Context, async bool, fn func(ctx context.Context) (string, *cim.Object, error)) *CallResult {
	return runCall(ctx, async, fn)
}
