package cimom

import "testing"

// TestLanguageLocale: language tags and WMI locales map both ways, and an
// LCID outside the table survives the round trip as a private-use tag.
func TestLanguageLocale(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"en-US", "MS_409"}, {"EN-us", "MS_409"}, {"en", "MS_409"}, {"de-CH, de;q=0.9", "MS_807"},
		{"tlh, fr-CA;q=0.5", "MS_c0c"}, {"fr;q=0, it", "MS_410"}, {"x-ms-1234", "MS_1234"}, {"sr-Latn-RS", "MS_241a"},
		{"*", ""}, {"", ""}, {"tlh", ""}, {"x-ms-zz", ""},
	} {
		if got, ok := LocaleOfLanguage(c.header); got != c.want || ok != (c.want != "") {
			t.Errorf("LocaleOfLanguage(%q) = %q, %v; want %q", c.header, got, ok, c.want)
		}
	}
	for _, c := range []struct{ locale, want string }{
		{"MS_409", "en-US"}, {"ms_407", "de-DE"}, {"MS_241A", "sr-latn-RS"}, {"MS_1234", "x-ms-1234"}, {"en-US", ""}, {"MS_", ""}, {"MS_0", ""},
	} {
		if got := LanguageOfLocale(c.locale); got != c.want {
			t.Errorf("LanguageOfLocale(%q) = %q, want %q", c.locale, got, c.want)
		}
		if c.want != "" {
			if back, _ := LocaleOfLanguage(c.want); !equalFoldASCII(back, c.locale) {
				t.Errorf("round trip of %s: %s", c.locale, back)
			}
		}
	}
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// FuzzLocaleOfLanguage: any header maps to a locale that maps back to a
// language, or to none; never a panic.
func FuzzLocaleOfLanguage(f *testing.F) {
	for _, s := range []string{"en-US", "de-CH, de;q=0.9, *;q=0.1", "x-ms-409", "fr;q=0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if loc, ok := LocaleOfLanguage(header); ok && LanguageOfLocale(loc) == "" {
			t.Fatalf("%q: locale %q has no language", header, loc)
		}
	})
}
