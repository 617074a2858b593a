package npy

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"slices"
)

// Archive is an open .npz file: a zip archive of .npy members, compressed
// or stored.
type Archive struct {
	members map[string]*zip.File
	names   []string
}

// OpenArchive reads the directory of the .npz archive in r (size bytes).
// A member name that appears twice is an error.
func OpenArchive(r io.ReaderAt, size int64) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not an .npz (zip) archive: %v", err)
	}
	a := &Archive{members: map[string]*zip.File{}}
	for _, f := range zr.File {
		if _, dup := a.members[f.Name]; dup {
			return nil, &MemberError{Member: f.Name, Err: fmt.Errorf("appears twice in the archive")}
		}
		a.members[f.Name] = f
		a.names = append(a.names, f.Name)
	}
	return a, nil
}

// MemberError is a problem with one member of an archive.
type MemberError struct {
	Member string // e.g. "data.npy"
	Err    error
}

func (e *MemberError) Error() string { return e.Member + ": " + e.Err.Error() }
func (e *MemberError) Unwrap() error { return e.Err }

// Names returns the member names in archive order.
func (a *Archive) Names() []string { return slices.Clone(a.names) }

// Has reports whether the archive holds member name.
func (a *Archive) Has(name string) bool { _, ok := a.members[name]; return ok }

// open opens member name for reading.
func (a *Archive) open(name string) (io.ReadCloser, *zip.File, error) {
	f, ok := a.members[name]
	if !ok {
		return nil, nil, &MemberError{Member: name, Err: fmt.Errorf("missing")}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, nil, &MemberError{Member: name, Err: fmt.Errorf("cannot read from the archive: %v", err)}
	}
	return rc, f, nil
}

// Header returns member name's header. Only the first bytes of the member
// are decompressed, so callers can check every member's declared shape
// against the others before paying for any data.
func (a *Archive) Header(name string) (*Header, error) {
	rc, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h, err := ReadHeader(bufio.NewReader(rc))
	if err != nil {
		return nil, &MemberError{Member: name, Err: err}
	}
	return h, nil
}

// Read decodes member name, an array of at most maxItems items, and reads
// the member to its end so that its CRC-32 is verified: a corrupted file
// does not load as numbers.
func (a *Archive) Read(name string, maxItems int) (*Array, error) {
	rc, f, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	h, err := ReadHeader(br)
	if err == nil {
		err = h.checkItems(maxItems)
	}
	if err == nil && f.UncompressedSize64 < uint64(h.DataBytes()) {
		err = fmt.Errorf("truncated: shape %v needs %d data bytes, the member holds fewer", h.Shape, h.DataBytes())
	}
	if err != nil {
		return nil, &MemberError{Member: name, Err: err}
	}
	arr, err := readData(br, h)
	if err == nil {
		err = drain(br, arr, "damaged archive member")
	}
	if err != nil {
		return nil, &MemberError{Member: name, Err: err}
	}
	return arr, nil
}
