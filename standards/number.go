package standards

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// StandardType is the kind of a standard: who issued it and whether it is
// mandatory.
type StandardType string

// The standard types of Chinese standardisation law.
const (
	TypeGB         StandardType = "GB"         // national mandatory: GB 2760-2014
	TypeGBT        StandardType = "GB/T"       // national recommended: GB/T 19001-2016
	TypeIndustry   StandardType = "industry"   // industry: QB/T 1234-2019, YY 0505-2012
	TypeLocal      StandardType = "local"      // local (provincial): DB11/T 1234-2015, DB11/ 501-2017
	TypeGroup      StandardType = "group"      // group (association): T/CAB 0001-2017
	TypeEnterprise StandardType = "enterprise" // enterprise: Q/TJXX 0001S-2023
)

// StandardTypes lists every [StandardType].
var StandardTypes = []StandardType{TypeGB, TypeGBT, TypeIndustry, TypeLocal, TypeGroup, TypeEnterprise}

// hasIndicators reports whether standards of type t carry their key
// technical indicators in a declaration (enterprise and group standards,
// whose content is the entity's or association's own).
func (t StandardType) hasIndicators() bool { return t == TypeEnterprise || t == TypeGroup }

// provinces are the two-digit administrative division codes a local
// standard's DB prefix carries (GB/T 2260).
var provinces = []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
	"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}

// The number patterns by type, on a normalised number. Each ends with the
// year; the parts before it are the code and the serial.
var numberPatterns = map[StandardType]*regexp.Regexp{
	TypeGB:       regexp.MustCompile(`^GB (\d+(?:\.\d+)*)-(\d{4})$`),
	TypeGBT:      regexp.MustCompile(`^GB/T (\d+(?:\.\d+)*)-(\d{4})$`),
	TypeIndustry: regexp.MustCompile(`^([A-Z]{2})(/T)? (\d+(?:\.\d+)*)-(\d{4})$`),
	TypeLocal:    regexp.MustCompile(`^DB(\d{2})(/T|/)? ?(\d+(?:\.\d+)*)-(\d{4})$`),
	TypeGroup:    regexp.MustCompile(`^T/([A-Z]{2,12}) ?(\d+(?:\.\d+)*[A-Z]?)-(\d{4})$`),
	// An enterprise code may hold digits, so the space before the serial
	// is needed to tell them apart.
	TypeEnterprise: regexp.MustCompile(`^Q/([A-Z0-9]{2,20}) (\d{1,8}[A-Z]?)-(\d{4})$`),
}

// normalizeNumber puts a standard number as people type it into one form:
// full-width letters and digits become ASCII, dashes become "-", spaces
// collapse, letters are upper case ("gb／t 19001—2016" is "GB/T
// 19001-2016").
func normalizeNumber(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '！' && r <= '～': // full-width ASCII
			r -= '！' - '!'
		case r == '—' || r == '–' || r == '‐' || r == '－':
			r = '-'
		case r == '\u3000':
			r = ' '
		}
		if r == ' ' || r == '\t' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	n := strings.ToUpper(b.String())
	// "GB/T 1 - 2020" and "GB /T" are typos of spacing only.
	n = strings.ReplaceAll(strings.ReplaceAll(n, " -", "-"), "- ", "-")
	return strings.ReplaceAll(strings.ReplaceAll(n, " /", "/"), "/ T", "/T")
}

// ParseNumber validates a standard number against its type and returns
// it in its canonical form ("GB 2760-2014"). thisYear bounds the year: a
// standard cannot be dated after next year.
func ParseNumber(t StandardType, number string, thisYear int) (string, error) {
	re, ok := numberPatterns[t]
	if !ok {
		return "", fmt.Errorf("unknown type %q: use one of GB, GB/T, industry, local, group, enterprise", t)
	}
	n := normalizeNumber(number)
	m := re.FindStringSubmatch(n)
	if m == nil || t == TypeIndustry && (m[1] == "GB" || m[1] == "DB") {
		if other := typeOf(n); other != "" && other != t {
			return "", fmt.Errorf("%q is %s %s number, not %s %s one", number, article(other), other, article(t), t)
		}
		return "", fmt.Errorf("%q is not %s %s number such as %s", number, article(t), t, numberExample[t])
	}
	year, _ := strconv.Atoi(m[len(m)-1])
	if year < 1950 || year > thisYear+1 {
		return "", fmt.Errorf("%q: the year %d is not a year a standard was issued", number, year)
	}
	switch t {
	case TypeLocal:
		if !slices.Contains(provinces, m[1]) {
			return "", fmt.Errorf("%q: DB%s names no province (the code is a GB/T 2260 province code such as 11 for Beijing)", number, m[1])
		}
		// The canonical forms: DB11/T 1234-2015 (recommended), DB11/ 501-2017 (mandatory).
		kind := "/"
		if m[2] == "/T" {
			kind = "/T"
		}
		return "DB" + m[1] + kind + " " + m[3] + "-" + m[4], nil
	case TypeGroup:
		return "T/" + m[1] + " " + m[2] + "-" + m[3], nil
	case TypeEnterprise:
		return "Q/" + m[1] + " " + m[2] + "-" + m[3], nil
	}
	return n, nil
}

var numberExample = map[StandardType]string{
	TypeGB: "GB 2760-2014", TypeGBT: "GB/T 19001-2016", TypeIndustry: "QB/T 1234-2019", TypeLocal: "DB11/T 1234-2015",
	TypeGroup: "T/CAB 0001-2017", TypeEnterprise: "Q/TJXX 0001S-2023",
}

// typeOf is the type whose pattern n matches, for a clearer error when the
// type given is wrong; "" when none does.
func typeOf(n string) StandardType {
	for _, t := range StandardTypes {
		if m := numberPatterns[t].FindStringSubmatch(n); m != nil && !(t == TypeIndustry && (m[1] == "GB" || m[1] == "DB")) {
			return t
		}
	}
	return ""
}

// article is "an" before industry and enterprise, "a" otherwise.
func article(t StandardType) string {
	if t == TypeIndustry || t == TypeEnterprise {
		return "an"
	}
	return "a"
}

// numberBase is a canonical number without its year ("GB 2760"), which a
// search for any edition matches.
func numberBase(n string) string {
	if i := strings.LastIndexByte(n, '-'); i > 0 {
		return n[:i]
	}
	return n
}

// normalizeQuery puts a standard number typed into a search in the form
// the declarations store: "gb 2760" finds every edition of GB 2760,
// "GB 2760—2014" one.
func normalizeQuery(s string) string {
	n := normalizeNumber(s)
	for _, t := range StandardTypes {
		if c, err := ParseNumber(t, n, 9999); err == nil {
			return c
		}
		if c, err := ParseNumber(t, n+"-2000", 9999); err == nil {
			return numberBase(c)
		}
	}
	return n
}
