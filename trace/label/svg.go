package label

import (
	"io"
	"strconv"
)

// writeSVG draws g as an SVG whose user unit is one module: a white
// background and one path of dark runs, each row's runs merged into
// rectangles. The width and height attributes give the same pixel size
// as the PNG.
func writeSVG(w io.Writer, g *grid, k, rows int) error {
	buf := make([]byte, 0, 256+g.w*g.h/2)
	buf = append(buf, `<svg xmlns="http://www.w3.org/2000/svg" width="`...)
	buf = strconv.AppendInt(buf, int64(g.w*k), 10)
	buf = append(buf, `" height="`...)
	buf = strconv.AppendInt(buf, int64(rows*k), 10)
	buf = append(buf, `" viewBox="0 0 `...)
	buf = strconv.AppendInt(buf, int64(g.w), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(rows), 10)
	buf = append(buf, `" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`...)

	runHeight := 1
	if g.linear {
		runHeight = rows
	}
	for y := range g.h {
		row := g.dark[y*g.w : (y+1)*g.w]
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			end := x + 1
			for end < len(row) && row[end] {
				end++
			}
			// M x y h n v H h -n z
			buf = append(buf, 'M')
			buf = strconv.AppendInt(buf, int64(x), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(y), 10)
			buf = append(buf, 'h')
			buf = strconv.AppendInt(buf, int64(end-x), 10)
			buf = append(buf, 'v')
			buf = strconv.AppendInt(buf, int64(runHeight), 10)
			buf = append(buf, 'h', '-')
			buf = strconv.AppendInt(buf, int64(end-x), 10)
			buf = append(buf, 'z')
			x = end
		}
	}
	buf = append(buf, "\"/></svg>\n"...)
	_, err := w.Write(buf)
	return err
}
