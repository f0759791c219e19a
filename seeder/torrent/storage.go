package torrent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// errReadOnly is returned when anacrolix tries to write into a seeded segment (it never
// should: every piece reports complete and the client has downloading nothing to do).
var errReadOnly = errors.New("segment storage is read-only")

// memStorage is the storage of one torrent: the segment's bytes, every piece complete. Its
// data is immutable, so any goroutine may read it.
type memStorage struct {
	data []byte
}

var _ storage.ClientImpl = memStorage{}

func (s memStorage) OpenTorrent(_ context.Context, info *metainfo.Info, _ metainfo.Hash) (storage.TorrentImpl, error) {
	if info.TotalLength() != int64(len(s.data)) {
		return storage.TorrentImpl{}, fmt.Errorf("segment storage: info length %d, data length %d", info.TotalLength(), len(s.data))
	}
	return storage.TorrentImpl{
		Piece: func(p metainfo.Piece) storage.PieceImpl {
			off := p.Offset()
			return memPiece{data: s.data[off : off+p.Length()]}
		},
		Close: func() error { return nil },
	}, nil
}

// memPiece is one piece of a segment.
type memPiece struct {
	data []byte
}

var _ storage.PieceImpl = memPiece{}

func (p memPiece) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(p.data)) {
		return 0, fmt.Errorf("segment storage: read at %d outside a %d-byte piece", off, len(p.data))
	}
	n := copy(b, p.data[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (memPiece) WriteAt([]byte, int64) (int, error) { return 0, errReadOnly }
func (memPiece) MarkComplete() error                { return nil }
func (memPiece) MarkNotComplete() error             { return errReadOnly }
func (memPiece) Completion() storage.Completion {
	return storage.Completion{Complete: true, Ok: true}
}

// noStorage is the client's default storage: every torrent the seeder adds brings its own
// memStorage, so the default refuses (anacrolix would otherwise create files and a piece
// database in the working directory).
type noStorage struct{}

func (noStorage) OpenTorrent(context.Context, *metainfo.Info, metainfo.Hash) (storage.TorrentImpl, error) {
	return storage.TorrentImpl{}, errors.New("segment storage: torrent added without its segment")
}
