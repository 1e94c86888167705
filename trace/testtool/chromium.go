package testtool

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium starts headless Chromium (Debian package chromium) for one
// test, with a window of width × height pixels, its own profile folder and
// no background traffic, plus opts; it stops when the test ends.
func Chromium(t *testing.T, width, height int, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Program(t, "chromium", "chromium")
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	}, opts...)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), all...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	// Start the browser without a timeout (a timeout here would stop it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}
