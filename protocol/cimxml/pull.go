package cimxml

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

// CIM status codes of the pull operations (DSP0200 1.3).
const (
	errInvalidEnumerationContext       = 21
	errInvalidOperationTimeout         = 22
	errFilteredEnumerationNotSupported = 25
	errContinuationOnErrorNotSupported = 26
	defaultOperationTimeout            = 60 * time.Second
	maxOperationTimeout                = 30 * time.Minute
	maxOpenEnumerations                = 1024
)

// codeError is an error answered with a CIM status code that has no WBEM
// counterpart.
type codeError struct {
	code int
	msg  string
}

func (e *codeError) Error() string { return e.msg }

// pullContext is an open enumeration of a pull operation. Its lock is
// held by the one request that uses it (see enumtable).
type pullContext struct {
	sync.Mutex
	e       cimom.Enumerator
	pending []*cim.Object // read ahead to tell the end
	paths   bool          // results are paths
	ns      string
	opts    options
}

// Close releases the enumerator (enumtable calls it with the lock held).
func (pc *pullContext) Close() { pc.e.Close() }

// Close releases every open pull enumeration (their enumerators hold the
// CIMOM open); call it before closing the CIMOM.
func (h *Handler) Close() { h.pulls.CloseAll() }

// errNoContext answers a pull or close of a context that is not open.
var errNoContext = &codeError{errInvalidEnumerationContext, "the enumeration context is not valid (closed, expired or never opened)"}

// openParams reads what every Open* takes.
func openParams(req *request) (timeout time.Duration, max int, err error) {
	if v, ok := req.param("ContinueOnError"); ok && v != nil && strings.EqualFold(strings.TrimSpace(v.text.String()), "true") {
		// OpenPegasus answers CIM_ERR_NOT_SUPPORTED here, where DSP0200
		// has CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED.
		return 0, 0, cim.Errorf(cim.ENotSupported, "ContinueOnError=true is not supported")
	}
	if q, ok, _ := req.stringParam("FilterQuery"); ok && q != "" && req.method != "OpenQueryInstances" {
		return 0, 0, &codeError{errFilteredEnumerationNotSupported, "filtered enumerations are not supported: use OpenQueryInstances"}
	}
	timeout = defaultOperationTimeout
	if v, present := req.param("OperationTimeout"); present {
		if v == nil || strings.TrimSpace(v.text.String()) == "" {
			return 0, 0, requestError("OperationTimeout holds no unsigned integer")
		}
		if text := strings.TrimSpace(v.text.String()); text != "" {
			n, perr := strconv.ParseUint(text, 10, 32)
			if perr != nil || time.Duration(n)*time.Second > maxOperationTimeout {
				return 0, 0, &codeError{errInvalidOperationTimeout, "OperationTimeout must be a number of seconds up to " + strconv.Itoa(int(maxOperationTimeout/time.Second))}
			}
			if n > 0 {
				timeout = time.Duration(n) * time.Second
			}
		}
	}
	max, err = maxCount(req)
	return timeout, max, err
}

func maxCount(req *request) (int, error) {
	v, _ := req.param("MaxObjectCount")
	if v == nil {
		return 0, nil
	}
	text := strings.TrimSpace(v.text.String())
	if text == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		return 0, requestError("MaxObjectCount must be a uint32, not %q", text)
	}
	return int(n), nil
}

// open starts a pull enumeration and answers with its first batch.
func (h *Handler) open(ctx context.Context, p cimom.Principal, svc cimom.Services, req *request, w *writer) error {
	timeout, max, err := openParams(req)
	if err != nil {
		return err
	}
	o, err := instanceOptions(req)
	if err != nil {
		return err
	}
	var e cimom.Enumerator
	paths := strings.HasSuffix(req.method, "Paths")
	flags := cimom.FlagForwardOnly
	switch req.method {
	case "OpenEnumerateInstances", "OpenEnumerateInstancePaths":
		class, _, err := req.stringParam("ClassName")
		if err != nil {
			return err
		}
		if e, err = svc.CreateInstanceEnum(ctx, class, flags, nil); err != nil {
			return err
		}
	case "OpenQueryInstances":
		lang, _, _ := req.stringParam("FilterQueryLanguage")
		query, _, _ := req.stringParam("FilterQuery")
		if e, err = svc.ExecQuery(ctx, lang, query, flags, nil); err != nil {
			return err
		}
	default: // Open{Reference,Associator}Instance{s,Paths}
		n, _ := req.param("InstanceName")
		if n == nil {
			return cim.Errorf(cim.EInvalidParameter, "%s needs InstanceName", req.method)
		}
		path, err := instanceNameOf(n)
		if err != nil {
			return err
		}
		q := &wql.Assoc{Path: path.RelPath(), References: strings.HasPrefix(req.method, "OpenReference")}
		for name, dst := range map[string]*string{"AssocClass": &q.AssocClass, "ResultClass": &q.ResultClass, "Role": &q.Role, "ResultRole": &q.ResultRole} {
			if *dst, _, err = req.stringParam(name); err != nil {
				return err
			}
		}
		if e, err = svc.Associators(ctx, q, flags, nil); err != nil {
			return err
		}
	}
	pc := &pullContext{e: e, paths: paths, ns: req.ns, opts: o}
	id, err := h.pulls.Add(pc, "", p.Name, timeout, maxOpenEnumerations)
	if err != nil {
		e.Close()
		return cim.Errorf(cim.EQuotaViolation, "more than %d enumerations are open", maxOpenEnumerations)
	}
	pc.Lock()
	defer pc.Unlock()
	return h.deliver(ctx, pc, id, max, w)
}

// pull answers PullInstancesWithPath, PullInstancePaths and PullInstances.
func (h *Handler) pull(ctx context.Context, p cimom.Principal, req *request, w *writer) error {
	id, _, err := req.stringParam("EnumerationContext")
	if err != nil {
		return err
	}
	pc, ok := h.pulls.Get(id, p.Name)
	if !ok {
		return errNoContext
	}
	defer pc.Unlock()
	if wantPaths := req.method == "PullInstancePaths"; wantPaths != pc.paths {
		return &codeError{errInvalidEnumerationContext, req.method + " does not match the operation that opened the enumeration"}
	}
	max, err := maxCount(req)
	if err != nil {
		return err
	}
	return h.deliver(ctx, pc, id, max, w)
}

// deliver writes up to max results, then EndOfSequence and the context;
// pc's lock is held.
func (h *Handler) deliver(ctx context.Context, pc *pullContext, id string, max int, w *writer) error {
	// Read one object more than asked for, to tell whether the sequence
	// ends with this answer.
	objs := pc.pending
	pc.pending = nil
	end := false
	for len(objs) <= max {
		batch, st, err := pc.e.Next(ctx, cimom.Infinite, max+1-len(objs))
		if err != nil {
			h.pulls.Forget(id)
			return err
		}
		objs = append(objs, batch...)
		if st == cim.SFalse {
			end = true
			break
		}
	}
	if len(objs) > max {
		pc.pending, objs, end = objs[max:], objs[:max], false
	}
	if len(objs) > 0 {
		w.s("<IRETURNVALUE>")
		for _, o := range objs {
			path := pathOfObject(o)
			path.Server = h.server()
			if path.Namespace == "" {
				path.Namespace = pc.ns
			}
			if pc.paths {
				w.objectPath(path)
				continue
			}
			w.s("<VALUE.INSTANCEWITHPATH>")
			w.objectPath(path)
			w.instance(o, pc.opts)
			w.s("</VALUE.INSTANCEWITHPATH>")
		}
		w.s("</IRETURNVALUE>")
	}
	w.s(`<PARAMVALUE NAME="EndOfSequence"><VALUE>`)
	if end {
		w.s("TRUE")
		h.pulls.Forget(id)
		id = ""
	} else {
		w.s("FALSE")
	}
	w.s(`</VALUE></PARAMVALUE><PARAMVALUE NAME="EnumerationContext"><VALUE>` + id + `</VALUE></PARAMVALUE>`)
	return nil
}
