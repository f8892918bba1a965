package wsman

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The typed requests of the actions whose body is read without the
// schema: each decode function reads one action's body, applies the
// defaults and refuses what is malformed, calling no cimom and keeping no
// state. (A Put's or Create's instance, and a method's parameters, are
// typed by their class: decode.go reads them.)

// enumerateRequest is a wsen:Enumerate.
type enumerateRequest struct {
	life      time.Duration // wsen:Expires; 0 when not given
	mode      int           // wsman:EnumerationMode
	optimized bool          // wsman:OptimizeEnumeration: the first items come with the answer
	max       int           // wsman:MaxElements of an optimized enumeration
	filter    *elem         // wsman:Filter or wsen:Filter; nil when none
}

func decodeEnumerate(req *request) (enumerateRequest, error) {
	r := enumerateRequest{max: 1}
	body := req.env.payload()
	if !body.is(nsWSEN, "Enumerate") {
		return r, newFault(faultSchema, "the Body of an Enumerate holds no wsen:Enumerate")
	}
	if body.kid(nsWSEN, "EndTo") != nil {
		return r, newFault(faultUnsupportedFeature, "wsen:EndTo is not supported")
	}
	if x := body.kid(nsWSEN, "Expires"); x != nil {
		text := x.trimmed()
		if d, err := parseDuration(text); err == nil {
			if d <= 0 {
				return r, newFault(faultInvalidExpiration, "wsen:Expires %q is not in the future", text)
			}
			r.life = d
		} else if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			if r.life = time.Until(t); r.life <= 0 {
				return r, newFault(faultInvalidExpiration, "wsen:Expires %q is in the past", text)
			}
		} else {
			return r, newFault(faultInvalidExpiration, "wsen:Expires %q is neither an xs:duration nor an xs:dateTime", text)
		}
	}
	switch m := body.kid(nsWSMan, "EnumerationMode").trimmed(); m {
	case "":
	case "EnumerateEPR":
		r.mode = modeEPR
	case "EnumerateObjectAndEPR":
		r.mode = modeObjectAndEPR
	default:
		return r, newFault(faultEnumerationMode, "wsman:EnumerationMode %q is not EnumerateEPR or EnumerateObjectAndEPR", m)
	}
	r.optimized = body.kid(nsWSMan, "OptimizeEnumeration") != nil
	if me := body.kid(nsWSMan, "MaxElements"); me != nil {
		n, err := strconv.Atoi(me.trimmed())
		if err != nil || n <= 0 {
			return r, newFault(faultSchema, "wsman:MaxElements %q is not a positive integer", me.trimmed())
		}
		r.max = n
	}
	if r.filter = body.kid(nsWSMan, "Filter"); r.filter == nil {
		r.filter = body.kid(nsWSEN, "Filter")
	}
	return r, nil
}

// pullRequest is a wsen:Pull.
type pullRequest struct {
	context  string        // wsen:EnumerationContext
	max      int           // wsen:MaxElements
	maxChars int           // wsen:MaxCharacters; 0 when not given
	maxTime  time.Duration // wsen:MaxTime; 0 when not given
}

func decodePull(req *request) (pullRequest, error) {
	r := pullRequest{max: 1}
	body := req.env.payload()
	if !body.is(nsWSEN, "Pull") {
		return r, newFault(faultSchema, "the Body of a Pull holds no wsen:Pull")
	}
	r.context = body.kid(nsWSEN, "EnumerationContext").trimmed()
	if me := body.kid(nsWSEN, "MaxElements"); me != nil {
		n, err := strconv.Atoi(me.trimmed())
		if err != nil || n <= 0 {
			return r, newFault(faultSchema, "wsen:MaxElements %q is not a positive integer", me.trimmed())
		}
		r.max = n
	}
	if mc := body.kid(nsWSEN, "MaxCharacters"); mc != nil {
		n, err := strconv.Atoi(mc.trimmed())
		if err != nil || n <= 0 {
			return r, newFault(faultSchema, "wsen:MaxCharacters %q is not a positive integer", mc.trimmed())
		}
		r.maxChars = n
	}
	if mt := body.kid(nsWSEN, "MaxTime"); mt != nil {
		d, err := parseDuration(mt.trimmed())
		if err != nil || d <= 0 {
			return r, newFault(faultInvalidTimeout, "wsen:MaxTime %q is not a positive xs:duration", mt.trimmed())
		}
		r.maxTime = d
	}
	return r, nil
}

// decodeRelease reads a wsen:Release: the context to release.
func decodeRelease(req *request) (string, error) {
	body := req.env.payload()
	if !body.is(nsWSEN, "Release") {
		return "", newFault(faultSchema, "the Body of a Release holds no wsen:Release")
	}
	return body.kid(nsWSEN, "EnumerationContext").trimmed(), nil
}

// WS-Eventing (DSP0226 §10) URIs.
const (
	deliveryPull        = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
	deliveryPush        = "http://schemas.xmlsoap.org/ws/2004/08/eventing/DeliveryModes/Push"
	deliveryPushWithAck = "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck"
	deliveryEvents      = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"
	bookmarkEarliest    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"
)

// subscribeRequest is a wse:Subscribe.
type subscribeRequest struct {
	life          time.Duration // wse:Expires; 0 when not given
	dialect       string        // the filter's dialect (WQL when not given)
	query         string        // the event query
	sendBookmarks bool          // wsman:SendBookmarks
	bookmark      bookmark      // wsman:Bookmark; zero when not given
	hasBookmark   bool
	heartbeats    time.Duration // wsman:Heartbeats; 0 when not given
	mode          string        // the delivery mode
	notifyTo      string        // wse:NotifyTo's address (the push modes)
	endTo         string        // wse:EndTo's address: where SubscriptionEnd goes ("" for none)
	maxElements   int           // wsman:MaxElements of the Events mode (default 32)
}

// bookmark is a place in a subscription's events: every event up to
// revision rev, and the first n of rev's, were delivered. earliest is
// the oldest place the change feed holds.
type bookmark struct {
	rev      int64
	n        int
	earliest bool
}

// String is the bookmark's text: "<rev>" or "<rev>.<n>".
func (b bookmark) String() string {
	if b.n == 0 {
		return strconv.FormatInt(b.rev, 10)
	}
	return strconv.FormatInt(b.rev, 10) + "." + strconv.Itoa(b.n)
}

// parseBookmark reads a bookmark's text.
func parseBookmark(text string) (bookmark, error) {
	if text == bookmarkEarliest {
		return bookmark{earliest: true}, nil
	}
	revText, nText, dotted := strings.Cut(text, ".")
	rev, err := strconv.ParseInt(revText, 10, 64)
	if err != nil || rev < 1 {
		return bookmark{}, newFault(faultInvalidBookmark, "wsman:Bookmark %q is not one of this server's: a revision, or %s", text, bookmarkEarliest)
	}
	b := bookmark{rev: rev}
	if dotted {
		n, err := strconv.Atoi(nText)
		if err != nil || n < 1 {
			return bookmark{}, newFault(faultInvalidBookmark, "wsman:Bookmark %q is not one of this server's: a revision, or %s", text, bookmarkEarliest)
		}
		b.n = n
	}
	return b, nil
}

func decodeSubscribe(req *request) (subscribeRequest, error) {
	var r subscribeRequest
	body := req.env.payload()
	if !body.is(nsWSE, "Subscribe") {
		return r, newFault(faultSchema, "the Body of a Subscribe holds no wse:Subscribe")
	}
	if e := body.kid(nsWSE, "EndTo"); e != nil {
		addr := e.kid(nsWSA, "Address").trimmed()
		if !httpURL(addr) {
			return r, newFault(faultUnsupportedFeature, "wse:EndTo needs an http:// or https:// wsa:Address (found %q)", addr)
		}
		r.endTo = addr
	}
	d := body.kid(nsWSE, "Delivery")
	mode := deliveryPush
	if d != nil {
		if m, ok := d.attr("", "Mode"); ok {
			mode = strings.TrimSpace(m)
		}
		if hb := d.kid(nsWSMan, "Heartbeats"); hb != nil {
			h, err := parseDuration(hb.trimmed())
			if err != nil || h <= 0 {
				return r, newFault(faultInvalidParameter, "wsman:Heartbeats %q is not a positive xs:duration", hb.trimmed())
			}
			r.heartbeats = h
		}
	}
	r.mode, r.maxElements = mode, 32
	switch mode {
	case deliveryPull:
		if r.endTo != "" {
			return r, newFault(faultUnsupportedFeature, "wse:EndTo is for the push modes: a Pull subscription's end is the fault of its next Pull")
		}
	case deliveryPush, deliveryPushWithAck, deliveryEvents:
		addr := d.kid(nsWSE, "NotifyTo").kid(nsWSA, "Address").trimmed()
		if !httpURL(addr) {
			return r, newFault(faultDeliveryMode, "the %s delivery mode needs a wse:NotifyTo with an http:// or https:// wsa:Address (found %q)", mode, addr)
		}
		r.notifyTo = addr
		if me := d.kid(nsWSMan, "MaxElements"); me != nil {
			n, err := strconv.Atoi(me.trimmed())
			if err != nil || n <= 0 {
				return r, newFault(faultSchema, "wsman:MaxElements %q is not a positive integer", me.trimmed())
			}
			r.maxElements = n
		}
	default:
		return r, newFault(faultDeliveryMode, "the delivery mode %q is not supported: wbemd delivers in the Pull, Push, PushWithAck and Events modes", mode)
	}
	if x := body.kid(nsWSE, "Expires"); x != nil {
		text := x.trimmed()
		if dur, err := parseDuration(text); err == nil {
			if dur <= 0 {
				return r, newFault(faultEventExpiration, "wse:Expires %q is not in the future", text)
			}
			r.life = dur
		} else if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			if r.life = time.Until(t); r.life <= 0 {
				return r, newFault(faultEventExpiration, "wse:Expires %q is in the past", text)
			}
		} else {
			return r, newFault(faultEventExpiration, "wse:Expires %q is neither an xs:duration nor an xs:dateTime", text)
		}
	}
	f := body.kid(nsWSMan, "Filter")
	if f == nil {
		f = body.kid(nsWSE, "Filter")
	}
	if f == nil {
		return r, newFault(faultEventFilter, "a Subscribe needs a filter: an event query in wsman:Filter (dialect %s)", dialectWQL)
	}
	r.dialect = dialectWQL
	if dl, ok := f.attr("", "Dialect"); ok {
		r.dialect = strings.TrimSpace(dl)
	}
	if r.dialect != dialectWQL && r.dialect != dialectCQL {
		return r, newFault(faultFilterDialect, "the filter dialect %q is not supported: event queries are WQL (%s) or CQL (%s)", r.dialect, dialectWQL, dialectCQL)
	}
	r.query = f.trimmed()
	r.sendBookmarks = body.kid(nsWSMan, "SendBookmarks") != nil
	if b := body.kid(nsWSMan, "Bookmark"); b != nil {
		bm, err := parseBookmark(b.trimmed())
		if err != nil {
			return r, err
		}
		r.bookmark, r.hasBookmark = bm, true
	}
	return r, nil
}

// renewRequest is a wse:Renew: the subscription and its new life.
type renewRequest struct {
	id   string
	life time.Duration // 0 when not given
}

func decodeRenew(req *request) (renewRequest, error) {
	r := renewRequest{id: req.env.identifier}
	body := req.env.payload()
	if !body.is(nsWSE, "Renew") {
		return r, newFault(faultSchema, "the Body of a Renew holds no wse:Renew")
	}
	if r.id == "" {
		return r, newFault(faultHeaderRequired, "a Renew needs the subscription's wse:Identifier header")
	}
	if x := body.kid(nsWSE, "Expires"); x != nil {
		dur, err := parseDuration(x.trimmed())
		if err != nil || dur <= 0 {
			return r, newFault(faultEventExpiration, "wse:Expires %q is not a positive xs:duration", x.trimmed())
		}
		r.life = dur
	}
	return r, nil
}

// decodeIdentified reads the wse:Identifier of a GetStatus or Unsubscribe.
func decodeIdentified(req *request) (string, error) {
	if req.env.identifier == "" {
		return "", newFault(faultHeaderRequired, "%s needs the subscription's wse:Identifier header", req.env.action)
	}
	return req.env.identifier, nil
}

// httpURL reports whether a is an http:// or https:// URL with a host.
func httpURL(a string) bool {
	u, err := url.Parse(a)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
