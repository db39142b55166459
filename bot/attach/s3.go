package attach

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config is an S3-compatible bucket (MinIO, a cloud's object storage).
type S3Config struct {
	Endpoint  string // host[:port]
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	Insecure  bool   // plain HTTP
	Prefix    string // object names start with it
	// Transport, when set, carries the requests (tests, a proxy).
	Transport http.RoundTripper
}

// S3 keeps attachments as objects of a bucket (minio-go). Staff never reach the
// bucket: Minyuan reads the object and serves it behind its own signed link, so
// the bucket stays private.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// NewS3 makes the client; it does not dial (the first Put does).
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("attach: s3 needs an endpoint and a bucket")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("attach: s3 endpoint %q: host[:port] without a scheme (insecure: true for plain HTTP)", cfg.Endpoint)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    !cfg.Insecure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("attach: s3: %w", err)
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

func (s *S3) object(name string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("attach: bad name %q", name)
	}
	return s.prefix + name[:2] + "/" + name, nil
}

// Put uploads the object with its content type.
func (s *S3) Put(ctx context.Context, name, contentType string, data []byte) error {
	obj, err := s.object(name)
	if err != nil {
		return err
	}
	_, err = s.c.PutObject(ctx, s.bucket, obj, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("attach: s3 put: %w", err)
	}
	return nil
}

// Get reads the object.
func (s *S3) Get(ctx context.Context, name string) (io.ReadCloser, string, error) {
	obj, err := s.object(name)
	if err != nil {
		return nil, "", err
	}
	o, err := s.c.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("attach: s3 get: %w", err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, "", ErrNotFound
		}
		return nil, "", fmt.Errorf("attach: s3 get: %w", err)
	}
	return o, st.ContentType, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, name string) error {
	obj, err := s.object(name)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil
		}
		return fmt.Errorf("attach: s3 delete: %w", err)
	}
	return nil
}

// PresignedURL is a link straight to the object, signed with the bucket's keys
// (AWS signature V4) for ttl. Minyuan's own links are what staff get; this is for
// an operator fetching an object by hand, and shows that the credentials sign.
func (s *S3) PresignedURL(ctx context.Context, name string, ttl time.Duration) (*url.URL, error) {
	obj, err := s.object(name)
	if err != nil {
		return nil, err
	}
	return s.c.PresignedGetObject(ctx, s.bucket, obj, ttl, nil)
}
