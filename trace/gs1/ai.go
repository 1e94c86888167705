package gs1

import "strconv"

// Charset is a character set an AI value is drawn from.
type Charset uint8

// The character sets of the GS1 General Specifications.
const (
	// Numeric is the digits 0-9 ("N" in GS1 format strings).
	Numeric Charset = iota + 1
	// CSet82 is the GS1 AI encodable character set 82 ("X"):
	// !"%&'()*+,-./0-9:;<=>?A-Z_a-z
	CSet82
	// CSet39 is the GS1 AI encodable character set 39 ("Y"): #-/0-9A-Z
	CSet39
	// CSet64 is the GS1 AI encodable character set 64 ("Z"), the file-safe
	// base64 alphabet -0-9A-Z_a-z, plus = for padding.
	CSet64
)

const (
	cset82Chars = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`
	cset39Chars = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	cset64Chars = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz="
)

// charsetTable has bit 1<<c set for every byte in Charset c. Read only.
var charsetTable = func() (t [256]uint8) {
	for _, cs := range []struct {
		c     Charset
		chars string
	}{{Numeric, "0123456789"}, {CSet82, cset82Chars}, {CSet39, cset39Chars}, {CSet64, cset64Chars}} {
		for i := 0; i < len(cs.chars); i++ {
			t[cs.chars[i]] |= 1 << cs.c
		}
	}
	return t
}()

// Contains reports whether b belongs to c.
func (c Charset) Contains(b byte) bool { return charsetTable[b]&(1<<c) != 0 }

// String returns the letter GS1 format strings use for c: N, X, Y or Z.
func (c Charset) String() string {
	switch c {
	case Numeric:
		return "N"
	case CSet82:
		return "X"
	case CSet39:
		return "Y"
	case CSet64:
		return "Z"
	}
	return "Charset(" + strconv.Itoa(int(c)) + ")"
}

// AI describes a GS1 application identifier: the format of its value and
// the rules on how it combines with other AIs. Values come from the GS1
// General Specifications and the GS1 Barcode Syntax Dictionary.
type AI struct {
	Code    string  // the AI itself, e.g. "01"
	Title   string  // GS1 data title, e.g. "BATCH/LOT"
	Charset Charset // characters the value may use
	MinLen  int     // shortest value; equal to MaxLen for fixed-length AIs
	MaxLen  int     // longest value

	// PredefinedLength marks the AIs whose length the GS1 General
	// Specifications fix by their first two digits (00-04, 11-20, 31-36,
	// 41). They need no FNC1 separator after them; every other AI, even a
	// fixed-length one such as (422), does when it is not last.
	PredefinedLength bool

	CheckDigit    bool // the last digit is a GS1 mod-10 check digit
	Date          bool // the value is a date YYMMDD
	DayZero       bool // with Date: day 00 is allowed and means "end of month"
	NoLeadingZero bool // the value must not start with 0

	Key          bool     // the AI is a GS1 identification key
	DLPrimaryKey bool     // the AI can be the primary key of a Digital Link URI
	Qualifiers   []string // Digital Link key qualifiers, in their path order

	// Requires lists groups of AIs; from every group at least one AI must be
	// present alongside this one. E.g. (10) has {{"01", "02"}}.
	Requires [][]string
	// Excludes lists AIs that must not appear with this one. A trailing or
	// inner "n" matches any digit, so "310n" covers 3100-3109; an AI never
	// excludes itself.
	Excludes []string
}

// Fixed reports whether the value has one fixed length.
func (a AI) Fixed() bool { return a.MinLen == a.MaxLen }

// SeparatorRequired reports whether an element string must put an FNC1
// (GS, 0x1D) after this AI's value when another element follows.
func (a AI) SeparatorRequired() bool { return !a.PredefinedLength }

// Format returns the GS1 format string of the value, e.g. "N14" or "X..20".
func (a AI) Format() string {
	if a.Fixed() {
		return a.Charset.String() + strconv.Itoa(a.MaxLen)
	}
	return a.Charset.String() + ".." + strconv.Itoa(a.MaxLen)
}

// LookupAI returns the description of the application identifier code.
// The result is a copy; changing it does not change the table.
func LookupAI(code string) (AI, bool) {
	a, ok := aiTable[code]
	if !ok {
		return AI{}, false
	}
	c := *a
	c.Qualifiers = cloneStrings(a.Qualifiers)
	c.Excludes = cloneStrings(a.Excludes)
	if a.Requires != nil {
		c.Requires = make([][]string, len(a.Requires))
		for i, g := range a.Requires {
			c.Requires[i] = cloneStrings(g)
		}
	}
	return c, true
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// lookupAI returns the shared, read-only table entry for code.
func lookupAI(code string) *AI { return aiTable[code] }

// dlPrimaryKeys lists the Digital Link primary keys in the order
// BuildDigitalLink prefers them when several are present.
var dlPrimaryKeys = [...]string{"01", "00", "414", "417", "8004", "8010", "8017", "8018", "401", "402", "415"}

// aiTable maps AI codes to their descriptions. It is built once and never
// changed.
var aiTable = newAITable()

func newAITable() map[string]*AI {
	// Requisite groups shared by many AIs. Of the alternatives the Syntax
	// Dictionary lists, only AIs present in this table are kept.
	var (
		tradeItem = [][]string{{"01", "02"}}
		gtinOnly  = [][]string{{"01"}}
		logistic  = [][]string{{"00", "01"}}
	)
	n := func(code, title string, minLen, maxLen int) AI {
		return AI{Code: code, Title: title, Charset: Numeric, MinLen: minLen, MaxLen: maxLen}
	}
	x := func(code, title string, maxLen int) AI {
		return AI{Code: code, Title: title, Charset: CSet82, MinLen: 1, MaxLen: maxLen}
	}
	// key is a fixed-length numeric identification key with a check digit.
	key := func(code, title string, length int, predefined bool) AI {
		a := n(code, title, length, length)
		a.CheckDigit, a.Key, a.PredefinedLength = true, true, predefined
		return a
	}
	date := func(code, title string, dayZero bool, predefined bool, req [][]string) AI {
		a := n(code, title, 6, 6)
		a.Date, a.DayZero, a.PredefinedLength, a.Requires = true, dayZero, predefined, req
		return a
	}
	with := func(a AI, f func(*AI)) AI { f(&a); return a }
	req := func(a AI, groups ...[]string) AI { a.Requires = groups; return a }

	list := []AI{
		with(key("00", "SSCC", 18, true), func(a *AI) { a.DLPrimaryKey = true }),
		with(key("01", "GTIN", 14, true), func(a *AI) {
			a.DLPrimaryKey = true
			a.Qualifiers = []string{"22", "10", "21"}
			a.Excludes = []string{"02", "37"}
		}),
		req(key("02", "CONTENT", 14, true), []string{"37"}),
		req(x("10", "BATCH/LOT", 20), tradeItem...),
		date("11", "PROD DATE", true, true, tradeItem),
		date("12", "DUE DATE", true, true, [][]string{{"8020"}}),
		date("13", "PACK DATE", true, true, tradeItem),
		date("15", "BEST BEFORE or BEST BY", true, true, tradeItem),
		date("16", "SELL BY", true, true, tradeItem),
		date("17", "USE BY or EXPIRY", true, true, tradeItem),
		with(n("20", "VARIANT", 2, 2), func(a *AI) { a.PredefinedLength, a.Requires = true, tradeItem }),
		req(x("21", "SERIAL", 20), gtinOnly...),
		req(x("22", "CPV", 20), gtinOnly...),
		req(x("240", "ADDITIONAL ID", 30), tradeItem...),
		req(x("241", "CUST. PART No.", 30), tradeItem...),
		req(n("242", "MTO VARIANT", 1, 6), tradeItem...),
		req(x("243", "PCN", 20), gtinOnly...),
		req(x("250", "SECONDARY SERIAL", 30), []string{"01"}, []string{"21"}),
		req(x("251", "REF. TO SOURCE", 30), gtinOnly...),
		req(x("254", "GLN EXTENSION COMPONENT", 20), []string{"414"}),
		req(n("30", "VAR. COUNT", 1, 8), tradeItem...),
		req(n("37", "COUNT", 1, 8), []string{"00"}, []string{"02"}),
		x("400", "ORDER NUMBER", 30),
		with(x("401", "GINC", 30), func(a *AI) { a.Key, a.DLPrimaryKey = true, true }),
		with(key("402", "GSIN", 17, false), func(a *AI) { a.DLPrimaryKey = true }),
		req(x("403", "ROUTE", 30), []string{"00"}),
		key("410", "SHIP TO LOC", 13, true),
		key("411", "BILL TO", 13, true),
		key("412", "PURCHASE FROM", 13, true),
		key("413", "SHIP FOR LOC", 13, true),
		with(key("414", "LOC No.", 13, true), func(a *AI) {
			a.DLPrimaryKey = true
			a.Qualifiers = []string{"254"}
		}),
		with(key("415", "PAY TO", 13, true), func(a *AI) {
			a.DLPrimaryKey = true
			a.Qualifiers = []string{"8020"}
			a.Requires = [][]string{{"8020"}}
		}),
		key("416", "PROD/SERV LOC", 13, true),
		with(key("417", "PARTY", 13, true), func(a *AI) { a.DLPrimaryKey = true }),
		x("420", "SHIP TO POST", 20),
		// ISO 3166 country codes are only checked for being 3 digits.
		with(n("422", "ORIGIN", 3, 3), func(a *AI) { a.Requires, a.Excludes = tradeItem, []string{"426"} }),
		with(n("424", "COUNTRY - PROCESS", 3, 3), func(a *AI) { a.Requires, a.Excludes = tradeItem, []string{"426"} }),
		req(n("426", "COUNTRY - FULL PROCESS", 3, 3), tradeItem...),
		req(x("427", "ORIGIN SUBDIVISION", 3), []string{"01", "02"}, []string{"422"}),
		req(n("7001", "NSN", 13, 13), tradeItem...),
		req(x("7002", "MEAT CUT", 30), tradeItem...),
		req(x("7005", "CATCH AREA", 12), tradeItem...),
		date("7006", "FIRST FREEZE DATE", false, false, tradeItem),
		req(x("7008", "AQUATIC SPECIES", 3), tradeItem...),
		req(x("7009", "FISHING GEAR TYPE", 10), tradeItem...),
		req(x("7010", "PROD METHOD", 2), tradeItem...),
		req(x("7020", "REFURB LOT", 20), []string{"01"}, []string{"416"}),
		req(x("7021", "FUNC STAT", 20), gtinOnly...),
		req(x("7022", "REV STAT", 20), []string{"7021"}),
		with(x("7023", "GIAI - ASSEMBLY", 30), func(a *AI) { a.Key = true }),
		req(x("710", "NHRN PZN", 20), gtinOnly...),
		req(x("711", "NHRN CIP", 20), gtinOnly...),
		req(x("712", "NHRN CN", 20), gtinOnly...),
		req(x("713", "NHRN DRN", 20), gtinOnly...),
		req(x("714", "NHRN AIM", 20), gtinOnly...),
		req(x("715", "NHRN NDC", 20), gtinOnly...),
		req(x("7240", "PROTOCOL", 20), gtinOnly...),
		req(x("7242", "VCN", 25), []string{"8017", "8018"}),
		x("8002", "CMT No.", 20),
		with(x("8004", "GIAI", 30), func(a *AI) { a.Key, a.DLPrimaryKey = true, true }),
		req(n("8005", "PRICE PER UNIT", 6, 6), tradeItem...),
		req(x("8009", "OPTSEN", 50), logistic...),
		with(x("8010", "CPID", 30), func(a *AI) {
			a.Charset, a.Key, a.DLPrimaryKey = CSet39, true, true
			a.Qualifiers = []string{"8011"}
		}),
		with(n("8011", "CPID SERIAL", 1, 12), func(a *AI) {
			a.NoLeadingZero, a.Requires = true, [][]string{{"8010"}}
		}),
		req(x("8012", "VERSION", 20), gtinOnly...),
		with(key("8017", "GSRN - PROVIDER", 18, false), func(a *AI) {
			a.DLPrimaryKey, a.Qualifiers, a.Excludes = true, []string{"8019"}, []string{"8018"}
		}),
		with(key("8018", "GSRN - RECIPIENT", 18, false), func(a *AI) {
			a.DLPrimaryKey, a.Qualifiers, a.Excludes = true, []string{"8019"}, []string{"8017"}
		}),
		req(n("8019", "SRIN", 1, 10), []string{"8017", "8018"}),
		req(x("8020", "REF No.", 25), []string{"415"}),
		req(x("8200", "PRODUCT URL", 70), gtinOnly...),
		x("90", "INTERNAL", 30),
	}

	// Measures: 4-digit AIs whose last digit is the implied decimal point
	// position, 0-5. At most one AI of each three-digit family may appear.
	measures := []struct {
		prefix, title string
		req           [][]string
	}{
		{"310", "NET WEIGHT (kg)", tradeItem},
		{"311", "LENGTH (m)", tradeItem},
		{"312", "WIDTH (m)", tradeItem},
		{"313", "HEIGHT (m)", tradeItem},
		{"314", "AREA (m²)", tradeItem},
		{"315", "NET VOLUME (l)", tradeItem},
		{"316", "NET VOLUME (m³)", tradeItem},
		{"320", "NET WEIGHT (lb)", tradeItem},
		{"330", "GROSS WEIGHT (kg)", logistic},
		{"331", "LENGTH (m), log", logistic},
		{"332", "WIDTH (m), log", logistic},
		{"333", "HEIGHT (m), log", logistic},
		{"334", "AREA (m²), log", logistic},
		{"335", "VOLUME (l), log", logistic},
		{"336", "VOLUME (m³), log", logistic},
		{"340", "GROSS WEIGHT (lb)", logistic},
		{"356", "NET WEIGHT (t oz)", tradeItem},
		{"357", "NET VOLUME (oz)", tradeItem},
	}
	for _, m := range measures {
		for d := range 6 {
			a := n(m.prefix+strconv.Itoa(d), m.title, 6, 6)
			a.PredefinedLength, a.Requires, a.Excludes = true, m.req, []string{m.prefix + "n"}
			list = append(list, a)
		}
	}
	for d := range 10 {
		a := n("390"+strconv.Itoa(d), "AMOUNT", 1, 15)
		a.Requires, a.Excludes = [][]string{{"8020"}}, []string{"390n"}
		list = append(list, a)
	}
	for d := 1; d <= 9; d++ {
		list = append(list, x("9"+strconv.Itoa(d), "INTERNAL", 90))
	}

	t := make(map[string]*AI, len(list))
	for i := range list {
		t[list[i].Code] = &list[i]
	}
	return t
}

// matchAI reports whether code matches pattern, in which each 'n' stands
// for any digit.
func matchAI(pattern, code string) bool {
	if len(pattern) != len(code) {
		return false
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != code[i] && (pattern[i] != 'n' || code[i] < '0' || code[i] > '9') {
			return false
		}
	}
	return true
}
