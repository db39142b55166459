package attach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir keeps attachments as files in a directory, one sub-directory per first two
// hex digits of the name; the extension says the content type.
type Dir struct{ root string }

// NewDir opens the directory; the first Put makes it (mode 0700).
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, fmt.Errorf("attach: no directory")
	}
	return &Dir{root: root}, nil
}

func (d *Dir) base(name string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("attach: bad name %q", name)
	}
	return filepath.Join(d.root, name[:2], name), nil
}

// Put writes the file (through a temporary file, so that a reader never sees half
// of it).
func (d *Dir) Put(_ context.Context, name, contentType string, data []byte) error {
	base, err := d.base(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(base), ".put-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	_ = d.Delete(context.Background(), name) // another extension of the same name
	return os.Rename(tmp.Name(), base+extOf(contentType))
}

func (d *Dir) find(name string) (string, error) {
	base, err := d.base(name)
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(base + ".*")
	if len(matches) == 0 {
		return "", ErrNotFound
	}
	return matches[0], nil
}

// Get opens the file.
func (d *Dir) Get(_ context.Context, name string) (io.ReadCloser, string, error) {
	path, err := d.find(name)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return f, typeOfExt[filepath.Ext(path)], nil
}

// Delete removes the file.
func (d *Dir) Delete(_ context.Context, name string) error {
	path, err := d.find(name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
