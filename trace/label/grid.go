package label

// grid is a symbol as a matrix of modules, quiet zone included.
type grid struct {
	w, h int    // size in modules
	dark []bool // row by row, w*h; true for a dark module
	// linear marks a 1-D symbol: h is 1 and every module is a bar or
	// space as tall as the image.
	linear bool
}

func newGrid(w, h int) *grid {
	return &grid{w: w, h: h, dark: make([]bool, w*h)}
}

// crop returns g without a margin of q modules on each side.
func (g *grid) crop(q int) *grid {
	c := newGrid(g.w-2*q, g.h-2*q)
	for y := range c.h {
		copy(c.dark[y*c.w:(y+1)*c.w], g.dark[(y+q)*g.w+q:])
	}
	return c
}

// scale chooses the pixels per module, k, for an image at most size
// pixels wide (0 for the default), and the number of module rows to draw.
func (g *grid) scale(size int) (k, rows int, err *Error) {
	if size == 0 {
		size = DefaultSize2D
		if g.linear {
			size = DefaultSizeLinear
		}
		k = max(1, size/g.w)
	} else {
		if size < g.w {
			return 0, 0, invalid("size", "%d px is too small: this symbol is %d modules wide, quiet zone included, and needs at least 1 px per module", size, g.w)
		}
		k = size / g.w
	}
	if !g.linear {
		return k, g.h, nil
	}
	height := max(minBarHeight, g.w*k/3)
	return k, (height + k - 1) / k, nil
}

// isPrintableURI reports whether s is non-empty printable ASCII without
// spaces, and otherwise the byte offset of the first bad byte.
func isPrintableURI(s string) (bool, int) {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7F {
			return false, i
		}
	}
	return s != "", 0
}

// checkURI validates the URI content of a QR Code or Data Matrix.
func checkURI(uri, symbology string) *Error {
	if uri == "" {
		return invalid("uri", "empty: a %s needs a URI", symbology)
	}
	if ok, i := isPrintableURI(uri); !ok {
		return invalid("uri", "byte 0x%02X at position %d is not printable ASCII: percent-encode it", uri[i], i+1)
	}
	return nil
}
