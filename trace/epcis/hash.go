package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"tracesvc/trace/gs1"
)

// Hash returns the EPCIS event hash ID of raw, one JSON event, as CBV 2.0
// §8.9 defines it: "ni:///sha-256;{hex}?ver=CBV2.0", the SHA-256 digest of
// the event's canonical pre-hash string. The event is not validated; any
// JSON object can be hashed. Extension names are expanded with the event's
// own @context; [Document.Hash] also applies the document's.
//
// See the package documentation for how the pre-hash string is built and
// where this implementation departs from the standard.
func Hash(raw json.RawMessage) (string, error) {
	m, err := decodeObject(raw)
	if err != nil {
		return "", err
	}
	return newHasher(nil, m).hash(m), nil
}

// newHasher returns the hasher for event m within a document whose
// @context defined prefixes.
func newHasher(prefixes map[string]string, m map[string]any) hasher {
	if ctx, ok := m["@context"]; ok {
		prefixes = withContext(prefixes, ctx)
	}
	return hasher{prefixes: prefixes}
}

// hasher builds pre-hash strings.
type hasher struct {
	// prefixes maps JSON-LD prefixes from @context to their IRIs.
	prefixes map[string]string
	// legacy reproduces the draft algorithm the GS1 EPCIS 2.0 example
	// files were hashed with: CBV values as urn:epcglobal:cbv: URNs, EPC
	// URNs and Digital Link URIs as given, and extension names as the bare
	// expanded IRI. Only the tests set it.
	legacy bool
}

// hash returns the hash ID of the decoded event m.
func (h hasher) hash(m map[string]any) string {
	sum := sha256.Sum256([]byte(h.preHash(m)))
	return "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=CBV2.0"
}

// Fields that never take part in the hash.
func ignoredField(name string) bool {
	switch name {
	case "type", "eventID", "recordTime", "errorDeclaration", "@context", "rdfs:comment", "comment":
		return true
	}
	return false
}

// preHash returns the canonical pre-hash string of the decoded event m:
// the fields in the canonical property order, as name=value with no
// separators, lists sorted, then ilmd and the extensions, each sorted.
func (h hasher) preHash(m map[string]any) string {
	var b strings.Builder
	b.Grow(512)
	b.WriteString("eventType=")
	b.WriteString(h.scalar(m["type"]))
	h.timeProp(&b, "eventTime", m["eventTime"])
	h.prop(&b, "eventTimeZoneOffset", m["eventTimeZoneOffset"])
	h.props(&b, "certificationInfo", m["certificationInfo"])
	h.epcs(&b, "epcList", m["epcList"])
	h.prop(&b, "parentID", m["parentID"])
	h.epcs(&b, "inputEPCList", m["inputEPCList"])
	h.epcs(&b, "childEPCs", m["childEPCs"])
	h.quantities(&b, "quantityList", m["quantityList"])
	h.quantities(&b, "childQuantityList", m["childQuantityList"])
	h.quantities(&b, "inputQuantityList", m["inputQuantityList"])
	h.epcs(&b, "outputEPCList", m["outputEPCList"])
	h.quantities(&b, "outputQuantityList", m["outputQuantityList"])
	h.prop(&b, "action", m["action"])
	h.prop(&b, "transformationID", m["transformationID"])
	h.vocabProp(&b, "bizStep", m["bizStep"], BizStep)
	h.vocabProp(&b, "disposition", m["disposition"], Disposition)
	h.persistentDisposition(&b, m["persistentDisposition"])
	h.place(&b, "readPoint", m["readPoint"])
	h.place(&b, "bizLocation", m["bizLocation"])
	h.typedList(&b, "bizTransactionList", "bizTransaction", m["bizTransactionList"], BizTransactionType)
	h.typedList(&b, "sourceList", "source", m["sourceList"], SourceDestType)
	h.typedList(&b, "destinationList", "destination", m["destinationList"], SourceDestType)
	h.sensorElements(&b, m["sensorElementList"])
	// ilmd is sorted in with the extensions, as the reference
	// implementation does; with expanded extension names ({…}name) that
	// puts it first.
	var ext []string
	for name, v := range m {
		if !ignoredField(name) && !hashedField(name) {
			ext = h.generic(ext, name, v)
		}
	}
	slices.Sort(ext)
	for _, s := range ext {
		b.WriteString(s)
	}
	return b.String()
}

// hashedField reports whether preHash handles the top-level field name in
// the canonical order.
func hashedField(name string) bool {
	switch name {
	case "eventTime", "eventTimeZoneOffset", "certificationInfo", "epcList",
		"parentID", "inputEPCList", "childEPCs", "quantityList",
		"childQuantityList", "inputQuantityList", "outputEPCList",
		"outputQuantityList", "action", "transformationID", "bizStep",
		"disposition", "persistentDisposition", "readPoint", "bizLocation",
		"bizTransactionList", "sourceList", "destinationList",
		"sensorElementList":
		return true
	}
	return false
}

// writeGroup writes name and the sorted parts, or nothing when there are
// no parts.
func writeGroup(b *strings.Builder, name string, parts []string) {
	if len(parts) == 0 {
		return
	}
	slices.Sort(parts)
	b.WriteString(name)
	for _, p := range parts {
		b.WriteString(p)
	}
}

// prop writes name=value for a scalar field that is present and not empty.
func (h hasher) prop(b *strings.Builder, name string, v any) {
	if s := h.scalar(v); s != "" {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(s)
	}
}

// props writes name=value for each value of a field that may be a list.
func (h hasher) props(b *strings.Builder, name string, v any) {
	list, ok := v.([]any)
	if !ok {
		h.prop(b, name, v)
		return
	}
	parts := make([]string, 0, len(list))
	for _, x := range list {
		if s := h.scalar(x); s != "" {
			parts = append(parts, name+"="+s)
		}
	}
	slices.Sort(parts)
	for _, p := range parts {
		b.WriteString(p)
	}
}

// timeProp writes name=timestamp, normalised to UTC and milliseconds.
func (h hasher) timeProp(b *strings.Builder, name string, v any) {
	if s := h.timestamp(v); s != "" {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(s)
	}
}

// vocabProp writes name=value for a CBV field, a bare value expanded to
// its GS1 Web URI.
func (h hasher) vocabProp(b *strings.Builder, name string, v any, voc Vocabulary) {
	if s := h.vocab(v, voc); s != "" {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(s)
	}
}

// epcs writes a list of EPCs: name then epc=… for each, sorted.
func (h hasher) epcs(b *strings.Builder, name string, v any) {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		if s := h.scalar(x); s != "" {
			parts = append(parts, "epc="+s)
		}
	}
	writeGroup(b, name, parts)
}

// quantities writes a quantity list: name then a quantityElement with
// epcClass, quantity and uom for each element, sorted.
func (h hasher) quantities(b *strings.Builder, name string, v any) {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			continue
		}
		var e strings.Builder
		h.prop(&e, "epcClass", obj["epcClass"])
		h.prop(&e, "quantity", obj["quantity"])
		h.prop(&e, "uom", obj["uom"])
		if e.Len() > 0 {
			parts = append(parts, "quantityElement"+e.String())
		}
	}
	writeGroup(b, name, parts)
}

// persistentDisposition writes set=… and unset=…, each sorted.
func (h hasher) persistentDisposition(b *strings.Builder, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	var parts []string
	for _, name := range [...]string{"set", "unset"} {
		list, _ := obj[name].([]any)
		group := make([]string, 0, len(list))
		for _, x := range list {
			if s := h.vocab(x, Disposition); s != "" {
				group = append(group, name+"="+s)
			}
		}
		slices.Sort(group)
		parts = append(parts, group...)
	}
	if len(parts) > 0 {
		b.WriteString("persistentDisposition")
		for _, p := range parts {
			b.WriteString(p)
		}
	}
}

// place writes readPoint or bizLocation: id, then its extensions.
func (h hasher) place(b *strings.Builder, name string, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	s := h.fields(name, obj, placeOrder)
	b.WriteString(s)
}

// The order of the fields of structures with an extension point. Read
// only.
var (
	placeOrder    = []fieldSpec{{name: "id"}}
	metadataOrder = []fieldSpec{
		{name: "time", time: true}, {name: "startTime", time: true}, {name: "endTime", time: true},
		{name: "deviceID"}, {name: "deviceMetadata"}, {name: "rawData"},
		{name: "dataProcessingMethod"}, {name: "bizRules"},
	}
	reportOrder = []fieldSpec{
		{name: "type", expand: "https://gs1.org/voc/"}, {name: "exception", expand: "https://gs1.org/voc/SensorAlertType-"},
		{name: "deviceID"}, {name: "deviceMetadata"}, {name: "rawData"}, {name: "dataProcessingMethod"},
		{name: "time", time: true}, {name: "microorganism"}, {name: "chemicalSubstance"}, {name: "value"},
		{name: "component", expand: cbvWeb + "Comp-"}, {name: "stringValue"}, {name: "booleanValue"},
		{name: "hexBinaryValue"}, {name: "uriValue"}, {name: "minValue"}, {name: "maxValue"},
		{name: "meanValue"}, {name: "sDev"}, {name: "percRank"}, {name: "percValue"}, {name: "uom"},
		{name: "coordinateReferenceSystem"},
	}
)

// fieldSpec is one standard field of a structure.
type fieldSpec struct {
	name   string
	time   bool   // a timestamp
	expand string // the namespace a bare value is in
}

// fields returns name followed by obj's standard fields in order, then its
// other members sorted; "" when there is nothing.
func (h hasher) fields(name string, obj map[string]any, order []fieldSpec) string {
	var b strings.Builder
	for _, f := range order {
		v, ok := obj[f.name]
		if !ok {
			continue
		}
		var s string
		switch {
		case f.time:
			s = h.timestamp(v)
		case f.expand != "":
			s = h.expandBare(v, f.expand)
		default:
			s = h.scalar(v)
		}
		if s != "" {
			b.WriteString(f.name)
			b.WriteByte('=')
			b.WriteString(s)
		}
	}
	ext := h.members(nil, obj, order)
	slices.Sort(ext)
	for _, s := range ext {
		b.WriteString(s)
	}
	if b.Len() == 0 {
		return ""
	}
	return name + b.String()
}

// members appends the generic strings of obj's members that are not in
// skip.
func (h hasher) members(out []string, obj map[string]any, skip []fieldSpec) []string {
outer:
	for k, v := range obj {
		if ignoredField(k) {
			continue
		}
		for _, f := range skip {
			if f.name == k {
				continue outer
			}
		}
		out = h.generic(out, k, v)
	}
	return out
}

// typedList writes bizTransactionList, sourceList or destinationList:
// name, then for each element the identifier and its type, sorted.
func (h hasher) typedList(b *strings.Builder, name, field string, v any, voc Vocabulary) {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			continue
		}
		var e strings.Builder
		h.prop(&e, field, obj[field])
		if t := h.vocab(obj["type"], voc); t != "" {
			e.WriteString("type=")
			e.WriteString(t)
		}
		if e.Len() > 0 {
			parts = append(parts, e.String())
		}
	}
	writeGroup(b, name, parts)
}

// sensorElements writes sensorElementList: for each element its metadata,
// its reports sorted, and its extensions sorted; the elements sorted.
func (h hasher) sensorElements(b *strings.Builder, v any) {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		obj, ok := x.(map[string]any)
		if !ok {
			continue
		}
		var e strings.Builder
		if md, ok := obj["sensorMetadata"].(map[string]any); ok {
			e.WriteString(h.fields("sensorMetadata", md, metadataOrder))
		}
		reports, _ := obj["sensorReport"].([]any)
		rs := make([]string, 0, len(reports))
		for _, r := range reports {
			if rm, ok := r.(map[string]any); ok {
				if s := h.fields("sensorReport", rm, reportOrder); s != "" {
					rs = append(rs, s)
				}
			}
		}
		slices.Sort(rs)
		for _, s := range rs {
			e.WriteString(s)
		}
		ext := h.members(nil, obj, []fieldSpec{{name: "sensorMetadata"}, {name: "sensorReport"}})
		slices.Sort(ext)
		for _, s := range ext {
			e.WriteString(s)
		}
		if e.Len() > 0 {
			parts = append(parts, "sensorElement"+e.String())
		}
	}
	writeGroup(b, "sensorElementList", parts)
}

// generic appends the strings of a member outside the standard fields:
// its expanded name and =value for a scalar, its name and its members
// sorted for an object, and one string per item for an array.
func (h hasher) generic(out []string, k string, v any) []string {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			out = h.generic(out, k, x)
		}
		return out
	case map[string]any:
		children := h.members(nil, v, nil)
		slices.Sort(children)
		return append(out, h.key(k)+strings.Join(children, ""))
	}
	if s := h.scalar(v); s != "" {
		return append(out, h.key(k)+"="+s)
	}
	return append(out, h.key(k))
}

// key expands an extension member name: a compact IRI prefix:local whose
// prefix the @context defines becomes {namespace}local; an absolute IRI
// is split after its last / or #.
func (h hasher) key(k string) string {
	prefix, local, ok := strings.Cut(k, ":")
	if !ok {
		return k
	}
	var ns string
	if strings.HasPrefix(local, "//") {
		i := strings.LastIndexAny(k, "/#")
		ns, local = k[:i+1], k[i+1:]
	} else if ns, ok = h.namespace(prefix); !ok {
		return k
	}
	if h.legacy {
		return ns + local
	}
	return "{" + ns + "}" + local
}

// namespace returns the IRI of a JSON-LD prefix: from @context, or one of
// those the EPCIS 2.0 context defines for GS1 vocabularies.
func (h hasher) namespace(prefix string) (string, bool) {
	if ns, ok := h.prefixes[prefix]; ok {
		return ns, true
	}
	switch prefix {
	case "gs1":
		return "https://gs1.org/voc/", true
	case "cbv":
		return cbvWeb, true
	case "epcis":
		return "https://ref.gs1.org/epcis/", true
	}
	return "", false
}

// scalar returns the canonical text of a scalar value: trimmed, compact
// IRIs expanded, CBV URNs as GS1 Web URIs, numbers without trailing
// zeros, GS1 identifiers as canonical Digital Link URIs.
func (h hasher) scalar(v any) string {
	switch v := v.(type) {
	case string:
		return h.value(v)
	case json.Number:
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && !math.IsInf(f, 0) {
			return formatNumber(f)
		}
		return string(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

// value canonicalises a string value.
func (h hasher) value(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if prefix, rest, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(rest, "//") {
		if ns, ok := h.namespace(prefix); ok {
			s = ns + rest
		}
	}
	if !h.legacy {
		s = cbvURNToWeb(s)
	}
	if n, ok := numeric(s); ok {
		return n
	}
	if !h.legacy {
		if dl, ok := digitalLink(s); ok {
			return dl
		}
	}
	return s
}

// vocab returns the canonical value of a CBV field: a bare value is
// expanded to its GS1 Web URI first.
func (h hasher) vocab(v any, voc Vocabulary) string {
	s, ok := v.(string)
	if !ok {
		return h.scalar(v)
	}
	s = strings.TrimSpace(s)
	if s != "" && strings.IndexByte(s, ':') < 0 {
		if h.legacy {
			s = voc.info().urn + s
		} else {
			s = voc.webURI(s)
		}
	}
	return h.value(s)
}

// expandBare returns the canonical value of v, a bare value taken to be
// in namespace ns.
func (h hasher) expandBare(v any, ns string) string {
	if s, ok := v.(string); ok && !h.legacy {
		if s = strings.TrimSpace(s); s != "" && strings.IndexByte(s, ':') < 0 {
			return h.value(ns + s)
		}
	}
	return h.scalar(v)
}

// timestamp returns a date-time in UTC with milliseconds, rounding half
// up: 2005-04-04T02:33:31.116Z. Other values are canonicalised as text.
func (h hasher) timestamp(v any) string {
	s, ok := v.(string)
	if !ok {
		return h.scalar(v)
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return h.value(s)
	}
	return t.UTC().Round(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// cbvURNToWeb rewrites an EPCIS 1.x CBV URN as its GS1 Web URI.
func cbvURNToWeb(s string) string {
	const urn = "urn:epcglobal:cbv:"
	if !strings.HasPrefix(s, urn) {
		return s
	}
	for _, v := range [...]Vocabulary{BizStep, Disposition, BizTransactionType, SourceDestType, ErrorReason} {
		in := v.info()
		if strings.HasPrefix(s, in.urn) {
			return in.web + s[len(in.urn):]
		}
	}
	return s
}

// numeric returns the canonical form of s when s is a decimal number:
// no trailing zeros, no leading + or zeros.
func numeric(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return "", false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", false
	}
	return formatNumber(f), true
}

// formatNumber formats f as the reference implementation does: integral
// values as integers, others in the shortest form that reads back as f,
// in exponent form below 1e-4.
func formatNumber(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f == math.Trunc(f):
		return strconv.FormatFloat(f, 'f', 0, 64)
	case math.Abs(f) < 1e-4:
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// digitalLink returns the constrained canonical GS1 Digital Link URI of a
// GS1 identifier: an EPC URN or a Digital Link URI on any host, reduced to
// its most fine-grained key and without query string.
func digitalLink(s string) (string, bool) {
	key, kind, err := gs1.ParseEPC(s)
	switch {
	case err != nil:
		return "", false
	case kind != gs1.EPCOther:
		return "https://id.gs1.org/" + key, true
	case strings.HasPrefix(s, "urn:epc:id:"):
		return otherEPC(s)
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		return otherDigitalLink(s)
	}
	return "", false
}

// otherDigitalLink handles Digital Link URIs whose primary key is not one
// gs1.ParseEPC maps, such as (8004).
func otherDigitalLink(s string) (string, bool) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	found := false
	for _, ai := range [...]string{"/8004/", "/8010/", "/8017/", "/8018/", "/401/", "/402/", "/415/"} {
		found = found || strings.Contains(s, ai)
	}
	if !found {
		return "", false
	}
	e, err := gs1.ParseDigitalLink(s)
	if err != nil {
		return "", false
	}
	keep := gs1.Elements{e[0]}
	if e[0].AI == "8010" || e[0].AI == "415" {
		for _, el := range e[1:] {
			if el.AI == "8011" || el.AI == "8020" {
				keep = append(keep, el)
			}
		}
	}
	uri, err := gs1.BuildDigitalLink("https://id.gs1.org", keep)
	return uri, err == nil
}

// otherEPC converts the EPC URNs of GS1 keys that gs1.ParseEPC leaves
// alone to Digital Link URIs, per the Tag Data Standard.
func otherEPC(s string) (string, bool) {
	scheme, body, _ := strings.Cut(s[len("urn:epc:id:"):], ":")
	parts := strings.Split(body, ".")
	digits := func(ss ...string) bool {
		for _, p := range ss {
			for i := 0; i < len(p); i++ {
				if p[i] < '0' || p[i] > '9' {
					return false
				}
			}
		}
		return true
	}
	check := func(d string) string {
		c, err := gs1.CheckDigit(d)
		if err != nil {
			return ""
		}
		return d + string(c)
	}
	if len(parts) < 2 || len(parts[0]) < 6 || len(parts[0]) > 12 || !digits(parts[0]) {
		return "", false
	}
	cp := parts[0]
	var path string
	switch {
	case scheme == "giai" && len(parts) == 2:
		path = "8004/" + escapeEPCValue(cp, parts[1])
	case scheme == "ginc" && len(parts) == 2:
		path = "401/" + escapeEPCValue(cp, parts[1])
	case (scheme == "gsrn" || scheme == "gsrnp") && len(parts) == 2 && digits(parts[1]) && len(cp)+len(parts[1]) == 17:
		ai := "8018/"
		if scheme == "gsrnp" {
			ai = "8017/"
		}
		path = ai + check(cp+parts[1])
	case scheme == "gsin" && len(parts) == 2 && digits(parts[1]) && len(cp)+len(parts[1]) == 16:
		path = "402/" + check(cp+parts[1])
	case scheme == "grai" && len(parts) == 3 && digits(parts[1]) && len(cp)+len(parts[1]) == 12:
		path = "8003/" + check("0"+cp+parts[1]) + escapeEPCValue("", parts[2])
	case scheme == "gdti" && len(parts) == 3 && digits(parts[1]) && len(cp)+len(parts[1]) == 12:
		path = "253/" + check(cp+parts[1]) + escapeEPCValue("", parts[2])
	case scheme == "sgcn" && len(parts) == 3 && digits(parts[1], parts[2]) && len(cp)+len(parts[1]) == 12:
		path = "255/" + check(cp+parts[1]) + parts[2]
	case scheme == "cpi" && len(parts) == 3 && digits(parts[2]):
		path = "8010/" + escapeEPCValue(cp, parts[1]) + "/8011/" + parts[2]
	default:
		return "", false
	}
	if strings.Contains(path, "\x00") {
		return "", false
	}
	return "https://id.gs1.org/" + path, true
}

// escapeEPCValue decodes the URN escapes of raw and percent-encodes
// prefix+value for a Digital Link path, as gs1.BuildDigitalLink does. It
// returns "\x00" for a malformed escape.
func escapeEPCValue(prefix, raw string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) {
				return "\x00"
			}
			v, err := strconv.ParseUint(raw[i+1:i+3], 16, 8)
			if err != nil {
				return "\x00"
			}
			c = byte(v)
			i += 2
		}
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		const hexDigits = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// withContext returns base with the prefixes an @context defines added;
// base itself is not changed.
func withContext(base map[string]string, ctx any) map[string]string {
	out := base
	copied := false
	set := func(k, iri string) {
		if !copied {
			out = maps.Clone(base)
			if out == nil {
				out = make(map[string]string)
			}
			copied = true
		}
		out[k] = iri
	}
	var add func(v any)
	add = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				add(x)
			}
		case map[string]any:
			for k, x := range v {
				if k == "" || k[0] == '@' || strings.ContainsAny(k, ":/") {
					continue
				}
				switch x := x.(type) {
				case string:
					set(k, x)
				case map[string]any:
					if id, ok := x["@id"].(string); ok {
						set(k, id)
					}
				}
			}
		}
	}
	add(ctx)
	return out
}
