package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"tracesvc/cmd/wire"
	"tracesvc/trace"
)

// takenBefore is a code store on which, just before the first insert of
// more than one code, the serials at some of its positions are stored by
// another issuance: the store then reports them taken, as it does when a
// random serial clashes with one issued before.
type takenBefore struct {
	trace.CodeStore
	positions []int
	serials   []string // the serials taken
}

func (s *takenBefore) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	if s.serials == nil && len(codes) > 1 {
		var other []trace.Code
		for _, p := range s.positions {
			c := codes[p]
			c.Issuance, c.Seq = "other", fmt.Sprintf("other.%07d", p)
			other, s.serials = append(other, c), append(s.serials, c.Serial)
		}
		if taken, err := s.CodeStore.InsertCodes(ctx, other); err != nil || len(taken) > 0 {
			return nil, fmt.Errorf("take serials before the issuance: %v, %w", taken, err)
		}
	}
	return s.CodeStore.InsertCodes(ctx, codes)
}

// TestIssuanceRedrawsTakenSerials: serials of a chunk that are already
// taken are drawn again while the next chunk is being drawn; the answer
// holds exactly the serials stored for the issuance, each with its own
// link, and none of those taken before.
func TestIssuanceRedrawsTakenSerials(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			e := newBatchEnvOn(t, backend)
			st := e.st
			clash := &takenBefore{CodeStore: e.st.Codes, positions: []int{0, 4_321, 9_999}} // in the first chunk of 10,000
			st.Codes = clash
			svc, err := wire.Build(st, wire.Options{BaseURL: "https://id.example.cn", MaxScans: 5,
				SecretKey: bytes.Repeat([]byte{7}, 32), FingerprintKey: []byte("test-key"), GTINsWithoutPrefix: true,
				AuditKey: bytes.Repeat([]byte{9}, 32), Instance: testInstance + "-clash", DeclarationGated: []trace.Category{}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
			srv := httptest.NewServer(svc.Handler)
			defer srv.Close()

			const count = 10_100 // a chunk of 10,000, and the next drawn while it is stored
			resp := stream(t, srv.URL, e.codesPath, e.owner, "text/csv", "", count)
			rows, err := csv.NewReader(resp.Body).ReadAll()
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 201 || resp.Trailer.Get("X-Issued-Count") != fmt.Sprint(count) || len(rows) != count+1 {
				t.Fatalf("status %d, trailers %v, %d rows", resp.StatusCode, resp.Trailer, len(rows)-1)
			}
			if len(clash.serials) != len(clash.positions) {
				t.Fatalf("took %d serials before the issuance", len(clash.serials))
			}
			var sent []string
			for _, r := range rows[1:] {
				serial, uri := r[0], r[1]
				if slices.Contains(clash.serials, serial) {
					t.Fatalf("serial %s was taken before the issuance, and was sent", serial)
				}
				if !strings.Contains(uri, "/21/"+serial+"?17=") {
					t.Fatalf("serial %s sent with the link %s", serial, uri)
				}
				sent = append(sent, serial)
			}

			ctx := context.Background()
			id := resp.Header.Get("X-Issuance-Id")
			stored, err := trace.All(func(p trace.Page) ([]trace.Code, error) {
				return e.st.Codes.ListCodes(ctx, trace.CodeFilter{GTIN: e.gtin, Lot: e.lot, Issuance: id}, p)
			}, func(c trace.Code) string { return c.Seq })
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, c := range stored {
				kept = append(kept, c.Serial)
			}
			slices.Sort(sent)
			slices.Sort(kept)
			if !slices.Equal(sent, kept) || len(slices.Compact(kept)) != count {
				t.Fatalf("sent %d serials, stored %d for the issuance, not the same ones", len(sent), len(stored))
			}
		})
	}
}
