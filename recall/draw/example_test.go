package draw_test

import (
	"encoding/hex"
	"fmt"

	"tracesvc/recall/draw"
)

// Example re-runs a small published draw: six candidates, two entities
// drawn, two inspectors each from a pool of four, where entity e1's
// previous draw had inspectors i2 and i4, who are left out for it. The README re-runs the same
// draw in a few lines of Python and gets the same answer.
func Example() {
	seed, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	in := draw.Input{
		Seed:                seed,
		Candidates:          []string{"e1", "e2", "e3", "e4", "e5", "e6"},
		Entities:            2,
		Inspectors:          []string{"i1", "i2", "i3", "i4"},
		InspectorsPerEntity: 2,
		Previous:            map[string][]string{"e1": {"i2", "i4"}},
	}
	fmt.Println("candidates:", draw.HashList(in.Candidates))
	result, err := draw.Run(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range result {
		fmt.Println(a.EntityID, a.Inspectors)
	}
	// Output:
	// candidates: 0f7d5ae611221b72ac15e2f6196987e40da9f07330be923b2c1b7ec71448ed62
	// e1 [i3 i1]
	// e4 [i2 i4]
}
