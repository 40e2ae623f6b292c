// A handler as AWS documents them for Go: aws-lambda-go's lambda.Start, built into an executable
// named bootstrap for the provided.al2023 runtime.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

type Response struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

func HandleRequest(ctx context.Context, event json.RawMessage) (Response, error) {
	return Response{StatusCode: 200, Body: `"Hello from Lambda!"`}, nil
}

func main() {
	lambda.Start(HandleRequest)
}
