package label

import (
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// The image/png encoder would do, but it reads 1-bit images one pixel at
// a time through an interface, which took longer than encoding the QR Code
// itself. A bilevel PNG is simple enough to write directly: one IDAT chunk
// of rows, each a filter byte (0, none) and the pixels packed 8 to a byte.

// pngBuffers are the scratch space of one PNG encoding, pooled by a
// [Renderer].
type pngBuffers struct {
	raw []byte       // uncompressed scanlines
	out []byte       // the PNG file
	zw  *zlib.Writer // compresses raw into out
}

// Write appends to out, for zw.
func (b *pngBuffers) Write(p []byte) (int, error) {
	b.out = append(b.out, p...)
	return len(p), nil
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// writePNG draws g at k pixels per module, rows module rows high, as a
// 1-bit greyscale PNG (0 black, 1 white).
func (r *Renderer) writePNG(w io.Writer, g *grid, k, rows int) error {
	b, _ := r.pngBufs.Get().(*pngBuffers)
	if b == nil {
		b = new(pngBuffers)
	}
	defer r.pngBufs.Put(b)
	out, err := b.encode(g, k, rows)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// encode returns the PNG file, in b.out.
func (b *pngBuffers) encode(g *grid, k, rows int) ([]byte, error) {
	width, height := g.w*k, rows*k
	stride := 1 + (width+7)/8

	if need := stride * height; cap(b.raw) < need {
		b.raw = make([]byte, need)
	}
	raw := b.raw[:stride*height]
	for my := range rows {
		line := raw[my*k*stride : (my*k+1)*stride]
		if g.linear && my > 0 {
			// Every row of a linear symbol is the same.
			copy(line, raw[:stride])
		} else {
			packRow(line, g.dark[my*g.w:(my+1)*g.w], k)
		}
		for i := 1; i < k; i++ {
			copy(raw[(my*k+i)*stride:], line)
		}
	}

	out := append(b.out[:0], pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 1 // bit depth; colour type 0 (greyscale), deflate, no interlace
	out = appendChunk(out, "IHDR", ihdr[:])

	// The IDAT chunk is compressed in place after its length and type.
	start := len(out)
	out = append(out, 0, 0, 0, 0, 'I', 'D', 'A', 'T')
	b.out = out
	if b.zw == nil {
		var err error
		// BestSpeed: rows repeat k times, which even the fastest level
		// finds; better levels save little on bilevel images.
		if b.zw, err = zlib.NewWriterLevel(b, zlib.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		b.zw.Reset(b)
	}
	if _, err := b.zw.Write(raw); err != nil {
		return nil, err
	}
	if err := b.zw.Close(); err != nil {
		return nil, err
	}
	out = b.out
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-8))
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start+4:]))
	out = appendChunk(out, "IEND", nil)
	b.out = out
	return out, nil
}

// packRow writes one scanline: the filter byte (0, none), then the
// modules of row at k pixels each, 8 pixels a byte, 1 for white.
func packRow(line []byte, row []bool, k int) {
	line[0] = 0
	px := line[1:]
	for i := range px {
		px[i] = 0xFF
	}
	for mx, dark := range row {
		if !dark {
			continue
		}
		for x := mx * k; x < (mx+1)*k; x++ {
			px[x>>3] &^= 0x80 >> (x & 7)
		}
	}
}

func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}
