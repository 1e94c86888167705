package label

import (
	"strings"
	"unicode/utf8"
)

// toCP1252 converts s from UTF-8 to Windows-1252, the only encoding the
// PDF core fonts (Helvetica) can show, replacing every other character,
// and control characters, with '?'.
func toCP1252(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7F {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, cp1252Byte(r))
	}
	return string(b)
}

// cp1252Byte returns r's byte in Windows-1252, or '?'.
func cp1252Byte(r rune) byte {
	switch {
	case r >= ' ' && r < 0x7F, r >= 0xA0 && r <= 0xFF:
		return byte(r)
	}
	switch r {
	case '€':
		return 0x80
	case '‚':
		return 0x82
	case 'ƒ':
		return 0x83
	case '„':
		return 0x84
	case '…':
		return 0x85
	case '†':
		return 0x86
	case '‡':
		return 0x87
	case 'ˆ':
		return 0x88
	case '‰':
		return 0x89
	case 'Š':
		return 0x8A
	case '‹':
		return 0x8B
	case 'Œ':
		return 0x8C
	case 'Ž':
		return 0x8E
	case '‘':
		return 0x91
	case '’':
		return 0x92
	case '“':
		return 0x93
	case '”':
		return 0x94
	case '•':
		return 0x95
	case '–':
		return 0x96
	case '—':
		return 0x97
	case '˜':
		return 0x98
	case '™':
		return 0x99
	case 'š':
		return 0x9A
	case '›':
		return 0x9B
	case 'œ':
		return 0x9C
	case 'ž':
		return 0x9E
	case 'Ÿ':
		return 0x9F
	}
	return '?'
}

// cleanText replaces control characters and invalid UTF-8 with spaces and
// '?', and trims the ends: label text comes from users.
func cleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, isControl) < 0 {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteByte('?')
		case isControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

func isControl(r rune) bool { return r < ' ' || r >= 0x7F && r < 0xA0 }

// wrap breaks s into at most maxLines lines no wider than width, as
// measured by widthOf, at spaces where it can and between any two
// characters where it must (CJK text has no spaces). Text that does not
// fit ends with ellipsis.
func wrap(s string, width float64, maxLines int, ellipsis string, widthOf func(string) float64) []string {
	var lines []string
	for s != "" && len(lines) < maxLines {
		if widthOf(s) <= width {
			return append(lines, s)
		}
		if len(lines) == maxLines-1 {
			return append(lines, truncate(s, width, ellipsis, widthOf))
		}
		// The longest prefix that fits, preferring to end at a space.
		fit, space := 0, 0
		for i, r := range s {
			_, n := utf8.DecodeRuneInString(s[i:])
			end := i + n
			if widthOf(s[:end]) > width {
				break
			}
			fit = end
			if r == ' ' {
				space = i
			}
		}
		cut := fit
		if space > 0 && fit < len(s) && s[fit] != ' ' {
			cut = space
		}
		if cut == 0 { // not even one character fits
			_, cut = utf8.DecodeRuneInString(s)
		}
		lines = append(lines, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return lines
}

// truncate shortens s until it, followed by ellipsis, is no wider than
// width.
func truncate(s string, width float64, ellipsis string, widthOf func(string) float64) string {
	if widthOf(s) <= width {
		return s
	}
	for s != "" {
		_, n := utf8.DecodeLastRuneInString(s)
		s = strings.TrimRight(s[:len(s)-n], " ")
		if widthOf(s+ellipsis) <= width {
			break
		}
	}
	return s + ellipsis
}
