package gs1

import "testing"

var benchElements = Elements{
	{"01", "09506000134352"},
	{"10", "LOT2026-07/A"},
	{"21", "SN0000012345"},
	{"17", "261231"},
}

func BenchmarkBuildDigitalLink(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildDigitalLink("https://id.example.com", benchElements); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDigitalLink(b *testing.B) {
	uri, err := BuildDigitalLink("https://id.example.com", benchElements)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDigitalLink(uri); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildElementString(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildElementString(benchElements, GS); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseElementString(b *testing.B) {
	s, err := BuildElementString(benchElements, GS)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseElementString("]d2" + s); err != nil {
			b.Fatal(err)
		}
	}
}
