package handlers

import (
	"bytes"
	"strings"
)

// writeScanPage writes the scan page, the one page a consumer's phone
// asks for on every scan, without html/template: the profile of issue 14
// found its execution (a reflective call for every action and escaper) a
// third of a scan page's CPU time. It writes exactly what the "scan"
// template in templates/scan.html does for the same view, with the same
// contextual escaping (TestScanPageWriter and FuzzScanPageWriter hold
// the two together byte for byte); a change to one is made to both.
// options is the tip-off form's categories, escaped, for v's language.
func writeScanPage(b *bytes.Buffer, v pageView, options string) {
	t := func(key string) { escapeHTML(b, v.T[key]) }
	text := func(s string) { escapeHTML(b, s) }
	raw := func(s string) { b.WriteString(s) }
	// party writes a name, then its region when known.
	party := func(name, region string) {
		text(name)
		if region != "" {
			raw(" <span class=\"muted\">· ")
			text(region)
			raw("</span>")
		}
	}
	// optional writes <dt>word</dt><dd…>value</dd> when value is set
	// (dd is the opening tag).
	optional := func(key, dd, value string) {
		if value != "" {
			raw("<dt>")
			t(key)
			raw("</dt>")
			raw(dd)
			text(value)
			raw("</dd>")
		}
	}

	raw("<!doctype html>\n<html lang=\"")
	text(v.Lang)
	raw("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>")
	t("title")
	raw("</title>\n<style>")
	raw(string(v.CSS))
	raw("</style>\n</head>\n<body>\n<main>\n<header><strong>")
	t("title")
	raw("</strong><a id=\"lang-switch\" href=\"")
	escapeHTML(b, normalizeURL(v.SwitchURL))
	raw("\" hreflang=\"")
	text(v.Other)
	raw("\">")
	t("switch")
	raw("</a></header>\n\n")

	raw("<section id=\"verdict\" class=\"verdict v-")
	text(v.Verdict)
	raw("\" data-verdict=\"")
	text(v.Verdict)
	raw("\">\n<h1 id=\"verdict-text\">")
	text(v.VerdictText)
	raw("</h1>\n")
	if v.Verdict == "recalled" {
		raw("\n<p class=\"stop\" id=\"recall-stop\">")
		t("recall_stop")
		raw("</p>\n")
		if r := v.Recall; r != nil {
			raw("<dl>\n<dt>")
			t("recall_hazard")
			raw("</dt><dd id=\"recall-hazard\">")
			text(r.Hazard)
			raw("</dd>\n<dt>")
			t("recall_remedy")
			raw("</dt><dd id=\"recall-remedy\">")
			t("remedy_" + r.Remedy)
			raw("</dd>\n")
			optional("recall_instructions", `<dd id="recall-instructions">`, r.Instructions)
			raw("\n")
			optional("recall_contact", "<dd>", r.Contact)
			raw("\n</dl>")
		} else {
			raw("<p>")
			text(v.Explain)
			raw("</p>")
		}
		raw("\n")
	} else {
		raw("<p>")
		text(v.Explain)
		raw("</p>")
	}
	raw("\n")
	if len(v.Mismatches) > 0 {
		raw("<ul id=\"mismatches\">")
		for _, m := range v.Mismatches {
			raw("<li>")
			text(m)
			raw("</li>")
		}
		raw("</ul>")
	}
	raw("\n")
	if v.SaleText != "" {
		raw("<p id=\"sale\">")
		text(v.SaleText)
		raw("</p>")
	}
	raw("\n")
	if v.ChecksText != "" {
		raw("<p id=\"checks\" class=\"muted\">")
		text(v.ChecksText)
		raw("</p>")
	}
	raw("\n")
	if v.Caution {
		raw("<p id=\"caution\" class=\"caution\">")
		t("caution")
		raw("</p>")
	}
	raw("\n</section>\n\n")

	if u := v.Unit; u != nil {
		raw("\n<section id=\"unit\">\n<h2>")
		t("unit")
		raw("</h2>\n<dl>\n<dt>")
		t("sscc")
		raw("</dt><dd id=\"sscc\">")
		text(u.SSCC)
		raw("</dd>\n")
		if u.Issuer.Name != "" {
			raw("<dt>")
			t("issuer")
			raw("</dt><dd id=\"issuer\">")
			party(u.Issuer.Name, u.Issuer.Region)
			raw("</dd>")
		}
		raw("\n</dl>\n</section>\n")
	}
	raw("\n\n")

	if p := v.Product; p != nil {
		raw("\n<section id=\"product\">\n<h2>")
		t("product")
		raw("</h2>\n<dl>\n<dt>")
		t("name")
		raw("</dt><dd id=\"product-name\">")
		text(p.Name)
		raw("</dd>\n")
		optional("brand", "<dd>", p.Brand)
		raw("\n<dt>")
		t("gtin")
		raw("</dt><dd>")
		text(p.GTIN)
		raw("</dd>\n<dt>")
		t("category")
		raw("</dt><dd>")
		text(v.Category)
		raw("</dd>\n<dt>")
		t("maker")
		raw("</dt><dd id=\"maker\">")
		party(p.Maker.Name, p.Maker.Region)
		raw("</dd>\n<dt>")
		t("credit")
		raw("</dt><dd id=\"credit\">")
		if v.CreditText != "" {
			raw("<span class=\"credit c-")
			text(v.CreditColour)
			raw("\">")
			text(v.CreditText)
			raw("</span>")
		} else {
			raw("<span class=\"muted\">")
			t("credit_none")
			raw("</span>")
		}
		raw("</dd>\n</dl>\n</section>\n")
	}
	raw("\n\n")

	if bt := v.Batch; bt != nil {
		raw("\n<section id=\"batch\">\n<h2>")
		t("batch")
		raw("</h2>\n<dl>\n<dt>")
		t("lot")
		raw("</dt><dd id=\"lot\">")
		text(bt.Lot)
		raw("</dd>\n<dt>")
		t("produced")
		raw("</dt><dd>")
		text(bt.ProductionDate)
		raw("</dd>\n")
		optional("expiry", `<dd id="expiry">`, bt.ExpiryDate)
		raw("\n")
		optional("serial", `<dd id="serial">`, v.Serial)
		raw("\n</dl>\n</section>\n")
	}
	raw("\n\n")

	if (v.Product != nil || v.Unit != nil) && v.Verdict != "unknown_code" {
		raw("\n<section id=\"provenance\">\n<h2>")
		t("provenance")
		raw("</h2>\n")
		if len(v.Stages) > 0 {
			raw("<ol class=\"timeline\">\n")
			for _, s := range v.Stages {
				raw("<li><span class=\"stage\">")
				text(s.Stage)
				raw("</span> · ")
				text(s.Step)
				raw("<br><span class=\"muted\">")
				text(s.Date)
				if s.Place != "" {
					raw(" · ")
					text(s.Place)
				}
				if s.Custodian != "" {
					raw(" · ")
					text(s.Custodian)
				}
				raw("</span></li>\n")
			}
			raw("</ol>")
		} else {
			raw("<p class=\"muted\">")
			t("provenance_none")
			raw("</p>")
		}
		raw("\n</section>\n")
	}
	raw("\n\n")

	if len(v.Standards) > 0 {
		raw("\n<section id=\"standards\">\n<h2>")
		t("standards")
		raw("</h2>\n<ul>")
		for _, s := range v.Standards {
			raw("<li>")
			text(s.Number)
			raw(" ")
			text(s.Name)
			if s.BelowNational {
				raw(" <span class=\"caution below-national\">")
				t("standards_below")
				raw("</span>")
			}
			raw("</li>")
		}
		raw("</ul>\n</section>\n")
	}
	raw("\n\n<section id=\"tipoff\">\n<h2>")
	t("tipoff")
	raw("</h2>\n<p class=\"muted\">")
	t("tipoff_intro")
	raw("</p>\n<form method=\"post\" action=\"/api/v1/tipoffs?lang=")
	escapeHTML(b, escapeQuery(v.Lang))
	raw("\">\n<input type=\"hidden\" name=\"subject\" value=\"code\">\n<input type=\"hidden\" name=\"code\" value=\"")
	text(v.URI)
	raw("\">\n<label for=\"tip-category\">")
	t("tipoff_category")
	raw("</label>\n<select id=\"tip-category\" name=\"category\">")
	raw(options)
	raw("</select>\n<label for=\"tip-description\">")
	t("tipoff_description")
	raw("</label>\n<textarea id=\"tip-description\" name=\"description\" required minlength=\"5\" maxlength=\"4000\"></textarea>\n<label for=\"tip-name\">")
	t("tipoff_name")
	raw("</label>\n<input id=\"tip-name\" name=\"name\" maxlength=\"100\" autocomplete=\"name\">\n<label for=\"tip-contact\">")
	t("tipoff_contact")
	raw("</label>\n<input id=\"tip-contact\" name=\"contact\" maxlength=\"200\">\n<button type=\"submit\">")
	t("tipoff_send")
	raw("</button>\n</form>\n</section>\n</main>\n</body>\n</html>\n")
}

// escapeHTML writes s escaped as html/template escapes text and quoted
// attribute values: the five HTML specials, '+' and NUL.
func escapeHTML(b *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(repl)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// normalizeURL is what html/template does to a URL in an href: a URL
// whose scheme is not http, https or mailto becomes "#ZgotmplZ", and
// bytes outside RFC 3986's unreserved and reserved sets (and quotes and
// parentheses) are percent-encoded, valid escapes kept.
func normalizeURL(s string) string {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		return "#ZgotmplZ"
	}
	return percentEncode(s, true)
}

// escapeQuery is what html/template does to a value inside a URL's
// query: every byte but the unreserved ones percent-encoded.
func escapeQuery(s string) string { return percentEncode(s, false) }

func percentEncode(s string, norm bool) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			continue
		case norm && strings.IndexByte("!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case norm && c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[last:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
		last = i + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
