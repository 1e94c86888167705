package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkRegister measures entity, product and batch creation through the
// HTTP handlers on the embedded SQLite store (synchronous=FULL: every 201 is
// on disk).
func BenchmarkRegister(b *testing.B) {
	b.Run("entity", func(b *testing.B) {
		e := newEnv(b)
		for b.Loop() {
			e.newEntity("manufacturer")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("product", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		n := 0
		for b.Loop() {
			n++
			e.newProduct(key, n)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("batch", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		g := e.newProduct(key, 1)
		n := 0
		for b.Loop() {
			n++
			e.must(http.StatusCreated, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{
				"lot": fmt.Sprintf("L%d", n), "productionDate": "2026-11-01", "expiryDate": "2027-11-01",
				"quantity": 100, "unit": "kg"})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("product-read", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		g := e.newProduct(key, 1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.must(http.StatusOK, "GET", "/api/v1/products/"+g, "", nil)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}
