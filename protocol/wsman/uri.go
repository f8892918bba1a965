package wsman

import (
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// Resource URI bases.
const (
	uriDMTF    = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	uriDMTFAll = "http://schemas.dmtf.org/wbem/wscim/1/*"
	uriWMI     = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
)

// URI styles.
const (
	styleDMTF  = iota // base + class, the namespace in __cimnamespace
	styleWMI          // uriWMI + namespace + "/" + class
	styleOther        // an unrecognised base whose last segment is the class
)

// resource is what a request's ResourceURI and selectors name.
type resource struct {
	uri   string
	style int
	base  string // DMTF and other styles: the URI up to the class
	ns    string // the CIM namespace
	class string // "" for an all-classes URI
	all   bool
	keys  []selector // the selectors other than __cimnamespace
}

// parseResource interprets a resource URI and the selectors sent with it.
func parseResource(uri string, sels []selector, defaultNS string) (*resource, error) {
	r := &resource{uri: uri}
	var nsSel string
	hasNS := false
	for _, s := range sels {
		if strings.EqualFold(s.name, "__cimnamespace") {
			nsSel, hasNS = s.text, true
			continue
		}
		r.keys = append(r.keys, s)
	}
	switch {
	case uri == "":
		return nil, newFault(faultInvalidResourceURI, "the request has no wsman:ResourceURI")
	case uri == uriDMTFAll:
		r.style, r.base, r.all = styleDMTF, uriDMTF, true
	case strings.HasPrefix(uri, uriWMI):
		r.style = styleWMI
		rest := strings.Trim(uri[len(uriWMI):], "/")
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			return nil, newFault(faultInvalidResourceURI, "WMI resource URI %s names no namespace and class", uri)
		}
		ns, err := cim.NormalizeNamespace(rest[:i])
		if err != nil {
			return nil, newFault(faultInvalidResourceURI, "WMI resource URI %s: %v", uri, err)
		}
		r.ns, r.class = ns, rest[i+1:]
		if r.class == "*" {
			r.class, r.all = "", true
		}
		return r, r.checkClass()
	default:
		i := strings.LastIndexByte(uri, '/')
		if i < 0 || i == len(uri)-1 {
			return nil, newFault(faultInvalidResourceURI, "resource URI %s does not end with a class name", uri)
		}
		r.base, r.class = uri[:i+1], uri[i+1:]
		r.style = styleOther
		if r.base == uriDMTF {
			r.style = styleDMTF
		}
		if r.class == "*" {
			r.class, r.all = "", true
		}
	}
	r.ns = defaultNS
	if hasNS {
		ns, err := cim.NormalizeNamespace(nsSel)
		if err != nil || ns == "" {
			return nil, newFault(faultInvalidSelectors, "__cimnamespace %q is not a namespace name", nsSel)
		}
		r.ns = ns
	}
	return r, r.checkClass()
}

// checkClass refuses a class segment that cannot be a CIM class name.
func (r *resource) checkClass() error {
	if r.all {
		return nil
	}
	if err := cim.CheckName(r.class, "class"); err != nil && !strings.HasPrefix(r.class, "__") {
		return newFault(faultInvalidResourceURI, "resource URI %s: %q is not a class name", r.uri, r.class)
	}
	return nil
}

// classURI is the resource URI of class in namespace ns, in the style of
// the request.
func (r *resource) classURI(ns, class string) string {
	if r.style == styleWMI {
		if ns == "" {
			ns = r.ns
		}
		return uriWMI + ns + "/" + class
	}
	return r.base + class
}
