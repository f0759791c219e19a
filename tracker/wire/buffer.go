package wire

import (
	"sync"
	"unsafe"
)

// Buffer size classes. A buffer is pooled in the largest class its capacity covers;
// buffers larger than the largest class are left to the garbage collector.
var bufferClasses = [...]int{512, 2 << 10, 8 << 10, 32 << 10, 64 << 10}

// MaxPooledBuffer is the capacity above which PutBuffer drops a buffer.
const MaxPooledBuffer = 128 << 10

// The pools hold *byte (a pointer fits an interface without allocating); the class fixes
// the capacity the slice is rebuilt with.
var bufferPools [len(bufferClasses)]sync.Pool

// GetBuffer returns an empty buffer with capacity of at least size bytes, from a pool when
// one is available. Appending beyond the capacity is fine (the buffer just grows).
func GetBuffer(size int) []byte {
	for c, n := range bufferClasses {
		if size <= n {
			if p, ok := bufferPools[c].Get().(*byte); ok {
				return unsafe.Slice(p, n)[:0]
			}
			return make([]byte, 0, n)
		}
	}
	return make([]byte, 0, size)
}

// PutBuffer returns a frame to the pool once its owner is done with it; the connection's
// writer goroutine calls it after writing each frame the hub sent. b must not be used
// afterwards. Buffers that are tiny or larger than MaxPooledBuffer are dropped.
func PutBuffer(b []byte) {
	c := cap(b)
	if c < bufferClasses[0] || c > MaxPooledBuffer {
		return
	}
	class := 0
	for class+1 < len(bufferClasses) && c >= bufferClasses[class+1] {
		class++
	}
	bufferPools[class].Put(unsafe.SliceData(b[:1]))
}
