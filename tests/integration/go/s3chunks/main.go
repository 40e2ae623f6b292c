// Command s3chunks uploads files to an S3 endpoint with minio-go, which signs every chunk of its
// uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) when it speaks plain HTTP. The tests of chunk
// signatures run it: it reads a JSON list of uploads on standard input and writes one JSON result
// per upload on standard output.
//
// Usage: s3chunks <host:port> <access key> <secret key> < uploads.json
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

type upload struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	File     string `json:"file"`
	PartSize uint64 `json:"partSize"` // 0: minio-go's default (a single PUT below 16 MiB)
	Checksum string `json:"checksum"` // "crc32c": a signed trailing checksum (a part's too); "": none
}

type result struct {
	Key     string `json:"key"`
	ETag    string `json:"etag,omitempty"`
	Size    int64  `json:"size"`
	Code    string `json:"code,omitempty"` // S3's error code when the upload was refused
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

func put(ctx context.Context, client *minio.Client, u upload) result {
	f, err := os.Open(u.File)
	if err != nil {
		return result{Key: u.Key, Message: err.Error()}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return result{Key: u.Key, Message: err.Error()}
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: u.PartSize}
	if u.Checksum == "crc32c" {
		opts.Checksum = minio.ChecksumCRC32C
	}
	done, err := client.PutObject(ctx, u.Bucket, u.Key, f, info.Size(), opts)
	if err != nil {
		response := minio.ToErrorResponse(err)
		return result{Key: u.Key, Code: response.Code, Status: response.StatusCode, Message: err.Error()}
	}
	return result{Key: u.Key, ETag: done.ETag, Size: done.Size}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: s3chunks <host:port> <access key> <secret key> < uploads.json")
		os.Exit(2)
	}
	// A client with trailing headers sends an upload's checksum as a signed trailer
	// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER), and so every part of a multipart upload; one
	// without sends no checksum at all (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
	clients := map[bool]*minio.Client{}
	for _, trailing := range []bool{false, true} {
		client, err := minio.New(os.Args[1], &minio.Options{
			Creds:           credentials.NewStaticV4(os.Args[2], os.Args[3], ""),
			Secure:          false, // plain HTTP: minio-go signs each chunk
			Region:          "us-east-1",
			BucketLookup:    minio.BucketLookupPath,
			TrailingHeaders: trailing,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		clients[trailing] = client
	}
	var uploads []upload
	if err := json.NewDecoder(os.Stdin).Decode(&uploads); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for _, u := range uploads {
		if err := out.Encode(put(context.Background(), clients[u.Checksum != ""], u)); err != nil {
			os.Exit(1)
		}
	}
}
