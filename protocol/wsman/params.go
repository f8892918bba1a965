package wsman

import (
	"strconv"
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
