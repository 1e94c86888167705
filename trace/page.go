package trace

// Default and maximum page sizes for list endpoints.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for one page of a list ordered by a stable key: at most Limit
// items whose key is greater than After.
type Page struct {
	Limit int    // 1..MaxLimit; zero means DefaultLimit
	After string // opaque cursor: the key of the last item of the previous page
}

// Normalize returns p with Limit clamped into 1..MaxLimit, or an
// [ErrInvalid] error when it is out of range.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultLimit
	case p.Limit < 0 || p.Limit > MaxLimit:
		return p, Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	return p, nil
}

// PageOf trims items, fetched with [Page.Limit]+1 so that one more page can
// be detected, to limit. It returns the cursor of the next page, which is
// the key of the last item kept, or "" when this is the last page.
func PageOf[T any](items []T, limit int, key func(T) string) ([]T, string, error) {
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, key(items[limit-1]), nil
}

// All reads every item of a list, a page of [MaxLimit] at a time:
// fetch returns the items after a page's After, and key is an item's
// cursor.
func All[T any](fetch func(Page) ([]T, error), key func(T) string) ([]T, error) {
	var out []T
	for p := (Page{Limit: MaxLimit}); ; {
		list, err := fetch(p)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < p.Limit {
			return out, nil
		}
		p.After = key(list[len(list)-1])
	}
}
