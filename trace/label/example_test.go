package label_test

import (
	"bytes"
	"errors"
	"fmt"

	"tracesvc/trace/gs1"
	"tracesvc/trace/label"
)

func ExampleRenderer_Render() {
	var r label.Renderer // keep one per server
	uri, err := gs1.BuildDigitalLink("https://id.example.cn", gs1.Elements{
		{AI: "01", Value: "09506000134352"},
		{AI: "10", Value: "L2026-11"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var png bytes.Buffer
	contentType, err := r.Render(&png, label.Spec{Symbology: label.QR, Format: label.PNG, Size: 300, URI: uri})
	fmt.Println(contentType, err)

	_, err = r.Render(&png, label.Spec{Symbology: label.QR, Format: label.PNG, Size: 20, URI: uri})
	var le *label.Error
	if errors.As(err, &le) {
		fmt.Println(le.Field, errors.Is(err, label.ErrInvalid))
	}
	// Output:
	// image/png <nil>
	// size true
}

func ExampleSheet() {
	items := func(yield func(label.Item) bool) {
		yield(label.Item{
			URI:         "https://id.example.cn/01/09506000134352/10/L2026-11/21/ABCDEFGH2345",
			ProductName: "Organic green tea, 250 g",
			GTIN:        "09506000134352",
			Lot:         "L2026-11",
			Expiry:      "261130",
			Serial:      "ABCDEFGH2345",
		})
	}
	var pdf bytes.Buffer
	err := label.Sheet(&pdf, label.DefaultLayout(), items)
	fmt.Println(bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")), err)
	// Output: true <nil>
}
