package gs1_test

import (
	"fmt"

	"tracesvc/trace/gs1"
)

func ExampleBuildDigitalLink() {
	uri, err := gs1.BuildDigitalLink("https://id.example.com", gs1.Elements{
		{AI: "01", Value: "4006381333931"}, // GTIN-13, padded to 14 digits
		{AI: "17", Value: "261231"},
		{AI: "21", Value: "A/1"},
		{AI: "10", Value: "LOT7"},
	})
	fmt.Println(uri, err)
	// Output: https://id.example.com/01/04006381333931/10/LOT7/21/A%2F1?17=261231 <nil>
}

func ExampleParseDigitalLink() {
	e, err := gs1.ParseDigitalLink("https://example.com/dl/01/09506000134352/10/ABC?17=261200&linkType=gs1:pip")
	if err != nil {
		fmt.Println(err)
		return
	}
	lot, _ := e.Get("10")
	fmt.Println(e.HRI(), lot)

	_, err = gs1.ParseDigitalLink("https://example.com/01/09506000134352/21/S1/10/ABC")
	fmt.Println(err)
	// Output:
	// (01)09506000134352(17)261200(10)ABC ABC
	// gs1: AI (10): key qualifier out of order: must come before AI (21) in the path
}

func ExampleBuildElementString() {
	s, err := gs1.BuildElementString(gs1.Elements{
		{AI: "21", Value: "S1"},
		{AI: "10", Value: "L1"},
		{AI: "17", Value: "261231"},
		{AI: "01", Value: "09506000134352"},
	}, "|") // gs1.GS in a real symbol
	fmt.Println(s, err)
	// Output: 01095060001343521726123110L1|21S1 <nil>
}

func ExampleParseElementString() {
	e, err := gs1.ParseElementString("]d2010950600013435217261231\x1d10ABC")
	fmt.Println(e, err)
	// Output: [{01 09506000134352} {17 261231} {10 ABC}] <nil>
}

func ExampleNewSSCC() {
	sscc, err := gs1.NewSSCC(1, "0614141", "123456789")
	fmt.Println(sscc, err)
	// Output: 106141411234567897 <nil>
}
