package wsman

import (
	"html"
	"regexp"
	"slices"
	"testing"
)

// TestSelectorFilterEscapes: a selector filter's values reach cimom as WQL
// constants built by wql, so a value with quotes and backslashes selects
// exactly the instance that has it, and no other.
func TestSelectorFilterEscapes(t *testing.T) {
	url, _ := newServer(t, nil)
	names := []string{`q'x\y`, `q'x`, `q\'x\y`, `q\\'x\\y`, `q"x\y`}
	for _, n := range names {
		do(t, url, msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>` + n + `</p:Name><p:Model>it's \ "` + n + `"</p:Model></p:Sample_Disk>`}, 200, actCreate+"Response")
	}
	nameRE := regexp.MustCompile(`<p:Name>([^<]*)</p:Name>`)
	selected := func(sels string) []string {
		var got []string
		for _, a := range enumerate(t, url, diskURI, `<wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:Filter Dialect="`+dialectSel+`"><wsman:SelectorSet>`+sels+`</wsman:SelectorSet></wsman:Filter>`, 10) {
			for _, m := range nameRE.FindAllStringSubmatch(a, -1) {
				got = append(got, html.UnescapeString(m[1]))
			}
		}
		slices.Sort(got)
		return got
	}
	for _, n := range names {
		sel := `<wsman:Selector Name="Name">` + n + `</wsman:Selector>`
		if got := selected(sel); !slices.Equal(got, []string{n}) {
			t.Errorf("Name = %s selected %q", n, got)
		}
		sel = `<wsman:Selector Name="Model">it's \ "` + n + `"</wsman:Selector><wsman:Selector Name="RotationRate">0</wsman:Selector>`
		if got := selected(sel); !slices.Equal(got, []string{n}) {
			t.Errorf("Model of %s and RotationRate selected %q", n, got)
		}
	}
	if got := selected(`<wsman:Selector Name="Model">it's</wsman:Selector>`); len(got) != 0 {
		t.Errorf("a prefix of the Model selected %q", got)
	}
}
