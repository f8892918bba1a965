package cimom

import (
	"context"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// A WMI locale ("MS_409") names a Windows LCID; the protocols name
// languages with RFC 5646 tags ("en-US"): CIM-XML's Accept-Language header
// (DSP0200 §7.5), WS-Man's wsman:Locale header (DSP0226 §6.3). The table
// below maps the tags of Windows' common LCIDs both ways; any other LCID
// travels as the private-use tag "x-ms-<lcid>" (the form the Go client
// sends for it), which LocaleOfLanguage reads back.
var lcidByTag = map[string]uint32{
	"ar-sa": 0x401, "bg-bg": 0x402, "ca-es": 0x403, "zh-tw": 0x404, "cs-cz": 0x405, "da-dk": 0x406,
	"de-de": 0x407, "el-gr": 0x408, "en-us": 0x409, "fi-fi": 0x40b, "fr-fr": 0x40c, "he-il": 0x40d,
	"hu-hu": 0x40e, "it-it": 0x410, "ja-jp": 0x411, "ko-kr": 0x412, "nl-nl": 0x413, "nb-no": 0x414,
	"pl-pl": 0x415, "pt-br": 0x416, "ro-ro": 0x418, "ru-ru": 0x419, "hr-hr": 0x41a, "sk-sk": 0x41b,
	"sv-se": 0x41d, "th-th": 0x41e, "tr-tr": 0x41f, "uk-ua": 0x422, "sl-si": 0x424, "et-ee": 0x425,
	"lv-lv": 0x426, "lt-lt": 0x427, "hi-in": 0x439, "zh-cn": 0x804, "de-ch": 0x807, "en-gb": 0x809,
	"es-mx": 0x80a, "fr-be": 0x80c, "nl-be": 0x813, "pt-pt": 0x816, "sr-latn-rs": 0x241a, "de-at": 0xc07,
	"en-au": 0xc09, "es-es": 0xc0a, "fr-ca": 0xc0c, "en-ca": 0x1009, "fr-ch": 0x100c, "en-nz": 0x1409,
	"en-ie": 0x1809,
}

// lcidByLanguage is the LCID of a bare language subtag ("de" is de-DE).
var lcidByLanguage = map[string]uint32{
	"ar": 0x401, "bg": 0x402, "ca": 0x403, "cs": 0x405, "da": 0x406, "de": 0x407, "el": 0x408,
	"en": 0x409, "es": 0xc0a, "fi": 0x40b, "fr": 0x40c, "he": 0x40d, "hu": 0x40e, "it": 0x410,
	"ja": 0x411, "ko": 0x412, "nl": 0x413, "nb": 0x414, "no": 0x414, "pl": 0x415, "pt": 0x416,
	"ro": 0x418, "ru": 0x419, "hr": 0x41a, "sk": 0x41b, "sv": 0x41d, "th": 0x41e, "tr": 0x41f,
	"uk": 0x422, "sl": 0x424, "et": 0x425, "lv": 0x426, "lt": 0x427, "hi": 0x439, "zh": 0x804,
}

var tagByLCID = func() map[uint32]string {
	m := make(map[uint32]string, len(lcidByTag))
	for tag, id := range lcidByTag {
		m[id] = tag
	}
	return m
}()

// LocaleOfLanguage returns the WMI locale ("MS_409") of a language
// header's value: a tag ("en-US", "de"), or a list with quality values
// as Accept-Language sends it ("de-CH, de;q=0.9, *;q=0.1"), of which the
// first tag wbemd knows wins. It reports false when none is known (and for
// "*" alone).
func LocaleOfLanguage(header string) (string, bool) {
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue // "not acceptable"
			}
		}
		if hex, ok := strings.CutPrefix(tag, "x-ms-"); ok {
			if id, err := strconv.ParseUint(hex, 16, 32); err == nil && id > 0 {
				return "MS_" + strconv.FormatUint(id, 16), true
			}
			continue
		}
		if id, ok := lcidByTag[tag]; ok {
			return "MS_" + strconv.FormatUint(uint64(id), 16), true
		}
		lang, _, _ := strings.Cut(tag, "-")
		if id, ok := lcidByLanguage[lang]; ok {
			return "MS_" + strconv.FormatUint(uint64(id), 16), true
		}
	}
	return "", false
}

// LanguageOfLocale returns the language tag of a WMI locale: "en-US" for
// "MS_409", "x-ms-<lcid>" for an LCID outside the table, "" for a string
// that is not a WMI locale.
func LanguageOfLocale(locale string) string {
	if len(locale) < 4 || !strings.EqualFold(locale[:3], "ms_") {
		return ""
	}
	id, err := strconv.ParseUint(locale[3:], 16, 32)
	if err != nil || id == 0 {
		return ""
	}
	tag, ok := tagByLCID[uint32(id)]
	if !ok {
		return "x-ms-" + strconv.FormatUint(id, 16)
	}
	lang, region, _ := strings.Cut(tag, "-")
	if i := strings.LastIndexByte(region, '-'); i >= 0 {
		return lang + "-" + region[:i+1] + strings.ToUpper(region[i+1:])
	}
	return lang + "-" + strings.ToUpper(region)
}

// LocaleOf returns the locale a call asks for: the UI locale of its
// context when flags carry FlagUseAmendedQualifiers, "" otherwise (a
// call that does not read or write localized objects).
func LocaleOf(flags Flags, wctx *Context) string {
	if flags&FlagUseAmendedQualifiers == 0 || wctx == nil {
		return ""
	}
	if v, ok := wctx.GetValue(UILocale); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}

// Localized returns svc making its reads and writes of classes and
// instances in a locale ("MS_409"): WBEM_FLAG_USE_AMENDED_QUALIFIERS with
// the locale in the call's context, as a WMI client asks for localized
// objects. Every door that receives a language (CIM-XML's
// Accept-Language, WS-Man's wsman:Locale) and the CLI's --locale call
// through it. svc itself is returned for "".
func Localized(svc Services, locale string) Services {
	if locale == "" {
		return svc
	}
	return &localized{Services: svc, locale: locale}
}

type localized struct {
	Services
	locale string
}

func (l *localized) with(flags Flags, wctx *Context) (Flags, *Context) {
	out := NewContext()
	if wctx != nil {
		out = wctx.Clone()
	}
	out.SetValue(UILocale, l.locale)
	return flags | FlagUseAmendedQualifiers, out
}

func (l *localized) OpenNamespace(ctx context.Context, ns string, flags Flags, wctx *Context) (Services, error) {
	svc, err := l.Services.OpenNamespace(ctx, ns, flags, wctx)
	if err != nil {
		return nil, err
	}
	return Localized(svc, l.locale), nil
}

func (l *localized) GetObject(ctx context.Context, path string, flags Flags, wctx *Context) (*cim.Object, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.GetObject(ctx, path, flags, wctx)
}

func (l *localized) GetObjectCall(ctx context.Context, path string, flags Flags, wctx *Context) (*CallResult, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.GetObjectCall(ctx, path, flags, wctx)
}

func (l *localized) PutClass(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) error {
	flags, wctx = l.with(flags, wctx)
	return l.Services.PutClass(ctx, class, flags, wctx)
}

func (l *localized) PutClassCall(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) (*CallResult, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.PutClassCall(ctx, class, flags, wctx)
}

func (l *localized) PutInstance(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (string, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.PutInstance(ctx, inst, flags, wctx)
}

func (l *localized) PutInstanceCall(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (*CallResult, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.PutInstanceCall(ctx, inst, flags, wctx)
}

func (l *localized) CreateClassEnum(ctx context.Context, superclass string, flags Flags, wctx *Context) (Enumerator, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.CreateClassEnum(ctx, superclass, flags, wctx)
}

func (l *localized) CreateInstanceEnum(ctx context.Context, class string, flags Flags, wctx *Context) (Enumerator, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.CreateInstanceEnum(ctx, class, flags, wctx)
}

func (l *localized) ExecQuery(ctx context.Context, language, query string, flags Flags, wctx *Context) (Enumerator, error) {
	flags, wctx = l.with(flags, wctx)
	return l.Services.ExecQuery(ctx, language, query, flags, wctx)
}
