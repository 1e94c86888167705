package label

import (
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	bqr "github.com/boombuler/barcode/qr"
)

func BenchmarkScratchQR(b *testing.B) {
	for b.Loop() {
		q, err := qrcode.New("https://id.example.cn/01/09506000134352/10/L2026-11/21/ABCDEFGH2345", qrcode.Medium)
		if err != nil {
			b.Fatal(err)
		}
		q.DisableBorder = true
		_ = q.Bitmap()
	}
}

func BenchmarkScratchBoomQR(b *testing.B) {
	for b.Loop() {
		q, err := bqr.Encode("https://id.example.cn/01/09506000134352/10/L2026-11/21/ABCDEFGH2345", bqr.M, bqr.Auto)
		if err != nil {
			b.Fatal(err)
		}
		_ = q.Bounds()
	}
}
